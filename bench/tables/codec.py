"""What the intake table's value codec costs per write and read (issue 16, "cheaper table value encoding").

Run:  .venv/bin/python bench/tables/codec.py [--n 20000] [--repeat 5]

The intake agent stores each allegation's :class:`AllegationState` in a Faust table.
Today (the baseline, measured in the same run): ``state.model_dump(mode="json")`` handed
to Faust's ``json`` serializer (stdlib ``json.dumps``) on write, ``json.loads`` then
``AllegationState.model_validate`` on read. The candidate: pydantic-core's own JSON,
``state.model_dump_json()`` stored as raw bytes and ``AllegationState.model_validate_json``
on read; the bytes are JSON either way, so values written before stay readable (checked
here: every candidate read of a baseline-written value gives the same state).

Prints microseconds per write, per read and per write+read, best of ``--repeat`` rounds,
and the candidate / baseline ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from seabus.streams.intake import AllegationState
from seabus.streams.synthetic import random_event


def _states(n: int) -> list[AllegationState]:
    """Realistic states: the snapshot of a synthetic report, a few recipients and event ids."""
    rng = random.Random(16)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    states = []
    for i in range(n):
        event = random_event(rng, index=i, now=now)
        states.append(
            AllegationState(
                allegation_id=event.allegation_id,
                reported=True,
                last_sequence=event.sequence,
                last_event_type=str(event.event_type),
                reporting_entity=str(event.reporting_entity),
                status="OPEN",
                snapshot=event.allegation.model_copy(update={"confidential": None}).model_dump(mode="json"),
                recipients=["OSC", "OIOS", "VRA", "KEN"],
                seen_event_ids=[event.event_id],
            )
        )
    return states


def baseline_write(state: AllegationState) -> bytes:
    return json.dumps(state.model_dump(mode="json")).encode()  # what Faust's "json" codec does


def baseline_read(raw: bytes) -> AllegationState:
    return AllegationState.model_validate(json.loads(raw))


def candidate_write(state: AllegationState) -> bytes:
    return state.model_dump_json().encode()


def candidate_read(raw: bytes) -> AllegationState:
    return AllegationState.model_validate_json(raw)


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    states = _states(args.n)
    old = [baseline_write(s) for s in states]
    assert all(candidate_read(raw) == s for raw, s in zip(old, states, strict=True)), "old values unreadable"
    new = [candidate_write(s) for s in states]
    assert all(baseline_read(raw) == s for raw, s in zip(new, states, strict=True))
    rows = {}
    for name, write, read in (
        ("baseline (model_dump + json)", baseline_write, baseline_read),
        ("candidate (pydantic-core JSON)", candidate_write, candidate_read),
    ):
        encoded = [write(s) for s in states]
        w = _best(lambda write=write: [write(s) for s in states], args.repeat) / args.n * 1e6
        r = _best(lambda read=read, encoded=encoded: [read(b) for b in encoded], args.repeat) / args.n * 1e6
        size = sum(map(len, encoded)) / args.n
        rows[name] = (w, r)
        print(f"{name:34s} write {w:7.1f} us  read {r:7.1f} us  both {w + r:7.1f} us  {size:6.0f} B")
    (bw, br), (cw, cr) = rows.values()
    print(
        f"candidate / baseline: write {cw / bw:.2f}x  read {cr / br:.2f}x  both {(cw + cr) / (bw + br):.2f}x"
    )


if __name__ == "__main__":
    main()
