"""Events, and reading back what reached Kafka, for the publishing and gateway tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kafka import KafkaConsumer, TopicPartition

from schemas.codec import decode_model
from schemas.enums import AllegationEventType, PersonnelCategory
from schemas.models import AllegationEvent
from streams.synthetic import synthetic_allegation, synthetic_event


def event(
    allegation_id: str,
    *,
    sequence: int = 1,
    entity: str = "MINUSCA",
    nationality: str = "FRA",
    event_type: AllegationEventType = AllegationEventType.REPORTED,
) -> AllegationEvent:
    """A valid synthetic event published a minute ago."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    allegation = synthetic_allegation(
        subjects=[(f"SYNTH-SUBJ-{allegation_id}", nationality, None, PersonnelCategory.STAFF_MEMBER)],
        reported_at=at,
    )
    return synthetic_event(
        allegation_id=allegation_id,
        sequence=sequence,
        event_type=event_type,
        reporting_entity=entity,
        allegation=allegation,
        published_at=at,
    )


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int


def read_records(
    bootstrap: str, topic: str, *, until: Callable[[list[Record]], bool], timeout: float = 60
) -> list[Record]:
    """Every record of ``topic`` from the beginning (with keys and headers), until ``until`` holds."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        while True:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(
                    Record(
                        key=r.key,
                        value=r.value,
                        headers=dict(r.headers),
                        partition=r.partition,
                        offset=r.offset,
                    )
                    for r in batch
                )
            if until(records):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out on {topic} with {len(records)} record(s)")
    finally:
        consumer.close()


def event_ids(records: list[Record]) -> list[str]:
    return [r.headers["ce_id"].decode() for r in records]


def has_ids(*ids: str) -> Callable[[list[Record]], bool]:
    return lambda records: set(ids) <= set(event_ids(records))


def decode(record: Record) -> AllegationEvent:
    return decode_model(record.value, AllegationEvent)
