"""Deadline policies as data: who owes what, by when, and how silence escalates.

A policy file has ``calendars`` (working weeks and holidays), ``closing`` (the
statuses and events that cancel what is open), ``count_from`` (when a window
starts for a case reported in the past), ``urgent`` (what makes a case urgent),
``overdue_at_import`` (how obligations already overdue when the bus learns of
them are summarised) and an ordered list of ``policies``. For each obligation
kind, the first policy whose recipient classes and ``when`` conditions match a
case wins, so "5 working days when urgent, otherwise 10" is two entries, the
narrower one first. ``when`` looks at the facts of the case as they concern the
recipient (:class:`CaseFacts`): who owes what follows the personnel category of
the subjects and how the recipient relates to them (state of nationality or
contributing/deploying state). A policy with ``opened_by`` is not planned at
notification but when its trigger happens (a response kind, or another
obligation going overdue). A file that cannot work fails at start-up with the
file, the entry at fault, the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as _holidays
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from seabus.schemas.enums import AgeGroup, AllegationSubType, PersonnelCategory, ResponseKind, SourceStream
from seabus.schemas.errors import ConfigError
from seabus.schemas.models import Allegation
from seabus.streams.deadlines.calendar import WEEKDAYS, HolidaySet, WorkingCalendar
from seabus.streams.deadlines.durations import IsoDuration
from seabus.streams.deadlines.vocabulary import (
    AllegationStatus,
    EventType,
    ObligationKind,
    RecipientClass,
)

__all__ = [
    "COUNT_FROM",
    "DEFAULT_CALENDAR",
    "RELATIONS",
    "CaseFacts",
    "Policy",
    "PolicySet",
    "Trigger",
    "Urgency",
    "Window",
    "load_policies",
    "parse_policies",
]

DEFAULT_CALENDAR = "default"
_UTC = ZoneInfo("UTC")
_DEFAULT_CLOSING_STATUSES = (
    AllegationStatus.SUBSTANTIATED,
    AllegationStatus.NOT_SUBSTANTIATED,
    AllegationStatus.CLOSED_OTHER_CIRCUMSTANCES,
)
_DEFAULT_CLOSING_EVENTS = (EventType.CLOSED, EventType.WITHDRAWN)
COUNT_FROM = ("reported_at", "received")
"""``count_from`` values: the allegation's ``reported_at`` (capped at receipt), or receipt."""
RELATIONS = ("nationality", "contributing_state")
"""How a Member State relates to a subject: ``when: {as: ...}`` names one."""
_DEFAULT_SUMMARY_EVERY = timedelta(minutes=1)
_M = TypeVar("_M", bound=BaseModel)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Urgency:
    """What makes a case urgent (the policy file's ``urgent``): any listed fact suffices.

    The contract has no urgency field, so urgency is derived from the data; by
    default a victim under 18 makes a case urgent.
    """

    victim_under_18: bool = True
    paternity_claim: bool = False
    sub_types: frozenset[str] = frozenset()

    def applies(self, allegation: Allegation, *, child: bool) -> bool:
        return (
            (self.victim_under_18 and child)
            or (self.paternity_claim and allegation.paternity_claim)
            or any(str(s) in self.sub_types for s in allegation.sub_types)
        )


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What a policy's ``when`` may look at, for one recipient of one allegation.

    ``relations`` holds (relation, personnel category) for each subject a Member
    State is the state of nationality or the contributing (deploying) state of;
    ``personnel_categories`` the categories of the subjects that concern the
    recipient (a state's own subjects; every subject for a UN office).
    """

    victim_under_18: bool = False
    urgent: bool = False
    paternity_claim: bool = False
    has_victims: bool = False
    source_stream: str | None = None
    status: str | None = None
    personnel_categories: frozenset[str] = frozenset()
    relations: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(
        cls,
        allegation: Allegation,
        *,
        recipient: str | None = None,
        recipient_class: RecipientClass | None = None,
        urgency: Urgency | None = None,
        urgent: bool = False,
    ) -> CaseFacts:
        """Facts from the contract record, as they concern ``recipient``.

        A child victim is one counted under 18, or an allegation of sexual
        activity with a minor; ``urgent`` follows ``urgency`` (default: a child
        victim), or the caller's ``urgent=True``.
        """
        child = any(v.age_group == AgeGroup.UNDER_18 and v.count > 0 for v in allegation.victims)
        child = child or AllegationSubType.SEXUAL_ACTIVITY_WITH_MINOR in allegation.sub_types
        relations: set[tuple[str, str]] = set()
        if recipient is not None and recipient_class == RecipientClass.MEMBER_STATE:
            for s in allegation.subjects:
                if s.nationality == recipient:
                    relations.add(("nationality", str(s.personnel_category)))
                if s.contributing_state == recipient:
                    relations.add(("contributing_state", str(s.personnel_category)))
            categories = frozenset(c for _, c in relations)
        else:
            categories = frozenset(str(s.personnel_category) for s in allegation.subjects)
        return cls(
            victim_under_18=child,
            urgent=urgent or (urgency or Urgency()).applies(allegation, child=child),
            paternity_claim=allegation.paternity_claim,
            has_victims=any(v.count > 0 for v in allegation.victims),
            source_stream=str(allegation.source_stream),
            status=str(allegation.status),
            personnel_categories=categories,
            relations=frozenset(relations),
        )


@dataclass(frozen=True, slots=True)
class Trigger:
    """What opens an ``opened_by`` policy: a response kind, or an obligation kind overdue.

    ``answering`` narrows a response trigger to a response that answers (satisfies or
    releases) an obligation of that kind of the responder: a decline opens the UN-side
    investigation only when it answers a request for a national investigation officer.
    """

    response: str | None = None
    overdue: str | None = None
    answering: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Time allowed to answer: an ISO-8601 duration or a count of working days."""

    duration: IsoDuration | None = None
    working_days: int | None = None

    def due(self, start: datetime, calendar: WorkingCalendar) -> datetime:
        if self.working_days is not None:
            return calendar.add_working_days(start, self.working_days)
        assert self.duration is not None  # guaranteed by the loader
        return self.duration.after(start)

    def shortest(self) -> timedelta:
        if self.working_days is not None:
            return timedelta(days=self.working_days)
        assert self.duration is not None
        return self.duration.shortest()

    def __str__(self) -> str:
        if self.working_days is not None:
            return f"{self.working_days} working days"
        return str(self.duration)


@dataclass(frozen=True, slots=True)
class Policy:
    """One obligation rule: who, when it applies, the window and the escalation ladder.

    ``reminders`` are lead times before the due time, longest first (so in the
    order they fire). Repeats are of the last level: SECOND_LEVEL when
    ``second_level_after`` is set, else OVERDUE.
    """

    name: str
    obligation: ObligationKind
    recipient_classes: frozenset[RecipientClass]
    window: Window
    when: tuple[tuple[str, Any], ...] = ()
    reminders: tuple[IsoDuration, ...] = ()
    second_level_after: IsoDuration | None = None
    repeat_every: IsoDuration | None = None
    max_repeats: int | None = None
    opened_by: frozenset[Trigger] = frozenset()

    def matches(self, recipient_class: RecipientClass, case: CaseFacts) -> bool:
        """Whether this policy applies to the recipient; ``when`` lists are "any of"."""
        if recipient_class not in self.recipient_classes:
            return False
        conditions = dict(self.when)
        relation = conditions.pop("as", None)
        categories = conditions.pop("personnel_category", None)
        if relation is not None:
            related = {c for r, c in case.relations if r == relation}
            if not related or (categories is not None and not related & categories):
                return False
        elif categories is not None and not case.personnel_categories & categories:
            return False
        for name, value in conditions.items():
            actual = getattr(case, name)
            if isinstance(value, frozenset):
                if actual not in value:
                    return False
            elif actual != value:
                return False
        return True

    @property
    def statuses(self) -> frozenset[str]:
        """The statuses this policy names in ``when`` (it is what such a status opens)."""
        value = dict(self.when).get("status")
        return value if isinstance(value, frozenset) else frozenset()


@dataclass(frozen=True, slots=True)
class _CalendarSpec:
    """A calendar as written; the time zone may come from the recipient instead."""

    tz: ZoneInfo | None
    weekend: frozenset[int]
    holidays: HolidaySet


_PLAN_CACHE_SIZE = 4096


@dataclass(frozen=True)
class PolicySet:
    """The loaded policy file: selection, calendars and the closing set."""

    source: str
    policies: tuple[Policy, ...]
    calendars: Mapping[str, _CalendarSpec]
    closing_statuses: frozenset[str] = frozenset(_DEFAULT_CLOSING_STATUSES)
    closing_events: frozenset[str] = frozenset(_DEFAULT_CLOSING_EVENTS)
    count_from: str = "reported_at"
    urgency: Urgency = Urgency()
    summary_every: timedelta = _DEFAULT_SUMMARY_EVERY
    _by_name: Mapping[str, Policy] = field(init=False, repr=False, compare=False)
    _plans: dict[tuple[RecipientClass, CaseFacts, Trigger | None], tuple[Policy, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name: p for p in self.policies})
        object.__setattr__(self, "_plans", {})

    def select(
        self,
        kind: ObligationKind,
        recipient_class: RecipientClass,
        case: CaseFacts,
        *,
        trigger: Trigger | None = None,
    ) -> Policy | None:
        """The first policy for ``kind`` that matches, or None (no obligation).

        Without ``trigger`` only policies planned at notification (no
        ``opened_by``) compete; with one, only those it opens.
        """
        for policy in self.policies:
            if policy.obligation != kind or not policy.matches(recipient_class, case):
                continue
            if (trigger is None and not policy.opened_by) or (
                trigger is not None and trigger in policy.opened_by
            ):
                return policy
        return None

    def plan(
        self, recipient_class: RecipientClass, case: CaseFacts, *, trigger: Trigger | None = None
    ) -> list[Policy]:
        """One policy per obligation kind this recipient owes for this case (or trigger).

        Remembered per (class, facts, trigger): the policies never change once loaded, the
        facts take few distinct values, and the selection ran for every recipient of every
        event (2 % of the routing step's CPU: 936 -> 914 us per event, bench/routing/step.py).
        """
        key = (recipient_class, case, trigger)
        plan = self._plans.get(key)
        if plan is None:
            chosen = (
                self.select(kind, recipient_class, case, trigger=trigger)
                for kind in ObligationKind
                if kind != ObligationKind.UNKNOWN
            )
            plan = tuple(p for p in chosen if p is not None)
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()  # bounded: facts are few, but never trust that
            self._plans[key] = plan
        return list(plan)

    def triggered_classes(self, trigger: Trigger) -> frozenset[RecipientClass]:
        """Recipient classes some policy opened by ``trigger`` names (cheap pre-check)."""
        return frozenset(c for p in self.policies if trigger in p.opened_by for c in p.recipient_classes)

    def named(self, name: str) -> Policy | None:
        return self._by_name.get(name)

    def for_obligation(self, name: str, kind: ObligationKind, recipient_class: RecipientClass) -> Policy:
        """The policy an obligation was created under, even if the file changed since.

        A policy renamed or removed after the obligation was stored falls back to
        the first policy of the same kind and recipient class (ignoring ``when``),
        and failing that to a bare ladder: OVERDUE at the due time, nothing else.
        """
        policy = self._by_name.get(name)
        if policy is not None:
            return policy
        for candidate in self.policies:
            if candidate.obligation == kind and recipient_class in candidate.recipient_classes:
                return candidate
        return Policy(
            name=name,
            obligation=kind,
            recipient_classes=frozenset({recipient_class}),
            window=Window(working_days=0),
        )

    def has_calendar(self, name: str) -> bool:
        return name in self.calendars

    def calendar(
        self, name: str | None = None, *, time_zone: str | ZoneInfo | None = None
    ) -> WorkingCalendar:
        """The named calendar (default when None) in its own or the recipient's zone.

        A calendar without ``time_zone`` takes the recipient's (from the
        recipients directory), else UTC; a calendar that names one keeps it.
        """
        calendar_name = name or DEFAULT_CALENDAR
        spec = self.calendars.get(calendar_name)
        if spec is None:
            raise ConfigError(
                f"{self.source}: calendar '{calendar_name}' is not defined. Add it under "
                f"'calendars:' or use one of: {', '.join(sorted(self.calendars))}."
            )
        if spec.tz is not None:
            zone = spec.tz
        elif isinstance(time_zone, ZoneInfo):
            zone = time_zone
        else:
            zone = ZoneInfo(time_zone) if time_zone else _UTC
        return WorkingCalendar(name=calendar_name, tz=zone, weekend=spec.weekend, holidays=spec.holidays)

    def is_closing(self, *, event_type: str | None = None, status: str | None = None) -> bool:
        """Whether an allegation event closes the case (cancelling open obligations)."""
        return (event_type is not None and event_type in self.closing_events) or (
            status is not None and status in self.closing_statuses
        )


# --------------------------------------------------------------------------- file shape


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(m.value for m in enum if m.value != "UNKNOWN")


def _member(enum: type[StrEnum]) -> Callable[[Any], Any]:
    """A before-validator whose message lists the usable symbols (not UNKNOWN)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and value not in enum.__members__:
            raise ValueError(f"{value!r} is not a known {enum.__name__}. Use one of {_choices(enum)}")
        return value

    return check


def _members(enum: type[StrEnum]) -> Callable[[Any], Any]:
    """As :func:`_member`, for a list of symbols."""
    one = _member(enum)

    def check(value: Any) -> Any:
        if isinstance(value, list):
            for item in value:
                one(item)
        return value

    return check


class _When(_FileModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    victim_under_18: bool | None = None
    urgent: bool | None = None
    paternity_claim: bool | None = None
    has_victims: bool | None = None
    source_stream: (
        Annotated[list[str], BeforeValidator(_members(SourceStream)), Field(min_length=1)] | None
    ) = None
    status: Annotated[list[str], BeforeValidator(_members(AllegationStatus)), Field(min_length=1)] | None = (
        None
    )
    personnel_category: (
        Annotated[list[str], BeforeValidator(_members(PersonnelCategory)), Field(min_length=1)] | None
    ) = None
    relation: Annotated[str | None, Field(alias="as")] = None

    @field_validator("relation")
    @classmethod
    def _relation(cls, value: str | None) -> str | None:
        if value is not None and value not in RELATIONS:
            raise ValueError(f"as {value!r} is not a relation. Use one of {', '.join(RELATIONS)}")
        return value

    def conditions(self) -> tuple[tuple[str, Any], ...]:
        out: list[tuple[str, Any]] = []
        for name, value in self.model_dump().items():
            if value is None:
                continue
            out.append(
                ("as" if name == "relation" else name, frozenset(value) if isinstance(value, list) else value)
            )
        return tuple(out)


class _TriggerModel(_FileModel):
    response: Annotated[ResponseKind, BeforeValidator(_member(ResponseKind))] | None = None
    overdue: Annotated[ObligationKind, BeforeValidator(_member(ObligationKind))] | None = None
    answering: Annotated[ObligationKind, BeforeValidator(_member(ObligationKind))] | None = None

    @model_validator(mode="after")
    def _one(self) -> _TriggerModel:
        if (self.response is None) == (self.overdue is None):
            raise ValueError(
                "an opened_by entry gives exactly one of 'response' or 'overdue'. "
                "Write e.g. '{response: INVESTIGATION_DECLINED}' or '{overdue: DECIDE}'"
            )
        if self.answering is not None and self.response is None:
            raise ValueError("'answering' narrows a response trigger. Add 'response' or drop 'answering'")
        return self

    def value(self) -> Trigger:
        return Trigger(
            response=None if self.response is None else str(self.response),
            overdue=None if self.overdue is None else str(self.overdue),
            answering=None if self.answering is None else str(self.answering),
        )


def _duration(value: str, what: str) -> IsoDuration:
    try:
        parsed = IsoDuration.parse(value)
    except ValueError as exc:
        raise ValueError(f"{what} {value!r}: {exc}") from exc
    if not parsed.is_positive():
        raise ValueError(f"{what} {value!r} is not positive. Use a duration greater than zero")
    return parsed


def _optional_duration(what: str) -> Callable[[str | None], str | None]:
    """An after-validator: a positive ISO duration, or nothing."""

    def check(value: str | None) -> str | None:
        if value is not None:
            _duration(value, what)
        return value

    return check


class _WindowModel(_FileModel):
    duration: str | None = None
    working_days: Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _WindowModel:
        if (self.duration is None) == (self.working_days is None):
            raise ValueError(
                "window must give exactly one of 'duration' or 'working_days'. "
                "Keep one, e.g. 'window: {working_days: 5}' or 'window: {duration: P6M}'"
            )
        if self.duration is not None:
            _duration(self.duration, "window duration")
        return self

    def value(self) -> Window:
        if self.working_days is not None:
            return Window(working_days=self.working_days)
        assert self.duration is not None
        return Window(duration=IsoDuration.parse(self.duration))


class _PolicyModel(_FileModel):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    obligation: Annotated[ObligationKind, BeforeValidator(_member(ObligationKind))]
    recipient_classes: Annotated[
        list[Annotated[RecipientClass, BeforeValidator(_member(RecipientClass))]],
        Field(min_length=1),
    ]
    when: _When = _When()
    window: _WindowModel
    reminders: list[str] = []
    second_level_after: Annotated[str | None, AfterValidator(_optional_duration("second_level_after"))] = None
    repeat_every: Annotated[str | None, AfterValidator(_optional_duration("repeat_every"))] = None
    max_repeats: Annotated[int, Field(ge=0)] | None = None
    opened_by: list[_TriggerModel] = []
    description: str | None = None

    @field_validator("obligation")
    @classmethod
    def _known_kind(cls, value: ObligationKind) -> ObligationKind:
        if value == ObligationKind.UNKNOWN:
            raise ValueError(f"UNKNOWN cannot be planned. Use one of {_choices(ObligationKind)}")
        return value

    @field_validator("recipient_classes")
    @classmethod
    def _known_classes(cls, value: list[RecipientClass]) -> list[RecipientClass]:
        if RecipientClass.UNKNOWN in value:
            raise ValueError(f"UNKNOWN cannot owe anything. Use one of {_choices(RecipientClass)}")
        return value

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: list[str]) -> list[str]:
        parsed = [_duration(text, "reminder point") for text in value]
        if len({p.text for p in parsed}) != len(parsed):
            raise ValueError("reminders lists the same point twice. Keep each point once")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> _PolicyModel:
        window = self.window.value()
        for text in self.reminders:
            lead = IsoDuration.parse(text)
            if lead.longest() >= window.shortest():
                raise ValueError(
                    f"reminder point {text} is not before the due time of a {window} window. "
                    "Use a reminder point shorter than the window"
                )
        if self.max_repeats is not None and self.repeat_every is None:
            raise ValueError(
                "max_repeats is set but repeat_every is not. Add repeat_every or drop max_repeats"
            )
        return self

    def value(self) -> Policy:
        leads = sorted(
            (IsoDuration.parse(t) for t in self.reminders),
            key=lambda d: (d.longest(), d.text),
            reverse=True,
        )
        return Policy(
            name=self.name,
            obligation=self.obligation,
            recipient_classes=frozenset(self.recipient_classes),
            window=self.window.value(),
            when=self.when.conditions(),
            reminders=tuple(leads),
            second_level_after=(
                IsoDuration.parse(self.second_level_after) if self.second_level_after else None
            ),
            repeat_every=IsoDuration.parse(self.repeat_every) if self.repeat_every else None,
            max_repeats=self.max_repeats,
            opened_by=frozenset(t.value() for t in self.opened_by),
        )


class _CalendarModel(_FileModel):
    time_zone: str | None = None
    weekend: list[str | int] = ["SATURDAY", "SUNDAY"]
    holidays: list[date] = []
    country: str | None = None
    subdivision: str | None = None
    description: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"unknown time zone {value!r}. Use an IANA name such as Europe/Paris"
                ) from exc
        return value

    @field_validator("weekend")
    @classmethod
    def _weekend(cls, value: list[str | int]) -> list[str | int]:
        days = _weekday_numbers(value)
        if len(days) >= 7:
            raise ValueError("weekend covers every day. Leave at least one working day")
        return value

    @model_validator(mode="after")
    def _country(self) -> _CalendarModel:
        if self.subdivision is not None and self.country is None:
            raise ValueError("subdivision is set without country. Add country or drop subdivision")
        if self.country is not None:
            try:
                _holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError as exc:
                raise ValueError(
                    f"the holidays package has no calendar for country {self.country!r}"
                    + (f" subdivision {self.subdivision!r}" if self.subdivision else "")
                    + f" ({exc}). Use an ISO 3166 code it supports, or list the dates"
                    " under 'holidays'"
                ) from exc
        return self

    def value(self) -> _CalendarSpec:
        return _CalendarSpec(
            tz=ZoneInfo(self.time_zone) if self.time_zone else None,
            weekend=_weekday_numbers(self.weekend),
            holidays=HolidaySet(
                dates=frozenset(self.holidays),
                country=self.country,
                subdivision=self.subdivision,
            ),
        )


def _weekday_numbers(values: list[str | int]) -> frozenset[int]:
    days: set[int] = set()
    for item in values:
        if isinstance(item, int):
            if not 0 <= item <= 6:
                raise ValueError(f"weekday {item} is out of range. Use 0 (Monday) to 6 (Sunday)")
            days.add(item)
            continue
        matches = [n for name, n in WEEKDAYS.items() if name.startswith(item.upper())]
        if len(item) < 3 or len(matches) != 1:
            raise ValueError(f"{item!r} is not a weekday. Use names such as SATURDAY or SAT, or 0-6")
        days.add(matches[0])
    return frozenset(days)


class _ClosingModel(_FileModel):
    statuses: list[Annotated[AllegationStatus, BeforeValidator(_member(AllegationStatus))]] = list(
        _DEFAULT_CLOSING_STATUSES
    )
    events: list[Annotated[EventType, BeforeValidator(_member(EventType))]] = list(_DEFAULT_CLOSING_EVENTS)


class _UrgentModel(_FileModel):
    victim_under_18: bool = True
    paternity_claim: bool = False
    sub_types: list[Annotated[AllegationSubType, BeforeValidator(_member(AllegationSubType))]] = []

    def value(self) -> Urgency:
        return Urgency(
            victim_under_18=self.victim_under_18,
            paternity_claim=self.paternity_claim,
            sub_types=frozenset(str(s) for s in self.sub_types),
        )


class _ImportModel(_FileModel):
    summary_every: str = "PT1M"

    @field_validator("summary_every")
    @classmethod
    def _every(cls, value: str) -> str:
        parsed = _duration(value, "summary_every")
        if parsed.months:
            raise ValueError(f"summary_every {value!r} uses months. Use days, hours, minutes or seconds")
        return value

    def value(self) -> timedelta:
        return IsoDuration.parse(self.summary_every).delta


# --------------------------------------------------------------------------- loading

_TOP_LEVEL = ("version", "closing", "count_from", "urgent", "overdue_at_import", "calendars", "policies")
_FIXES = {
    "missing": "Add it.",
    "extra_forbidden": "Remove it or correct its spelling.",
    "enum": "Use one of the listed values.",
    "literal_error": "Use one of the listed values.",
    "string_pattern_mismatch": "Use letters, digits, '.', '_' or '-' only.",
}


def load_policies(path: Path | str) -> PolicySet:
    """Read and check a policy file; any problem is a ConfigError naming the entry."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{source}: policy file not found. Create it (see deploy/config/policies.yaml) "
            "or point the setting at an existing file."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the policy file ({exc}). Check its permissions.") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc}). Fix the syntax.") from exc
    return parse_policies(data, source=str(source))


def parse_policies(data: Any, *, source: str) -> PolicySet:
    """Check already-parsed policy data; ``source`` names it in error messages."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: the top level must be a mapping with {', '.join(_TOP_LEVEL)}. "
            "Start from deploy/config/policies.yaml."
        )
    unknown = sorted(str(k) for k in data if k not in _TOP_LEVEL)
    if unknown:
        raise ConfigError(
            f"{source}: unknown top-level entry {', '.join(repr(k) for k in unknown)}. "
            f"Use only {', '.join(_TOP_LEVEL)}."
        )
    if data.get("version", 1) != 1:
        raise ConfigError(f"{source}: version {data.get('version')!r} is not supported. Set 'version: 1'.")
    calendars = _load_calendars(data.get("calendars") or {}, source)
    closing = _validate(_ClosingModel, data.get("closing") or {}, source, "closing")
    count_from = data.get("count_from", "reported_at")
    if count_from not in COUNT_FROM:
        raise ConfigError(
            f"{source}: count_from {count_from!r} is not known. Use one of {', '.join(COUNT_FROM)} "
            "(reported_at: windows of a case reported in the past start then; received: they start "
            "when the bus receives it)."
        )
    urgency = _validate(_UrgentModel, data.get("urgent") or {}, source, "urgent").value()
    summary_every = _validate(
        _ImportModel, data.get("overdue_at_import") or {}, source, "overdue_at_import"
    ).value()
    raw_policies = data.get("policies")
    if not isinstance(raw_policies, list) or not raw_policies:
        raise ConfigError(f"{source}: 'policies' must be a non-empty list. Add at least one policy entry.")
    policies: list[Policy] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_policies):
        label = _label(raw, index)
        model = _validate(_PolicyModel, raw, source, f"policy {label}")
        if model.name in seen:
            raise ConfigError(
                f"{source}: policy '{model.name}': the name is used twice. Give each policy "
                "a unique name (obligations remember it)."
            )
        seen.add(model.name)
        policy = model.value()
        _check_reachable(policy, policies, source)
        policies.append(policy)
    return PolicySet(
        source=source,
        policies=tuple(policies),
        calendars=calendars,
        closing_statuses=frozenset(str(s) for s in closing.statuses),
        closing_events=frozenset(str(e) for e in closing.events),
        count_from=str(count_from),
        urgency=urgency,
        summary_every=summary_every,
    )


def _load_calendars(raw: Any, source: str) -> dict[str, _CalendarSpec]:
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{source}: 'calendars' must map calendar names to entries. "
            "Write 'calendars: {default: {time_zone: UTC}}'."
        )
    specs: dict[str, _CalendarSpec] = {}
    for name, entry in raw.items():
        model = _validate(_CalendarModel, entry or {}, source, f"calendar '{name}'")
        specs[str(name)] = model.value()
    specs.setdefault(
        DEFAULT_CALENDAR, _CalendarSpec(tz=None, weekend=frozenset({5, 6}), holidays=HolidaySet())
    )
    return specs


def _label(raw: Any, index: int) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) and raw["name"]:
        return f"'{raw['name']}'"
    return f"#{index + 1} (unnamed)"


def _validate(model: type[_M], raw: Any, source: str, entry: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{source}: {entry}: {_describe(err)}" for err in exc.errors())) from exc


def _describe(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"])
    if err["type"] == "value_error":
        text = msg.removeprefix("Value error, ")
        return (f"field '{loc}': " if loc else "") + text + ("" if text.endswith(".") else ".")
    fix = _FIXES.get(err["type"], "Correct the value.")
    if err["type"] == "missing":
        problem = f"field '{loc}' is missing"
    elif err["type"] == "extra_forbidden":
        problem = f"unknown field '{loc}'"
    else:
        problem = f"field '{loc}': {msg} (got {err.get('input')!r})"
    return f"{problem}. {fix}"


def _check_reachable(policy: Policy, earlier: list[Policy], source: str) -> None:
    """Reject a policy that an earlier, broader one always shadows (an ordering slip)."""
    conditions = set(policy.when)
    shadows: list[Policy] = []
    for cls in sorted(policy.recipient_classes):
        shadow = next(
            (
                p
                for p in earlier
                if p.obligation == policy.obligation
                and p.opened_by == policy.opened_by
                and cls in p.recipient_classes
                and set(p.when) <= conditions
            ),
            None,
        )
        if shadow is None:
            return
        shadows.append(shadow)
    names = ", ".join(dict.fromkeys(f"'{p.name}'" for p in shadows))
    raise ConfigError(
        f"{source}: policy '{policy.name}': it can never match, because {names} above it "
        f"already matches every such case for {policy.obligation}. Move '{policy.name}' "
        "above it or remove it."
    )
