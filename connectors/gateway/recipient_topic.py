"""Reading one recipient's own topic, ``<prefix>.notify.<ID>``, for that recipient's HTTP view.

What a state is told is already on its topic, minimised for it by routing, so the
gateway answers "what was I told since T" and "what is my latest notification
about this allegation" from the topic itself rather than from a copy. Each call
makes a short-lived consumer without a group (nothing is committed, no group
joins or rebalances), assigns the topic's partitions by hand and reads a bounded
stretch: from ``offsets_for_times(since)`` or a cursor, at most ``limit`` records
per partition. The consumer comes from :class:`KafkaConnection` like every other
client, so it speaks TLS and SASL as the rest of the bus.

A record that cannot be decoded (bad bytes, an unknown schema, a record type that
does not belong on a notify topic) never fails the request: it is reported by
partition, offset and reason, never by content.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from seabus.schemas.codec import Codec, decode_model, default_codec
from seabus.schemas.errors import CodecError, KafkaUnavailable, ValidationFailed
from seabus.schemas.models import Escalation, Notification, ReplyNotice, SeabusRecord
from seabus.streams import faust_compat
from seabus.streams.kafka_connection import KafkaConnection

__all__ = [
    "ITEM_TYPES",
    "RecipientTopic",
    "Skipped",
    "TopicItem",
    "TopicPage",
    "item_type",
    "latest_notification",
]

log = structlog.get_logger(__name__)

_TYPES: dict[str, type[SeabusRecord]] = {
    "notification": Notification,
    "escalation": Escalation,
    "reply_notice": ReplyNotice,
}
ITEM_TYPES: tuple[str, ...] = tuple(_TYPES)
"""The ``type`` of each item: what the bus puts on a recipient's topic."""
_BY_WRITER = {model.avro_name: name for name, model in _TYPES.items()}
UNEXPECTED_TYPE = "UNEXPECTED_TYPE"
BATCH = 500


def item_type(record: SeabusRecord) -> str:
    return _BY_WRITER[record.avro_name]


def _identity(record: SeabusRecord) -> str:
    if isinstance(record, Notification):
        return record.notification_id
    if isinstance(record, Escalation):
        return record.escalation_id
    if isinstance(record, ReplyNotice):
        return record.notice_id
    raise TypeError(record.avro_name)


@dataclass(frozen=True, slots=True)
class TopicItem:
    """One record of the recipient's topic, decoded; ``timestamp`` is Kafka's record time."""

    type: str
    partition: int
    offset: int
    timestamp: datetime
    allegation_id: str
    id: str
    record: SeabusRecord


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that could not be shown: where it is and why (a codec reason), never what it holds."""

    partition: int
    offset: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class TopicPage:
    """Items oldest first, the records skipped on the way, and where to go on from (per partition)."""

    items: list[TopicItem]
    skipped: list[Skipped]
    positions: dict[int, int]
    more: bool
    """True when records after ``positions`` were already on the topic at the time of the read."""
    exists: bool = True


@dataclass(slots=True)
class _Partition:
    tp: TopicPartition
    end: int
    read_to: int  # the offset after the last record read
    found: list[TopicItem] = field(default_factory=list)  # matching items, offset order
    skipped: list[Skipped] = field(default_factory=list)


def _time(record: ConsumerRecord[Any, Any]) -> datetime:
    return datetime.fromtimestamp(record.timestamp / 1000, tz=UTC)


class RecipientTopic:
    """Bounded reads of ``<prefix>.notify.<ID>`` through short-lived assigned consumers."""

    def __init__(
        self,
        *,
        kafka: KafkaConnection,
        prefix: str,
        codec: Codec | None = None,
        request_timeout_s: float = 10.0,
        client_id: str = "seabus-gateway-recipient-view",
    ) -> None:
        self.kafka = kafka
        self.prefix = prefix
        self.codec = codec or default_codec()
        self.request_timeout_s = request_timeout_s
        self.client_id = client_id

    def topic(self, recipient: str) -> str:
        return f"{self.prefix}.notify.{recipient}"

    # -- one page of the recipient's notifications ---------------------------------------

    async def read(
        self,
        recipient: str,
        *,
        since: datetime | None = None,
        positions: Mapping[int, int] | None = None,
        limit: int = 100,
        types: Iterable[str] | None = None,
    ) -> TopicPage:
        """Up to ``limit`` records from ``positions`` (a cursor) or from ``since`` (else the start), oldest first.

        Oldest first is by Kafka record time across partitions (within a partition, offset order).
        ``types`` keeps only these item types; the rest are passed over without being decoded.
        Raises :class:`KafkaUnavailable` when Kafka does not answer in time.
        """
        wanted = frozenset(ITEM_TYPES if types is None else types)
        topic = self.topic(recipient)
        try:
            async with asyncio.timeout(self.request_timeout_s * 3), self._assigned(topic) as (consumer, tps):
                if not tps:
                    return TopicPage(items=[], skipped=[], positions={}, more=False, exists=False)
                parts = await self._start_at(consumer, tps, since=since, positions=positions)
                await self._fill(consumer, parts, limit=limit, wanted=wanted)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise self._unavailable(topic, exc) from exc
        return _merge(parts, limit)

    async def _start_at(
        self,
        consumer: AIOKafkaConsumer,
        tps: list[TopicPartition],
        *,
        since: datetime | None,
        positions: Mapping[int, int] | None,
    ) -> list[_Partition]:
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        starts: dict[TopicPartition, int] = {}
        if positions is not None:
            starts = {tp: int(positions.get(tp.partition, begins[tp])) for tp in tps}
        elif since is not None:
            found = await consumer.offsets_for_times(dict.fromkeys(tps, int(since.timestamp() * 1000)))
            starts = {tp: ends[tp] if found.get(tp) is None else int(found[tp].offset) for tp in tps}
        else:
            starts = {tp: int(begins[tp]) for tp in tps}
        parts = []
        for tp in tps:
            start = min(max(starts[tp], int(begins[tp])), int(ends[tp]))  # a cursor past retention moves on
            parts.append(_Partition(tp=tp, end=int(ends[tp]), read_to=start))
            consumer.seek(tp, start)
        return parts

    async def _fill(
        self, consumer: AIOKafkaConsumer, parts: list[_Partition], *, limit: int, wanted: frozenset[str]
    ) -> None:
        """Read each partition until it has ``limit`` matching items or reached the end seen at the start."""
        await _read_to_end(
            consumer,
            parts,
            full=lambda part: len(part.found) >= limit,
            handle=lambda part, record: self._take(part, record, wanted),
        )

    def _take(self, part: _Partition, record: ConsumerRecord[Any, Any], wanted: frozenset[str]) -> None:
        value = record.value
        if not isinstance(value, bytes):  # a tombstone has no place on a notify topic
            part.skipped.append(Skipped(record.partition, record.offset, "MALFORMED_BYTES"))
            return
        try:
            name = _BY_WRITER.get(self.codec.peek_writer(value).name)
            if name is not None and name not in wanted:
                return
            decoded = decode_model(value, codec=self.codec)
            name = _BY_WRITER.get(decoded.avro_name)
            if name is None:
                part.skipped.append(Skipped(record.partition, record.offset, UNEXPECTED_TYPE))
                return
        except CodecError as exc:
            part.skipped.append(Skipped(record.partition, record.offset, exc.reason.value))
            return
        except ValidationFailed:
            part.skipped.append(Skipped(record.partition, record.offset, "VALIDATION_FAILED"))
            return
        part.found.append(
            TopicItem(
                type=name,
                partition=record.partition,
                offset=record.offset,
                timestamp=_time(record),
                allegation_id=getattr(decoded, "allegation_id", ""),
                id=_identity(decoded),
                record=decoded,
            )
        )

    # -- the latest notification about one allegation -----------------------------------

    async def latest_notification(
        self, recipient: str, allegation_id: str, *, not_before: datetime | None = None
    ) -> Notification | None:
        """The recipient's notification about ``allegation_id`` with the highest sequence, or None.

        The topic is keyed by allegation id, so only records with that key are decoded.
        ``not_before`` starts the read at that record time (a bound from the read model);
        without it the whole topic is read.
        """
        topic = self.topic(recipient)
        key = allegation_id.encode()
        best: Notification | None = None
        try:
            async with asyncio.timeout(self.request_timeout_s * 3), self._assigned(topic) as (consumer, tps):
                if not tps:
                    return None
                parts = await self._start_at(consumer, tps, since=not_before, positions=None)

                def keep_latest(_part: _Partition, record: ConsumerRecord[Any, Any]) -> None:
                    nonlocal best
                    if record.key != key or not isinstance(record.value, bytes):
                        return
                    found = self._notification(record)
                    if found is not None and found.allegation_id == allegation_id and _later(found, best):
                        best = found

                await _read_to_end(consumer, parts, full=lambda _part: False, handle=keep_latest)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise self._unavailable(topic, exc) from exc
        return best

    def _notification(self, record: ConsumerRecord[Any, Any]) -> Notification | None:
        try:
            if self.codec.peek_writer(record.value).name != Notification.avro_name:
                return None
            return decode_model(record.value, Notification, codec=self.codec)
        except (CodecError, ValidationFailed) as exc:
            log.warning(
                "undecodable record on a recipient topic",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                error=type(exc).__name__,
            )
            return None

    # -- plumbing --------------------------------------------------------------------------

    @asynccontextmanager
    async def _assigned(self, topic: str) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
        """A consumer without a group, assigned every partition of ``topic`` (none if it does not exist)."""
        consumer = self.kafka.aio_reader(
            client_id=self.client_id, request_timeout_ms=int(self.request_timeout_s * 1000)
        )
        try:
            await consumer.start()
            client: Any = faust_compat.client_of(consumer)
            cluster = await client.fetch_all_metadata()  # answers even when the topic does not exist
            tps = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
            if tps:
                consumer.assign(tps)
            yield consumer, tps
        finally:
            await consumer.stop()

    def _unavailable(self, topic: str, exc: BaseException) -> KafkaUnavailable:
        log.warning("recipient topic not read", topic=topic, error=type(exc).__name__)
        return KafkaUnavailable(
            f"Kafka did not answer within {self.request_timeout_s * 3:g}s while reading {topic} "
            f"({type(exc).__name__})"
        )


def _later(candidate: Notification, best: Notification | None) -> bool:
    return best is None or (candidate.sequence, candidate.routed_at) > (best.sequence, best.routed_at)


def _merge(parts: list[_Partition], limit: int) -> TopicPage:
    """The first ``limit`` items across partitions by (record time, partition, offset), and the cursor after them."""
    heads = [(p.found[0].timestamp, p.tp.partition, 0, i) for i, p in enumerate(parts) if p.found]
    heapq.heapify(heads)
    taken = [0] * len(parts)
    items: list[TopicItem] = []
    while heads and len(items) < limit:
        _t, _p, index, i = heapq.heappop(heads)
        items.append(parts[i].found[index])
        taken[i] = index + 1
        if index + 1 < len(parts[i].found):
            heapq.heappush(heads, (parts[i].found[index + 1].timestamp, parts[i].tp.partition, index + 1, i))
    positions: dict[int, int] = {}
    skipped: list[Skipped] = []
    more = False
    for i, part in enumerate(parts):
        left = part.found[taken[i] :]
        position = left[0].offset if left else part.read_to
        positions[part.tp.partition] = position
        skipped.extend(s for s in part.skipped if s.offset < position)
        more = more or position < part.end
    return TopicPage(items=items, skipped=skipped, positions=positions, more=more)


async def latest_notification(
    topic: RecipientTopic, recipient: str, allegation_id: str, *, not_before: datetime | None = None
) -> Notification | None:
    """The recipient's latest notification about ``allegation_id`` (see :meth:`RecipientTopic.latest_notification`)."""
    return await topic.latest_notification(recipient, allegation_id, not_before=not_before)


async def _read_to_end(
    consumer: AIOKafkaConsumer,
    parts: list[_Partition],
    *,
    full: Callable[[_Partition], bool],
    handle: Callable[[_Partition, ConsumerRecord[Any, Any]], None],
) -> None:
    """Hand each partition's records to ``handle`` up to the end seen at the start, or until ``full``.

    A partition is paused once done, so the next fetch asks only for the ones still read.
    """
    active = {p.tp: p for p in parts if p.read_to < p.end}
    while active:
        batches = await consumer.getmany(*active, timeout_ms=1000, max_records=BATCH)
        for tp, records in batches.items():
            part = active.get(tp)
            if part is None:
                continue
            for record in records:
                if record.offset >= part.end or full(part):
                    break
                part.read_to = record.offset + 1
                handle(part, record)
        for tp, part in list(active.items()):
            if full(part) or part.read_to >= part.end:
                del active[tp]
                consumer.pause(tp)
