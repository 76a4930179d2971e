"""Routing rules, Alertmanager-style: ordered rules, matchers, recipients, ``continue``.

A rule matches when all its matchers hold (each matcher: any value at its path
satisfies it). A matching rule adds its recipients — literal ids, or ids read
from a field path such as ``allegation.subjects.nationality`` — and evaluation
stops unless ``continue: true``. When no Member State results, the allegation is
*unroutable*: it still goes to the ``unroutable`` recipients (OSC by default)
and is raised to on-call; it is never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seabus.schemas.enums import RecipientClass
from seabus.schemas.errors import ConfigError
from seabus.schemas.models import AllegationEvent
from seabus.schemas.validation import recipient_class_of
from seabus.streams.config.errors import config_error, validate_entries
from seabus.streams.config.yamlfile import read_yaml_mapping
from seabus.streams.routing.paths import path_exists, resolve

OPERATORS = ("eq", "ne", "in", "not_in", "regex", "gt", "gte", "lt", "lte", "exists")


class Matcher(BaseModel):
    """One condition on one field path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    op: Literal["eq", "ne", "in", "not_in", "regex", "gt", "gte", "lt", "lte", "exists"]
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> Matcher:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.path}: '{self.op}' needs a list of values")
        if self.op in ("gt", "gte", "lt", "lte") and not isinstance(self.value, int | float):
            raise ValueError(f"{self.path}: '{self.op}' needs a number")
        if self.op == "regex":
            try:
                re.compile(str(self.value))
            except re.error as exc:
                raise ValueError(f"{self.path}: invalid regular expression ({exc})") from exc
        if self.op == "exists" and not isinstance(self.value, bool):
            raise ValueError(f"{self.path}: 'exists' takes true or false")
        return self

    def holds(self, document: Mapping[str, Any]) -> bool:
        values = resolve(document, self.path)
        if self.op == "exists":
            return bool(values) is bool(self.value)
        if self.op in ("ne", "not_in"):
            # "none of the values" — the natural reading for negative matchers.
            bad = [self.value] if self.op == "ne" else self.value
            return all(v not in bad for v in values)
        return any(self._one(v) for v in values)

    def _one(self, v: Any) -> bool:
        match self.op:
            case "eq":
                return bool(v == self.value)
            case "in":
                return bool(v in self.value)
            case "regex":
                return re.fullmatch(str(self.value), str(v)) is not None
            case "gt":
                return isinstance(v, int | float) and v > self.value
            case "gte":
                return isinstance(v, int | float) and v >= self.value
            case "lt":
                return isinstance(v, int | float) and v < self.value
            case "lte":
                return isinstance(v, int | float) and v <= self.value
        return False  # pragma: no cover - op is a closed Literal


def _matchers(raw: Mapping[str, Any]) -> list[Matcher]:
    """``{path: scalar}`` is eq, ``{path: [..]}`` is in, ``{path: {op: value}}`` anything else."""
    out = []
    for path, spec in raw.items():
        if isinstance(spec, Mapping):
            if len(spec) != 1:
                raise ValueError(f"{path}: give exactly one operator (one of {', '.join(OPERATORS)})")
            ((op, value),) = spec.items()
            if op not in OPERATORS:
                raise ValueError(f"{path}: unknown operator '{op}'; use one of {', '.join(OPERATORS)}")
            out.append(Matcher(path=path, op=op, value=value))
        elif isinstance(spec, list):
            out.append(Matcher(path=path, op="in", value=spec))
        else:
            out.append(Matcher(path=path, op="eq", value=spec))
    return out


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    match: list[Matcher] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    recipients_from: str | None = None
    continue_: bool = Field(default=False, alias="continue")

    @field_validator("match", mode="before")
    @classmethod
    def _parse_match(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, Mapping):
            return _matchers(v)
        raise ValueError("match must be a mapping of field path to condition")

    @field_validator("recipients")
    @classmethod
    def _valid_ids(cls, v: list[str]) -> list[str]:
        for rid in v:
            if recipient_class_of(rid) is None:
                raise ValueError(f"{rid!r} is neither an ISO 3166-1 alpha-3 code nor OSC, OIOS or VRA")
        return v

    @model_validator(mode="after")
    def _has_recipients(self) -> Rule:
        if not self.recipients and not self.recipients_from:
            raise ValueError("a rule needs 'recipients' (a list of ids) or 'recipients_from' (a field path)")
        return self

    def explain(self, recipient: str, document: Mapping[str, Any]) -> str:
        if self.recipients_from and recipient not in self.recipients:
            refs = _subjects_giving(document, self.recipients_from, recipient)
            via = f" (subject {', '.join(refs)})" if refs else ""
            return f"{self.description or self.name}: {self.recipients_from} = {recipient}{via}"
        return self.description or self.name


def _subjects_giving(document: Mapping[str, Any], path: str, recipient: str) -> list[str]:
    """The opaque refs of the subjects through which a subject-level path yields ``recipient``."""
    prefix = "allegation.subjects."
    if not path.startswith(prefix):
        return []
    key = path[len(prefix) :]
    subjects = document.get("allegation", {}).get("subjects", [])
    return [s["subject_ref"] for s in subjects if recipient in resolve(s, key)]


class Unroutable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recipients: list[str] = Field(default_factory=lambda: ["OSC"], min_length=1)
    escalate: bool = True


class Profile(BaseModel):
    """What one recipient class may see of an allegation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subjects: Literal["all", "own", "none"]
    confidential: bool
    victims: bool = True
    interim_actions: bool = True
    outcome: bool = True


class RoutingRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule] = Field(min_length=1)
    unroutable: Unroutable = Unroutable()
    profiles: dict[Literal["MEMBER_STATE", "OSC", "OIOS", "VRA"], Profile]

    @model_validator(mode="after")
    def _complete(self) -> RoutingRules:
        missing = {"MEMBER_STATE", "OSC", "OIOS", "VRA"} - set(self.profiles)
        if missing:
            raise ValueError(f"profiles lacks {', '.join(sorted(missing))}: every recipient class needs one")
        names = [r.name for r in self.rules]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(sorted(dupes))}")
        return self

    def decide(self, event: AllegationEvent) -> Decision:
        """Recipients of one event, each with the rules that chose it."""
        document = event.model_dump(mode="json")
        decision = Decision()
        for rule in self.rules:
            if not all(m.holds(document) for m in rule.match):
                continue
            chosen = list(rule.recipients)
            if rule.recipients_from:
                chosen += [str(v) for v in resolve(document, rule.recipients_from)]
            for rid in chosen:
                if recipient_class_of(rid) is None:
                    decision.ignored.append((rule.name, rid))
                    continue
                decision.add(rid, rule.name, rule.explain(rid, document))
            if not rule.continue_:
                break
        if not decision.member_states():
            decision.unroutable = True
            for rid in self.unroutable.recipients:
                decision.add(rid, "unroutable", "no Member State could be determined; raised to on-call")
        return decision


@dataclass(frozen=True)
class RouteChoice:
    rule: str
    explanation: str


@dataclass
class Decision:
    """Ordered recipients → reasons; ``unroutable`` when no Member State was found."""

    recipients: dict[str, list[RouteChoice]] = field(default_factory=dict)
    unroutable: bool = False
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def add(self, recipient: str, rule: str, explanation: str) -> None:
        choices = self.recipients.setdefault(recipient, [])
        if all(c.rule != rule or c.explanation != explanation for c in choices):
            choices.append(RouteChoice(rule, explanation))

    def member_states(self) -> list[str]:
        return [r for r in self.recipients if recipient_class_of(r) is RecipientClass.MEMBER_STATE]


def _example_document() -> dict[str, Any]:
    """A fully populated event (as JSON) to check rule paths against at start-up."""
    from seabus.streams.synthetic import example_allegation_event

    return example_allegation_event().model_dump(mode="json")


def load_rules(path: Path) -> RoutingRules:
    """Load and validate the rules file; errors name the file, the rule and the problem."""
    data = read_yaml_mapping(path, what="routing rules")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ConfigError(f"{path}: expected a non-empty 'rules:' list.")
    validate_entries(path, raw_rules, Rule, key="name", entry="rule '{}'")
    try:
        rules = RoutingRules.model_validate(data)
    except ValidationError as exc:
        raise config_error(path, exc) from exc
    example = _example_document()
    for rule in rules.rules:
        paths = [m.path for m in rule.match] + ([rule.recipients_from] if rule.recipients_from else [])
        for p in paths:
            if not path_exists(example, p):
                raise ConfigError(
                    f"{path}: rule '{rule.name}': field path '{p}' names no field of an allegation event. "
                    "Use a dotted path such as allegation.subjects.nationality."
                )
    return rules
