"""Decoding for the read model: each record once, and a notification only as far as the view needs.

Issue 16: the view read every record back in the worker's process, and the
overdue index and the statistics each decoded it in full (Avro, then the
pydantic model), so every obligation update and notification was decoded
twice. Notifications are the most numerous records the view reads (one per
recipient per event) and the largest (each carries the recipient's minimised
allegation), yet the view keeps eight small fields of them.

:class:`RecordDecoder` is shared by the indexes one reader feeds: the record
just decoded is kept (by identity of its bytes), so the second index gets the
same model for free; a notification is read with a projected reader schema
(the latest version's schema with only :data:`NOTIFICATION_FIELDS`), which
makes fastavro skip the allegation instead of building it, and becomes a
:class:`NotificationFacts`, without a pydantic model. The projected read keeps
the codec's checks (size, marker, known fingerprint, the datum ending where the
value ends) and raises :class:`~seabus.schemas.errors.CodecError` like it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any, Required, TypedDict, TypeVar

import fastavro

from seabus.schemas.codec import DATUM_ERRORS, HEADER_SIZE, Codec, decode_model, default_codec
from seabus.schemas.copying import copy_fields
from seabus.schemas.enums import AllegationEventType, RecipientClass
from seabus.schemas.errors import CodecError, CodecReason
from seabus.schemas.models import Notification, SeabusRecord
from seabus.schemas.registry import SchemaVersion

__all__ = ["NOTIFICATION_FIELDS", "DecodingIndex", "IndexOptions", "NotificationFacts", "RecordDecoder"]

M = TypeVar("M", bound=SeabusRecord)

NOTIFICATION_FIELDS = (
    "notification_id",
    "allegation_id",
    "recipient",
    "recipient_class",
    "event_type",
    "sequence",
    "routed_at",
    "reasons",
)
"""What the timelines, the statistics and a state's own view use of a notification."""


@dataclass(frozen=True, slots=True)
class NotificationFacts:
    """A notification as the read model keeps it: who was told what, when, and by which rules."""

    notification_id: str
    allegation_id: str
    recipient: str
    recipient_class: RecipientClass
    event_type: AllegationEventType
    sequence: int
    routed_at: datetime
    rules: tuple[str, ...]

    @classmethod
    def of(cls, n: Notification) -> NotificationFacts:
        return copy_fields(cls, n, rules=tuple(r.rule for r in n.reasons))


def _projected(version: SchemaVersion, fields: tuple[str, ...]) -> dict[str, Any]:
    """``version``'s schema with only ``fields`` (each self-contained in the shipped schemas)."""
    raw = dict(version.raw)
    raw["fields"] = [f for f in version.raw["fields"] if f["name"] in fields]
    missing = set(fields) - {f["name"] for f in raw["fields"]}
    if missing:
        raise ValueError(f"{version.label} has no field(s) {sorted(missing)}")
    parsed = fastavro.parse_schema(raw, {})
    assert isinstance(parsed, dict)
    return parsed


class RecordDecoder:
    """Decodes for every index one reader feeds; the last record decoded is reused by the next index."""

    def __init__(self, codec: Codec | None = None, *, max_bytes: int | None = None) -> None:
        self.codec = codec or default_codec()
        self.max_bytes = max_bytes
        self._last: tuple[bytes, object] | None = None
        self._notification_reader: dict[str, Any] | None = None

    def model(self, value: bytes, expected: type[M]) -> M:
        """The whole model (``decode_model``), decoded once for all the indexes."""
        last = self._last
        if last is not None and last[0] is value and isinstance(last[1], expected):
            return last[1]
        record = decode_model(value, expected, codec=self.codec, max_bytes=self.max_bytes)
        self._last = (value, record)
        return record

    def notification(self, value: bytes) -> NotificationFacts:
        """The fields the view keeps of a notification, without decoding its allegation."""
        last = self._last
        if last is not None and last[0] is value and isinstance(last[1], NotificationFacts):
            return last[1]
        facts = self._notification(value)
        self._last = (value, facts)
        return facts

    def _notification(self, value: bytes) -> NotificationFacts:
        limit = self.codec.max_bytes if self.max_bytes is None else self.max_bytes
        if len(value) > limit:
            raise CodecError(
                CodecReason.OVERSIZED, f"value is {len(value)} bytes, more than the limit of {limit}"
            )
        writer = self.codec.peek_writer(value)
        if writer.name != Notification.avro_name:
            raise CodecError(
                CodecReason.SCHEMA_INVALID,
                f"value is a {writer.name} ({writer.label}) where a Notification was expected",
            )
        if self._notification_reader is None:
            latest = self.codec.registry.latest(writer.family)
            self._notification_reader = _projected(latest, NOTIFICATION_FIELDS)
        stream = BytesIO(value)
        stream.seek(HEADER_SIZE)
        try:
            d = fastavro.schemaless_reader(stream, writer.parsed, self._notification_reader)
            if stream.tell() != len(value) or not isinstance(d, dict):
                raise CodecError(
                    CodecReason.MALFORMED_BYTES,
                    f"{writer.label} datum does not end where the value ends; not one single-object value",
                )
            return NotificationFacts(
                notification_id=d["notification_id"],
                allegation_id=d["allegation_id"],
                recipient=d["recipient"],
                recipient_class=RecipientClass(d["recipient_class"]),
                event_type=AllegationEventType(d["event_type"]),
                sequence=int(d["sequence"]),
                routed_at=d["routed_at"],
                rules=tuple(r["rule"] for r in d["reasons"]),
            )
        except DATUM_ERRORS as exc:
            raise CodecError(
                CodecReason.MALFORMED_BYTES, f"{writer.label} datum does not follow its schema"
            ) from exc


class IndexOptions(TypedDict, total=False):
    """The keyword arguments of every :class:`DecodingIndex`."""

    prefix: Required[str]
    codec: Codec | None
    max_bytes: int | None
    decoder: RecordDecoder | None


class DecodingIndex:
    """What every index one reader feeds shares: its topic prefix, a record count by outcome, and
    the decoder, which is shared when one reader feeds several (each record decoded once)."""

    def __init__(
        self,
        *,
        prefix: str,
        codec: Codec | None = None,
        max_bytes: int | None = None,
        decoder: RecordDecoder | None = None,
    ) -> None:
        self.prefix = prefix
        self.decoder = decoder or RecordDecoder(codec, max_bytes=max_bytes)
        """Built from ``codec`` and ``max_bytes`` unless given (shared): what decodes and peeks."""
        self.counts: Counter[str] = Counter()
        """Records seen, by outcome (``indexed``, ``duplicate``, ...)."""

    def writer_of(self, value: bytes) -> str:
        """The record type ``value`` was written as (its writer schema's name), without decoding it."""
        return self.decoder.codec.peek_writer(value).name
