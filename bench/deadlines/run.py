"""Benchmark of the pure deadline logic: memory for N open obligations, tick cost, index rebuild.

Run: ``.venv/bin/python bench/deadlines/run.py [--n 1000000]``

What it measures (no Kafka; the stores are plain dicts holding the values as a
Faust table would):

* RSS (VmRSS from /proc/self/status) after N open obligations were created
  through ``DeadlineEngine.on_notification`` (N/2 allegations, one Member
  State each, ACKNOWLEDGE + DECIDE), including the per-allegation records and
  the due-time index, for each value format (each in a fresh process);
* the cost of one ``tick`` when 0, 10 and 1,000 obligations fall due, at N and
  at a small N, to show that it follows what is due and not how much is stored;
* the time to rebuild the due-time index from the N stored values (the
  in-process part of recovery after a restart).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from seabus.streams.deadlines import CaseFacts, DeadlineEngine, RecipientClass, ValueFormat
from seabus.streams.deadlines.policy import PolicySet, parse_policies

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPEATS = 5  # tick measurements per size; each round consumes 1,010 due obligations
SPACING = timedelta(milliseconds=1)  # between notifications, so due times are distinct
ACK_WINDOW = timedelta(hours=1)
BENCH_POLICIES: dict[str, Any] = {
    "policies": [
        {
            "name": "ack",
            "obligation": "ACKNOWLEDGE",
            "recipient_classes": ["MEMBER_STATE"],
            "window": {"duration": "PT1H"},
            "second_level_after": "PT1H",
            "repeat_every": "P1D",
        },
        {
            "name": "decide",
            "obligation": "DECIDE",
            "recipient_classes": ["MEMBER_STATE"],
            "window": {"duration": "P30D"},
            "reminders": ["P2D"],
            "second_level_after": "P5D",
        },
    ]
}


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def build(
    n: int, value_format: ValueFormat
) -> tuple[DeadlineEngine, dict[str, Any], dict[str, Any], PolicySet, float]:
    policies = parse_policies(BENCH_POLICIES, source="bench")
    obligations: dict[str, Any] = {}
    allegations: dict[str, Any] = {}
    engine = DeadlineEngine(
        policies=policies, obligations=obligations, allegations=allegations, value_format=value_format
    )
    case = CaseFacts()
    started = time.perf_counter()
    for i in range(n // 2):
        engine.on_notification(
            allegation_id=f"SYNTH-2026-{i:07d}",
            recipient="FRA",
            recipient_class=RecipientClass.MEMBER_STATE,
            case=case,
            notified_at=T0 + i * SPACING,
        )
    return engine, obligations, allegations, policies, time.perf_counter() - started


def child_memory(n: int, value_format: ValueFormat) -> dict[str, Any]:
    gc.collect()
    before = rss_mib()
    engine, obligations, _allegations, _policies, seconds = build(n, value_format)
    gc.collect()
    after = rss_mib()
    return {
        "format": str(value_format),
        "n": len(obligations),
        "indexed": len(engine.index),
        "rss_mib": round(after, 1),
        "rss_growth_mib": round(after - before, 1),
        "bytes_per_obligation": round((after - before) * 1024 * 1024 / max(len(obligations), 1)),
        "build_s": round(seconds, 1),
    }


def time_tick(engine: DeadlineEngine, now: datetime) -> tuple[float, int]:
    started = time.perf_counter_ns()
    drafts = engine.tick(now)
    return (time.perf_counter_ns() - started) / 1e6, len(drafts)


def child_ticks(n: int, value_format: ValueFormat, *, rebuild: bool) -> dict[str, Any]:
    engine, obligations, allegations, policies, _ = build(n, value_format)
    result: dict[str, Any] = {"n": len(obligations)}
    if rebuild:
        del engine
        gc.collect()
        engine = DeadlineEngine(
            policies=policies, obligations=obligations, allegations=allegations, value_format=value_format
        )
        started = time.perf_counter()
        size = engine.rebuild_index_from_items(obligations.items())
        result["rebuild_s"] = round(time.perf_counter() - started, 2)
        result["rebuild_indexed"] = size
        gc.collect()
        result["rss_after_rebuild_mib"] = round(rss_mib(), 1)
    # Acknowledgements fall due at T0 + 1 h + i ms: walk forward through them.
    first_due = T0 + ACK_WINDOW
    cursor = 0  # how many have fallen due so far
    costs: dict[int, list[float]] = {0: [], 10: [], 1000: []}
    assert engine.tick(first_due - timedelta(seconds=1)) == []
    for _ in range(REPEATS):
        for wanted in (0, 10, 1000):
            cursor += wanted
            ms, fired = time_tick(engine, first_due + (cursor - 1) * SPACING)
            assert fired == wanted, (wanted, fired)
            costs[wanted].append(ms)
    for wanted, samples in costs.items():
        result[f"tick_{wanted}_ms"] = round(statistics.median(samples), 3)
    return result


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="open obligations (default 1,000,000)")
    parser.add_argument("--small-n", type=int, default=20_000, help="the small store for tick comparison")
    parser.add_argument("--formats", default=",".join(f.value for f in ValueFormat))
    parser.add_argument("--child", choices=["memory", "ticks"], help=argparse.SUPPRESS)
    parser.add_argument("--format", default=ValueFormat.JSON_BYTES.value, help=argparse.SUPPRESS)
    parser.add_argument("--rebuild", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    needed = 2 * REPEATS * 1010
    if min(args.n, args.small_n) < needed:
        parser.error(f"--n and --small-n must be at least {needed:,} (ticks consume due obligations)")

    if args.child == "memory":
        print(json.dumps(child_memory(args.n, ValueFormat(args.format))))
        return
    if args.child == "ticks":
        print(json.dumps(child_ticks(args.n, ValueFormat(args.format), rebuild=args.rebuild)))
        return

    print(f"deadline benchmark: n={args.n:,} open obligations (python {sys.version.split()[0]})\n")
    print(f"{'value format':<12} {'RSS MiB':>9} {'growth MiB':>11} {'B/oblig.':>9} {'build s':>8}")
    for fmt in args.formats.split(","):
        m = run_child("--child", "memory", "--n", str(args.n), "--format", fmt)
        print(
            f"{m['format']:<12} {m['rss_mib']:>9} {m['rss_growth_mib']:>11} "
            f"{m['bytes_per_obligation']:>9} {m['build_s']:>8}"
        )
    print()
    big = run_child("--child", "ticks", "--n", str(args.n), "--rebuild")
    small = run_child("--child", "ticks", "--n", str(args.small_n))
    print(
        f"index rebuild from {big['n']:,} stored values: {big['rebuild_s']} s "
        f"({big['rebuild_indexed']:,} indexed; RSS after {big['rss_after_rebuild_mib']} MiB)\n"
    )
    title = f"tick cost (median of {REPEATS}), json-bytes"
    print(f"{title:<36} {'n=' + format(small['n'], ','):>12} {'n=' + format(big['n'], ','):>14}")
    for due in (0, 10, 1000):
        print(f"{f'{due:,} due':<36} {small[f'tick_{due}_ms']:>10} ms {big[f'tick_{due}_ms']:>12} ms")
    per_big = big["tick_1000_ms"] / 1000
    print(
        f"\nratio 1,000 due / 10 due at n={big['n']:,}: {big['tick_1000_ms'] / big['tick_10_ms']:.0f}x; "
        f"per due obligation {per_big * 1000:.1f} us"
    )


if __name__ == "__main__":
    main()
