"""What delivery must remember across restarts, rebuilt from the audit topic.

The audit topic (``<prefix>.audit``) already holds one ``DeliveryAttempt`` per
attempt, written and acknowledged before the source offset is committed. So it
is the durable memory: at start-up (and whenever a lane is given partitions,
since another worker may have delivered in the meantime) the index reads the
topic up to its current end and learns

* which (channel, recipient, notification) were DELIVERED: never sent again,
  even if the process died between the 2xx and the offset commit;
* which webhook endpoints a 410 disabled (the endpoint key travels in the
  record's ``ce_endpoint`` header; a changed URL is a new endpoint);
* how many attempts each notification already had, so attempt numbers (and
  their deterministic ids) continue instead of starting over.

Volumes are small (hundreds of notifications a year, a few attempts each), so
reading the whole topic takes well under a second and the index fits in
memory; there is no separate state store to keep consistent with the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from seabus.connectors.webhooks import DisabledEndpoint, InMemoryEndpointStates
from seabus.schemas.codec import Codec, decode_model
from seabus.schemas.enums import DeliveryChannel, DeliveryOutcome
from seabus.schemas.errors import CodecError, CodecReason, ValidationFailed
from seabus.schemas.models import DeliveryAttempt
from seabus.streams.kafka_connection import KafkaConnection

__all__ = ["ENDPOINT_HEADER", "AuditIndex", "ChannelDelivered"]

log = structlog.get_logger(__name__)

ENDPOINT_HEADER = "ce_endpoint"
"""CloudEvents extension on webhook attempts: the endpoint key (recipient and a hash of the URL)."""


class AuditIndex:
    """In-memory index of delivery attempts.

    Endpoint state lives in one place, :attr:`endpoint_states` (the webhook
    library's store, handed to the deliverer); the index only feeds it the
    410s it reads back from the audit topic.
    """

    def __init__(self) -> None:
        self._delivered: set[tuple[DeliveryChannel, str, str]] = set()
        self._attempts: dict[tuple[DeliveryChannel, str, str], int] = {}
        self.endpoint_states = InMemoryEndpointStates()
        self._lock = asyncio.Lock()
        self._positions: dict[TopicPartition, int] = {}
        self.records_read = 0

    # --- learning -----------------------------------------------------------

    def observe(self, attempt: DeliveryAttempt, *, endpoint_key: str | None) -> None:
        """Take one attempt into account (one read back from the topic, or one just written)."""
        key = (attempt.channel, attempt.recipient, attempt.notification_id)
        self._attempts[key] = max(self._attempts.get(key, 0), attempt.attempt)
        if attempt.outcome is DeliveryOutcome.DELIVERED:
            self._delivered.add(key)
        elif attempt.outcome is DeliveryOutcome.DISABLED and endpoint_key and attempt.http_status == 410:
            self.endpoint_states.remember(
                DisabledEndpoint(
                    endpoint_key=endpoint_key, at=attempt.attempted_at, reason=attempt.error or "410 Gone"
                )
            )

    async def catch_up(
        self, *, kafka: KafkaConnection, topic: str, codec: Codec, **consumer_options: object
    ) -> int:
        """Read ``topic`` from where this index stopped up to its current end; returns records read."""
        async with self._lock:
            # Naming the topic makes start() wait for its metadata (partitions); then assign by hand.
            consumer = kafka.aio_consumer(
                topic,
                group_id=None,
                enable_auto_commit=False,
                **consumer_options,
            )
            await consumer.start()
            try:
                return await self._read(consumer, topic, codec)
            finally:
                await consumer.stop()

    async def _read(self, consumer: AIOKafkaConsumer, topic: str, codec: Codec) -> int:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.unsubscribe()
        if not tps:
            return 0
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        begins = await consumer.beginning_offsets(tps)
        pending = {}
        for tp in tps:
            start = max(self._positions.get(tp, 0), begins[tp])
            if start < ends[tp]:
                consumer.seek(tp, start)
                pending[tp] = ends[tp]
            else:
                self._positions[tp] = ends[tp]
        read = 0
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= pending.get(tp, -1):
                        continue
                    read += 1
                    self._apply(record.value, record.headers, codec)
                    self._positions[tp] = record.offset + 1
            for tp in list(pending):
                if await consumer.position(tp) >= pending[tp]:
                    self._positions[tp] = pending.pop(tp)
        self.records_read += read
        return read

    def _apply(self, value: bytes | None, headers: Iterable[tuple[str, bytes]] | None, codec: Codec) -> None:
        try:
            if value is None:
                raise CodecError(CodecReason.MALFORMED_BYTES, "no value")
            attempt = decode_model(value, DeliveryAttempt, codec=codec)
        except (CodecError, ValidationFailed):
            log.warning("unreadable record on the audit topic skipped")
            return
        endpoint = next(
            (v.decode("utf-8", "replace") for k, v in headers or () if k == ENDPOINT_HEADER), None
        )
        self.observe(attempt, endpoint_key=endpoint)

    # --- asking -------------------------------------------------------------

    def is_delivered(self, channel: DeliveryChannel, recipient: str, notification_id: str) -> bool:
        return (channel, recipient, notification_id) in self._delivered

    def mark_delivered(self, channel: DeliveryChannel, recipient: str, notification_id: str) -> None:
        self._delivered.add((channel, recipient, notification_id))

    def last_attempt(self, channel: DeliveryChannel, recipient: str, notification_id: str) -> int:
        """The highest attempt number recorded so far (0: none)."""
        return self._attempts.get((channel, recipient, notification_id), 0)


class ChannelDelivered:
    """The index seen as one channel's :class:`~seabus.connectors.webhooks.DeliveredStore`."""

    def __init__(self, index: AuditIndex, channel: DeliveryChannel) -> None:
        self._index = index
        self._channel = channel

    async def is_delivered(self, recipient: str, webhook_id: str) -> bool:
        return self._index.is_delivered(self._channel, recipient, webhook_id)

    async def mark_delivered(self, recipient: str, webhook_id: str, at: datetime) -> None:
        self._index.mark_delivered(self._channel, recipient, webhook_id)
