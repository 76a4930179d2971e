"""What delivery writes to Kafka, built by pure functions: attempts, dead letters, escalations.

Every id is deterministic (a UUIDv5 of what the record is about), so a
notification processed twice (a crash before the offset commit) writes records
with the same ids, which readers recognise as the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from seabus.connectors.delivery.audit import ENDPOINT_HEADER
from seabus.connectors.webhooks import AttemptRecord, DeliveryResult
from seabus.schemas.codec import Codec, encode_model
from seabus.schemas.copying import copy_fields
from seabus.schemas.enums import DeadLetterReason, DeliveryChannel, DeliveryOutcome, EscalationLevel
from seabus.schemas.envelopes import Headers, Outbound, Received, Source, escalation_out, headers_for
from seabus.schemas.ids import stable_id
from seabus.schemas.models import DeliveryAttempt, Escalation

__all__ = [
    "SOURCE",
    "ChannelOutcome",
    "attempt_from_webhook",
    "attempt_out",
    "email_attempt_id",
    "outcome_records",
    "undecodable_records",
]

SOURCE = "seabus/delivery"


@dataclass(frozen=True, kw_only=True)
class ChannelOutcome:
    """The final result of one channel for one notification."""

    channel: DeliveryChannel
    outcome: DeliveryOutcome
    reason: str | None = None
    attempts: int = 0
    duplicate: bool = False
    newly_disabled: bool = False
    endpoint_key: str | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome is DeliveryOutcome.DELIVERED

    @classmethod
    def from_webhook(cls, result: DeliveryResult, *, endpoint_key: str) -> ChannelOutcome:
        return cls(
            channel=DeliveryChannel.WEBHOOK,
            outcome=result.outcome,
            reason=result.reason,
            attempts=len(result.attempts),
            duplicate=result.duplicate,
            newly_disabled=result.newly_disabled,
            endpoint_key=endpoint_key,
        )


def email_attempt_id(recipient: str, notification_id: str, attempt: int) -> str:
    return stable_id("email-attempt", recipient, notification_id, str(attempt))


def attempt_from_webhook(record: AttemptRecord) -> DeliveryAttempt:
    """The contract's audit record of one webhook attempt (host, path and secrets left out)."""
    return copy_fields(
        DeliveryAttempt, record, notification_id=record.webhook_id, channel=DeliveryChannel.WEBHOOK
    )


def attempt_out(attempt: DeliveryAttempt, *, codec: Codec, endpoint_key: str | None = None) -> Outbound:
    headers = headers_for(attempt, attempt.attempt_id, attempt.allegation_id, attempt.attempted_at, SOURCE)
    if endpoint_key is not None:
        headers.insert(-1, (ENDPOINT_HEADER, endpoint_key.encode()))
    return Outbound(
        route="audit",
        recipient=None,
        key=attempt.allegation_id.encode(),
        value=encode_model(attempt, codec=codec),
        headers=headers,
    )


def _escalation(
    outcome: ChannelOutcome, *, recipient: str, notification_id: str, allegation_id: str, now: datetime
) -> Escalation:
    channel = outcome.channel.value.lower()
    if outcome.newly_disabled:
        return Escalation(
            escalation_id=stable_id("endpoint-disabled", outcome.endpoint_key or recipient),
            allegation_id=allegation_id,
            recipient=recipient,
            level=EscalationLevel.ENDPOINT_DISABLED,
            fired_at=now,
            reason=(
                f"The webhook endpoint of {recipient} answered 410 Gone and is now disabled: notifications "
                f"for {recipient} are dead-lettered without a request. Confirm a new URL with {recipient}, "
                "put it in the recipients directory, restart the bus, then replay the dead letters."
            ),
        )
    return Escalation(
        escalation_id=stable_id("delivery-failed", outcome.channel.value, recipient, notification_id),
        allegation_id=allegation_id,
        recipient=recipient,
        level=EscalationLevel.DELIVERY_FAILED,
        fired_at=now,
        reason=(
            f"{recipient} was not told by {channel} about notification {notification_id}: "
            f"{outcome.reason or outcome.outcome.value}. Make sure {recipient} is informed (the "
            "notification is on the dead-letter topic for replay)."
        ),
    )


def outcome_records(
    *,
    notification_id: str,
    allegation_id: str,
    recipient: str,
    outcomes: Sequence[ChannelOutcome],
    key: bytes | None,
    value: bytes,
    headers: Headers,
    source: Source,
    now: datetime,
    codec: Codec,
) -> list[Outbound]:
    """Nothing when every channel delivered; else one dead letter and one escalation per failed channel."""
    failed = [o for o in outcomes if not o.delivered]
    if not failed:
        return []
    summary = "; ".join(f"{o.channel.value.lower()}: {o.reason or o.outcome.value}" for o in failed)
    records = [
        Received(key=key, value=value, headers=headers, source=source).dead_letter(
            DeadLetterReason.DELIVERY_FAILED,
            f"DELIVERY_FAILED: notification {notification_id} for {recipient} was not delivered "
            f"({summary}). Fix the channel, then replay this record to {source.topic}.",
            now=now,
            codec=codec,
            producer=SOURCE,
        )
    ]
    for outcome in failed:
        escalation = _escalation(
            outcome,
            recipient=recipient,
            notification_id=notification_id,
            allegation_id=allegation_id,
            now=now,
        )
        records.append(escalation_out(escalation, codec=codec, source=SOURCE))
    return records


def undecodable_records(
    *,
    recipient: str,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    source: Source,
    reason: DeadLetterReason,
    problem: str,
    now: datetime,
    codec: Codec,
) -> list[Outbound]:
    """A record on a notify topic that is not a readable notification: dead-letter it and tell on-call."""
    allegation_id = key.decode("utf-8", "replace") if key else "-"
    where = f"{source.topic}[{source.partition}]@{source.offset}"
    escalation = Escalation(
        escalation_id=stable_id("undeliverable", source.topic, str(source.partition), str(source.offset)),
        allegation_id=allegation_id,
        recipient=recipient,
        level=EscalationLevel.DELIVERY_FAILED,
        fired_at=now,
        reason=(
            f"The record at {where} is not a readable notification, so {recipient} was not told by push "
            "delivery; see the dead-letter topic and the bus's version."
        ),
    )
    return [
        Received(key=key, value=value, headers=headers, source=source).dead_letter(
            reason,
            f"{reason.value}: the record at {where} could not be delivered: {problem}",
            now=now,
            codec=codec,
            producer=SOURCE,
        ),
        escalation_out(escalation, codec=codec, source=SOURCE),
    ]
