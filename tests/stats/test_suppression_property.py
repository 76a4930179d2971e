"""Property: no published table lets a withheld count be recomputed, and no published count is small.

The test rebuilds, from the published rows alone, every sum a reader can form
(a year is the sum of its quarters; a breakdown whose categories exclude each
other sums to the period's total) and checks (1) each such sum has no withheld
member or at least two, and (2) solving all of them together (exact rank over
the rationals, written here independently of streams/stats/suppress.py) pins
down no withheld cell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats.stats_support import allegation

from seabus.schemas.enums import AllegationStatus, PersonnelCategory
from seabus.streams.stats import StatsIndex, build_report, parse_period
from seabus.streams.stats.tables import MEDIANS

EXCLUSIVE = {
    "by_entity",
    "by_type",
    "by_status",
    "by_investigating_entity",
    "by_outcome",
    "paternity_claims",
    "referrals",
}
VALUES = {"period", "count", "suppressed", "answered_late_share", *(c for c, _ in MEDIANS)}
NOW = datetime(2026, 6, 1, tzinfo=UTC)
QUARTER_STARTS = [datetime(2025, m, 10, tzinfo=UTC) for m in (1, 4, 7, 10)] + [
    datetime(2026, 2, 10, tzinfo=UTC)
]

case = st.tuples(
    st.integers(0, 4),  # quarter
    st.sampled_from(["MINUSCA", "MONUSCO", "UNMISS"]),
    st.sampled_from(
        [
            PersonnelCategory.MILITARY_CONTINGENT,
            PersonnelCategory.STAFF_MEMBER,
            PersonnelCategory.UN_POLICE_OFFICER,
        ]
    ),
    st.sampled_from(["KEN", "FRA", "URY"]),
    st.sampled_from([AllegationStatus.UNDER_INVESTIGATION, AllegationStatus.SUBSTANTIATED]),
    st.integers(0, 2),  # minors
    st.booleans(),  # paternity claim
)


def cells_of(tables: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str, tuple[str, ...]], int | None]:
    out = {}
    for name, rows in tables.items():
        for row in rows:
            key = tuple(str(v) for k, v in row.items() if k not in VALUES)
            out[(name, row["period"], key)] = row["count"]
    return out


def relations_of(cells: dict[tuple[str, str, tuple[str, ...]], int | None]) -> list[tuple[Any, list[Any]]]:
    rels: list[tuple[Any, list[Any]]] = []
    for name, period, key in cells:
        if "-Q" not in period:
            rels.append(((name, period, key), [(name, f"{period}-Q{q}", key) for q in range(1, 5)]))
    groups: dict[tuple[str, str], list[Any]] = {}
    for name, period, key in cells:
        if name in EXCLUSIVE:
            groups.setdefault((name, period), []).append((name, period, key))
    rels += [(("allegations", period, ()), parts) for (_n, period), parts in groups.items()]
    return rels


PRIME = 2**61 - 1  # rank modulo a large prime equals the rational rank for these small 0/+-1 systems


def pinned(rels: list[tuple[Any, list[Any]]], hidden: set[Any]) -> set[Any]:
    """Withheld cells the sums pin down: those whose unit vector lies in the sums' row space.

    Equivalently, removing the cell's column drops the rank. In reduced row echelon form that is
    a pivot column whose row has no other non-zero entry, so one elimination answers for every
    cell (instead of one rank per cell)."""
    cols = sorted(hidden, key=repr)
    rows = []
    for total, parts in rels:
        row = [(int(c == total) - sum(1 for p in parts if p == c)) % PRIME for c in cols]
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    for c in range(len(cols)):
        r = len(pivots)
        pivot = next((i for i in range(r, len(rows)) if rows[i][c]), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        inverse = pow(rows[r][c], PRIME - 2, PRIME)
        rows[r] = [a * inverse % PRIME for a in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c]:
                f = rows[i][c]
                rows[i] = [(a - f * b) % PRIME for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(c)
    return {cols[c] for k, c in enumerate(pivots) if not any(v for j, v in enumerate(rows[k]) if j != c)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(case, min_size=0, max_size=25), min_cell=st.integers(2, 5))
def test_no_published_table_reveals_a_withheld_count(cases: list[Any], min_cell: int) -> None:
    ix = StatsIndex(prefix="sea")
    for n, (quarter, entity, category, state, status, minors, paternity) in enumerate(cases):
        ix.add(
            allegation(
                f"SYNTH-STATS-P{n:03d}",
                at=QUARTER_STARTS[quarter] + timedelta(hours=n),
                entity=entity,
                category=category,
                state=state,
                status=status,
                minors=minors,
                paternity=paternity,
            )
        )
    report = build_report(ix, choice=parse_period("all", now=NOW), min_cell=min_cell, now=NOW)
    cells = cells_of(report.tables)
    hidden = {c for c, v in cells.items() if v is None}

    # (1) No published count in (0, threshold); totals count as cells like any other.
    assert all(v is None or v >= min_cell for v in cells.values())
    assert report.suppressed_cells >= len(hidden)

    # (2) Every sum: no withheld member, or at least two (a lone one would be its difference).
    rels = relations_of(cells)
    for total, parts in rels:
        unknown = [m for m in (total, *parts) if m in hidden]
        assert len(unknown) != 1, (total, parts, unknown)

    # (3) All sums together pin down no withheld cell.
    assert not pinned(rels, hidden)

    # The published counts are the true ones.
    truth = build_report(ix, choice=parse_period("all", now=NOW), min_cell=1, now=NOW)
    for c, v in cells_of(truth.tables).items():
        assert cells[c] in (None, v)
