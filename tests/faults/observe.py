"""Reading what the bus wrote, independently of the bus: plain kafka-python consumers, manual assignment.

:func:`read_to_end` is the verdict's read: it fetches the end offsets first and
returns only once every partition was read up to them (or raises).
:class:`Collector` is the cheap incremental read used while waiting for the bus
to catch up; it never decides the verdict.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from faults.cluster import admin_client
from seabus.schemas.codec import decode_model, peek_writer
from seabus.schemas.errors import CodecError, ValidationFailed
from seabus.schemas.models import Notification
from seabus.streams.kafka_connection import KafkaConnection


class IncompleteRead(RuntimeError):
    """A partition could not be read up to the end offset fetched before reading."""


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None


def _consumer(kafka: KafkaConnection) -> KafkaConsumer:
    return kafka.kafka_consumer(
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=30000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


def topics_with_prefix(kafka: KafkaConnection, prefix: str) -> list[str]:
    admin = admin_client(kafka, timeout_ms=15000)
    try:
        return sorted(t for t in admin.list_topics() if t.startswith(prefix))
    finally:
        admin.close()


def read_to_end(kafka: KafkaConnection, topics: list[str], *, timeout_s: float = 180.0) -> list[Record]:
    """Every record of every partition of ``topics``, from the beginning to the end offsets fetched first."""
    consumer = _consumer(kafka)
    try:
        tps: list[TopicPartition] = []
        for topic in topics:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                raise IncompleteRead(f"no partition metadata for {topic}")
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        end = consumer.end_offsets(tps)
        begin = consumer.beginning_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if end[tp] > begin[tp]}
        records: list[Record] = []
        deadline = time.monotonic() + timeout_s
        while remaining:
            for tp, batch in consumer.poll(timeout_ms=500, max_records=5000).items():
                records += [
                    Record(tp.topic, tp.partition, r.offset, r.value) for r in batch if r.offset < end[tp]
                ]
            for tp in list(remaining):
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
            if remaining and time.monotonic() > deadline:
                raise IncompleteRead(
                    f"{len(remaining)} partition(s) not read up to their end offsets within {timeout_s:.0f}s: "
                    + ", ".join(f"{tp.topic}/{tp.partition}" for tp in sorted(remaining)[:10])
                )
        return records
    finally:
        consumer.close()


def end_offsets(kafka: KafkaConnection, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = _consumer(kafka)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()


def committed_offsets(
    kafka: KafkaConnection, group: str, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's committed offsets; a partition with no commit (Kafka says -1) is left out."""
    admin = admin_client(kafka, timeout_ms=15000)
    try:
        raw = admin.list_group_offsets({group: tps}).get(group, {})
        return {
            tp: om.offset
            for tp, om in raw.items()
            if om is not None and om.offset is not None and om.offset >= 0
        }
    finally:
        admin.close()


def bus_progress(
    kafka: KafkaConnection, app_id: str, *, timeout_s: float = 60.0, table: str = "source-progress"
) -> dict[TopicPartition, int]:
    """The bus's own next expected offset per source partition, read from the changelog of its
    ``source-progress`` table (key ``topic#partition``, JSON integer value; last write wins).

    This is what the bus's correctness rests on, not the group's commits."""
    topic = f"{app_id}-{table}-changelog"
    consumer = _consumer(kafka)
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise IncompleteRead(f"no partition metadata for {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        end = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        progress: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + timeout_s
        while remaining:
            for _tp, batch in consumer.poll(timeout_ms=500, max_records=5000).items():
                for r in batch:
                    if r.key is None:
                        continue
                    name, _, part = r.key.decode().strip('"').rpartition("#")
                    source = TopicPartition(name, int(part))
                    if r.value is None:
                        progress.pop(source, None)
                    else:
                        progress[source] = int(json.loads(r.value))
            for tp in list(remaining):
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
            if remaining and time.monotonic() > deadline:
                raise IncompleteRead(f"{topic}: {len(remaining)} partition(s) not read to their end offsets")
        return progress
    finally:
        consumer.close()


def is_escalation(value: bytes | None) -> bool:
    """Escalations share the notify topics (reminders, overdue, second level); they are not notifications."""
    try:
        return value is not None and peek_writer(value).name == "Escalation"
    except CodecError:
        return False


def decode_notification(value: bytes | None) -> Notification | None:
    if value is None:
        return None
    try:
        return decode_model(value, Notification)
    except (CodecError, ValidationFailed):
        return None


class Collector:
    """Follows every ``<prefix>.notify.*`` topic and remembers which (event, recipient) pairs arrived."""

    def __init__(self, kafka: KafkaConnection, prefix: str) -> None:
        self.kafka = kafka
        self.prefix = f"{prefix}.notify."
        self.consumer = _consumer(kafka)
        self.assigned: set[TopicPartition] = set()
        self.seen: set[tuple[str, str]] = set()
        self._refreshed = 0.0

    def _refresh(self) -> None:
        topics = [t for t in self.consumer.topics() if t.startswith(self.prefix)]
        tps = {TopicPartition(t, p) for t in topics for p in self.consumer.partitions_for_topic(t) or []}
        new = tps - self.assigned
        if new:
            self.assigned |= new
            self.consumer.assign(sorted(self.assigned))
            self.consumer.seek_to_beginning(*sorted(new))
        self._refreshed = time.monotonic()

    def poll(self, seconds: float = 1.0) -> None:
        try:
            if time.monotonic() - self._refreshed > 5:
                self._refresh()
            if not self.assigned:
                time.sleep(seconds)
                return
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                for batch in self.consumer.poll(timeout_ms=250, max_records=5000).values():
                    for r in batch:
                        n = decode_notification(r.value)
                        if n is not None:
                            self.seen.add((n.source_event_id, n.recipient))
        except Exception:  # a broker just died: the next poll retries
            time.sleep(0.5)

    def close(self) -> None:
        self.consumer.close()
