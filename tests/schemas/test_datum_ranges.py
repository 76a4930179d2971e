"""The encode-time range check is compiled once per schema and skips what cannot hold an int (issue
16: the walk was the largest seabus function in the worker's profile); it must still find every
out-of-range int.

The oracle is the path-building walk itself (``_ranges``, unchanged since before the compiled check:
it still names the problems of a datum that fails): ``range_problems`` must report exactly what
the walk reports, paths and messages, for random datums of every shipped schema version with
ints made out of range at random.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastavro.utils import generate_many

from seabus.schemas.datum_check import _ranges, range_problems
from seabus.schemas.errors import Problem
from seabus.schemas.registry import SchemaVersion, default_registry

VERSIONS = default_registry().all_versions()


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
        _ranges(sv.parsed, spoiled, sv.named_types, "", expected)
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
