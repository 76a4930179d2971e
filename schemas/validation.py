"""What the contract means, beyond what Avro types can say.

Avro guarantees shapes; this module checks meaning: ISO 3166-1 alpha-3 codes
(from ``pycountry``, not a hand-kept list), reporting entities known to the
configuration, identifiers within their length and character limits (kept in
:mod:`seabus.schemas.limits`), dates and timestamps not in the future, counts not
negative, sequences rising. Every check runs and every problem is returned at once, each
with a field path such as ``allegation.subjects[1].nationality``, so a
publisher can fix a message in one round trip.

The ``*_problems`` functions are pure and return a list; ``validate_*`` raise
:class:`~seabus.schemas.errors.ValidationFailed`; ``parse_*`` turn a JSON-ish mapping
into a model and validate it, reporting type errors and meaning errors together
where possible. No message quotes a field's value, so confidential text never
ends up in an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Required, TypedDict, TypeVar, Unpack

import pycountry
import pydantic

from seabus.schemas.datum_check import range_problems
from seabus.schemas.enums import (
    IncidentDatePrecision,
    RecipientClass,
    ResponseKind,
)
from seabus.schemas.errors import Problem, ValidationFailed
from seabus.schemas.limits import ALLEGATION_ID, ENTITY_CODE, REFERENCE, RESPONDER, IdentifierRule
from seabus.schemas.models import (
    Allegation,
    AllegationEvent,
    Notification,
    OwnershipTransfer,
    Response,
    SeabusModel,
    SeabusRecord,
)
from seabus.schemas.registry import default_registry

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "NON_STATE_RECIPIENTS",
    "EventChecks",
    "allegation_event_problems",
    "allegation_problems",
    "is_alpha3",
    "notification_problems",
    "ownership_transfer_problems",
    "parse_allegation_event",
    "parse_model",
    "parse_response",
    "problems_from_pydantic",
    "recipient_class_of",
    "response_problems",
    "validate_allegation_event",
    "validate_notification",
    "validate_response",
]

M = TypeVar("M", bound=SeabusModel)

_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
"""How far a timestamp may lie ahead of ``now`` before it counts as future."""

NON_STATE_RECIPIENTS: Mapping[str, RecipientClass] = {
    "OSC": RecipientClass.OSC,
    "OIOS": RecipientClass.OIOS,
    "VRA": RecipientClass.VRA,
}
"""Recipient ids that are not Member States."""


# --- codes -------------------------------------------------------------------


@cache
def _alpha3_codes() -> frozenset[str]:
    return frozenset(country.alpha_3 for country in pycountry.countries)


def is_alpha3(code: str) -> bool:
    """True for a current ISO 3166-1 alpha-3 code, upper case (e.g. ``"FRA"``)."""
    return code in _alpha3_codes()


def recipient_class_of(recipient: str) -> RecipientClass | None:
    """The class of a recipient id (alpha-3 or OSC/OIOS/VRA), or None if it is neither."""
    if recipient in NON_STATE_RECIPIENTS:
        return NON_STATE_RECIPIENTS[recipient]
    if is_alpha3(recipient):
        return RecipientClass.MEMBER_STATE
    return None


def _country(problems: list[Problem], path: str, code: str | None) -> None:
    if code is not None and not is_alpha3(code):
        problems.append(
            Problem(path, "is not an ISO 3166-1 alpha-3 country code (e.g. FRA); use null if unknown")
        )


def _uuid(problems: list[Problem], path: str, value: str) -> None:
    # The 36-character hyphenated form only: uuid.UUID alone also takes braces, "urn:uuid:"
    # and any number of hyphens, so a megabyte of "-" plus 32 hex digits would pass.
    if not _UUID_TEXT.fullmatch(value):
        problems.append(
            Problem(
                path, "is not a UUID in its 36-character form (e.g. 0b6c2d9e-4f1a-4c1e-9a57-2f0e7c3b8d41)"
            )
        )


def _not_blank(problems: list[Problem], path: str, value: str) -> None:
    if not value.strip():
        problems.append(Problem(path, "is empty"))


def _identifier(problems: list[Problem], path: str, value: str | None, rule: IdentifierRule) -> bool:
    """One problem at most for an identifier (empty, too long, bad characters); True when fine.

    ``None`` is fine (optional fields); the value itself is never quoted.
    """
    if value is None:
        return True
    if not value.strip():
        problems.append(Problem(path, "is empty"))
        return False
    message = rule.problem(value)
    if message is not None:
        problems.append(Problem(path, message))
        return False
    return True


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (UTC)")


def _not_future_ts(
    problems: list[Problem], path: str, value: datetime | None, now: datetime, skew: timedelta
) -> None:
    if value is not None and value > now + skew:
        problems.append(Problem(path, "is in the future; send the time it actually happened (UTC)"))


def _not_future_date(problems: list[Problem], path: str, value: date | None, today: date) -> None:
    if value is not None and value > today:
        problems.append(Problem(path, "is in the future"))


# --- the allegation ----------------------------------------------------------


def _avro_ranges(problems: list[Problem], record: SeabusRecord) -> None:
    """Every int/long field within Avro's range: every edge refuses what a strict reader would."""
    sv = default_registry().latest(record.avro_name)
    problems += range_problems(sv.parsed, record.to_avro(), sv.named_types)


def allegation_problems(
    allegation: Allegation,
    *,
    now: datetime,
    path: str = "allegation",
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> list[Problem]:
    """Problems in one allegation snapshot (shared by events and notifications)."""
    _check_now(now)
    problems: list[Problem] = []
    today = (now + max_clock_skew).date()
    p = f"{path}."
    _not_future_ts(problems, p + "reported_at", allegation.reported_at, now, max_clock_skew)

    incident = allegation.incident_date
    precision = allegation.incident_date_precision
    _not_future_date(problems, p + "incident_date", incident, today)
    if incident is not None and incident > allegation.reported_at.date():
        problems.append(Problem(p + "incident_date", "is after reported_at"))
    if (incident is None) != (precision is IncidentDatePrecision.UNKNOWN):
        problems.append(
            Problem(
                p + "incident_date_precision",
                "must be UNKNOWN exactly when incident_date is null",
            )
        )
    elif incident is not None:
        if precision is IncidentDatePrecision.MONTH and incident.day != 1:
            problems.append(
                Problem(p + "incident_date", "must be the first day of the month for MONTH precision")
            )
        if precision is IncidentDatePrecision.YEAR and (incident.month, incident.day) != (1, 1):
            problems.append(Problem(p + "incident_date", "must be 1 January for YEAR precision"))
    _country(problems, p + "location_country", allegation.location_country)
    _identifier(problems, p + "investigating_entity", allegation.investigating_entity, ENTITY_CODE)

    if not allegation.subjects:
        problems.append(Problem(p + "subjects", "must list at least one subject"))
    refs: set[str] = set()
    for i, subject in enumerate(allegation.subjects):
        sp = f"{p}subjects[{i}]."
        _identifier(problems, sp + "subject_ref", subject.subject_ref, REFERENCE)
        if subject.subject_ref in refs:
            problems.append(Problem(sp + "subject_ref", "repeats another subject's reference"))
        refs.add(subject.subject_ref)
        _country(problems, sp + "nationality", subject.nationality)
        _country(problems, sp + "contributing_state", subject.contributing_state)

    groups: set[tuple[str, str]] = set()
    for i, victims in enumerate(allegation.victims):
        vp = f"{p}victims[{i}]."
        if victims.count < 0:
            problems.append(Problem(vp + "count", "is negative; counts are zero or more"))
        group = (victims.sex.value, victims.age_group.value)
        if group in groups:
            problems.append(Problem(vp[:-1], "repeats a sex and age group already counted; merge the counts"))
        groups.add(group)

    for i, action in enumerate(allegation.interim_actions):
        ap = f"{p}interim_actions[{i}]."
        if action.subject_ref is not None and action.subject_ref not in refs:
            problems.append(Problem(ap + "subject_ref", "names no subject of this allegation"))
        _not_future_date(problems, ap + "taken_on", action.taken_on, today)

    if allegation.outcome is not None:
        _not_future_date(problems, p + "outcome.concluded_on", allegation.outcome.concluded_on, today)
    return problems


def allegation_event_problems(
    event: AllegationEvent,
    *,
    known_entities: frozenset[str] | None,
    now: datetime,
    previous_sequence: int | None = None,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> list[Problem]:
    """Every problem in ``event``.

    ``known_entities`` is the configured set of reporting entity codes (None to
    skip that check); ``previous_sequence`` the last sequence accepted for this
    allegation, if any.
    """
    _check_now(now)
    problems: list[Problem] = []
    _uuid(problems, "event_id", event.event_id)
    _identifier(problems, "allegation_id", event.allegation_id, ALLEGATION_ID)
    if event.sequence < 0:
        problems.append(Problem("sequence", "is negative; sequences start at 0 or 1 and rise"))
    elif previous_sequence is not None and event.sequence <= previous_sequence:
        problems.append(
            Problem(
                "sequence",
                f"does not rise: {event.sequence} after {previous_sequence}; "
                f"send events of an allegation in order with increasing sequence",
            )
        )
    entity_ok = _identifier(problems, "reporting_entity", event.reporting_entity, ENTITY_CODE)
    if entity_ok and known_entities is not None and event.reporting_entity not in known_entities:
        problems.append(
            Problem(
                "reporting_entity",
                f"{event.reporting_entity!r} is not a configured reporting entity; use the "
                f"mission or agency code registered with the bus",
            )
        )
    _not_future_ts(problems, "published_at", event.published_at, now, max_clock_skew)
    if event.allegation.reported_at > event.published_at + max_clock_skew:
        problems.append(Problem("allegation.reported_at", "is after published_at"))
    problems += allegation_problems(event.allegation, now=now, max_clock_skew=max_clock_skew)
    _avro_ranges(problems, event)
    return problems


class EventChecks(TypedDict, total=False):
    """What checking an allegation event takes besides the event (see :func:`allegation_event_problems`)."""

    known_entities: Required[frozenset[str] | None]
    now: Required[datetime]
    previous_sequence: int | None
    max_clock_skew: timedelta


def validate_allegation_event(event: AllegationEvent, **checks: Unpack[EventChecks]) -> None:
    """Raise :class:`ValidationFailed` listing every problem in ``event``."""
    _raise_any(allegation_event_problems(event, **checks), "AllegationEvent")


def _raise_any(problems: list[Problem], subject: str) -> None:
    if problems:
        raise ValidationFailed(problems, subject=subject)


# --- responses and notifications --------------------------------------------


def _recipient(problems: list[Problem], path: str, recipient: str) -> RecipientClass | None:
    cls = recipient_class_of(recipient)
    if cls is None:
        problems.append(Problem(path, "is neither an ISO 3166-1 alpha-3 code nor one of OSC, OIOS, VRA"))
    return cls


def response_problems(
    response: Response, *, now: datetime, max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW
) -> list[Problem]:
    """Every problem in ``response``."""
    _check_now(now)
    problems: list[Problem] = []
    _uuid(problems, "response_id", response.response_id)
    _identifier(problems, "allegation_id", response.allegation_id, ALLEGATION_ID)
    _recipient(problems, "recipient", response.recipient)
    _identifier(problems, "responder", response.responder, RESPONDER)
    _identifier(problems, "in_reply_to", response.in_reply_to, REFERENCE)
    _not_future_ts(problems, "responded_at", response.responded_at, now, max_clock_skew)
    if response.kind is ResponseKind.UNKNOWN:
        problems.append(Problem("kind", "is UNKNOWN; send one of the response kinds"))
    if (
        response.kind is ResponseKind.INVESTIGATION_ACCEPTED_NIO
        and response.national_investigation_officer_appointed is False
    ):
        problems.append(
            Problem(
                "national_investigation_officer_appointed",
                "is false, but INVESTIGATION_ACCEPTED_NIO means an officer was appointed",
            )
        )
    if response.kind is ResponseKind.OUTCOME_REPORTED and response.outcome is None:
        problems.append(Problem("outcome", "is required when kind is OUTCOME_REPORTED"))
    if response.kind is not ResponseKind.OUTCOME_REPORTED and response.outcome is not None:
        problems.append(Problem("outcome", "is only allowed when kind is OUTCOME_REPORTED"))
    if response.investigator is not None:
        if response.kind not in _INVESTIGATOR_KINDS:
            problems.append(
                Problem(
                    "investigator",
                    "is only allowed when kind is INVESTIGATION_ACCEPTED_NIO or INVESTIGATION_JOINT_OIOS",
                )
            )
        _not_blank(problems, "investigator.office", response.investigator.office)
        if response.investigator.appointed_at is not None:
            _not_future_ts(
                problems, "investigator.appointed_at", response.investigator.appointed_at, now, max_clock_skew
            )
    if len(set(response.actions_taken)) != len(response.actions_taken):
        problems.append(Problem("actions_taken", "names an action more than once"))
    _avro_ranges(problems, response)
    return problems


_INVESTIGATOR_KINDS = frozenset(
    {ResponseKind.INVESTIGATION_ACCEPTED_NIO, ResponseKind.INVESTIGATION_JOINT_OIOS}
)


def ownership_transfer_problems(
    transfer: OwnershipTransfer,
    *,
    known_entities: frozenset[str] | None,
    now: datetime,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> list[Problem]:
    """Every problem in ``transfer`` (that the sender owns the allegation is the intake's check)."""
    _check_now(now)
    problems: list[Problem] = []
    _uuid(problems, "transfer_id", transfer.transfer_id)
    _identifier(problems, "allegation_id", transfer.allegation_id, ALLEGATION_ID)
    for path in ("from_entity", "to_entity"):
        code = getattr(transfer, path)
        if (
            _identifier(problems, path, code, ENTITY_CODE)
            and known_entities is not None
            and code not in known_entities
        ):
            problems.append(Problem(path, f"{code!r} is not a configured reporting entity"))
    if transfer.from_entity == transfer.to_entity:
        problems.append(Problem("to_entity", "is the entity that owns the allegation already"))
    _identifier(problems, "authorised_by", transfer.authorised_by, RESPONDER)
    _not_blank(problems, "reason", transfer.reason)
    _not_future_ts(problems, "transferred_at", transfer.transferred_at, now, max_clock_skew)
    return problems


def validate_response(
    response: Response, *, now: datetime, max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW
) -> None:
    """Raise :class:`ValidationFailed` listing every problem in ``response``."""
    _raise_any(response_problems(response, now=now, max_clock_skew=max_clock_skew), "Response")


def notification_problems(
    notification: Notification, *, now: datetime, max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW
) -> list[Problem]:
    """Every problem in ``notification`` (a check for the router's own output)."""
    _check_now(now)
    problems: list[Problem] = []
    _not_blank(problems, "notification_id", notification.notification_id)
    _identifier(problems, "allegation_id", notification.allegation_id, ALLEGATION_ID)
    cls = _recipient(problems, "recipient", notification.recipient)
    if cls is not None and cls is not notification.recipient_class:
        problems.append(
            Problem("recipient_class", f"is {notification.recipient_class}, the recipient is {cls}")
        )
    if not notification.reasons:
        problems.append(Problem("reasons", "must name at least one routing rule"))
    if notification.sequence < 0:
        problems.append(Problem("sequence", "is negative"))
    _not_future_ts(problems, "routed_at", notification.routed_at, now, max_clock_skew)
    problems += allegation_problems(notification.allegation, now=now, max_clock_skew=max_clock_skew)
    _avro_ranges(problems, notification)
    return problems


def validate_notification(
    notification: Notification, *, now: datetime, max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW
) -> None:
    """Raise :class:`ValidationFailed` listing every problem in ``notification``."""
    _raise_any(notification_problems(notification, now=now, max_clock_skew=max_clock_skew), "Notification")


# --- parsing JSON-ish input --------------------------------------------------


def _path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def problems_from_pydantic(error: pydantic.ValidationError) -> list[Problem]:
    """Pydantic's errors as :class:`Problem` s with seabus paths (values not quoted)."""
    return [Problem(_path(item["loc"]), item["msg"]) for item in error.errors(include_input=False)]


def parse_model(model: type[M], data: Mapping[str, Any] | str | bytes) -> M:
    """Build ``model`` from a mapping or JSON text, reporting every type problem at once."""
    try:
        if isinstance(data, str | bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationFailed(problems_from_pydantic(exc), subject=model.__name__) from exc


def parse_allegation_event(
    data: Mapping[str, Any] | str | bytes, **checks: Unpack[EventChecks]
) -> AllegationEvent:
    """Parse and validate an allegation event; raise with every problem found."""
    event = parse_model(AllegationEvent, data)
    validate_allegation_event(event, **checks)
    return event


def parse_response(
    data: Mapping[str, Any] | str | bytes,
    *,
    now: datetime,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> Response:
    """Parse and validate a response; raise with every problem found."""
    response = parse_model(Response, data)
    validate_response(response, now=now, max_clock_skew=max_clock_skew)
    return response
