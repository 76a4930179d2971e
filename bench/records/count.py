"""Records the bus writes per routed event, by topic: the Kafka work behind each allegation event.

Run:  .venv/bin/python bench/records/count.py [--n 1000] [--security plaintext|secured]

A local single-node KRaft broker is started in a temporary folder, ``seabus run``
routes the routing benchmark's synthetic events (``bench/routing/run.py``'s
workload: its warm-up of 100, then ``--n``), and once every event reached
``<prefix>.notify.OSC`` and the end offsets stopped moving, the end offset of
every topic the bus owns (its prefixed topics and its tables' changelogs) is
divided by the number of events. Changelog records are the table writes.
Issue 16 asked for these counts; the routing benchmark measures time, this the records.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka.structs import TopicPartition

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "routing"))

import run as routing  # noqa: E402  (the routing benchmark's workload and processes)

from seabus.schemas.codec import Codec  # noqa: E402
from seabus.streams.kafka_connection import KafkaConnection  # noqa: E402


def end_offsets(kafka: KafkaConnection, prefix: str) -> dict[str, int]:
    admin = kafka.kafka_admin()
    try:
        topics = [t for t in admin.list_topics() if t.startswith(prefix)]
    finally:
        admin.close()
    consumer = kafka.kafka_consumer()
    try:
        out = {}
        for topic in topics:
            parts = consumer.partitions_for_topic(topic) or set()
            ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
            out[topic] = sum(ends.values())
        return out
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--security", choices=("plaintext", "secured"), default="plaintext")
    parser.add_argument(
        "--code",
        type=Path,
        default=None,
        help="run the bus from this namespace folder (another checkout's .build/ns) to count its records",
    )
    args = parser.parse_args(argv)
    codec = Codec()
    work = routing.make_workload(args.n, [], 0, codec)
    with tempfile.TemporaryDirectory(prefix="seabus-records-") as tmp:
        workdir = Path(tmp)
        cluster = routing.start_cluster(args.security, workdir)
        try:
            kafka = cluster.connection()
            prefix = "rc" + uuid.uuid4().hex[:8]
            env = routing.bus_env(kafka, prefix, workdir / prefix)
            if args.code is not None:
                env["PYTHONPATH"] = str(args.code.resolve())
            bus = routing.Child([sys.executable, "-m", "seabus.deploy.cli.main", "run"], env)
            try:
                bus.wait_line(routing.READY_LINE, 180)
                budget = routing.Budget(600)
                watch = routing.Watch(kafka, f"{prefix}.notify.OSC", codec, budget)
                publisher = routing.Publisher(kafka)
                inputs = [*work.warmup, *work.burst]
                publisher.burst(f"{prefix}.allegations", inputs)
                if not watch.wait_all([i.event_id for i in inputs], 300):
                    print("not every event was routed in time", file=sys.stderr)
                    return 1
                publisher.close()
                watch.close()
                before: dict[str, int] = {}
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # the last progress and changelog writes
                    now = end_offsets(kafka, prefix)
                    if now == before:
                        break
                    before = now
                    time.sleep(2)
                counts = before
            finally:
                bus.stop(signal.SIGINT)
        finally:
            cluster.down()
    events = len(inputs)
    total = sum(v for t, v in counts.items() if not t.endswith(".allegations"))
    changelogs = sum(v for t, v in counts.items() if t.endswith("-changelog"))
    print(
        f"{events} events routed ({args.security}); records written per event, by topic (empty ones left out):"
    )
    for topic, count in sorted(counts.items()):
        if not count:
            continue
        print(f"  {topic.removeprefix(prefix):45s} {count:7d}  {count / events:6.2f}")
    print(f"  {'all but the input':45s} {total:7d}  {total / events:6.2f}")
    print(f"  {'of which table writes (changelogs)':45s} {changelogs:7d}  {changelogs / events:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
