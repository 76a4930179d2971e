"""Follow every topic of one prefix from the beginning, without a consumer group.

The read model is rebuilt from the log at each start (the topics keep
everything; volumes are small), so it needs no state of its own and never
commits offsets: it cannot disturb the worker's consumer group. Partitions are
assigned by hand so that a notify topic created later (a Member State missing
from the directory) joins without re-reading the others; each topic list
refresh doubles as the check that Kafka still answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from seabus.schemas.errors import KafkaUnavailable
from seabus.streams import faust_compat
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.views.errors import ViewError
from seabus.streams.views.index import ViewIndex
from seabus.streams.views.topics import classify, topic_pattern

__all__ = ["ReaderStatus", "RecordSink", "ViewReader"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class ReaderStatus:
    """What readiness checks need to know about the reader."""

    connected: bool
    caught_up: bool
    last_contact_age_s: float | None
    partitions: int
    lag: int


class RecordSink(Protocol):
    """Another index fed the same records as the view (e.g. :class:`seabus.streams.stats.StatsIndex`)."""

    def ingest(self, topic: str, *, key: bytes | None, value: bytes | None) -> object: ...


class ViewReader:
    """Moves records from Kafka into a :class:`ViewIndex` (and any ``also`` sinks); decisions are theirs.

    One read of the topics feeds every index: the statistics follow the same
    records as the overdue view without a second consumer.
    """

    def __init__(
        self,
        *,
        index: ViewIndex,
        kafka: KafkaConnection,
        refresh_s: float = 5.0,
        request_timeout_s: float = 10.0,
        client_id: str = "seabus-view",
        announce: bool = True,
        also: Sequence[RecordSink] = (),
    ) -> None:
        self.index = index
        self.also = tuple(also)
        self.kafka = kafka
        self.refresh_s = refresh_s
        self.request_timeout_s = request_timeout_s
        self.client_id = client_id
        self._log = log.info if announce else log.debug
        self._pattern = topic_pattern(index.prefix)
        self._consumer: AIOKafkaConsumer | None = None
        self._assigned: set[TopicPartition] = set()
        self._targets: dict[TopicPartition, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._last_refresh = float("-inf")
        self._last_contact: float | None = None
        self.read: Counter[str] = Counter()
        """Records read back, by topic (issue 16: what the view costs is what it reads)."""

    def read_by_kind(self) -> dict[str, int]:
        """Records read back by kind of topic (every ``notify.<ID>`` counted as ``notify``)."""
        out: Counter[str] = Counter()
        for topic, n in self.read.items():
            source = classify(topic, self.index.prefix)
            out[source.kind.value if source is not None else "other"] += n
        return dict(out)

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Connect and assign every matching partition; raises KafkaUnavailable."""
        consumer = self.kafka.aio_reader(
            client_id=self.client_id, request_timeout_ms=int(self.request_timeout_s * 1000)
        )
        try:
            await asyncio.wait_for(consumer.start(), timeout=self.request_timeout_s * 3)
        except (KafkaError, OSError, TimeoutError) as exc:
            await consumer.stop()
            raise KafkaUnavailable(
                f"the read model cannot reach Kafka at {self.kafka.bootstrap} ({exc.__class__.__name__}: {exc}); "
                "check SEABUS_BOOTSTRAP, or start the local broker with `seabus kafka up`."
            ) from exc
        self._consumer = consumer
        await self.refresh()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    # -- reading ----------------------------------------------------------------

    async def poll(self, timeout_s: float = 0.5) -> int:
        """Index whatever arrived within ``timeout_s``; refresh the topic list when due."""
        consumer = self._require()
        if time.monotonic() - self._last_refresh >= self.refresh_s:
            await self.refresh()
        if not self._assigned:
            await asyncio.sleep(timeout_s)
            return 0
        batches = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=500)
        count = 0
        for tp, records in batches.items():
            self.read[tp.topic] += len(records)
            for record in records:
                self.index.ingest(tp.topic, key=record.key, value=record.value)
                for sink in self.also:
                    sink.ingest(tp.topic, key=record.key, value=record.value)
                count += 1
                if count % 100 == 0:
                    await asyncio.sleep(0)  # reading history must not hold up the worker's own loop
            self._positions[tp] = records[-1].offset + 1
        if not self.index.caught_up:
            await self._check_caught_up()
        return count

    async def catch_up(self, *, timeout_s: float) -> None:
        """Read until every partition reached the end it had when first seen (standalone use)."""
        deadline = time.monotonic() + timeout_s
        if not self._assigned:
            raise ViewError(
                f"Kafka at {self.kafka.bootstrap} has no topics with the prefix {self.index.prefix!r}; check "
                "SEABUS_TOPIC_PREFIX, or start the bus once (`seabus run`) so that it creates them."
            )
        while not self.index.caught_up:
            if time.monotonic() > deadline:
                raise KafkaUnavailable(
                    f"the read model did not finish reading the topics of {self.index.prefix!r} within "
                    f"{timeout_s:g}s ({self.status().lag} records behind); try again, or raise --timeout."
                )
            await self.poll(0.2)

    async def refresh(self) -> None:
        """Find the topics of the prefix (new notify topics join); records when Kafka last answered."""
        consumer = self._require()
        self._last_refresh = time.monotonic()
        try:
            topics = await asyncio.wait_for(_cluster_partitions(consumer), timeout=self.request_timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("read model cannot list topics", error=f"{exc.__class__.__name__}: {exc}")
            return
        self._last_contact = time.monotonic()
        wanted = {
            TopicPartition(t, p) for t, parts in topics.items() if self._pattern.match(t) for p in parts
        }
        if wanted == self._assigned:
            return
        await self._assign(wanted)

    async def _assign(self, wanted: set[TopicPartition]) -> None:
        consumer = self._require()
        new = wanted - self._assigned
        consumer.assign(sorted(wanted))
        kept_unread = [tp for tp in wanted - new if tp not in self._positions]
        for tp in wanted - new:
            if tp in self._positions:
                consumer.seek(tp, self._positions[tp])  # a new assignment forgets positions
        if new or kept_unread:
            await consumer.seek_to_beginning(*new, *kept_unread)
        if new:
            ends = await consumer.end_offsets(list(new))
            self._targets.update({tp: int(ends[tp]) for tp in new})
            self._log(
                "read model follows new partitions", partitions=len(new), topics=len({t.topic for t in new})
            )
        self._assigned = set(wanted)
        if not self.index.caught_up:
            await self._check_caught_up()

    async def _check_caught_up(self) -> None:
        consumer = self._require()
        behind = 0
        for tp in self._assigned:
            target = self._targets.get(tp, 0)
            if self._positions.get(tp, 0) >= target:
                continue
            position = await consumer.position(tp)
            self._positions[tp] = max(self._positions.get(tp, 0), int(position))
            behind += max(0, target - self._positions[tp])
        if behind == 0 and self._assigned:
            self.index.caught_up = True
            self._log("read model caught up", partitions=len(self._assigned), **dict(self.index.counts))

    # -- status -----------------------------------------------------------------

    def status(self) -> ReaderStatus:
        age = None if self._last_contact is None else time.monotonic() - self._last_contact
        lag = sum(max(0, t - self._positions.get(tp, 0)) for tp, t in self._targets.items())
        return ReaderStatus(
            connected=self._consumer is not None,
            caught_up=self.index.caught_up,
            last_contact_age_s=age,
            partitions=len(self._assigned),
            lag=lag if not self.index.caught_up else 0,
        )

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("ViewReader.start() was not called")
        return self._consumer


async def _cluster_partitions(consumer: AIOKafkaConsumer) -> dict[str, Iterable[int]]:
    """Every topic and its partition ids, from a fresh metadata request (it fails when Kafka is down)."""
    client: Any = faust_compat.client_of(consumer)
    cluster = await client.fetch_all_metadata()
    return {t: cluster.partitions_for_topic(t) or () for t in cluster.topics()}
