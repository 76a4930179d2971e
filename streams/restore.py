"""Bulk restore of the RocksDB tables from their changelogs, before the worker joins its group.

Faust replays a changelog one record at a time through several asyncio hops
(about 13,000 records a second here, so a million obligations took ~110 s after
a lost disk). This reads the same records in large fetches and writes them in
RocksDB write batches, exactly as Faust's own ``apply_changelog_batch`` does
(raw key and value; a tombstone deletes), then records the applied offset
where Faust keeps it. Faust's recovery then starts from that offset and has
(almost) nothing left to read.

Only partitions whose local copy is more than ``min_records`` behind are
restored here; small gaps are left to Faust. Every partition of a changelog is
restored, not only those the worker will be assigned (it does not know them
yet): in a group of several workers that costs disk, and makes a later
rebalance start warm.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import faust
import rocksdict
import structlog
from faust.types import TP
from kafka import KafkaConsumer, TopicPartition

from seabus.schemas.errors import SeabusError
from seabus.streams import faust_compat
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.stores import SeabusRocksStore

__all__ = ["DataDirInUse", "RestoreReport", "restore_tables"]

log = structlog.get_logger(__name__)

MIN_RECORDS = 10_000


class DataDirInUse(SeabusError):
    """Two workers were given the same data directory."""


@dataclass
class RestoreReport:
    records: dict[str, int] = field(default_factory=dict)  # changelog topic -> records applied
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.records.values())


def _rocks_tables(app: faust.App) -> Iterable[tuple[str, SeabusRocksStore]]:
    for table in app.tables.values():
        store = table.data
        if isinstance(store, SeabusRocksStore):
            yield table.changelog_topic_name, store


def restore_tables(
    app: faust.App, *, kafka: KafkaConnection, min_records: int = MIN_RECORDS
) -> RestoreReport:
    """Bring every lagging local table partition up to its changelog's end; returns what was applied."""
    report = RestoreReport()
    began = time.perf_counter()
    consumer = kafka.kafka_consumer(
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        max_poll_records=100_000,
        receive_buffer_bytes=4 * 1024 * 1024,
    )
    try:
        for topic, store in _rocks_tables(app):
            try:
                applied = _restore_topic(consumer, topic, store, min_records)
            except Exception as exc:
                if "lock" not in str(exc).lower():
                    raise
                raise DataDirInUse(
                    f"the table store in {store.path} is locked by another running worker ({exc}); "
                    "give each worker its own SEABUS_DATA_DIR, or stop the other one"
                ) from exc
            if applied:
                report.records[topic] = applied
    finally:
        consumer.close()
    report.seconds = time.perf_counter() - began
    if report.records:
        log.info("tables restored in bulk", records=report.total, seconds=round(report.seconds, 1))
    return report


def _restore_topic(consumer: KafkaConsumer, topic: str, store: SeabusRocksStore, min_records: int) -> int:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        return 0  # a first start: Faust creates the changelog
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
    starts: dict[TopicPartition, int] = consumer.beginning_offsets(tps)
    todo: dict[TopicPartition, int] = {}
    for tp in tps:
        persisted = store.persisted_offset(TP(topic, tp.partition))
        start = max(starts[tp], persisted + 1 if persisted is not None else 0)
        if ends[tp] - start > min_records:
            todo[tp] = start
        else:
            _close(store, tp.partition)  # Faust opens it again when it is assigned
    if not todo:
        return 0
    consumer.assign(list(todo))
    for tp, start in todo.items():
        consumer.seek(tp, start)
    applied = 0
    remaining = set(todo)
    while remaining:
        polled: dict[TopicPartition, list[Any]] = consumer.poll(timeout_ms=1000)
        for tp, records in polled.items():
            if not records:
                continue
            batch = rocksdict.WriteBatch(raw_mode=True)
            for record in records:
                if record.value is None:
                    batch.delete(record.key)
                else:
                    batch.put(record.key, record.value)
            db = faust_compat.db_for_partition(store, tp.partition)
            db.write(batch)
            store.set_persisted_offset(TP(topic, tp.partition), records[-1].offset)
            applied += len(records)
        for tp in list(remaining):
            if consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
                _close(store, tp.partition)
    consumer.unsubscribe()
    return applied


def _close(store: SeabusRocksStore, partition: int) -> None:
    db = faust_compat.pop_partition_db(store, partition)
    if db is not None:
        db.close()
