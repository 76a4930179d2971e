"""The encode-time int/long range check: the compiled yes/no check against the path-building walk.

Run:  .venv/bin/python bench/codec/ranges.py [--n 200] [--repeat 5]

Every ``encode`` checks the datum's ints against their Avro ranges (fastavro does not). The walk
that names the problems (``datum_check._ranges``) was the largest seabus function in the
worker's profile (issue 16); since then a compiled check (``range_problems``'s fast path)
answers for a datum that fits, and the walk runs only for one that does not. Both are timed here
in the same run over the same random datums of the latest version of each family
(``fastavro.utils.generate_many``: larger than real records, so absolute figures run high), and
the ratio is what to read.
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any

from fastavro.utils import generate_many

from seabus.schemas.datum_check import _ranges, range_problems
from seabus.schemas.errors import Problem
from seabus.schemas.registry import default_registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="datums per family")
    parser.add_argument("--repeat", type=int, default=5, help="timings per figure (the best counts)")
    args = parser.parse_args()
    registry = default_registry()
    print(f"{'family':24} {'walk µs':>9} {'compiled µs':>12} {'ratio':>6}")
    for family in registry.families:
        sv = registry.latest(family)
        data = list(generate_many(sv.parsed, args.n))

        schema, names = sv.parsed, sv.named_types

        def walk(data: list[Any] = data, schema: Any = schema, names: Any = names) -> None:
            for d in data:
                _ranges(schema, d, names, "", [])

        def compiled(data: list[Any] = data, schema: Any = schema, names: Any = names) -> None:
            for d in data:
                range_problems(schema, d, names)

        found: list[Problem] = []
        for d in data:  # same inputs, same verdicts
            _ranges(sv.parsed, d, sv.named_types, "", found)
            assert bool(range_problems(sv.parsed, d, sv.named_types)) == bool(found)
            found.clear()
        w = min(timeit.repeat(walk, number=1, repeat=args.repeat)) / len(data) * 1e6
        c = min(timeit.repeat(compiled, number=1, repeat=args.repeat)) / len(data) * 1e6
        print(f"{family:24} {w:9.1f} {c:12.1f} {c / w:6.2f}")


if __name__ == "__main__":
    main()
