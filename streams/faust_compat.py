"""Every use of a Faust or aiokafka internal, in one place, checked by a test.

faust-streaming is pinned to the minor version tested (pyproject.toml). Its known
gaps, and where seabus deals with each:

* Records skipped around rebalances and commits past gaps (faust-streaming
  #216, #221, #312, #596; a stream drops records of an older consumer
  generation; the fetcher advances its read offset when a rebalance cancels the
  hand-over of a record): correctness does not rest on Faust's offsets at all.
  :mod:`seabus.streams.progress` keeps each source partition's next expected offset in
  a changelogged table and seeks back on any gap.
* ``concurrency>1`` commits past unfinished messages (#606): every agent runs
  with ``concurrency=1``.
* Timers run on every worker unless ``on_leader=True``: the deadline tick acts
  only on the worker's *active* partitions (:func:`active_source_partitions`).
* Table iteration includes standby partitions: :class:`seabus.streams.tables.PartitionedTable`
  iterates only the partitions it is asked for.
* Faust's web server serves table contents (``web_tables_enabled``): off.
* ``PartitionsMismatch: changelog topic ... has 0 partitions`` (issue 16): Faust compares
  a table's changelog with its source topic using the *consumer's* metadata snapshot,
  where a topic that this metadata does not hold yet counts as 0 partitions. Faust
  creates the changelogs itself when the worker starts, and the consumer's first
  metadata can come from a broker that does not know them yet (KRaft brokers learn a
  new topic asynchronously; later under load); aiokafka then refreshes only every
  ``consumer_metadata_max_age_ms`` (5 minutes), so every table write failed for minutes
  while the bus routed nothing, and the assignor silently left the "missing" topic out
  of the assignment. Two layers: ``seabus run`` creates every changelog and waits until
  every broker reports every source and changelog topic with its expected partition
  count before the worker starts (:func:`worker_topics`, ``seabus.deploy.worker_topics.ensure_worker_topics``);
  and :func:`install_patches` makes the check read 0 (on the group leader, the only
  member whose snapshot holds counts) as "metadata not ready" (asks the consumer to
  refresh, checks again on the next write), ``None`` as "not tracked here", and a real mismatch
  (two different non-zero counts) stops the worker with :class:`PartitionCountMismatch`.
* Table changelog records go through Faust's producer buffer, sent one at a time and
  never awaited, so a source's progress record could reach Kafka before the state it
  stands for: :class:`seabus.streams.tables.AckedTable` keeps them until the agent flushes
  them (:func:`send_changelog`) and awaits their acknowledgements before recording progress.
* The producer lingers (``linger_ms``) before sending a partition's batch, which every
  agent then pays once per acknowledgement round although it has queued all it will
  before awaiting (5 ms of a 7 ms round, measured at 50 events/s): :func:`send_now` ends
  the linger of what is queued, as aiokafka's own ``flush_for_commit`` does for a
  transaction.
* Declaring a topic while a broker is down raises ``NodeNotReadyError`` (Faust asks
  the first broker of its metadata, dead or not) and stops the worker:
  :func:`install_patches` makes topic creation wait and retry until the cluster answers.

The names below are what this module touches beyond the libraries' public API;
``tests/streams/test_faust_compat.py`` fails when an upgrade removes one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import weakref
from collections.abc import Awaitable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import faust
import faust.streams
import structlog
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError
from faust.exceptions import NotReady
from faust.types import TP, AppT, EventT, StreamT
from mode.utils.times import want_seconds

from seabus.schemas.errors import ProvisioningError
from seabus.streams.retry import Backoff, aretrying

log = structlog.get_logger(__name__)

__all__ = [
    "PRIVATE_NAMES",
    "PartitionCountMismatch",
    "WorkerMustStop",
    "active_source_partitions",
    "app_settled",
    "as_current_event",
    "buffered",
    "client_of",
    "committed_offset",
    "db_for_partition",
    "decode_key",
    "decode_value",
    "encode_key",
    "install_patches",
    "pop_partition_db",
    "read_offset",
    "request_metadata_refresh",
    "send_now",
    "worker_topics",
]

#: (module-qualified class, attribute) pairs used below; the test checks each one exists.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("faust.transport.consumer:Consumer", "_read_offset"),
    ("faust.transport.consumer:Consumer", "_committed_offset"),
    ("faust.stores.rocksdb:Store", "_dbs"),
    ("faust.stores.rocksdb:Store", "_key_index"),
    ("faust.stores.rocksdb:Store", "_db_for_partition"),
    ("faust.stores.rocksdb:Store", "_set"),
    ("faust.stores.rocksdb:Store", "_visible_items"),
    ("faust.stores.base:SerializedStore", "_encode_key"),
    ("faust.stores.base:SerializedStore", "_decode_key"),
    ("faust.stores.base:SerializedStore", "_decode_value"),
    ("aiokafka.consumer.consumer:AIOKafkaConsumer", "_client"),
    ("faust.tables.manager:TableManager", "recovery"),
    ("faust.transport.drivers.aiokafka:Transport", "_create_topic"),
    ("faust.tables.base:Collection", "_verify_source_topic_partitions"),
    ("faust.tables.base:Collection", "_verified_source_topics_for_partitions"),
    ("faust.transport.consumer:ThreadDelegateConsumer", "_thread"),
    ("faust.transport.drivers.aiokafka:AIOKafkaConsumerThread", "_consumer"),
    ("faust:streams", "_current_event"),
    ("faust.tables.base:Collection", "_on_changelog_sent"),
    ("faust.transport.drivers.aiokafka:Producer", "_producer"),
    ("aiokafka.producer.producer:AIOKafkaProducer", "_message_accumulator"),
    ("aiokafka.producer.message_accumulator:MessageAccumulator", "_batches"),
    ("aiokafka.producer.message_accumulator:MessageAccumulator", "_waiter_future"),
    ("aiokafka.producer.message_accumulator:MessageBatch", "_builder"),
)

#: Errors that mean "the cluster is not answering yet", worth waiting out.
_CLUSTER_NOT_READY = (
    NodeNotReadyError,
    KafkaConnectionError,
    KafkaTimeoutError,
    RequestTimedOutError,
    NotReady,
    asyncio.TimeoutError,
)
_patched = False


def install_patches(*, max_delay_s: float = 10.0) -> None:
    """Topic creation waits for the cluster instead of stopping the worker (idempotent)."""
    global _patched
    if _patched:
        return
    from faust.transport.drivers.aiokafka import Transport

    original = Transport._create_topic

    @functools.wraps(original)
    async def _create_topic(
        self: Any, owner: Any, client: Any, topic: str, partitions: int, replication: int, **kwargs: Any
    ) -> None:
        attempts = 0

        async def attempt() -> None:
            nonlocal attempts
            attempts += 1
            if attempts > 1:  # after a pause: fresh metadata first
                try:
                    await client.force_metadata_update()
                except Exception as exc:  # the attempt says what is wrong
                    log.debug("metadata refresh failed", error=exc.__class__.__name__)
            await original(self, owner, client, topic, partitions, replication, **kwargs)

        await aretrying(
            retry_on=_CLUSTER_NOT_READY,
            backoff=Backoff(0.5, max_delay_s),
            give_up=lambda: bool(owner.should_stop),
            on_retry=lambda w: log.warning(
                "topic creation waits for the cluster",
                topic=topic,
                error=w.error.__class__.__name__,
                retry_in_s=w.retry_in_s,
            ),
        )(attempt)

    Transport._create_topic = _create_topic  # type: ignore[method-assign]

    from faust.tables.base import Collection

    Collection._verify_source_topic_partitions = _verify_source_topic_partitions  # type: ignore[method-assign]
    _patched = True


class WorkerMustStop(ProvisioningError):
    """Raised inside the worker when going on would route wrongly or not at all.

    The record guard re-raises it (never a dead letter: the record is fine) and the worker
    is crashed, so ``seabus run`` exits non-zero with this message.
    """


class PartitionCountMismatch(WorkerMustStop):
    """A table's changelog and its source topic both report partitions, and not the same number."""


#: Seconds between two metadata refreshes asked of the consumer by the check below.
_REFRESH_EVERY_S = 1.0
_last_refresh: list[float] = [0.0]


def _verify_source_topic_partitions(self: Any, source_topic: str) -> None:
    """Faust's co-partitioning check, with 0 / unknown read as "metadata not ready".

    Replaces ``Collection._verify_source_topic_partitions``. Faust's version reads the
    consumer's metadata snapshot twice and raises ``PartitionsMismatch`` when a topic
    it does not know yet counts as 0; the agent then failed every write until
    aiokafka's periodic refresh (up to 5 minutes, issue 16). Here each count is read
    once; a count of 0 (the group leader's snapshot has the topic but no metadata for
    it) asks the consumer for fresh metadata and lets the write go on (the changelog is
    declared with the source's partition count, and the check runs again on the next
    write, because nothing is marked verified); ``None`` (a member that is not the
    leader tracks no counts) is skipped as Faust skips it; only two known, different
    counts are a real mismatch, and that stops the worker.
    """
    verified: set[str] = self._verified_source_topics_for_partitions
    if source_topic in verified:
        return
    consumer = self.app.consumer
    change_topic = self.changelog_topic_name
    source_n = consumer.topic_partitions(source_topic)
    change_n = consumer.topic_partitions(change_topic)
    if source_n is None or change_n is None:
        # Only the group's leader tracks these counts (aiokafka's snapshot covers the group's
        # subscription on the leader alone): nothing to compare here, as in Faust's own check.
        verified.add(source_topic)
        return
    if source_n == 0 or change_n == 0:
        if request_metadata_refresh(consumer):  # logged as often as asked: at most once a second
            log.warning(
                "topic metadata not ready; partition check deferred, metadata refresh asked",
                table=self.name,
                source_topic=source_topic,
                source_partitions=source_n,
                changelog_partitions=change_n,
            )
        return
    if source_n != change_n:
        exc = PartitionCountMismatch(
            f"table {self.name!r}: source topic {source_topic!r} has {source_n} partitions but its "
            f"changelog {change_topic!r} has {change_n}; a table must have as many partitions as the "
            "topic that writes it. The worker stops rather than write state to the wrong partition: "
            "give both topics the same partition count (see docs/RELIABILITY.md, PartitionsMismatch)."
        )
        log.critical("partition count mismatch; stopping the worker", table=self.name, error=str(exc))
        crash_app(self.app, exc)
        raise exc
    verified.add(source_topic)


def request_metadata_refresh(consumer: Any, *, now: float | None = None) -> bool:
    """Ask Faust's consumer for fresh cluster metadata (at most once a second); True if asked.

    The consumer's aiokafka client lives in the consumer thread's event loop, so the
    refresh is handed to that loop; a consumer that is not running is left alone.
    """
    moment = time.monotonic() if now is None else now
    if moment - _last_refresh[0] < _REFRESH_EVERY_S:
        return False
    thread = getattr(consumer, "_thread", None)
    aio = getattr(thread, "_consumer", None) if thread is not None else None
    loop = getattr(thread, "thread_loop", None)
    if aio is None or loop is None or loop.is_closed():
        return False
    _last_refresh[0] = moment
    loop.call_soon_threadsafe(aio._client.force_metadata_update)
    return True


def crash_app(app: Any, exc: BaseException) -> None:
    """Crash the worker that runs ``app`` (mode's ``Service.crash``): it stops and exits non-zero."""
    try:
        asyncio.get_running_loop().create_task(app.crash(exc))
    except RuntimeError:  # no loop running: the caller's exception is all there is
        log.debug("no running loop to crash the app from")


@dataclass(frozen=True)
class InternalTopic:
    """A topic Faust would create for this app (a table's changelog): what it asks for."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass(frozen=True)
class WorkerTopics:
    """Every topic the worker's agents read (expected partitions), and the changelogs."""

    sources: dict[str, int]
    changelogs: list[InternalTopic]

    def expected(self) -> dict[str, int]:
        out = dict(self.sources)
        out.update({t.name: t.partitions for t in self.changelogs})
        return out


def worker_topics(app: faust.App) -> WorkerTopics:
    """The topics the worker needs before its agents start, from the app's own declarations.

    Changelog configs are built the way Faust's ``Transport._topic_config`` builds them
    (cleanup policy from compacting/deleting, retention), plus the table's extra configs,
    so a changelog created before the worker is the one Faust would have created.
    """
    conf = app.conf
    sources: dict[str, int] = {}
    for agent in app.agents.values():
        channel: Any = agent.channel
        for name in getattr(channel, "topics", ()) or ():
            sources[name] = int(channel.partitions or conf.topic_partitions)
    changelogs: list[InternalTopic] = []
    for table in app.tables.values():
        topic: Any = table.changelog_topic
        configs: dict[str, str] = {}
        flags = [flag for flag, on in (("compact", topic.compacting), ("delete", topic.deleting)) if on]
        if flags:
            configs["cleanup.policy"] = ",".join(flags)
        if topic.retention:
            configs["retention.ms"] = str(int(want_seconds(topic.retention) * 1000.0))
        configs.update({k: str(v) for k, v in (topic.config or {}).items()})
        changelogs.append(
            InternalTopic(
                name=table.changelog_topic_name,
                partitions=int(topic.partitions or conf.topic_partitions),
                replication_factor=int(topic.replicas or conf.topic_replication_factor or 1),
                configs=configs,
            )
        )
    return WorkerTopics(sources=sources, changelogs=changelogs)


def app_settled(app: faust.App) -> bool:
    """True when no rebalance or table recovery is under way (assignments are stable)."""
    recovery: Any = app.tables.recovery  # type: ignore[attr-defined]
    return not (app.rebalancing or app.in_recovery) and recovery.completed.is_set()


def active_source_partitions(app: faust.App, topics: Iterable[str]) -> set[TP]:
    """The source partitions this worker owns actively now (never its standby copies)."""
    wanted = set(topics)
    return {tp for tp in app.assignor.assigned_actives() if tp.topic in wanted}


# -- batches of events --------------------------------------------------------------


def buffered(stream: StreamT[Any]) -> bool:
    """True when the agent's stream already holds another event: a batch can grow without waiting.

    Faust's ``take_events`` waits up to its ``within`` for a batch to fill, which adds that
    wait to every event at low rates; the intake agent batches only what is already there.
    """
    channel: Any = stream.channel
    return not channel.empty()


@contextlib.contextmanager
def as_current_event(event: EventT[Any] | None) -> Iterator[None]:
    """Make ``event`` Faust's current event while a batch writes on its behalf.

    Faust picks a table write's changelog partition (and the RocksDB partition database)
    from the current event; a batch writes after all its events were read, so each write
    is made under the event of the record it belongs to.
    """
    if event is None:
        yield
        return
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


def read_offset(consumer: Any, tp: TP) -> int | None:
    """The offset of the last record Faust's fetcher handed on (metrics only: not an authority)."""
    value = consumer._read_offset.get(tp)
    return int(value) if value is not None else None


def committed_offset(consumer: Any, tp: TP) -> int | None:
    """Faust's idea of the committed offset (metrics only: the bus keeps its own)."""
    value = consumer._committed_offset.get(tp)
    return int(value) if value is not None else None


# -- the RocksDB store ---------------------------------------------------------------


def encode_key(store: Any, key: Any) -> bytes:
    return bytes(store._encode_key(key))


def decode_key(store: Any, raw: bytes) -> Any:
    return store._decode_key(raw)


def decode_value(store: Any, raw: bytes) -> Any:
    return store._decode_value(raw)


def db_for_partition(store: Any, partition: int) -> Any:
    """The partition's database, opened if need be."""
    return store._db_for_partition(partition)


def partition_dbs(store: Any) -> Iterator[tuple[int, Any]]:
    yield from list(store._dbs.items())


def key_index(store: Any) -> dict[bytes, int]:
    index: dict[bytes, int] = store._key_index
    return index


def pop_partition_db(store: Any, partition: int) -> Any:
    """Forget (and return) an open partition database; Faust opens it again when assigned."""
    return store._dbs.pop(partition, None)


def visible_items(store: Any, db: Any) -> Iterator[tuple[bytes, bytes]]:
    yield from store._visible_items(db)


async def send_changelog(table: Any, partition: int, key: Any, value: Any) -> Awaitable[Any]:
    """One changelog record as ``Collection.send_changelog`` builds it, sent now (not through
    Faust's producer buffer); returns its acknowledgement. ``_on_changelog_sent`` is what
    records a RocksDB partition's persisted changelog offset, as Faust's own path does."""
    ack: Awaitable[Any] = await table.changelog_topic.send(
        key=key,
        value=value,
        partition=partition,
        key_serializer=table.key_serializer,
        value_serializer=table.value_serializer if value is not None else "raw",
        callback=table._on_changelog_sent,
        force=True,  # not attached to the current event: sent now
    )
    return ack


def send_now(app: AppT) -> int:
    """Send what the app's producer holds now instead of after its linger; returns the batches.

    Called right before an agent awaits a round of acknowledgements: everything of the
    round is queued by then, so lingering could only add its ``linger_ms`` to the round.
    The open batches are closed and the sender is woken, what aiokafka's
    ``flush_for_commit`` does for a transaction's records (a record for the same partition
    queued meanwhile waits until the sender has taken the closed batch).
    """
    producer = getattr(app.producer, "_producer", None)
    accumulator = getattr(producer, "_message_accumulator", None)
    if accumulator is None:
        return 0
    closed = 0
    for batches in accumulator._batches.values():
        for batch in batches:
            batch._builder.close()
            closed += 1
    waiter = accumulator._waiter_future
    if closed and not waiter.done():
        waiter.set_result(None)
    return closed


def client_of(consumer: Any) -> Any:
    """aiokafka's client of a consumer: the only way to list every topic's partitions."""
    return consumer._client
