"""Outgoing records: what an agent decided to produce, encoded with CloudEvents headers.

One place builds dead letters, escalations and their headers, so every agent
dead-letters the same way: original bytes, headers and coordinates kept, a
reason code and a message a person can act on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from schemas.cloudevents import build_headers, ce_type_for
from schemas.codec import Codec, encode_model
from schemas.enums import DeadLetterReason
from schemas.models import DeadLetter, Escalation, KafkaHeader, SeabusRecord

Headers = list[tuple[str, bytes]]
ESCALATION_NAMESPACE = uuid.UUID("8a1f0b3e-5c2d-4e7f-9b61-3d4c5e6f7a82")


def stable_id(*parts: str) -> str:
    """A UUIDv5 over the parts: the same inputs give the same id after a redelivery."""
    return str(uuid.uuid5(ESCALATION_NAMESPACE, "|".join(parts)))


@dataclass(frozen=True, kw_only=True)
class Source:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, kw_only=True)
class Outbound:
    """One record to produce: ``route`` is "notify" (with ``recipient``) or a core topic name."""

    route: str
    recipient: str | None
    key: bytes | None
    value: bytes
    headers: Headers


def headers_for(record: SeabusRecord, record_id: str, subject: str, now: datetime, source: str) -> Headers:
    return build_headers(
        event_id=record_id, source=source, type_=ce_type_for(record.avro_name), time=now, subject=subject
    )


def escalation_out(e: Escalation, *, codec: Codec, source: str) -> Outbound:
    return Outbound(
        route="escalations",
        recipient=None,
        key=e.allegation_id.encode(),
        value=encode_model(e, codec=codec),
        headers=headers_for(e, e.escalation_id, e.allegation_id, e.fired_at, source),
    )


def dead_letter_out(
    *,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    source: Source,
    reason: DeadLetterReason,
    message: str,
    now: datetime,
    codec: Codec,
    producer: str,
) -> Outbound:
    record = DeadLetter(
        original_key=key,
        original_value=value or b"",
        original_headers=tuple(KafkaHeader(key=k, value=v) for k, v in headers),
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        reason=reason,
        message=message,
        dead_lettered_at=now,
    )
    return Outbound(
        route="deadletter",
        recipient=None,
        key=key,
        value=encode_model(record, codec=codec),
        headers=headers_for(
            record,
            stable_id(source.topic, str(source.partition), str(source.offset), reason.value),
            key.decode("utf-8", "replace") if key else "-",
            now,
            producer,
        ),
    )
