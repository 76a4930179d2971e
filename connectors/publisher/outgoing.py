"""From an event (model or JSON-ish mapping) to the exact Kafka record the bus expects.

Pure and shared by the SDK, the bulk importer and the HTTP gateway, so every
path validates the same way and writes the same bytes: the Avro single-object
value, the allegation_id as key (the bus routes by it and checks it), and
CloudEvents binary-mode headers with ``ce_id`` = event_id and ``ce_subject`` =
allegation_id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seabus.schemas.clock import Now, utc_now
from seabus.schemas.cloudevents import ce_type_for
from seabus.schemas.codec import Codec, default_codec, encode_model
from seabus.schemas.envelopes import headers_for
from seabus.schemas.errors import CodecError, Problem, ValidationFailed
from seabus.schemas.models import AllegationEvent
from seabus.schemas.validation import allegation_event_problems, parse_model

__all__ = [
    "CE_TYPE",
    "Clock",
    "EventInput",
    "OutgoingEvent",
    "check_event",
    "event_problems",
    "prepare_event",
    "utc_now",
]

CE_TYPE = ce_type_for("AllegationEvent")

EventInput = AllegationEvent | Mapping[str, Any]
"""What publishers accept: a model, or a mapping shaped like its JSON."""

Clock = Now
"""Returns the current time, aware and in UTC (:mod:`seabus.schemas.clock`)."""


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One validated event, encoded and ready to send (key, value, headers)."""

    event: AllegationEvent
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def allegation_id(self) -> str:
        return self.event.allegation_id


def event_problems(
    data: EventInput, *, known_entities: frozenset[str] | None, now: datetime
) -> tuple[AllegationEvent | None, list[Problem]]:
    """The parsed event (if its types are right) and every problem found.

    Type problems stop before meaning is checked (there is no event to check);
    otherwise every meaning problem is returned together.
    """
    if isinstance(data, AllegationEvent):
        event = data
    else:
        try:
            event = parse_model(AllegationEvent, data)
        except ValidationFailed as exc:
            return None, list(exc.problems)
    return event, allegation_event_problems(event, known_entities=known_entities, now=now)


def check_event(data: EventInput, *, known_entities: frozenset[str] | None, now: datetime) -> AllegationEvent:
    """The event, or :class:`ValidationFailed` listing every problem."""
    event, problems = event_problems(data, known_entities=known_entities, now=now)
    if problems or event is None:
        raise ValidationFailed(problems, subject="AllegationEvent")
    return event


def prepare_event(event: AllegationEvent, *, source: str, codec: Codec | None = None) -> OutgoingEvent:
    """Encode ``event`` for ``<prefix>.allegations``.

    A value the codec refuses (e.g. larger than the configured limit) is a
    :class:`ValidationFailed` too: the caller must change the event.
    """
    try:
        value = encode_model(event, codec=codec or default_codec())
    except CodecError as exc:
        raise ValidationFailed([Problem("", exc.detail)], subject="AllegationEvent") from exc
    headers = headers_for(event, event.event_id, event.allegation_id, event.published_at, source)
    return OutgoingEvent(
        event=event,
        key=event.allegation_id.encode("utf-8"),
        value=value,
        headers=tuple(headers),
    )
