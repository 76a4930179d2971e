"""Small-cell suppression with complementary suppression, checked by exact linear algebra.

A published count below the threshold (but above zero) could single out a
victim or a subject, so it is withheld (*primary* suppression). Withholding it
is not enough when the tables also publish totals: a year is the sum of its
quarters, a breakdown whose categories exclude each other sums to the period's
total, so one withheld cell in such a sum is recovered by subtraction. Each
such sum is a :class:`Relation` (``total = sum(parts)``); a withheld cell is
*recoverable* when the published cells and the relations determine it, which
is exactly when, in the reduced row echelon form of the relations over the
withheld cells, some row is that cell alone. While any withheld cell is
recoverable, the smallest published cell of a relation it is in is withheld
too (*complementary* suppression). Zero cells are never rows, so they count as
published (a reader sees that nothing is there).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["Relation", "recoverable", "suppress"]

CellId = Hashable


@dataclass(frozen=True, slots=True)
class Relation:
    """``total`` equals the sum of ``parts`` (every cell of the relation is a published-or-withheld count)."""

    total: CellId
    parts: tuple[CellId, ...]

    @property
    def members(self) -> tuple[CellId, ...]:
        return (self.total, *self.parts)


def _components(relations: Sequence[Relation], hidden: set[CellId]) -> list[list[Relation]]:
    """Relations grouped by the withheld cells they share (each group is solved on its own)."""
    parent: dict[CellId, CellId] = {}

    def find(x: CellId) -> CellId:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    useful = [r for r in relations if any(m in hidden for m in r.members)]
    for r in useful:
        unknown = [m for m in r.members if m in hidden]
        for m in unknown[1:]:
            parent[find(m)] = find(unknown[0])
    groups: dict[CellId, list[Relation]] = {}
    for r in useful:
        first = next(m for m in r.members if m in hidden)
        groups.setdefault(find(first), []).append(r)
    return list(groups.values())


def _determined(relations: Sequence[Relation], hidden: set[CellId]) -> set[CellId]:
    """Withheld cells that the relations pin down, given every other cell."""
    columns = sorted({m for r in relations for m in r.members if m in hidden}, key=repr)
    index = {c: i for i, c in enumerate(columns)}
    rows: list[list[Fraction]] = []
    for r in relations:
        row = [Fraction(0)] * len(columns)
        for m, sign in ((r.total, 1), *((p, -1) for p in r.parts)):
            if m in index:
                row[index[m]] += sign
        if any(row):
            rows.append(row)
    # Reduced row echelon form.
    pivot_row = 0
    pivots: list[int] = []
    for col in range(len(columns)):
        found = next((i for i in range(pivot_row, len(rows)) if rows[i][col] != 0), None)
        if found is None:
            continue
        rows[pivot_row], rows[found] = rows[found], rows[pivot_row]
        lead = rows[pivot_row][col]
        rows[pivot_row] = [v / lead for v in rows[pivot_row]]
        for i in range(len(rows)):
            if i != pivot_row and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[pivot_row], strict=True)]
        pivots.append(col)
        pivot_row += 1
        if pivot_row == len(rows):
            break
    out: set[CellId] = set()
    for i, col in enumerate(pivots):
        if sum(1 for v in rows[i] if v != 0) == 1:
            out.add(columns[col])
    return out


def recoverable(relations: Iterable[Relation], hidden: Iterable[CellId]) -> set[CellId]:
    """The withheld cells a reader could compute exactly from the published ones and the relations."""
    hidden_set = set(hidden)
    out: set[CellId] = set()
    for group in _components(list(relations), hidden_set):
        out |= _determined(group, hidden_set)
    return out


def suppress(values: Mapping[Any, int], relations: Sequence[Relation], *, min_cell: int) -> set[CellId]:
    """The cells to withhold: every count in (0, ``min_cell``) and enough others that none can be recovered.

    Relations may name cells missing from ``values``: those are zero (unpublished rows) and known.
    """
    hidden = {c for c, v in values.items() if 0 < v < min_cell}
    relations = [r for r in relations if any(m in values for m in r.members)]
    while True:
        exposed = recoverable(relations, hidden)
        if not exposed:
            return hidden
        cell = min(exposed, key=repr)
        pick = _complement(cell, values, relations, hidden)
        if pick is None:  # pragma: no cover - a pinned cell always has a published neighbour
            raise AssertionError(f"cannot protect {cell!r}")
        hidden.add(pick)


def _complement(
    cell: CellId, values: Mapping[Any, int], relations: Sequence[Relation], hidden: set[CellId]
) -> CellId | None:
    """The cell to withhold next: the smallest published part of the nearest relation that has one.

    Relations are visited outwards from ``cell`` through withheld cells (a cell may be pinned by a
    chain of sums none of whose other members is published nearby).
    """
    seen_cells = {cell}
    seen_relations: set[int] = set()
    frontier = [cell]
    while frontier:
        layer = [
            (i, r)
            for i, r in enumerate(relations)
            if i not in seen_relations and any(m in r.members for m in frontier)
        ]
        candidates = [
            (m == r.total, values[m], repr(m), m)
            for _, r in layer
            for m in r.members
            if m in values and m not in hidden and values[m] > 0
        ]
        if candidates:
            return min(candidates, key=lambda c: c[:3])[3]
        seen_relations.update(i for i, _ in layer)
        frontier = [m for _, r in layer for m in r.members if m in hidden and m not in seen_cells]
        seen_cells.update(frontier)
    return None
