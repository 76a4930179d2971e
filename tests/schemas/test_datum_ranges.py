"""The encode-time range walk skips the parts of a schema that cannot hold an int (issue 16: it was
the largest seabus function in the worker's profile); it must still find every out-of-range int.

The oracle is the walk as it was before the pruning (3287aaf), kept here verbatim: the two must
report the same problems, paths and messages, for random datums of every shipped schema version
with ints made out of range at random.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest
from fastavro.utils import generate_many

from seabus.schemas.datum_check import _INT_RANGE, range_problems
from seabus.schemas.errors import Problem
from seabus.schemas.registry import SchemaVersion, default_registry

VERSIONS = default_registry().all_versions()


def _reference(schema: Any, datum: Any, names: Mapping[str, Any], path: str, found: list[Problem]) -> None:
    if isinstance(schema, str):
        if schema in _INT_RANGE:
            if isinstance(datum, int) and not isinstance(datum, bool):
                low, high = _INT_RANGE[schema]
                if not low <= datum <= high:
                    found.append(Problem(path or "(value)", f"is out of range for Avro {schema}"))
            return
        if schema in names:
            _reference(names[schema], datum, names, path, found)
        return
    if isinstance(schema, list):
        if datum is None or isinstance(datum, bool):
            return
        if isinstance(datum, int):
            branches = [b for b in schema if b in ("int", "long")]
            if branches and not any(_INT_RANGE[b][0] <= datum <= _INT_RANGE[b][1] for b in branches):
                found.append(Problem(path or "(value)", f"is out of range for Avro {branches[-1]}"))
            return
        for branch in schema:
            if isinstance(branch, dict) and branch.get("type") in ("record", "array", "map"):
                _reference(branch, datum, names, path, found)
            elif isinstance(branch, str) and branch in names:
                _reference(names[branch], datum, names, path, found)
        return
    kind = schema.get("type")
    if kind in _INT_RANGE:
        if "logicalType" not in schema or isinstance(datum, int):
            _reference(kind, datum, names, path, found)
    elif kind in ("record", "error") and isinstance(datum, Mapping):
        prefix = f"{path}." if path else ""
        for f in schema["fields"]:
            if f["name"] in datum:
                _reference(f["type"], datum[f["name"]], names, prefix + f["name"], found)
    elif kind == "array" and isinstance(datum, list | tuple):
        for i, item in enumerate(datum):
            _reference(schema["items"], item, names, f"{path}[{i}]", found)
    elif kind == "map" and isinstance(datum, Mapping):
        for key, value in datum.items():
            _reference(schema["values"], value, names, f"{path}[{key!r}]", found)


def _spoil(datum: Any, rng: random.Random) -> Any:
    """The datum with some of its ints (anywhere, also in strings' places) pushed out of range."""
    if isinstance(datum, bool):
        return datum
    if isinstance(datum, int):
        return rng.choice([datum, datum, 2**31, -(2**31) - 1, 2**63, -(2**70)])
    if isinstance(datum, dict):
        return {k: _spoil(v, rng) for k, v in datum.items()}
    if isinstance(datum, list):
        return [_spoil(v, rng) for v in datum]
    if isinstance(datum, str) and rng.random() < 0.05:
        return 2**40  # an int where the schema wants something else: neither walk may report it
    return datum


@pytest.mark.parametrize("sv", VERSIONS, ids=lambda sv: sv.label)
def test_the_pruned_walk_finds_what_the_full_walk_finds(sv: SchemaVersion) -> None:
    rng = random.Random(sv.label)
    flagged = 0
    for datum in generate_many(sv.parsed, 40):
        spoiled = _spoil(datum, rng)
        expected: list[Problem] = []
        _reference(sv.parsed, spoiled, sv.named_types, "", expected)
        assert range_problems(sv.parsed, spoiled, sv.named_types) == expected
        flagged += bool(expected)
    has_int = any(
        t in repr(sv.parsed) for t in ("'int'", "'long'")
    )  # a schema with ints must have had some out of range
    assert flagged > 0 or not has_int


def test_an_out_of_range_int_deep_in_an_allegation_is_still_found() -> None:
    sv = default_registry().latest("AllegationEvent")
    datum = next(iter(generate_many(sv.parsed, 1)))
    longs = [f["name"] for f in sv.parsed["fields"] if f["type"] in ("int", "long")]
    assert longs, "the allegation has an int or long field"
    datum[longs[0]] = 2**64
    assert [p.path for p in range_problems(sv.parsed, datum, sv.named_types)] == [longs[0]]
