"""Events, and reading back what reached Kafka, for the publishing and gateway tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kafka.consumer.fetcher import ConsumerRecord
from support import reading as support_reading

from seabus.schemas.codec import decode_model
from seabus.schemas.enums import AllegationEventType, PersonnelCategory
from seabus.schemas.models import AllegationEvent
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.synthetic import synthetic_allegation, synthetic_event


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
    kafka: KafkaConnection, topic: str, *, until: Callable[[list[Record]], bool], timeout: float = 60
) -> list[Record]:
    """Every record of ``topic`` (with keys and headers) up to its end offsets at call time,
    and on until ``until`` holds; an ``AssertionError`` if that takes longer than ``timeout``."""
    records: list[Record] = []

    def holds(raw: list[ConsumerRecord]) -> bool:
        records.extend(
            Record(key=r.key, value=r.value, headers=dict(r.headers), partition=r.partition, offset=r.offset)
            for r in raw[len(records) :]
        )
        return until(records)

    support_reading.read_records(kafka, topic, until=holds, timeout=timeout)
    return records


def event_ids(records: list[Record]) -> list[str]:
    return [r.headers["ce_id"].decode() for r in records]


def has_ids(*ids: str) -> Callable[[list[Record]], bool]:
    return lambda records: set(ids) <= set(event_ids(records))


def decode(record: Record) -> AllegationEvent:
    return decode_model(record.value, AllegationEvent)
