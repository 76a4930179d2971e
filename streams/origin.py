"""Authenticated origin: who really wrote a record, and whether it may say what it says.

Kafka does not stamp a record with the principal that produced it, so the bus never
believes a record's ``reporting_entity`` or ``recipient`` on its own. Instead every
agency and every recipient writes only its own inbound topic,
``<prefix>.inbound.<PRINCIPAL>``, which the ACLs let no one else write (``seabus
access apply``). The forwarder (:mod:`seabus.streams.agents.inbound`) reads those topics and

* forwards an :class:`~seabus.schemas.models.AllegationEvent` whose ``reporting_entity`` is
  the topic's principal to ``sea.allegations``, and a
  :class:`~seabus.schemas.models.Response` whose ``recipient`` is the topic's principal to
  ``sea.responses``, with the origin stamped in the ``seabus-origin`` header (any
  ``seabus-origin`` header the writer put there is dropped);
* dead-letters anything else (another entity or recipient claimed, a record type the
  principal may not send, bytes that are no record of the contract) with the reason
  and escalates a claim that is not the writer's as ``REFUSED_ORIGIN``.

``sea.allegations`` and ``sea.responses`` are written only by the bus's own principals
(the forwarder, the gateway, which stamps the origin it authenticated, and operators
holding the bus's credentials). On those topics the intake checks the stamped origin
again and, when a record carries none, takes its claim as that of a trusted writer.
This module is pure; the agent only moves bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from seabus.schemas.cloudevents import OWN_ID_FIELD, check_headers
from seabus.schemas.codec import Codec
from seabus.schemas.entities import DEFAULT_ENTITIES_FILE, load_reporting_entities
from seabus.schemas.enums import DeadLetterReason, EscalationLevel
from seabus.schemas.envelopes import Headers, Outbound, Received, Source, escalation_out
from seabus.schemas.errors import CodecError
from seabus.schemas.ids import stable_id
from seabus.schemas.limits import preview
from seabus.schemas.models import Escalation
from seabus.streams.config.settings import Settings

__all__ = [
    "ORIGIN_HEADER",
    "InboundVerdict",
    "check_inbound",
    "origin_of",
    "principals",
    "refused_origin_out",
    "reporting_entities",
]

ORIGIN_HEADER = "seabus-origin"
SOURCE = "seabus/inbound"

#: What each kind of record claims, and which topic it is forwarded to.
_CLAIMS = {"AllegationEvent": ("reporting_entity", "allegations"), "Response": ("recipient", "responses")}


_entities_read: dict[tuple[Path | None, int, int], frozenset[str]] = {}


def reporting_entities(settings: Settings) -> frozenset[str]:
    """The configured reporting entities, read once per process while the file is unchanged.

    The context, provisioning, access control and the inbound agent all ask for them during
    one `seabus run`; they share one read (a changed file is read again, as before).
    """
    path = settings.reporting_entities_path
    try:
        st = (path or DEFAULT_ENTITIES_FILE).stat()
        stamp = (path, st.st_mtime_ns, st.st_size)
    except OSError:
        return load_reporting_entities(path)  # its error names the file
    if stamp not in _entities_read:
        _entities_read.clear()
        _entities_read[stamp] = load_reporting_entities(path)
    return _entities_read[stamp]


def principals(settings: Settings, recipients: Iterable[str]) -> list[str]:
    """Every principal with an inbound topic: each recipient and each reporting entity (one each)."""
    return sorted(set(recipients) | reporting_entities(settings))


class OriginUnclear(ValueError):
    """The record carries more than one ``seabus-origin`` header: nobody can say who wrote it."""


def origin_of(headers: Headers) -> str | None:
    """The stamped origin of a record on a trusted topic, None when it carries none."""
    values = [v for k, v in headers if k == ORIGIN_HEADER]
    if len(values) > 1:
        raise OriginUnclear(f"{len(values)} {ORIGIN_HEADER} headers")
    if not values:
        return None
    return bytes(values[0] or b"").decode("utf-8", "replace")


@dataclass(frozen=True, kw_only=True)
class InboundVerdict:
    """What the forwarder does with one inbound record: forward it, or refuse it (and maybe escalate)."""

    outbound: list[Outbound]
    forwarded_to: str | None
    reason: DeadLetterReason | None


def check_inbound(
    *,
    principal: str,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    source: Source,
    now: datetime,
    codec: Codec,
    max_bytes: int,
    entities: Collection[str],
    recipients: Collection[str],
) -> InboundVerdict:
    """Forward the record with its origin stamped when its claim is its writer's; else refuse it."""

    received = Received(key=key, value=value, headers=headers, source=source)

    def refuse(reason: DeadLetterReason, message: str, *, escalate: str | None = None) -> InboundVerdict:
        out = [received.dead_letter(reason, message, now=now, codec=codec, producer=SOURCE)]
        if escalate is not None:
            at = (source.topic, str(source.partition), str(source.offset))
            out.append(refused_origin_out(stable_id(*at, "ORIGIN"), escalate, message, now=now, codec=codec))
        return InboundVerdict(outbound=out, forwarded_to=None, reason=reason)

    try:
        kind, datum = codec.decode(value or b"", max_bytes=max_bytes)
    except CodecError as exc:
        return refuse(exc.reason, str(exc))
    if kind not in _CLAIMS:
        return refuse(
            DeadLetterReason.SCHEMA_INVALID,
            f"a {kind} on {source.topic}: an inbound topic carries allegation events (from an agency) or "
            "responses (from a recipient) only",
        )
    id_field = OWN_ID_FIELD.get(kind)
    try:
        check_headers(headers, record_type=kind, record_id=None if id_field is None else datum.get(id_field))
    except CodecError as exc:
        return refuse(DeadLetterReason.MALFORMED_HEADERS, f"{exc}; nothing was forwarded")
    field, route = _CLAIMS[kind]
    a_kind = f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}"
    allowed = entities if kind == "AllegationEvent" else recipients
    claimed = datum.get(field)
    allegation = datum.get("allegation_id")
    allegation_id = allegation if isinstance(allegation, str) and allegation else "(none)"
    if principal not in allowed:
        what = "a reporting entity" if kind == "AllegationEvent" else "a recipient in the directory"
        return refuse(
            DeadLetterReason.ORIGIN_MISMATCH,
            f"ORIGIN_MISMATCH: principal {principal} wrote {a_kind} to {source.topic} but is not {what}; "
            "nothing was forwarded",
            escalate=allegation_id,
        )
    if claimed != principal:
        return refuse(
            DeadLetterReason.ORIGIN_MISMATCH,
            f"ORIGIN_MISMATCH: principal {principal} wrote {a_kind} for allegation {preview(allegation_id)} "
            f"claiming {field} {preview(str(claimed))}; a principal may publish only as itself. Nothing was "
            "forwarded; if this was not an attack, correct the publisher's configuration.",
            escalate=allegation_id,
        )
    stamped = [(k, v) for k, v in headers if k != ORIGIN_HEADER]
    stamped.append((ORIGIN_HEADER, principal.encode()))
    forward = Outbound(route=route, recipient=None, key=key, value=value or b"", headers=stamped)
    return InboundVerdict(outbound=[forward], forwarded_to=route, reason=None)


def refused_origin_out(
    escalation_id: str, allegation_id: str, message: str, *, now: datetime, codec: Codec, source: str = SOURCE
) -> Outbound:
    """The ``REFUSED_ORIGIN`` escalation of a record that claims to be from someone other than its writer.

    The forwarder (an inbound topic) and the response check (a stamped origin on
    ``sea.responses``) refuse such records the same way, so on-call reads one kind of alert.
    """
    escalation = Escalation(
        escalation_id=escalation_id,
        allegation_id=allegation_id,
        level=EscalationLevel.REFUSED_ORIGIN,
        fired_at=now,
        reason=message,
    )
    return escalation_out(escalation, codec=codec, source=source)


def principal_of(topic: str, settings: Settings) -> str | None:
    """The principal whose inbound topic this is (None for any other topic)."""
    head = settings.inbound_topic("")
    rest = topic.removeprefix(head)
    return rest if rest != topic and rest and "." not in rest else None
