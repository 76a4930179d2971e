"""Deliver one record of a notify topic over the recipient's channels, to a final outcome.

A record is a notification or an escalation (a reminder or overdue step for the
recipient who owes, a second-level step on OSC's topic); both go the same way.
The steps, in order: decode the record; deliver it by webhook and by
e-mail at the same time (each channel retries on its own and records every
attempt on the audit topic before the next one starts); once both are final,
write one dead letter and the escalations for what failed. Only then may the
caller commit the source offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from seabus.connectors.delivery.audit import AuditIndex
from seabus.connectors.delivery.email_channel import EmailDelivery
from seabus.connectors.delivery.plan import RecipientPlan
from seabus.connectors.delivery.pushed import Pushed
from seabus.connectors.delivery.records import (
    ChannelOutcome,
    attempt_from_webhook,
    attempt_out,
    outcome_records,
    undecodable_records,
)
from seabus.connectors.delivery.sink import Sink
from seabus.connectors.webhooks import AttemptRecord, WebhookDeliverer
from seabus.schemas.codec import Codec, decode_model
from seabus.schemas.copying import copy_fields
from seabus.schemas.enums import DeadLetterReason, DeliveryChannel, EscalationLevel
from seabus.schemas.envelopes import Headers, Source
from seabus.schemas.errors import CodecError, ValidationFailed
from seabus.schemas.models import DeliveryAttempt, Escalation, Notification, ReplyNotice
from seabus.streams.deadlines.obligations import notify_target

__all__ = ["DeliveryPipeline", "Incoming"]

log = structlog.get_logger(__name__)

DEADLINE_LEVELS = frozenset(
    {
        EscalationLevel.REMINDER,
        EscalationLevel.OVERDUE,
        EscalationLevel.SECOND_LEVEL,
        EscalationLevel.OVERDUE_SUMMARY,  # what an import found already overdue, to the owing party
    }
)
"""The escalations that travel on notify topics (the others go to on-call only)."""


@dataclass(frozen=True, kw_only=True)
class Incoming:
    """One record read from a notify topic (what the pipeline needs of a ConsumerRecord)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    @classmethod
    def of(cls, record: Any) -> Incoming:
        return copy_fields(
            cls, record, headers=[(k, bytes(v)) for k, v in record.headers or () if v is not None]
        )


class DeliveryPipeline:
    """Shared by every recipient's lane: one deliverer, one SMTP sender, one audit index, one sink.

    ``webhooks`` must report its attempts to :meth:`on_webhook_attempt` and
    ``email`` to :meth:`record_attempt`: both write them to the audit topic and
    the index. The two are set after construction, since they need those methods.
    """

    def __init__(
        self,
        *,
        codec: Codec,
        clock: Callable[[], datetime],
        sink: Sink,
        index: AuditIndex,
        plans: list[RecipientPlan],
        webhooks: WebhookDeliverer | None = None,
        email: EmailDelivery | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self._codec = codec
        self._clock = clock
        self._sink = sink
        self._index = index
        self.webhooks = webhooks
        self.email = email
        self._max_bytes = max_bytes
        self._endpoint_keys = {p.recipient: p.webhook.key for p in plans if p.webhook is not None}

    def now(self) -> datetime:
        return self._clock()

    async def record_attempt(self, attempt: DeliveryAttempt, *, endpoint_key: str | None = None) -> None:
        """Write one attempt to the audit topic (acknowledged) and learn from it."""
        await self._sink.send_all([attempt_out(attempt, codec=self._codec, endpoint_key=endpoint_key)])
        self._index.observe(attempt, endpoint_key=endpoint_key)

    async def on_webhook_attempt(self, record: AttemptRecord) -> None:
        await self.record_attempt(
            attempt_from_webhook(record), endpoint_key=self._endpoint_keys.get(record.recipient)
        )

    async def process(self, plan: RecipientPlan, incoming: Incoming) -> list[ChannelOutcome]:
        """Deliver ``incoming`` on every channel of ``plan``; returns when the offset may be committed."""
        source = Source(topic=incoming.topic, partition=incoming.partition, offset=incoming.offset)
        item, reason, problem = self._decode(plan, incoming)
        if item is None:
            await self._sink.send_all(
                undecodable_records(
                    recipient=plan.recipient,
                    key=incoming.key,
                    value=incoming.value,
                    headers=incoming.headers,
                    source=source,
                    reason=reason,
                    problem=problem,
                    now=self.now(),
                    codec=self._codec,
                )
            )
            log.error(
                "unreadable record on a notify topic dead-lettered",
                recipient=plan.recipient,
                partition=incoming.partition,
                offset=incoming.offset,
            )
            return []
        outcomes = await self.push(plan, item)
        await self.report(plan, item, incoming, outcomes)
        return outcomes

    async def report(
        self, plan: RecipientPlan, item: Pushed, incoming: Incoming, outcomes: list[ChannelOutcome]
    ) -> None:
        """Dead letter and escalations for what failed (acknowledged by Kafka), and the log lines."""
        source = Source(topic=incoming.topic, partition=incoming.partition, offset=incoming.offset)
        records = outcome_records(
            notification_id=item.delivery_id,
            allegation_id=item.allegation_id,
            recipient=plan.recipient,
            outcomes=outcomes,
            key=incoming.key,
            value=incoming.value or b"",
            headers=incoming.headers,
            source=source,
            now=self.now(),
            codec=self._codec,
        )
        await self._sink.send_all(records)
        for outcome in outcomes:
            emit = log.info if outcome.delivered else log.error
            emit(
                f"{item.kind} delivered" if outcome.delivered else f"{item.kind} NOT delivered",
                recipient=plan.recipient,
                channel=outcome.channel.value,
                delivery_id=item.delivery_id,
                allegation_id=item.allegation_id,
                outcome=outcome.outcome.value,
                attempts=outcome.attempts,
                duplicate=outcome.duplicate,
            )

    async def push(
        self, plan: RecipientPlan, item: Pushed, *, body: bytes | None = None, page: bool = False
    ) -> list[ChannelOutcome]:
        """Every channel of ``plan`` at once, each to its final outcome.

        The webhook body is the record as JSON unless ``body`` is given (the
        on-call pager's event); ``page`` words the e-mail for on-call.
        """
        async with asyncio.TaskGroup() as group:
            tasks = []
            if plan.webhook is not None:
                tasks.append(
                    group.create_task(self._webhook(plan, item, item.body() if body is None else body))
                )
            if plan.email is not None and item.emailed:
                tasks.append(group.create_task(self._email(plan, item, page=page)))
        return [t.result() for t in tasks]

    def _decode(self, plan: RecipientPlan, incoming: Incoming) -> tuple[Pushed | None, DeadLetterReason, str]:
        if incoming.value is None:
            return None, DeadLetterReason.MALFORMED_BYTES, "the record has no value"
        try:
            record = decode_model(
                incoming.value, codec=self._codec, max_bytes=self._max_bytes, headers=incoming.headers
            )
        except CodecError as exc:
            return None, exc.reason, str(exc)
        except ValidationFailed as exc:
            return None, DeadLetterReason.SCHEMA_INVALID, str(exc)
        pushable = isinstance(record, Notification | ReplyNotice) or (
            isinstance(record, Escalation) and record.level in DEADLINE_LEVELS
        )
        if not isinstance(record, Notification | Escalation | ReplyNotice) or not pushable:
            return (
                None,
                DeadLetterReason.SCHEMA_INVALID,
                f"a {record.avro_name} is neither a notification, a deadline escalation nor a reply notice",
            )
        what, addressed = _addressee(record)
        if addressed != plan.recipient:
            return None, DeadLetterReason.UNKNOWN_RECIPIENT, f"{what} is addressed to {addressed}"
        return Pushed(record), DeadLetterReason.UNKNOWN, ""

    async def _webhook(self, plan: RecipientPlan, item: Pushed, body: bytes) -> ChannelOutcome:
        assert plan.webhook is not None
        assert self.webhooks is not None
        result = await self.webhooks.deliver(
            plan.webhook,
            webhook_id=item.delivery_id,
            body=body,
            allegation_id=item.allegation_id,
            first_attempt=self._index.last_attempt(DeliveryChannel.WEBHOOK, plan.recipient, item.delivery_id)
            + 1,
            headers=item.headers(),
        )
        return ChannelOutcome.from_webhook(result, endpoint_key=plan.webhook.key)

    async def _email(self, plan: RecipientPlan, item: Pushed, *, page: bool) -> ChannelOutcome:
        assert plan.email is not None
        assert self.email is not None
        first = self._index.last_attempt(DeliveryChannel.EMAIL, plan.recipient, item.delivery_id) + 1
        record = item.record
        assert not isinstance(record, ReplyNotice)  # webhook only: Pushed.emailed
        if isinstance(record, Notification):
            return await self.email.deliver(plan.email, record, first_attempt=first)
        return await self.email.deliver_escalation(
            plan.email, record, recipient=plan.recipient, page=page, first_attempt=first
        )


def _addressee(record: Notification | Escalation | ReplyNotice) -> tuple[str, str]:
    """What the record is (for a dead letter's message) and whose notify topic it belongs on."""
    if isinstance(record, Escalation):
        return f"the {record.level.value} escalation", notify_target(record.recipient or "", record.level)
    return ("the notification" if isinstance(record, Notification) else "the reply notice"), record.recipient
