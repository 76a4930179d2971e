"""Record envelopes: what the bus decided to produce, encoded with CloudEvents headers.

This is the contract layer, so agents and connectors (the delivery pipeline, the
gateway) build envelopes the same way without importing from each other.

One place builds dead letters, escalations and their headers, so every agent
dead-letters the same way: a redacted form of the original (record type,
schema, identifiers; never its bytes, which may hold a narrative or names), the
SHA-256 digest and size of the whole value, headers and source coordinates, a
reason code and a message a person can act on.

Both are built from whatever arrived, so every part is cut to the budgets of
:mod:`seabus.schemas.limits` and the record always fits Kafka's limits, however big the
input: a dead letter keeps the digest and size of the original value (the
value itself stays at its source coordinates, on a topic only the bus reads), a
bounded key, bounded headers and message, and is keyed by the original key or
``sha256:<hex>`` of it; an escalation's identifiers and reason are bounded too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from seabus.schemas.cloudevents import build_headers, ce_type_for
from seabus.schemas.codec import HEADER_SIZE, MAGIC, Codec, default_codec, encode_model
from seabus.schemas.enums import DeadLetterReason
from seabus.schemas.errors import CodecError, CodecReason, ValidationFailed
from seabus.schemas.ids import stable_id
from seabus.schemas.limits import (
    DEAD_LETTER_HEADER_NAME_BYTES,
    DEAD_LETTER_HEADER_VALUE_BYTES,
    DEAD_LETTER_HEADERS_BYTES,
    DEAD_LETTER_MAX_HEADERS,
    DEAD_LETTER_MESSAGE_BYTES,
    ESCALATION_REASON_BYTES,
    MAX_KEY_BYTES,
    bounded_id,
    bounded_key,
    clip_bytes,
    clip_text,
    sha256_hex,
)
from seabus.schemas.models import DeadLetter, Escalation, KafkaHeader, RedactedField, SeabusRecord

Headers = list[tuple[str, bytes]]
_MINIMAL_MESSAGE_BYTES = 2048


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


def dead_letter_reason(exc: CodecError | ValidationFailed) -> tuple[DeadLetterReason, str]:
    """The dead-letter reason and message of a value that did not decode into its model."""
    if isinstance(exc, CodecError):
        return exc.reason, str(exc)
    return DeadLetterReason.SCHEMA_INVALID, str(exc)


def headers_for(record: SeabusRecord, record_id: str, subject: str, now: datetime, source: str) -> Headers:
    return build_headers(
        event_id=record_id, source=source, type_=ce_type_for(record.avro_name), time=now, subject=subject
    )


def bounded_escalation(e: Escalation) -> Escalation:
    """``e`` with identifiers of at most 256 bytes (else ``sha256:<hex>``) and a reason of at most 4 KiB."""
    update: dict[str, object] = {}
    for name in ("escalation_id", "allegation_id", "recipient"):
        value = getattr(e, name)
        if value is not None and (bounded := bounded_id(value)) != value:
            update[name] = bounded
    reason = clip_text(e.reason, ESCALATION_REASON_BYTES)
    if reason != e.reason:
        update["reason"] = reason
    return e.model_copy(update=update) if update else e


def escalation_out(e: Escalation, *, codec: Codec, source: str) -> Outbound:
    e = bounded_escalation(e)
    return Outbound(
        route="escalations",
        recipient=None,
        key=e.allegation_id.encode(),
        value=encode_model(e, codec=codec),
        headers=headers_for(e, e.escalation_id, e.allegation_id, e.fired_at, source),
    )


def _bounded_headers(headers: Headers) -> tuple[tuple[KafkaHeader, ...], bool]:
    """At most 32 headers within 8 KiB, names and values cut; True when anything was cut or left out."""
    kept: list[KafkaHeader] = []
    cut = len(headers) > DEAD_LETTER_MAX_HEADERS
    room = DEAD_LETTER_HEADERS_BYTES
    for name, value in headers[:DEAD_LETTER_MAX_HEADERS]:
        short_name = clip_text(name, DEAD_LETTER_HEADER_NAME_BYTES)
        short_value = None if value is None else clip_bytes(bytes(value), DEAD_LETTER_HEADER_VALUE_BYTES)
        size = len(short_name.encode("utf-8", "surrogatepass")) + len(short_value or b"")
        if size > room:
            cut = True
            break
        room -= size
        cut = cut or short_name != name or (value is not None and short_value != value)
        kept.append(KafkaHeader(key=short_name, value=short_value))
    return tuple(kept), cut


REDACTED_FIELDS = (
    "allegation_id",
    "event_id",
    "event_type",
    "sequence",
    "reporting_entity",
    "notification_id",
    "recipient",
    "recipient_class",
    "response_id",
    "kind",
    "escalation_id",
    "level",
    "attempt_id",
    "channel",
)
"""Top-level fields of the bus's records that are identifiers or codes, never free text."""
REDACTED_VALUE_BYTES = 64
MAX_REDACTED_FIELDS = 16
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,63}$")


def _shown(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # An identifier of a refused record may be anything (even a pasted narrative): show only
        # what looks like an identifier, else its length.
        return value if _SAFE_VALUE.fullmatch(value) else f"<{len(value)} characters, not shown>"
    return None


def redacted_fields(value: bytes, codec: Codec | None = None) -> tuple[RedactedField, ...]:
    """What of a refused value is safe to show: its record type and schema, its identifiers and codes.

    Decoded only to pick these fields; nothing else of the value (narrative, subjects,
    victims, notes) leaves this function. Bytes that do not decode give what their
    header says, or nothing.
    """
    fields: list[RedactedField] = []
    codec = codec or default_codec()
    if len(value) >= HEADER_SIZE and value[:2] == MAGIC:
        writer = codec.registry.by_fingerprint(value[2:HEADER_SIZE])
        schema = writer.label if writer is not None else f"unknown fingerprint {value[2:HEADER_SIZE].hex()}"
        fields.append(RedactedField(field="schema", value=schema))
        if writer is not None:
            try:
                name, datum = codec.decode(value)
            except CodecError:
                datum = {}
                name = writer.name
            fields.insert(0, RedactedField(field="record_type", value=name))
            for field in REDACTED_FIELDS:
                shown = _shown(datum.get(field))
                if shown is not None and len(fields) < MAX_REDACTED_FIELDS:
                    fields.append(RedactedField(field=field, value=clip_text(shown, REDACTED_VALUE_BYTES)))
    elif value:
        fields.append(RedactedField(field="format", value="not Avro single-object encoding"))
    return tuple(fields)


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
    """The dead letter of one record, bounded whatever its size (see :mod:`seabus.schemas.limits`)."""
    received = Received(key=key, value=value, headers=headers, source=source)
    return received.dead_letter(reason, message, now=now, codec=codec, producer=producer)


@dataclass(frozen=True, kw_only=True)
class Received:
    """One record as read from a topic: all that its dead letter, if it gets one, is made from.

    Checks that may refuse a record hold one of these and call :meth:`dead_letter`, so the
    record's coordinates are named once rather than at every refusal.
    """

    key: bytes | None
    value: bytes | None
    headers: Headers
    source: Source

    def dead_letter(
        self, reason: DeadLetterReason, message: str, *, now: datetime, codec: Codec, producer: str
    ) -> Outbound:
        """The dead letter of this record, bounded whatever its size (see :mod:`seabus.schemas.limits`)."""
        key, value, headers, source = self.key, self.value, self.headers, self.source
        original = value or b""
        kept_headers, headers_cut = _bounded_headers(headers)
        record = DeadLetter(
            original_key=None if key is None else clip_bytes(key, MAX_KEY_BYTES),
            # Never the bytes: they may hold a narrative or names, and operators' tools read this topic.
            original_value=b"",
            original_value_withheld=True,
            redacted=redacted_fields(original, codec),
            original_headers=kept_headers,
            source_topic=clip_text(source.topic, MAX_KEY_BYTES),
            source_partition=source.partition,
            source_offset=source.offset,
            reason=reason,
            message=clip_text(message, DEAD_LETTER_MESSAGE_BYTES),
            dead_lettered_at=now,
            original_key_size=None if key is None else len(key),
            original_key_sha256=None if key is None else sha256_hex(key),
            original_key_truncated=key is not None and len(key) > MAX_KEY_BYTES,
            original_value_size=len(original),
            original_value_sha256=sha256_hex(original),
            original_value_truncated=False,
            original_headers_count=len(headers),
            original_headers_truncated=headers_cut,
        )
        try:
            encoded = encode_model(record, codec=codec)
        except CodecError as exc:
            if exc.reason is not CodecReason.OVERSIZED:
                raise
            # The codec's limit is below the dead-letter budget (a bus configured with a small
            # max_message_bytes): keep the digests, sizes and coordinates, drop the copies.
            record = record.model_copy(
                update={
                    "redacted": (),
                    "original_headers": (),
                    "original_headers_truncated": bool(headers),
                    "message": clip_text(message, _MINIMAL_MESSAGE_BYTES),
                }
            )
            encoded = encode_model(record, codec=codec)
        out_key = bounded_key(key)
        return Outbound(
            route="deadletter",
            recipient=None,
            key=out_key,
            value=encoded,
            headers=headers_for(
                record,
                stable_id(source.topic, str(source.partition), str(source.offset), reason.value),
                out_key.decode("utf-8", "replace") if out_key else "-",
                now,
                producer,
            ),
        )
