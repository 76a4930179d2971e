"""The on-call view's read model in-process: memory per allegation and the cost of one overdue list.

Run:  .venv/bin/python bench/views/run.py [--n 10000 40000]

For each N (in a fresh process): N synthetic allegations are made by the real
intake code (one report each, one KEN subject: notifications to KEN, OSC, VRA)
and the deadline engine (three obligations for KEN), encoded as the bus writes
them, and fed to ``ViewIndex.ingest`` as the view's reader does. Measured: the
memory the index holds per allegation (tracemalloc: Python allocations made by
ingesting and still alive), by topic family; and the time of one overdue list:
a page of 1,000 as the dashboard and ``GET /v1/overdue`` ask for, the same with
a filter (one pass), every open obligation at once (``seabus overdue`` without
``--limit``), and the ``/metrics`` counts. The ratios between the two sizes
show what grows with what is open.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seabus.schemas.codec import encode_model
from seabus.schemas.enums import PersonnelCategory
from seabus.schemas.envelopes import Source, headers_for
from seabus.streams.agents.deadlines import obligation_update
from seabus.streams.config import Settings
from seabus.streams.context import load_context
from seabus.streams.deadlines import CaseFacts, DeadlineEngine, RecipientClass, ValueFormat
from seabus.streams.synthetic import synthetic_allegation, synthetic_event
from seabus.streams.views.index import ViewIndex
from seabus.streams.views.models import NO_LEVEL
from seabus.streams.views.overdue import OverdueFilter

FAMILIES = ("allegations", "notify", "obligations")


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def records(n: int) -> list[tuple[str, bytes | None, bytes]]:
    ctx = load_context(Settings())
    intake = ctx.intake()
    engine = DeadlineEngine(
        policies=ctx.policies, obligations={}, allegations={}, value_format=ValueFormat.JSON_BYTES
    )
    now = datetime.now(UTC)
    out: list[tuple[str, bytes | None, bytes]] = []
    for i in range(n):
        allegation = synthetic_allegation(
            subjects=[(f"SYNTH-SUBJ-V{i:07d}", "KEN", "KEN", PersonnelCategory.MILITARY_CONTINGENT)],
            adults=1,
            reported_at=now,
        )
        event = synthetic_event(allegation_id=f"SYNTH-VIEW-{i:07d}", allegation=allegation, published_at=now)
        value = encode_model(event, codec=ctx.codec)
        result = intake.handle(
            key=event.allegation_id.encode(),
            value=value,
            headers=headers_for(event, event.event_id, event.allegation_id, now, "seabus/bench"),
            source=Source(topic="sea.allegations", partition=0, offset=i),
            state=None,
            now=now,
        )
        out.append(("sea.allegations", event.allegation_id.encode(), value))
        for o in result.outbound:
            if o.route == "notify":
                out.append((f"sea.notify.{o.recipient}", o.key, o.value))
        for ob in engine.on_notification(
            allegation_id=event.allegation_id,
            recipient="KEN",
            recipient_class=RecipientClass.MEMBER_STATE,
            case=CaseFacts(),
            notified_at=now,
        ):
            update = obligation_update(ob, reporting_entity="MINUSCA", now=now)
            out.append(("sea.obligations", ob.key.encode(), encode_model(update, codec=ctx.codec)))
    return out


def timed(call: Any, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - began)
    return round(1000 * best, 2)


def child(n: int, family: str) -> dict[str, Any]:
    made = [r for r in records(n) if family == "all" or r[0].split(".")[1] == family]
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    index = ViewIndex(prefix="sea")
    for topic, key, value in made:
        index.ingest(topic, key=key, value=value)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    index = ViewIndex(prefix="sea")  # again, untraced, for the timings
    began = time.perf_counter()
    for topic, key, value in made:
        index.ingest(topic, key=key, value=value)
    ingest_s = time.perf_counter() - began
    later = datetime.now(UTC) + timedelta(days=2)  # the acknowledgements are overdue by then
    ken_none = OverdueFilter(recipients=frozenset({"KEN"}), levels=frozenset({NO_LEVEL}))
    return {
        "n": n,
        "family": family,
        "bytes_per_allegation": round((after - before) / n),
        "ingest_us_per_record": round(1e6 * ingest_s / max(len(made), 1), 1),
        "open": sum(index.level_counts(later)[0].values()),
        "page_ms": timed(lambda: index.overdue(later, limit=1000)),
        "filtered_page_ms": timed(lambda: index.overdue(later, ken_none, limit=1000)),
        "everything_ms": timed(lambda: index.overdue(later), rounds=1),
        "metrics_ms": timed(lambda: index.level_counts(later)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--child", nargs=2, metavar=("N", "FAMILY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return 0
    rows = []
    for n in args.n:
        for family in (*FAMILIES, "all"):
            done = subprocess.run(
                [sys.executable, str(Path(__file__)), "--child", str(n), family],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        f"{'n':>7} {'records of':12} {'B/allegation':>13} {'us/record':>10} {'open':>7} {'page ms':>8} "
        f"{'filtered':>9} {'all items ms':>13} {'metrics ms':>11}"
    )
    for r in rows:
        print(
            f"{r['n']:>7} {r['family']:12} {r['bytes_per_allegation']:>13} {r['ingest_us_per_record']:>10} "
            f"{r['open']:>7} {r['page_ms']:>8} {r['filtered_page_ms']:>9} {r['everything_ms']:>13} "
            f"{r['metrics_ms']:>11}"
        )
    alls = [r for r in rows if r["family"] == "all"]
    if len(alls) >= 2:
        a, b = alls[0], alls[-1]
        ratios = "; ".join(
            f"{name} x{b[name] / max(a[name], 1e-9):.1f}"
            for name in ("page_ms", "filtered_page_ms", "everything_ms", "metrics_ms")
        )
        print(f"at {b['n']} vs {a['n']} allegations (x{b['n'] / a['n']:.1f} open): {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
