"""The published tables: the UN's breakdowns and the timeliness of Member States, suppressed.

Every table has one row per period (each year and each quarter with data) and
key; ``count`` is a number of allegations (``victims``: of victims;
``timeliness``: of allegations the state was notified of). Rows whose count is
zero are not written. Suppression is decided once over every period, then the
chosen period is cut out, so two reports of the same data (``--period 2025``
and ``--period 2025-Q3``) withhold the same cells and cannot be combined to
recover one.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seabus.schemas.enums import ObligationState
from seabus.streams.stats.facts import AllegationFacts, StatsIndex
from seabus.streams.stats.periods import PeriodChoice, quarter_of, year_of
from seabus.streams.stats.suppress import Relation, suppress

__all__ = ["BREAKDOWNS", "TIMELINESS", "Breakdown", "StatsReport", "build_report"]

Row = dict[str, Any]
Keys = Callable[[str, AllegationFacts, StatsIndex], Iterable[tuple[tuple[str, ...], int]]]

TOTAL = "allegations"
TIMELINESS = "timeliness"
MEDIANS = (
    ("median_hours_to_notification", "notified_at"),
    ("median_hours_to_acknowledgement", "acknowledged_at"),
    ("median_hours_to_decision", "decided_at"),
    ("median_hours_to_outcome", "outcome_at"),
)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One table: its key columns, how an allegation is counted, and whether its keys exclude each other.

    ``exclusive``: every allegation has exactly one key, so the rows of a period sum to
    the period's total in ``allegations`` (a relation suppression must respect).
    """

    name: str
    columns: tuple[str, ...]
    keys: Keys
    exclusive: bool


def _one(value: Callable[[AllegationFacts], str]) -> Keys:
    return lambda _aid, f, _ix: [((value(f),), 1)]


def _each(values: Callable[[AllegationFacts], Iterable[str]]) -> Keys:
    return lambda _aid, f, _ix: [((v,), 1) for v in sorted(set(values(f)))]


def _actions(aid: str, f: AllegationFacts, ix: StatsIndex) -> Iterable[tuple[tuple[str, ...], int]]:
    return [((a,), 1) for a in sorted(set(f.actions) | ix.reported_actions.get(aid, set()))]


def _victims(_aid: str, f: AllegationFacts, _ix: StatsIndex) -> Iterable[tuple[tuple[str, ...], int]]:
    return [((sex, age), n) for sex, age, n in f.victims]


BREAKDOWNS: tuple[Breakdown, ...] = (
    Breakdown(TOTAL, (), lambda _a, _f, _i: [((), 1)], exclusive=False),
    Breakdown("by_entity", ("reporting_entity",), lambda a, _f, ix: [((ix.entity_of(a),), 1)], True),
    Breakdown("by_personnel_category", ("personnel_category",), _each(lambda f: f.categories), False),
    Breakdown("by_nationality", ("nationality",), _each(lambda f: f.uniformed_nationalities), False),
    Breakdown("by_type", ("allegation_type",), _one(lambda f: f.allegation_type), True),
    Breakdown("by_sub_type", ("sub_type",), _each(lambda f: f.sub_types), False),
    Breakdown("victims", ("sex", "age_group"), _victims, False),
    Breakdown("by_status", ("status",), _one(lambda f: f.status), True),
    Breakdown(
        "by_investigating_entity", ("investigating_entity",), _one(lambda f: f.investigating_entity), True
    ),
    Breakdown("by_outcome", ("outcome",), _one(lambda f: f.outcome), True),
    Breakdown("by_action_taken", ("action",), _actions, False),
    Breakdown("by_interim_action", ("interim_action",), _each(lambda f: f.interim_actions), False),
    Breakdown(
        "paternity_claims", ("paternity_claim",), _one(lambda f: "YES" if f.paternity_claim else "NO"), True
    ),
    Breakdown(
        "referrals",
        ("referral_decided",),
        lambda a, _f, ix: [(("YES" if a in ix.referrals else "NO",), 1)],
        True,
    ),
)

TABLE_NAMES: tuple[str, ...] = (*(b.name for b in BREAKDOWNS), TIMELINESS)

Cell = tuple[str, str, tuple[str, ...]]  # (table, period, key)


@dataclass(frozen=True, slots=True)
class StatsReport:
    """What ``seabus stats`` and ``/dashboard/stats`` publish."""

    period: str
    tables: dict[str, list[Row]]
    suppressed_cells: int
    min_cell: int

    def as_json(self) -> dict[str, Any]:
        """Exactly ``{"period", "tables", "suppressed_cells"}``."""
        return {"period": self.period, "tables": self.tables, "suppressed_cells": self.suppressed_cells}


def _periods(at: datetime) -> tuple[str, str]:
    return year_of(at), quarter_of(at)


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds() / 3600)


def build_report(index: StatsIndex, *, choice: PeriodChoice, min_cell: int, now: datetime) -> StatsReport:
    """Count, suppress over every period, then keep the chosen period's rows."""
    values: Counter[Cell] = Counter()
    for aid, facts in index.allegations.items():
        periods = _periods(facts.reported_at)
        for b in BREAKDOWNS:
            for key, n in b.keys(aid, facts, index):
                for p in periods:
                    values[(b.name, p, key)] += n
    timeliness = _timeliness(index, now=now)
    for (p, state), t in timeliness.items():
        values[(TIMELINESS, p, (state,))] = t["count"]

    hidden = suppress(values, _relations(values), min_cell=min_cell)

    tables: dict[str, list[Row]] = {name: [] for name in TABLE_NAMES}
    columns = {b.name: b.columns for b in BREAKDOWNS} | {TIMELINESS: ("member_state",)}
    withheld = 0
    for cell in sorted(values, key=lambda c: (c[1], c[2])):
        name, period, key = cell
        if not choice.shows(period):
            continue
        row: Row = {"period": period, **dict(zip(columns[name], key, strict=True))}
        marks: list[str] = []
        if cell in hidden:
            row["count"] = None
            marks.append("count")
        else:
            row["count"] = values[cell]
        if name == TIMELINESS:
            # A state whose count is withheld shows nothing derived from its few cases either.
            extra = timeliness[(period, key[0])]
            few = cell in hidden
            for column, _ in MEDIANS:
                answers: list[float] = extra[column]
                if len(answers) >= min_cell and not few:
                    row[column] = round(statistics.median(answers), 1)
                else:
                    row[column] = None
                    if answers:
                        marks.append(column)
            owed, late = extra["owed"], extra["late"]
            if owed >= min_cell and not few:
                row["answered_late_share"] = round(late / owed, 3)
            else:
                row["answered_late_share"] = None
                if owed:
                    marks.append("answered_late_share")
        row["suppressed"] = marks
        withheld += len(marks)
        tables[name].append(row)
    return StatsReport(period=choice.label, tables=tables, suppressed_cells=withheld, min_cell=min_cell)


def _relations(values: Counter[Cell]) -> list[Relation]:
    """Every sum a reader can form from the tables: years of quarters, exclusive breakdowns of totals."""
    relations: list[Relation] = []
    for name, period, key in values:
        if "-Q" not in period:
            quarters = tuple((name, f"{period}-Q{q}", key) for q in range(1, 5))
            relations.append(Relation((name, period, key), quarters))
    exclusive = {b.name for b in BREAKDOWNS if b.exclusive}
    by_period: dict[tuple[str, str], list[Cell]] = {}
    for cell in values:
        if cell[0] in exclusive:
            by_period.setdefault((cell[0], cell[1]), []).append(cell)
    for (_name, period), cells in sorted(by_period.items()):
        relations.append(Relation((TOTAL, period, ()), tuple(sorted(cells))))
    return relations


def _timeliness(index: StatsIndex, *, now: datetime) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (period, Member State): allegations notified, answer delays in hours, obligations owed and late."""
    out: dict[tuple[str, str], dict[str, Any]] = {}

    def slot(period: str, state: str) -> dict[str, Any]:
        return out.setdefault(
            (period, state), {"count": 0, "owed": 0, "late": 0, **{c: [] for c, _ in MEDIANS}}
        )

    for (aid, state), f in index.states.items():
        facts = index.allegations.get(aid)
        if facts is None or f.notified_at is None:
            continue
        for p in _periods(facts.reported_at):
            s = slot(p, state)
            s["count"] += 1
            for column, attribute in MEDIANS:
                hours = _hours(facts.reported_at, getattr(f, attribute))
                if hours is not None:
                    s[column].append(hours)
    for o in index.obligations.values():
        facts = index.allegations.get(o.allegation_id)
        if facts is None or o.state is ObligationState.CANCELLED:
            continue
        if o.state is ObligationState.SATISFIED and o.answered_at is not None:
            late = o.answered_at > o.due_at
        elif o.state is ObligationState.OPEN:
            late = now > o.due_at
        else:
            continue
        for p in _periods(facts.reported_at):
            if (p, o.recipient) not in out:
                continue  # only states whose notification was read
            s = out[(p, o.recipient)]
            s["owed"] += 1
            s["late"] += int(late)
    return out
