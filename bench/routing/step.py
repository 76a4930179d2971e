"""The routing step's own CPU per event, in process (no Kafka), against its Avro floor.

Run:  .venv/bin/python bench/routing/step.py [--n 2000] [--repeat 5] [--profile FILE]

Issue 16 asks for at most 1 ms of CPU per routed event for all of seabus's work. This
measures the part no Kafka client, broker or Faust machinery is in: ``Intake.handle``
with the deadline engine (obligations planned and written to in-memory tables), the
``sea.obligations`` updates built and encoded (``Deadlines.pending_updates``), and the
writes committed, exactly as ``bench/routing/run.py``'s ``bus_outputs`` computes the
worker's outputs, over the routing benchmark's synthetic events.

The baseline, measured in the same run, is the Avro floor of the same work: fastavro
``schemaless_reader`` of each input and ``schemaless_writer`` of every record the step
produced for it (the same datums, already decoded), with no validation, routing or
state. The ratio step/floor says how much of the step is beyond reading and writing
Avro. Cases are interleaved in each repeat; the best repeat of each is reported.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import fastavro

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as routing  # the routing benchmark's workload and the bus's own outputs

from seabus.schemas.codec import HEADER_SIZE, MAGIC, Codec
from seabus.streams.config import load_settings
from seabus.streams.context import BusContext, load_context


def floor_case(inputs: Sequence[routing.Input], ctx: BusContext) -> Callable[[], int]:
    """Plain fastavro over the same bytes: each input read, each of its Avro outputs written."""
    codec: Codec = ctx.codec
    outputs = routing.bus_outputs(inputs, ctx, "bench", notifications_only=False)
    work: list[tuple[bytes, Any, list[tuple[Any, dict[str, Any]]]]] = []
    for item in inputs:
        schema = codec.peek_writer(item.value).parsed
        writes = []
        for _topic, _key, value, _headers in outputs[item.key]:
            if not value.startswith(MAGIC):
                continue  # not Avro (the owners record: the entity's name as text)
            _, datum = codec.decode(value)
            writes.append((codec.peek_writer(value).parsed, datum))
        work.append((item.value[HEADER_SIZE:], schema, writes))

    def run() -> int:
        written = 0
        for body, schema, writes in work:
            fastavro.schemaless_reader(io.BytesIO(body), schema, None)
            for out_schema, datum in writes:
                buffer = io.BytesIO()
                fastavro.schemaless_writer(buffer, out_schema, datum)
                written += 1
        return written

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="events per timing (2000)")
    parser.add_argument("--repeat", type=int, default=5, help="timings per case (5)")
    parser.add_argument("--profile", type=Path, help="also write a cProfile of one step run here")
    args = parser.parse_args(argv)

    ctx = load_context(load_settings(bootstrap="127.0.0.1:9"))  # no connection is made
    work = routing.make_workload(args.n, [50.0], 1.0, ctx.codec)
    inputs = list(work.burst)[: args.n]
    records = sum(
        len(v) for v in routing.bus_outputs(inputs, ctx, "bench", notifications_only=False).values()
    )

    cases: dict[str, Callable[[], object]] = {
        "seabus step": lambda: routing.bus_outputs(inputs, ctx, "bench", notifications_only=False),
        "Avro floor": floor_case(inputs, ctx),
    }
    best = {name: float("inf") for name in cases}
    for _ in range(args.repeat):
        for name, case in cases.items():
            started = time.process_time()
            case()
            best[name] = min(best[name], (time.process_time() - started) / len(inputs) * 1e6)

    print(
        f"{len(inputs)} synthetic events, {records} records produced ({records / len(inputs):.1f} per event); "
        f"Python {platform.python_version()}, fastavro {fastavro.__version__}; "
        f"CPU time, best of {args.repeat} interleaved repeats"
    )
    floor = best["Avro floor"]
    for name, us in best.items():
        print(f"  {name:12s} {us:8.0f} us/event   {us / floor:5.2f}x the Avro floor")
    if args.profile is not None:
        cProfile.runctx(
            "routing.bus_outputs(inputs, ctx, 'bench', notifications_only=False)",
            globals(),
            {"routing": routing, "inputs": inputs, "ctx": ctx},
            str(args.profile),
        )
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
