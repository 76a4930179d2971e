"""One Kafka consumer for every notify topic, one in-order lane per recipient, paused per partition.

Why one consumer: a consumer group per recipient means about 200 groups at full
UN membership, each joining, heartbeating and holding its own connections, and
each assignment starting an audit catch-up of its own. One consumer (group
``<app_id>-delivery``) joins once and catches up once per assignment.

Why it still isolates a dead endpoint: records go from the consumer to the
lane of their topic (one per recipient, plus on-call on the escalations topic),
and a partition whose records are in a lane is paused until the lane has
delivered them, so a lane stuck on a dead endpoint stops only its own fetches.
The poll loop itself never waits for a delivery: other partitions keep being
fetched and the consumer stays alive in its group (it polls all the time, so
no long ``max_poll_interval`` is needed). bench/delivery/run.py measures this
against a group per recipient (docs/BENCHMARKS.md).

Nothing is skipped: a lane delivers its records in offset order, one at a
time, and commits ``offset + 1`` only after the pipeline reached a final
outcome (delivered, or dead-lettered and escalated) for that very record. A
paused partition's fetch position stays at the first record not handed to a
lane (aiokafka drops what it had prefetched for it), and commits name the
delivered record's offset, never the position, so a pause cannot let a commit
pass an undelivered record. When a partition is revoked, the records of it not
yet started are dropped from the lane (its next owner reads them from the
committed offset); the one in hand finishes and its commit may fail, which only
means the next owner reads it again, and the audit index (caught up on every
assignment) keeps it from being delivered twice. aiokafka may fetch a newly
assigned partition before the assignment callback (that catch-up) is through:
such records are sought back and the partition paused until it is, so the
index is always current before a record is delivered.

The consumer's position is checked too, as the bus's own progress record does
for its agents: each partition's next offset is known from the assignment on
(the commit, or the log start), and a lane handed a record beyond it seeks back
instead of delivering, so a consumer that skips can never make a commit pass a
record nobody delivered (notify topics are written without transactions, so
their offsets are contiguous; a range removed by retention is accepted).

Upgrading from the group-per-recipient layout: a partition the new group has
never committed starts where the former group ``<app_id>-delivery-<ID>`` of its
topic stopped (``legacy_groups``), and that offset is committed for the new
group at once, so nothing the former lanes finished is read again and nothing
they had not finished is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from seabus.connectors.delivery.pipeline import Incoming
from seabus.connectors.delivery.plan import RecipientPlan
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.tasks import stop_task

__all__ = ["DeliveryConsumer", "Lane", "Processor", "Route"]

log = structlog.get_logger(__name__)


class Processor(Protocol):
    """What a lane hands each record to: the delivery pipeline, or the on-call pager."""

    async def process(self, plan: RecipientPlan, incoming: Incoming) -> object: ...


@dataclass(frozen=True, kw_only=True)
class Route:
    """Which topic feeds which recipient's plan, through which processor."""

    topic: str
    plan: RecipientPlan
    processor: Processor


class Lane:
    """One recipient's records, delivered in order, one at a time."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.plan = route.plan
        self.topic = route.topic
        self.processed = 0
        self.queue: deque[Any] = deque()
        self.current: TopicPartition | None = None
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: DeliveryConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self._owner.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._owner.assigned(assigned)


class DeliveryConsumer:
    """Consumes every route's topic in group ``group_id`` and feeds each record to its lane."""

    def __init__(
        self,
        *,
        routes: Sequence[Route],
        kafka: KafkaConnection,
        group_id: str,
        catch_up: Callable[[], Awaitable[object]],
        session_timeout_s: float = 10.0,
        retry_delay_s: float = 1.0,
        max_retry_delay_s: float = 30.0,
        legacy_groups: Mapping[str, str] | None = None,
        **consumer_options: Any,
    ) -> None:
        if len({r.topic for r in routes}) != len(routes):
            raise ValueError("each topic feeds exactly one lane")
        self.group_id = group_id
        self.lanes = [Lane(route) for route in routes]
        self._by_topic = {lane.topic: lane for lane in self.lanes}
        self._catch_up = catch_up
        self._retry_delay_s = retry_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        self._held: dict[TopicPartition, int] = {}
        self._kafka = kafka
        self._legacy_groups = dict(legacy_groups or {})
        self._checked: set[TopicPartition] = set()
        self._ready: set[TopicPartition] = set()
        self._expected: dict[TopicPartition, int] = {}
        self._consumer = kafka.aio_consumer(
            group_id=group_id,
            client_id="seabus-delivery",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(session_timeout_s * 1000),
            heartbeat_interval_ms=int(max(1.0, session_timeout_s / 4) * 1000),
            # A partition resumed by its lane is fetched only once the fetch in flight for the
            # others returns: keep that long-poll short so the next record follows quickly.
            fetch_max_wait_ms=consumer_options.pop("fetch_max_wait_ms", 100),
            **consumer_options,
        )
        self._poller: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False
        self.assignments = 0

    async def start(self) -> None:
        if not self.lanes:
            return
        self._consumer.subscribe([lane.topic for lane in self.lanes], listener=_Rebalance(self))
        self._started = True  # from here on stop() stops the consumer, even if start() fails
        await self._consumer.start()
        loop = asyncio.get_running_loop()
        for lane in self.lanes:
            lane.task = loop.create_task(self._work(lane), name=f"delivery-{lane.plan.recipient}")
        self._poller = loop.create_task(self._poll(), name="delivery-poll")

    async def stop(self, *, grace_s: float) -> None:
        """Let the notifications in hand finish (up to ``grace_s``), then stop; cut ones stay uncommitted."""
        self._stopping = True
        await stop_task(self._poller, what="delivery poller")
        for lane in self.lanes:
            lane.queue.clear()
            lane.wake.set()
        tasks = [lane.task for lane in self.lanes if lane.task is not None]
        busy = [lane.task for lane in self.lanes if lane.task is not None and lane.current is not None]
        if busy:
            await asyncio.wait([asyncio.shield(t) for t in busy], timeout=grace_s)
        await asyncio.gather(*(stop_task(t, what=t.get_name()) for t in tasks))
        if self._started:
            await self._consumer.stop()

    # --- the consumer side --------------------------------------------------

    async def _poll(self) -> None:
        while not self._stopping:
            try:
                batch = await self._consumer.getmany(timeout_ms=500)
            except KafkaError as exc:
                log.warning("delivery fetch failed; retrying", error=type(exc).__name__)
                await asyncio.sleep(self._retry_delay_s)
                continue
            for tp, records in batch.items():
                if not records:
                    continue
                if tp not in self._ready:
                    # aiokafka fetches before the assignment callback is through: read these again
                    # once the audit index has caught up (and a former group's offset is adopted).
                    self._consumer.seek(tp, records[0].offset)
                    self._consumer.pause(tp)
                    continue
                lane = self._by_topic[tp.topic]
                lane.queue.extend(records)
                self._held[tp] = self._held.get(tp, 0) + len(records)
                # No await since getmany: tp is still assigned. Resumed when the lane is through.
                self._consumer.pause(tp)
                lane.wake.set()

    def revoked(self, revoked: Iterable[TopicPartition]) -> None:
        gone = set(revoked)
        self._ready -= gone
        for tp in gone:
            self._expected.pop(tp, None)
        for lane in self.lanes:
            if any(tp.topic == lane.topic for tp in gone):
                lane.queue = deque(r for r in lane.queue if TopicPartition(r.topic, r.partition) not in gone)
        for tp in gone:
            in_hand = sum(1 for lane in self.lanes if lane.current == tp)
            if in_hand:
                self._held[tp] = in_hand
            else:
                self._held.pop(tp, None)

    async def assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Adopt former offsets and catch up on the audit topic before any record is handed on."""
        tps = set(assigned)
        self.assignments += 1
        try:
            await self._prepare(tps)
        finally:
            self._ready |= tps
            for tp in tps:
                if not self._held.get(tp) and tp in self._consumer.assignment():
                    with contextlib.suppress(IllegalStateError):
                        self._consumer.resume(tp)

    async def _prepare(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:
            self._expected.pop(tp, None)
        try:
            await self._settle(sorted(assigned))
        except KafkaError as exc:
            # Then each starts at Kafka's position, without the gap check until one record is
            # delivered there; repeats are recognised by the audit index.
            log.warning("delivery offsets not read on assignment", error=type(exc).__name__)
        try:
            await self._catch_up()
        except Exception as exc:
            log.warning("audit catch-up failed", error=type(exc).__name__)

    async def _settle(self, tps: list[TopicPartition]) -> None:
        """Where each assigned partition must go on: its commit, the former group's, or the log start."""
        if not tps:
            return
        admin = self._kafka.aio_admin()
        await admin.start()
        try:
            own = await admin.list_consumer_group_offsets(self.group_id, partitions=tps)
            committed = {tp: m.offset for tp, m in own.items() if m.offset >= 0}
            by_group: dict[str, list[TopicPartition]] = {}
            for tp in tps:
                if tp not in committed and tp not in self._checked and tp.topic in self._legacy_groups:
                    by_group.setdefault(self._legacy_groups[tp.topic], []).append(tp)
            adopted: dict[TopicPartition, int] = {}
            for group, parts in by_group.items():
                offsets = await admin.list_consumer_group_offsets(group, partitions=parts)
                adopted.update({tp: m.offset for tp, m in offsets.items() if m.offset >= 0})
        finally:
            await admin.close()
        for tp, offset in adopted.items():
            self._consumer.seek(tp, offset)
        if adopted:
            await self._consumer.commit(dict(adopted))
            log.info(
                "delivery offsets taken over from the former per-recipient groups", partitions=len(adopted)
            )
        self._checked.update(tps)
        rest = [tp for tp in tps if tp not in committed and tp not in adopted]
        starts: dict[TopicPartition, int] = await self._consumer.beginning_offsets(rest) if rest else {}
        self._expected.update({**starts, **committed, **adopted})

    async def _admit(self, lane: Lane, tp: TopicPartition, offset: int) -> bool:
        """Whether the record at ``offset`` is the next one of ``tp``; seeks back over a gap."""
        expected = self._expected.get(tp)
        if expected is None or offset == expected:
            return True
        if offset < expected:
            return False  # delivered and committed already (read again after a seek back)
        start = (await self._consumer.beginning_offsets([tp]))[tp]
        first = max(expected, start)
        where = log.bind(recipient=lane.plan.recipient, partition=tp.partition)
        if offset == first:
            where.warning(
                "offsets removed by retention; going on from the next record",
                expected=expected,
                next_record=offset,
            )
            return True
        # Records in [first, offset) were not handed to the lane: never commit past them.
        where.warning("gap in a notify partition; seeking back", expected=first, got=offset)
        kept = deque(r for r in lane.queue if TopicPartition(r.topic, r.partition) != tp)
        dropped = len(lane.queue) - len(kept)
        lane.queue = kept
        if dropped:
            self._held[tp] = self._held.get(tp, 0) - dropped
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, first)  # still paused: the finally of _work resumes it
        return False

    def _release(self, tp: TopicPartition) -> None:
        left = self._held.get(tp, 1) - 1
        if left > 0:
            self._held[tp] = left
            return
        self._held.pop(tp, None)
        if tp in self._consumer.assignment():
            with contextlib.suppress(IllegalStateError):
                self._consumer.resume(tp)

    # --- the lane side ------------------------------------------------------

    async def _work(self, lane: Lane) -> None:
        while not self._stopping:
            if not lane.queue:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            record = lane.queue.popleft()
            tp = TopicPartition(record.topic, record.partition)
            lane.current = tp
            try:
                if await self._admit(lane, tp, record.offset):
                    await self._deliver(lane, Incoming.of(record))
                    await self._commit(lane, tp, record.offset)
                    if tp in self._expected:
                        self._expected[tp] = record.offset + 1
            finally:
                lane.current = None
                self._release(tp)

    async def _deliver(self, lane: Lane, incoming: Incoming) -> None:
        delay = self._retry_delay_s
        while True:
            try:
                await lane.route.processor.process(lane.plan, incoming)
                lane.processed += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error(
                    "delivery step failed; the notification will be tried again",
                    recipient=lane.plan.recipient,
                    partition=incoming.partition,
                    offset=incoming.offset,
                    error=type(exc).__name__,
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
                delay = min(self._max_retry_delay_s, delay * 2)

    async def _commit(self, lane: Lane, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset + 1})
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # The partition moved during a rebalance; its new owner reads the record again and
            # the audit index (caught up on assignment) keeps it from being delivered twice.
            log.warning(
                "offset commit failed", recipient=lane.plan.recipient, partition=tp.partition, error=str(exc)
            )
