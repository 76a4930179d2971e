"""Deliver one record of a notify topic over the recipient's channels, to a final outcome.

The steps, in order: decode the notification; deliver it by webhook and by
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

from connectors.delivery.audit import AuditIndex
from connectors.delivery.email_channel import EmailDelivery
from connectors.delivery.plan import RecipientPlan
from connectors.delivery.records import (
    ChannelOutcome,
    attempt_from_webhook,
    attempt_out,
    outcome_records,
    undecodable_records,
)
from connectors.delivery.sink import RecordSink
from connectors.webhooks import AttemptRecord, WebhookDeliverer
from schemas.codec import Codec, decode_model
from schemas.enums import DeadLetterReason, DeliveryChannel
from schemas.errors import CodecError, ValidationFailed
from schemas.models import DeliveryAttempt, Notification
from streams.records import Headers, Source

__all__ = ["DeliveryPipeline", "Incoming"]

log = structlog.get_logger(__name__)


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
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=[(k, bytes(v)) for k, v in record.headers or () if v is not None],
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
        sink: RecordSink,
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
        note, reason, problem = self._decode(plan, incoming)
        if note is None:
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
        async with asyncio.TaskGroup() as group:
            tasks = []
            if plan.webhook is not None:
                tasks.append(group.create_task(self._webhook(plan, note)))
            if plan.email is not None:
                tasks.append(group.create_task(self._email(plan, note)))
        outcomes = [t.result() for t in tasks]
        records = outcome_records(
            notification_id=note.notification_id,
            allegation_id=note.allegation_id,
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
                "notification delivered" if outcome.delivered else "notification NOT delivered",
                recipient=plan.recipient,
                channel=outcome.channel.value,
                notification_id=note.notification_id,
                allegation_id=note.allegation_id,
                outcome=outcome.outcome.value,
                attempts=outcome.attempts,
                duplicate=outcome.duplicate,
            )
        return outcomes

    def _decode(
        self, plan: RecipientPlan, incoming: Incoming
    ) -> tuple[Notification | None, DeadLetterReason, str]:
        if incoming.value is None:
            return None, DeadLetterReason.MALFORMED_BYTES, "the record has no value"
        try:
            note = decode_model(incoming.value, Notification, codec=self._codec, max_bytes=self._max_bytes)
        except CodecError as exc:
            return None, DeadLetterReason(exc.reason.value), str(exc)
        except ValidationFailed as exc:
            return None, DeadLetterReason.SCHEMA_INVALID, str(exc)
        if note.recipient != plan.recipient:
            return (
                None,
                DeadLetterReason.UNKNOWN_RECIPIENT,
                f"the notification is addressed to {note.recipient}",
            )
        return note, DeadLetterReason.UNKNOWN, ""

    async def _webhook(self, plan: RecipientPlan, note: Notification) -> ChannelOutcome:
        assert plan.webhook is not None
        assert self.webhooks is not None
        result = await self.webhooks.deliver(
            plan.webhook,
            webhook_id=note.notification_id,
            body=note.model_dump_json().encode(),
            allegation_id=note.allegation_id,
            first_attempt=self._index.last_attempt(
                DeliveryChannel.WEBHOOK, plan.recipient, note.notification_id
            )
            + 1,
        )
        return ChannelOutcome.from_webhook(result, endpoint_key=plan.webhook.key)

    async def _email(self, plan: RecipientPlan, note: Notification) -> ChannelOutcome:
        assert plan.email is not None
        assert self.email is not None
        return await self.email.deliver(
            plan.email,
            note,
            first_attempt=self._index.last_attempt(
                DeliveryChannel.EMAIL, plan.recipient, note.notification_id
            )
            + 1,
        )
