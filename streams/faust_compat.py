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
* On a first start, table writes raise ``PartitionsMismatch`` ("changelog topic has 0
  partitions") until the changelog topic's metadata arrives; the agent crash-looped.
  :func:`install_patches` reads 0 as "not known yet".
* Declaring a topic while a broker is down raises ``NodeNotReadyError`` (Faust asks
  the first broker of its metadata, dead or not) and stops the worker:
  :func:`install_patches` makes topic creation wait and retry until the cluster answers.

The names below are what this module touches beyond the libraries' public API;
``tests/streams/test_faust_compat.py`` fails when an upgrade removes one.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Iterator
from typing import Any

import faust
import structlog
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError
from faust.exceptions import NotReady
from faust.types import TP

log = structlog.get_logger(__name__)

__all__ = [
    "PRIVATE_NAMES",
    "active_source_partitions",
    "app_settled",
    "client_of",
    "committed_offset",
    "db_for_partition",
    "decode_key",
    "decode_value",
    "encode_key",
    "install_patches",
    "pop_partition_db",
    "read_offset",
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
        delay = 0.5
        while True:
            try:
                await original(self, owner, client, topic, partitions, replication, **kwargs)
                return
            except _CLUSTER_NOT_READY as exc:
                if owner.should_stop:
                    raise
                log.warning(
                    "topic creation waits for the cluster",
                    topic=topic,
                    error=exc.__class__.__name__,
                    retry_in_s=delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
            try:
                await client.force_metadata_update()
            except Exception as exc:  # the next attempt says what is wrong
                log.debug("metadata refresh failed", error=exc.__class__.__name__)

    Transport._create_topic = _create_topic  # type: ignore[method-assign]

    from faust.tables.base import Collection

    verify = Collection._verify_source_topic_partitions

    @functools.wraps(verify)
    def _verify_source_topic_partitions(self: Any, source_topic: str) -> None:
        # 0 partitions means the changelog's metadata has not arrived yet (a first start),
        # not a mismatch; the check runs again on the next write.
        if self.app.consumer.topic_partitions(self.changelog_topic_name) == 0:
            return
        verify(self, source_topic)

    Collection._verify_source_topic_partitions = _verify_source_topic_partitions  # type: ignore[method-assign]
    _patched = True


def app_settled(app: faust.App) -> bool:
    """True when no rebalance or table recovery is under way (assignments are stable)."""
    recovery: Any = app.tables.recovery  # type: ignore[attr-defined]
    return not (app.rebalancing or app.in_recovery) and recovery.completed.is_set()


def active_source_partitions(app: faust.App, topics: Iterable[str]) -> set[TP]:
    """The source partitions this worker owns actively now (never its standby copies)."""
    wanted = set(topics)
    return {tp for tp in app.assignor.assigned_actives() if tp.topic in wanted}


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


def client_of(consumer: Any) -> Any:
    """aiokafka's client of a consumer: the only way to list every topic's partitions."""
    return consumer._client
