"""The bus's own record of what it has processed: every source offset, in order, never skipped.

Faust and the consumer group's committed offsets are not trusted to say what was
processed (they skip records around rebalances and commit past gaps). Instead,
for each partition of ``sea.allegations`` and ``sea.responses`` the bus keeps the
*next expected offset* in a changelogged table, written in the agent right after
that record's outputs were acknowledged by Kafka. Its changelog partition is the
source partition's, so whichever worker owns the partition recovers it with the
allegations' state.

The agent asks :meth:`SourceProgress.admit` before every record:

* ``offset == expected``: process it, then :meth:`SourceProgress.done`;
* ``offset < expected``: already processed (a redelivery): skip;
* ``offset > expected``: a gap. An independent read (:class:`Prober`) asks Kafka
  what the first record at or after ``expected`` really is. If records lie in
  between, the consumer is sought back to ``expected`` and everything from the
  gap on is ignored until it arrives. Only if Kafka holds no record in between
  (transaction markers, compaction, retention) is the hole accepted.

A record that never arrives at all (the partition's last ones were skipped, the
group's offsets point past them) is caught by :meth:`SourceProgress.check`, run
by a timer: a partition whose end offset is above ``expected`` and that makes no
progress is sought back too, and reported as stalled (readiness turns false).
A lost changelog write can only lower ``expected``, so a fault repeats records
(recognised by their stable ids) and never skips one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.structs import TopicPartition

from seabus.streams.kafka_connection import KafkaConnection

log = structlog.get_logger(__name__)

TABLE = "source-progress"


class Admission(StrEnum):
    PROCESS = "process"
    DONE = "done"
    GAP = "gap"


class Seeker(Protocol):
    async def seek(self, tp: TopicPartition, offset: int) -> None: ...


class OffsetReader(Protocol):
    """What Kafka really holds: independent of the consumer that feeds the agents."""

    async def first_offset(
        self, tp: TopicPartition, start: int, *, timeout_s: float | None = None
    ) -> int | None: ...

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]: ...

    async def start_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]: ...


def progress_key(tp: TopicPartition) -> str:
    return f"{tp.topic}#{tp.partition}"


@dataclass
class _Partition:
    """In-process bookkeeping for one source partition (never the authority: the table is)."""

    sought_to: int | None = None
    sought_at: float = 0.0
    last_expected: int | None = None
    last_change: float = field(default_factory=time.monotonic)
    stall_seeks: int = 0
    probed: tuple[int, int] | None = None  # (from, first record at or after it), last asked


@dataclass(frozen=True, kw_only=True)
class Stall:
    tp: TopicPartition
    expected: int
    end: int
    idle_s: float


@dataclass(kw_only=True)
class Checked:
    stalls: list[Stall] = field(default_factory=list)
    lags: dict[tuple[str, int], int] = field(default_factory=dict)


class SourceProgress:
    """Holds the invariant for the source partitions of one worker."""

    def __init__(
        self,
        *,
        table: Any,
        seeker: Seeker,
        reader: OffsetReader,
        reseek_after_s: float = 10.0,
        stall_after_s: float = 5.0,
        probe_timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_event: Callable[[str, TopicPartition], None] | None = None,
    ) -> None:
        self.table = table
        self.seeker = seeker
        self.reader = reader
        self.reseek_after_s = reseek_after_s
        self.stall_after_s = stall_after_s
        self.probe_timeout_s = probe_timeout_s
        self.clock = clock
        self.on_event = on_event or (lambda kind, tp: None)
        self._parts: dict[TopicPartition, _Partition] = {}
        #: per source topic (one agent each): the record being processed and since when
        self.in_flight: dict[str, tuple[TopicPartition, int, float]] = {}

    # -- the agent's side --------------------------------------------------------

    def expected(self, tp: TopicPartition) -> int | None:
        value = self.table.get(progress_key(tp))
        return int(value) if value is not None else None

    async def admit(self, tp: TopicPartition, offset: int) -> Admission:
        expected = self.expected(tp)
        if expected is None:
            expected = await self._first_ever(tp)
        if offset == expected:
            self.in_flight[tp.topic] = (tp, offset, self.clock())
            return Admission.PROCESS
        if offset < expected:
            self.on_event("redelivered", tp)
            return Admission.DONE
        return await self._gap(tp, expected, offset)

    def done(self, tp: TopicPartition, offset: int) -> None:
        """Record ``offset`` as processed: call after its outputs were acknowledged."""
        self.table[progress_key(tp)] = offset + 1
        self.in_flight.pop(tp.topic, None)

    def abandon(self, topic: str) -> None:
        """The record in flight was not finished (the agent is stopping); it will come again."""
        self.in_flight.pop(topic, None)

    async def _first_ever(self, tp: TopicPartition) -> int:
        """A partition the bus never processed starts at Kafka's log start offset."""
        starts = await self.reader.start_offsets([tp])
        start = starts.get(tp, 0)
        log.info(
            "source partition seen for the first time", topic=tp.topic, partition=tp.partition, start=start
        )
        self.table[progress_key(tp)] = (
            start  # written from the agent, so it lands in tp's changelog partition
        )
        return start

    async def _gap(self, tp: TopicPartition, expected: int, offset: int) -> Admission:
        part = self._parts.setdefault(tp, _Partition())
        now = self.clock()
        if part.sought_to == expected and now - part.sought_at >= self.reseek_after_s:
            part.probed = None  # a seek that did not help: ask Kafka again (retention may have moved)
        if part.probed is not None and part.probed[0] == expected:
            first: int | None = part.probed[1]  # records still buffered beyond the gap: no new probe
        else:
            first = await self.reader.first_offset(tp, expected)
            if first is not None:
                part.probed = (expected, first)
        if first is not None and first > expected:
            # Kafka holds nothing in [expected, first): markers, compaction or retention.
            log.warning(
                "offsets hold no records; going on from the next record",
                topic=tp.topic,
                partition=tp.partition,
                expected=expected,
                next_record=first,
            )
            self.on_event("hole", tp)
            expected = first
            self.table[progress_key(tp)] = expected
            if offset == expected:
                self.in_flight[tp.topic] = (tp, offset, now)
                return Admission.PROCESS
        if part.sought_to == expected and now - part.sought_at < self.reseek_after_s:
            return Admission.GAP  # a seek back is under way; records beyond it are ignored
        log.warning(
            "gap in a source partition; seeking back",
            topic=tp.topic,
            partition=tp.partition,
            expected=expected,
            received=offset,
        )
        self.on_event("gap", tp)
        await self._seek(tp, expected, part)
        return Admission.GAP

    async def _seek(self, tp: TopicPartition, offset: int, part: _Partition) -> None:
        part.sought_to = offset
        part.sought_at = self.clock()
        try:
            await self.seeker.seek(tp, offset)
        except (
            IllegalStateError,
            KafkaError,
            AssertionError,
        ) as exc:  # revoked meanwhile: the next owner seeks
            log.info("seek skipped", topic=tp.topic, partition=tp.partition, error=exc.__class__.__name__)

    # -- the timer's side --------------------------------------------------------

    async def check(self, active: set[TopicPartition]) -> Checked:
        """Seek back partitions that have records to process and make no progress."""
        for gone in set(self._parts) - active:
            del self._parts[gone]
        if not active:
            return Checked()
        ends = await self.reader.end_offsets(active)
        now = self.clock()
        checked = Checked()
        stalls = checked.stalls
        for tp in sorted(active):
            part = self._parts.setdefault(tp, _Partition())
            expected = self.expected(tp)
            if expected is None:
                expected = (await self.reader.start_offsets([tp])).get(tp, 0)
            end = ends.get(tp)
            if end is not None:
                checked.lags[(tp.topic, tp.partition)] = max(0, end - expected)
            if expected != part.last_expected:
                part.last_expected = expected
                part.last_change = now
                part.stall_seeks = 0
            if end is None or end <= expected:
                part.last_change = now
                continue
            idle = now - part.last_change
            busy = tp.topic in self.in_flight  # the agent is on a record: not lost, just not finished
            if idle >= self.stall_after_s and not busy:
                # Is there really a record to process? The end offset also counts transaction
                # markers, which no consumer ever receives.
                first = await self.reader.first_offset(tp, expected, timeout_s=self.probe_timeout_s)
                if first is None:
                    part.last_change = now
                    continue
            if idle >= self.stall_after_s:
                stalls.append(Stall(tp=tp, expected=expected, end=end, idle_s=idle))
                backoff = self.stall_after_s * 2 ** min(part.stall_seeks, 4)
                if now - part.sought_at >= backoff and not busy:
                    log.warning(
                        "source partition has records but makes no progress; seeking back",
                        topic=tp.topic,
                        partition=tp.partition,
                        expected=expected,
                        end=end,
                        idle_s=round(idle, 1),
                    )
                    self.on_event("stalled", tp)
                    part.stall_seeks += 1
                    await self._seek(tp, expected, part)
        return checked


class Prober:
    """An independent consumer (no group) that reads what Kafka holds at an offset."""

    def __init__(self, *, kafka: KafkaConnection, timeout_s: float = 10.0) -> None:
        self.kafka = kafka
        self.timeout_s = timeout_s
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = self.kafka.aio_reader()
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def first_offset(
        self, tp: TopicPartition, start: int, *, timeout_s: float | None = None
    ) -> int | None:
        """The offset of the first record at or after ``start`` (None if none came in time)."""
        tp = TopicPartition(tp.topic, tp.partition)
        async with self._lock:
            consumer = await self._ensure()
            consumer.assign([tp])
            consumer.seek(tp, start)
            deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
            while time.monotonic() < deadline:
                batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
                records = batch.get(tp)
                if records:
                    return int(records[0].offset)
            return None

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        async with self._lock:
            consumer = await self._ensure()
            ends = await consumer.end_offsets([TopicPartition(t.topic, t.partition) for t in tps])
            return {TopicPartition(t.topic, t.partition): int(o) for t, o in ends.items()}

    async def start_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        async with self._lock:
            consumer = await self._ensure()
            starts = await consumer.beginning_offsets([TopicPartition(t.topic, t.partition) for t in tps])
            return {TopicPartition(t.topic, t.partition): int(o) for t, o in starts.items()}

    async def stop(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
