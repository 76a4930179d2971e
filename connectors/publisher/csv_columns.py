"""The CSV column mapping: one flat row per allegation event, documented in docs/PUBLISHING.md.

Agencies keep case registers in spreadsheets, so a row is flat: event and
allegation fields by name, subjects as numbered column groups (``subject_ref_1``,
``personnel_category_1``, ...), victims as one count column per sex and age
group. This module turns a row into the JSON shape of an ``AllegationEvent``
and remembers which column each field came from, so a problem is reported
against the column a person can see.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seabus.connectors.publisher.errors import ImportFileError

__all__ = [
    "EVENT_COLUMNS",
    "LIST_SEPARATOR",
    "REQUIRED_COLUMNS",
    "SUBJECT_FIELDS",
    "VICTIM_COLUMNS",
    "MappedRow",
    "check_header",
    "map_row",
]

LIST_SEPARATOR = ";"
"""Separates values inside one cell (sub_types, changes, outcome_actions)."""

EVENT_COLUMNS: dict[str, str] = {
    "event_id": "event_id",
    "event_type": "event_type",
    "allegation_id": "allegation_id",
    "sequence": "sequence",
    "reporting_entity": "reporting_entity",
    "published_at": "published_at",
    "changes": "changes",
}
"""Columns holding a field of the event itself (column → field)."""

ALLEGATION_COLUMNS: dict[str, str] = {
    "reported_at": "reported_at",
    "incident_date": "incident_date",
    "incident_date_precision": "incident_date_precision",
    "location_country": "location_country",
    "source_stream": "source_stream",
    "allegation_type": "allegation_type",
    "sub_types": "sub_types",
    "status": "status",
    "investigating_entity": "investigating_entity",
    "victim_assistance_referred": "victim_assistance_referred",
    "paternity_claim": "paternity_claim",
}
"""Columns holding a field of the allegation snapshot (column → field)."""

OTHER_COLUMNS = ("narrative", "outcome_result", "outcome_concluded_on", "outcome_actions")
"""``narrative`` goes to ``allegation.confidential``; ``outcome_*`` to ``allegation.outcome``."""

SUBJECT_FIELDS = ("subject_ref", "personnel_category", "nationality", "contributing_state", "gender")
"""Each subject N has the columns ``<field>_N``, N = 1, 2, ..."""

_SEXES = {"female": "FEMALE", "male": "MALE", "sex_unknown": "UNKNOWN"}
_AGES = {"adult": "ADULT", "under_18": "UNDER_18", "age_unknown": "UNKNOWN"}
VICTIM_COLUMNS: dict[str, tuple[str, str]] = {
    f"victims_{sex}_{age}": (sex_value, age_value)
    for sex, sex_value in _SEXES.items()
    for age, age_value in _AGES.items()
}
"""Count columns ``victims_<female|male|sex_unknown>_<adult|under_18|age_unknown>``."""

REQUIRED_COLUMNS = (
    "allegation_id",
    "reporting_entity",
    "reported_at",
    "source_stream",
    "allegation_type",
    "status",
    "subject_ref_1",
    "personnel_category_1",
)
"""Columns a file must have (cells may still be reported empty row by row)."""

_ENUM_COLUMNS = frozenset(
    {
        "event_type",
        "incident_date_precision",
        "source_stream",
        "allegation_type",
        "status",
        "outcome_result",
    }
)
_ENUM_LIST_COLUMNS = frozenset({"changes", "sub_types", "outcome_actions"})
_CODE_COLUMNS = frozenset({"location_country", "reporting_entity"})
_SUBJECT_COLUMN = re.compile(r"^(" + "|".join(SUBJECT_FIELDS) + r")_([1-9][0-9]{0,2})$")


def _symbol(cell: str) -> str:
    """Enum cells are forgiving about case and spacing: ``Sexual exploitation`` works."""
    return re.sub(r"[\s-]+", "_", cell.strip()).upper()


def check_header(columns: list[str]) -> None:
    """Refuse a header with unknown, repeated or missing columns (nothing is published)."""
    known = set(EVENT_COLUMNS) | set(ALLEGATION_COLUMNS) | set(OTHER_COLUMNS) | set(VICTIM_COLUMNS)
    unknown = [c for c in columns if c not in known and not _SUBJECT_COLUMN.match(c)]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    faults = []
    if unknown:
        faults.append(f"unknown column(s) {', '.join(unknown)}")
    if repeated:
        faults.append(f"repeated column(s) {', '.join(repeated)}")
    if missing:
        faults.append(f"missing column(s) {', '.join(missing)}")
    if faults:
        raise ImportFileError(
            "the CSV header does not follow the column mapping: "
            + "; ".join(faults)
            + ". Fix the header (see 'CSV column mapping' in docs/PUBLISHING.md); nothing was published."
        )


@dataclass(frozen=True)
class MappedRow:
    """A row as event JSON, and the column each field path came from."""

    data: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)

    def column_for(self, path: str) -> str | None:
        """The column behind ``path`` (or behind the closest enclosing field)."""
        probe = path
        while probe:
            if probe in self.columns:
                return self.columns[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return None


def map_row(row: Mapping[str, str | None]) -> MappedRow:
    """Turn one CSV row (column → cell) into AllegationEvent JSON; empty cells are absent."""
    cells = {k: v.strip() for k, v in row.items() if k is not None and v is not None and v.strip()}
    data: dict[str, Any] = {}
    allegation: dict[str, Any] = {}
    columns: dict[str, str] = {}

    def put(target: dict[str, Any], prefix: str, name: str, column: str) -> None:
        cell = cells[column]
        if column in _ENUM_COLUMNS:
            value: Any = _symbol(cell)
        elif column in _ENUM_LIST_COLUMNS:
            value = [_symbol(part) for part in cell.split(LIST_SEPARATOR) if part.strip()]
        elif column in _CODE_COLUMNS:
            value = cell.upper()
        else:
            value = cell
        target[name] = value
        columns[prefix + name] = column

    for column, name in EVENT_COLUMNS.items():
        if column in cells:
            put(data, "", name, column)
    data.setdefault("event_type", "REPORTED")
    data.setdefault("sequence", "1")
    for column, name in ALLEGATION_COLUMNS.items():
        if column in cells:
            put(allegation, "allegation.", name, column)
    if "incident_date" in allegation and "incident_date_precision" not in allegation:
        allegation["incident_date_precision"] = "DAY"
        columns["allegation.incident_date_precision"] = "incident_date"

    subjects = _subjects(cells)
    allegation["subjects"] = [s for s, _ in subjects]
    for index, (_, number) in enumerate(subjects):
        for name in SUBJECT_FIELDS:
            columns[f"allegation.subjects[{index}].{name}"] = f"{name}_{number}"
    if subjects:
        columns["allegation.subjects"] = "subject_ref_1"

    victims: list[dict[str, str]] = []
    for column, (sex, age) in VICTIM_COLUMNS.items():
        if column in cells and not _is_zero(cells[column]):
            columns[f"allegation.victims[{len(victims)}]"] = column
            victims.append({"sex": sex, "age_group": age, "count": cells[column]})
    if victims:
        allegation["victims"] = victims

    if "narrative" in cells:
        allegation["confidential"] = {"narrative": cells["narrative"]}
        columns["allegation.confidential"] = "narrative"
    if any(c in cells for c in ("outcome_result", "outcome_concluded_on", "outcome_actions")):
        outcome: dict[str, Any] = {}
        for column, name in (
            ("outcome_result", "result"),
            ("outcome_concluded_on", "concluded_on"),
            ("outcome_actions", "actions"),
        ):
            if column in cells:
                put(outcome, "allegation.outcome.", name, column)
        columns.setdefault("allegation.outcome", "outcome_result")
        allegation["outcome"] = outcome
    data["allegation"] = allegation
    return MappedRow(data=data, columns=columns)


def _is_zero(cell: str) -> bool:
    try:
        return int(cell) == 0
    except ValueError:
        return False


def _subjects(cells: Mapping[str, str]) -> list[tuple[dict[str, str], int]]:
    numbers = sorted(
        {int(m.group(2)) for c in cells if (m := _SUBJECT_COLUMN.match(c))},
    )
    out = []
    for number in numbers:
        subject: dict[str, str] = {}
        for name in SUBJECT_FIELDS:
            cell = cells.get(f"{name}_{number}")
            if cell is None:
                continue
            subject[name] = _symbol(cell) if name in ("personnel_category", "gender") else cell
            if name in ("nationality", "contributing_state"):
                subject[name] = cell.upper()
        out.append((subject, number))
    return out
