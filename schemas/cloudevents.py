"""CloudEvents 1.0 Kafka binding, binary mode: the only place headers are made or read.

In binary mode the event's attributes travel as Kafka headers named ``ce_<attr>``
(UTF-8 values) and the data is the record value itself, here Avro single-object
bytes with ``content-type: application/avro``. Headers are ``list[tuple[str,
bytes]]`` as aiokafka and kafka-python use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from seabus.schemas.errors import CodecError, CodecReason

__all__ = [
    "CONTENT_TYPE",
    "OWN_ID_FIELD",
    "SPECVERSION",
    "TYPE_PREFIX",
    "CloudEventMeta",
    "build_headers",
    "ce_type_for",
    "check_headers",
    "format_time",
    "parse_headers",
]

SPECVERSION = "1.0"
CONTENT_TYPE = "application/avro"
TYPE_PREFIX = "org.seabus."
"""``ce_type`` of seabus records: ``org.seabus.<RecordName>``, e.g. ``org.seabus.AllegationEvent``."""

_PREFIX = "ce_"
_REQUIRED = ("id", "source", "specversion", "type")
_KNOWN = frozenset({*_REQUIRED, "time", "subject", "dataschema"})
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")


@dataclass(frozen=True, slots=True)
class CloudEventMeta:
    """The CloudEvents attributes of one Kafka record."""

    id: str
    source: str
    type: str
    specversion: str = SPECVERSION
    time: datetime | None = None
    content_type: str | None = None
    subject: str | None = None
    dataschema: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)


def ce_type_for(record_type: str) -> str:
    """The ``ce_type`` seabus uses for a record short name."""
    return TYPE_PREFIX + record_type


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. ``2024-05-01T10:00:00.000Z``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("CloudEvents time must be an aware datetime")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_headers(
    *,
    event_id: str,
    source: str,
    type_: str,
    time: datetime,
    subject: str | None = None,
    dataschema: str | None = None,
    content_type: str = CONTENT_TYPE,
    extensions: Mapping[str, str] | None = None,
) -> list[tuple[str, bytes]]:
    """Headers for one record. ``subject`` is typically the allegation id.

    Extension names must be 1-20 lower-case letters or digits (CloudEvents rule)
    and must not shadow a standard attribute.
    """
    for name, value in (("event_id", event_id), ("source", source), ("type_", type_)):
        if not value:
            raise ValueError(f"CloudEvents {name} must not be empty")
    headers: list[tuple[str, bytes]] = [
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", event_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", type_.encode()),
        ("ce_time", format_time(time).encode()),
    ]
    if subject is not None:
        headers.append(("ce_subject", subject.encode()))
    if dataschema is not None:
        headers.append(("ce_dataschema", dataschema.encode()))
    for name, value in sorted((extensions or {}).items()):
        if not _EXTENSION_NAME.match(name) or name in _KNOWN:
            raise ValueError(
                f"CloudEvents extension name {name!r} must be 1-20 lower-case letters or "
                f"digits and not a standard attribute"
            )
        headers.append((_PREFIX + name, value.encode()))
    headers.append(("content-type", content_type.encode()))
    return headers


def _bad(message: str) -> CodecError:
    return CodecError(CodecReason.MALFORMED_HEADERS, message)


def parse_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> CloudEventMeta:
    """Read the CloudEvents attributes; raise ``CodecError(MALFORMED_HEADERS)`` if unusable.

    Headers that are not CloudEvents attributes are ignored. Missing ``ce_time``
    is allowed (the attribute is optional in CloudEvents); a malformed one is not.
    """
    attrs: dict[str, str] = {}
    content_type: str | None = None
    for key, raw in headers or ():
        if key == "content-type":
            name = "content-type"
        elif key.startswith(_PREFIX):
            name = key[len(_PREFIX) :]
        else:
            continue
        if name in attrs or (name == "content-type" and content_type is not None):
            raise _bad(f"header {key} appears twice; send each CloudEvents attribute once")
        if raw is None:
            raise _bad(f"header {key} has no value")
        try:
            value = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(f"header {key} is not UTF-8 text") from None
        if name == "content-type":
            content_type = value
        else:
            attrs[name] = value
    missing = [f"ce_{name}" for name in _REQUIRED if not attrs.get(name)]
    if missing:
        raise _bad(
            f"missing CloudEvents header(s) {', '.join(missing)}; producers must send "
            f"binary-mode CloudEvents headers (use schemas.cloudevents.build_headers)"
        )
    if attrs["specversion"] != SPECVERSION:
        raise _bad(
            f"ce_specversion is {attrs['specversion']!r}; only CloudEvents {SPECVERSION} is understood"
        )
    time: datetime | None = None
    if "time" in attrs:
        try:
            time = datetime.fromisoformat(attrs["time"])
        except ValueError:
            raise _bad("ce_time is not an RFC 3339 timestamp (e.g. 2024-05-01T10:00:00Z)") from None
        if time.tzinfo is None:
            raise _bad("ce_time has no UTC offset; RFC 3339 requires one (e.g. ...Z)")
        time = time.astimezone(UTC)
    extensions = {k: v for k, v in attrs.items() if k not in _KNOWN}
    return CloudEventMeta(
        id=attrs["id"],
        source=attrs["source"],
        type=attrs["type"],
        specversion=attrs["specversion"],
        time=time,
        content_type=content_type,
        subject=attrs.get("subject"),
        dataschema=attrs.get("dataschema"),
        extensions=extensions,
    )


OWN_ID_FIELD: Mapping[str, str] = {
    "AllegationEvent": "event_id",
    "Notification": "notification_id",
    "OwnershipTransfer": "transfer_id",
    "Response": "response_id",
    "ReplyNotice": "notice_id",
    "Escalation": "escalation_id",
    "DeliveryAttempt": "attempt_id",
}
"""The field whose value is ``ce_id`` when seabus writes a record of this type.

Dead letters and obligation updates are identified by headers only (their
``ce_id`` is derived from where they came from), so only their type is checked.
"""


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "...")


def check_headers(
    headers: Iterable[tuple[str, bytes | None]] | None, *, record_type: str, record_id: str | None
) -> CloudEventMeta | None:
    """The CloudEvents attributes of a decoded record, checked against it; None when it has none.

    A record without any ``ce_*`` header is accepted as it is (third-party producers and
    records older than the headers send none). Headers that are there must be usable
    (:func:`parse_headers`) and describe this record: ``ce_type`` is ``org.seabus.<type>``
    and ``ce_id`` the record's own id (see :data:`OWN_ID_FIELD`) when it has one. Else
    ``CodecError(MALFORMED_HEADERS)``, with a message saying what to fix.
    """
    listed = list(headers or ())
    if not any(key.startswith(_PREFIX) for key, _ in listed):
        return None
    meta = parse_headers(listed)
    expected = ce_type_for(record_type)
    if meta.type != expected:
        raise _bad(
            f"ce_type is {_shown(meta.type)} but the value is a {record_type}; a producer must send "
            f"ce_type {expected!r} with it (the headers belong to another record, or were copied)"
        )
    if record_id is not None and meta.id != record_id:
        raise _bad(
            f"ce_id is {_shown(meta.id)} but the {record_type}'s {OWN_ID_FIELD[record_type]} is "
            f"{_shown(record_id)}; a producer must send the record's own id as ce_id"
        )
    return meta
