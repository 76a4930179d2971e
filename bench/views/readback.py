"""What the on-call view costs per routed event: the records it reads back and the CPU to index them.

Run:  .venv/bin/python bench/views/readback.py [--n 2000] [--repeat 5]

Issue 16. The routing benchmark's own workload (``bench/routing/run.py``:
the same seeded random events, and for each the records the bus's intake
writes, computed with the bus's own code) is fed, topic by topic, to the view
as ``seabus run`` wires it: one :class:`~seabus.streams.views.ViewService`'s
overdue index and statistics index, each record handed to both, as the reader
does. No Kafka: this measures the view's own work (decoding and indexing), the
part of the worker's CPU that reading back adds on top of fetching the bytes.

Printed: records read back per routed event, by topic; CPU time
(``time.process_time``, the fastest of ``--repeat`` fresh indexes) per record
by topic and per routed event. To compare two trees, run the same file with
``PYTHONPATH`` pointing at the other tree (a ``seabus/`` folder of links to its
``streams``, ``schemas``, ``connectors`` and ``deploy``, as ``.build/ns`` has).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from seabus.schemas.codec import Codec
from seabus.streams import logs
from seabus.streams.config import load_settings
from seabus.streams.context import load_context
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.views import ViewService
from seabus.streams.views.topics import classify

PREFIX = "bench"


def _routing_bench() -> Any:
    path = Path(__file__).resolve().parents[1] / "routing" / "run.py"
    spec = importlib.util.spec_from_file_location("routing_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["routing_bench"] = module
    spec.loader.exec_module(module)
    return module


def records(n: int) -> list[tuple[str, bytes, bytes]]:
    """(topic, key, value) of everything the view reads for ``n`` routed events, in write order."""
    routing = _routing_bench()
    codec = Codec()
    settings = load_settings(bootstrap="127.0.0.1:9", topic_prefix=PREFIX)
    work = routing.make_workload(n - routing.WARMUP, [], 0.0, codec)
    inputs = work.all()
    outputs = routing.bus_outputs(inputs, load_context(settings), PREFIX, notifications_only=False)
    out: list[tuple[str, bytes, bytes]] = []
    for item in inputs:
        out.append((f"{PREFIX}.allegations", item.key, item.value))
        out.extend((topic, key, value) for topic, key, value, _ in outputs[item.key])
    # The reader follows only the topics classify() knows (not e.g. <prefix>.owners).
    return [r for r in out if classify(r[0], PREFIX) is not None]


def cost(feed: list[tuple[str, bytes, bytes]]) -> tuple[float, dict[str, float]]:
    """CPU seconds for the whole feed and per kind of topic, through one fresh view as `seabus run` builds it."""
    settings = load_settings(bootstrap="127.0.0.1:9", topic_prefix=PREFIX)
    service = ViewService(settings=settings, kafka=KafkaConnection(bootstrap="127.0.0.1:9"))
    sinks = (service.index, service.stats)
    by_kind: defaultdict[str, float] = defaultdict(float)
    total_start = time.process_time()
    for topic, key, value in feed:
        start = time.process_time()
        for sink in sinks:
            sink.ingest(topic, key=key, value=value)
        source = classify(topic, PREFIX)
        by_kind["other" if source is None else source.kind.value] += time.process_time() - start
    return time.process_time() - total_start, dict(by_kind)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="routed events (the first 100 are the warm-up's)")
    parser.add_argument("--repeat", type=int, default=5, help="fresh indexes fed; the fastest counts")
    args = parser.parse_args(argv)
    logs.configure(level="warning")
    feed = records(args.n)
    kinds: Counter[str] = Counter()
    for topic, _, _ in feed:
        source = classify(topic, PREFIX)
        kinds["other" if source is None else source.kind.value] += 1
    runs = [cost(feed) for _ in range(args.repeat)]
    total, by_kind = min(runs, key=lambda r: r[0])
    print(f"tree: {Path(sys.modules['seabus.streams.views'].__file__ or '').resolve().parents[2]}")
    print(f"{args.n} routed events, {len(feed)} records read back ({len(feed) / args.n:.2f} per event)")
    print(f"{'topic':12} {'records':>8} {'per event':>9} {'us/record':>9} {'ms/event':>9}")
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(
            f"{kind:12} {count:8} {count / args.n:9.2f} {by_kind[kind] * 1e6 / count:9.1f} "
            f"{by_kind[kind] * 1e3 / args.n:9.3f}"
        )
    print(
        f"{'all':12} {len(feed):8} {len(feed) / args.n:9.2f} {total * 1e6 / len(feed):9.1f} {total * 1e3 / args.n:9.3f}"
    )
    print("runs (s):", json.dumps([round(r[0], 3) for r in runs]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
