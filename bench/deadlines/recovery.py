"""Recovery of the obligation tables after a restart of the real bus: time to ready, to the rebuilt index, RSS.

Run:  .venv/bin/python bench/deadlines/recovery.py [--bootstrap HOST:PORT] [--m 100000]
                                                  [--max-load-minutes 7] [--profile FILE]

Without ``--bootstrap`` a local single-node KRaft broker is started in a
temporary folder and stopped at the end. The bus (``python -m deploy.cli.main
run``) runs in a subprocess with a policy file whose windows are a year long,
so nothing falls due while the benchmark runs.

1. Baseline: a bus with empty tables (its own prefix and app id) is started,
   stopped with SIGINT and started again; the second start is measured.
2. Load: a second bus is started and M/3 allegations are published to it, each
   with one subject of nationality KEN in a military contingent deployed by KEN
   (recipients KEN, OSC, VRA; no OIOS), so each creates three obligations for
   KEN (ACKNOWLEDGE, DECIDE, REPORT_OUTCOME). Publishing follows the bus (at
   most 5,000 events ahead of what ``<prefix>.notify.KEN`` shows as notified)
   and stops early when ``--max-load-minutes`` would be exceeded; the load is
   done when every published event was notified.
3. Recovery: that bus is stopped with SIGINT and started again with the same
   app id and data dir. Measured from ``Popen``: the stderr line
   "seabus worker ready" and the first "deadline index rebuilt" (whose
   ``open_steps`` is the number of open obligations indexed after the tables
   were recovered from their changelogs), and the worker's VmRSS from
   /proc/<pid>/status when the index was rebuilt and 5 s later.
4. With ``--profile FILE``, one more restart runs under ``python -m cProfile``
   (stopped once the index is rebuilt) and the top of the profile is printed.

The changelog topics' record counts (end offsets) are printed too: they are what
recovery reads.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import pstats
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import TopicPartition

from seabus.deploy.kafka import LocalCluster
from seabus.schemas.codec import Codec, encode_model
from seabus.schemas.enums import PersonnelCategory
from seabus.streams import logs
from seabus.streams.config import Settings
from seabus.streams.deadlines.policy import load_policies
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

REPO = Path(__file__).resolve().parents[2]
READY = "seabus worker ready"
REBUILT = "deadline index rebuilt"
AHEAD = 5_000  # most events published ahead of what was notified
CHUNK = 1_000
TABLES = ("obligations", "deadline-allegations", "allegation-state")

POLICIES = """\
# Benchmark policies: every window a year long, so nothing falls due during the run.
version: 1
closing:
  events: [CLOSED, WITHDRAWN]
  statuses: [SUBSTANTIATED, NOT_SUBSTANTIATED, CLOSED_OTHER_CIRCUMSTANCES]
calendars:
  default:
    weekend: [SATURDAY, SUNDAY]
    holidays: []
  kenya:  # named by KEN in the shipped recipients.yaml
    time_zone: Africa/Nairobi
    weekend: [SATURDAY, SUNDAY]
    country: KEN
policies:
  - name: acknowledge
    obligation: ACKNOWLEDGE
    recipient_classes: [MEMBER_STATE]
    window: {duration: P365D}
    reminders: [P30D]
    second_level_after: P30D
    repeat_every: P30D
  - name: decide
    obligation: DECIDE
    recipient_classes: [MEMBER_STATE]
    window: {duration: P365D}
    reminders: [P30D]
    second_level_after: P30D
    repeat_every: P30D
  - name: outcome
    obligation: REPORT_OUTCOME
    recipient_classes: [MEMBER_STATE]
    window: {duration: P365D}
    reminders: [P30D]
    second_level_after: P30D
    repeat_every: P30D
"""


def free_port_run(count: int) -> int:
    for _ in range(200):
        base = random.randrange(20000, 32000 - count)
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port run found")


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Bus:
    """``python -m deploy.cli.main run`` with its stderr lines timed from ``Popen``.

    Per-event "allegation event" lines are counted, not kept.
    """

    def __init__(self, env: dict[str, str], *, profile: Path | None = None) -> None:
        argv = [sys.executable, "-m", "seabus.deploy.cli.main", "run"]
        if profile is not None:
            argv[1:1] = ["-m", "cProfile", "-o", str(profile)]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.event_lines = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if '"allegation event"' in line:  # per event, at debug only
                self.event_lines += 1
            else:
                self.lines.append((time.perf_counter(), line))

    def first(self, text: str) -> tuple[float, str] | None:
        for at, line in list(self.lines):
            if text in line:
                return at - self.started, line
        return None

    def wait(self, text: str, timeout: float) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hit = self.first(text)
            if hit is not None:
                return hit
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        tail = "".join(line for _, line in self.lines[-30:])
        raise RuntimeError(f"no {text!r} within {timeout:.0f} s (exit {self.proc.poll()}):\n{tail}")

    def stop(self, timeout: float = 180.0) -> tuple[int, float]:
        began = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return code, time.perf_counter() - began

    def errors(self) -> list[str]:
        return [line for _, line in self.lines if "Traceback" in line or '"level": "error"' in line]


def bus_env(kafka: KafkaConnection, prefix: str, data_dir: Path, policies: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEABUS_")} | kafka.env()
    env.update(
        {
            "SEABUS_TOPIC_PREFIX": prefix,
            "SEABUS_APP_ID": prefix,
            "SEABUS_DATA_DIR": str(data_dir),
            "SEABUS_WEB_PORT": str(free_port_run(1)),
            "SEABUS_GATEWAY__PORT": str(free_port_run(1)),
            "SEABUS_POLICIES_FILE": str(policies),
            "SEABUS_LOG_LEVEL": "info",  # "deadline index rebuilt" is an info line
        }
    )
    return env


class NotifiedCounter:
    """Counts distinct source_event_id on a notify topic, in a thread."""

    def __init__(self, kafka: KafkaConnection, topic: str, stop_at: float) -> None:
        self.seen: set[str] = set()
        self._codec = Codec()
        self._stop = threading.Event()
        self._stop_at = stop_at
        self.consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=200)
        deadline = time.monotonic() + 60
        partitions: set[int] | None = None
        while not partitions:
            partitions = self.consumer.partitions_for_topic(topic)
            if not partitions and time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic} never appeared")
            if not partitions:
                time.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._stop_at:
            for records in self.consumer.poll(timeout_ms=200).values():
                for record in records:
                    _, datum = self._codec.decode(record.value, expected_type="Notification")
                    self.seen.add(datum["source_event_id"])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.consumer.close()


def make_events(count: int, codec: Codec) -> list[tuple[str, bytes, bytes]]:
    """(event_id, key, value) of ``count`` one-subject KEN military-contingent reports."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    out = []
    for i in range(count):
        allegation = synthetic_allegation(
            subjects=[(f"SYNTH-SUBJ-R{i:07d}", "KEN", "KEN", PersonnelCategory.MILITARY_CONTINGENT)],
            adults=1,
            reported_at=now,
        )
        event = synthetic_event(allegation_id=f"SYNTH-REC-{i:07d}", allegation=allegation, published_at=now)
        out.append((event.event_id, event.allegation_id.encode(), encode_model(event, codec=codec)))
    return out


@dataclass
class Load:
    published: int
    notified: int
    seconds: float
    rss_mib: float | None


def load(
    bus: Bus, kafka: KafkaConnection, prefix: str, events: Sequence[tuple[str, bytes, bytes]], budget_s: float
) -> Load:
    began = time.monotonic()
    stop_publishing = began + 0.85 * budget_s
    hard_stop = began + budget_s
    counter = NotifiedCounter(kafka, f"{prefix}.notify.KEN", hard_stop + 5)
    producer = kafka.kafka_producer(acks="all", enable_idempotence=True, linger_ms=5)
    topic = f"{prefix}.allegations"
    published = 0
    last_report = began
    try:
        while published < len(events) and time.monotonic() < stop_publishing:
            if published - len(counter.seen) >= AHEAD:
                time.sleep(0.1)
                continue
            for _event_id, key, value in events[published : published + CHUNK]:
                producer.send(topic, key=key, value=value)
            producer.flush(timeout=120)
            published = min(len(events), published + CHUNK)
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                print(
                    f"  {time.monotonic() - began:5.0f} s: published {published}, notified {len(counter.seen)}",
                    file=sys.stderr,
                )
        wanted = {event_id for event_id, _, _ in events[:published]}
        while time.monotonic() < hard_stop and not wanted <= counter.seen:
            time.sleep(0.1)
        seconds = time.monotonic() - began
        notified = len(wanted & counter.seen)
        return Load(published, notified, seconds, rss_mib(bus.proc.pid))
    finally:
        producer.close(timeout=30)
        counter.close()


@dataclass
class Start:
    ready_s: float
    rebuilt_s: float
    open_steps: int
    rss_rebuilt_mib: float | None
    rss_later_mib: float | None
    stop_s: float
    exit_code: int


def measured_start(env: dict[str, str], timeout: float) -> Start:
    bus = Bus(env)
    try:
        ready_s, _ = bus.wait(READY, timeout)
        rebuilt_s, line = bus.wait(REBUILT, timeout)
        rss_rebuilt = rss_mib(bus.proc.pid)
        time.sleep(5)
        rss_later = rss_mib(bus.proc.pid)
        open_steps = int(json.loads(line).get("open_steps", -1))
    finally:
        code, stop_s = bus.stop()
    errors = bus.errors()
    if errors:
        print(f"  {len(errors)} error line(s) in that run; first: {errors[0].strip()[:300]}", file=sys.stderr)
    return Start(ready_s, rebuilt_s, open_steps, rss_rebuilt, rss_later, stop_s, code)


def start_and_stop(env: dict[str, str], timeout: float) -> None:
    bus = Bus(env)
    try:
        bus.wait(READY, timeout)
        bus.wait(REBUILT, timeout)
    finally:
        bus.stop()


def profiled_restart(env: dict[str, str], out: Path, timeout: float) -> str:
    """One more restart under cProfile, stopped once the index is rebuilt; the top of the profile."""
    bus = Bus(env, profile=out)
    try:
        ready_s, _ = bus.wait(READY, timeout)
        rebuilt_s, _ = bus.wait(REBUILT, timeout)
    finally:
        bus.stop()
    text = io.StringIO()
    print(f"under cProfile: ready {ready_s:.1f} s, index rebuilt {rebuilt_s:.1f} s", file=text)
    for order, restriction in (("cumulative", r"/(streams|faust|mode)/"), ("tottime", "")):
        buf = io.StringIO()
        stats = pstats.Stats(str(out), stream=buf).sort_stats(order)
        if restriction:
            stats.print_stats(restriction, 30)
        else:
            stats.print_stats(30)
        lines = buf.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        print(f"--- by {order} ---", file=text)
        print("\n".join(lines[start:]).replace(str(Path(sys.prefix) / "lib"), "<lib>"), file=text)
    return text.getvalue()


def changelog_records(kafka: KafkaConnection, app_id: str) -> dict[str, int]:
    consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False)
    try:
        out = {}
        for table in TABLES:
            topic = f"{app_id}-{table}-changelog"
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in partitions]
            ends: dict[Any, int] = consumer.end_offsets(tps) if tps else {}
            out[table] = sum(ends.values()) if partitions else -1
        return out
    finally:
        consumer.close()


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=None, help="existing cluster (default: start a local one)")
    parser.add_argument("--m", type=int, default=100_000, help="open obligations wanted (3 per allegation)")
    parser.add_argument(
        "--max-load-minutes", type=float, default=7.0, help="bound on publishing + routing the allegations"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="also profile one more restart (cProfile), writing this file",
    )
    args = parser.parse_args(argv)

    logs.configure(level="warning")  # provisioning chatter off stdout; the tables are the output
    workdir = tempfile.TemporaryDirectory(prefix="seabus-bench-recovery-")
    work = Path(workdir.name)
    policies = work / "policies.yaml"
    policies.write_text(POLICIES, encoding="utf-8")
    load_policies(policies)  # a bad file fails here, not in the bus
    cluster: LocalCluster | None = None
    kafka = Settings(bootstrap=args.bootstrap).connection() if args.bootstrap else None
    if kafka is None:
        cluster = LocalCluster(
            directory=work / "kafka",
            cache_dir=Path.home() / ".cache" / "seabus",
            nodes=1,
            base_port=free_port_run(2),
        )
        kafka = cluster.up().connection
    try:
        allegations = -(-args.m // 3)
        codec = Codec()
        t = time.perf_counter()
        events = make_events(allegations, codec)
        print(f"{allegations} events encoded in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        base_prefix = "rc" + uuid.uuid4().hex[:8]
        base_env = bus_env(kafka, base_prefix, work / base_prefix, policies)
        start_and_stop(base_env, 180)
        baseline = measured_start(base_env, 180)
        print(f"baseline restart: ready {baseline.ready_s:.1f} s", file=sys.stderr)

        prefix = "rc" + uuid.uuid4().hex[:8]
        env = bus_env(kafka, prefix, work / prefix, policies)
        bus = Bus(env)
        try:
            bus.wait(READY, 180)
            loaded = load(bus, kafka, prefix, events, args.max_load_minutes * 60)
        finally:
            code, stop_s = bus.stop()
        print(
            f"load: {loaded.notified}/{loaded.published} notified in {loaded.seconds:.0f} s; "
            f"stopped in {stop_s:.1f} s (exit {code}); {bus.event_lines} 'allegation event' lines",
            file=sys.stderr,
        )
        records = changelog_records(kafka, prefix)
        restart = measured_start(env, 600)
        base_records = changelog_records(kafka, base_prefix)
        profile_text = profiled_restart(env, args.profile.resolve(), 600) if args.profile else ""
    finally:
        if cluster is not None:
            cluster.down()
        workdir.cleanup()

    obligations = 3 * loaded.notified
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s), "
        f"load1 {os.getloadavg()[0]:.1f}; broker {kafka.bootstrap}" + (" (local KRaft)" if cluster else "")
    )
    print(
        f"load: {loaded.published} allegations published, {loaded.notified} notified in {loaded.seconds:.0f} s "
        f"({loaded.notified / loaded.seconds:.0f} allegations/s); worker RSS before the stop {_mib(loaded.rss_mib)} MiB"
    )
    if loaded.published < allegations:
        print(f"NOTE: only {loaded.published} of {allegations} allegations fitted in --max-load-minutes")
    print(f"changelog records (loaded app): {records}; (baseline app): {base_records}")
    header = (
        f"{'start':34} {'obligations':>11} {'open_steps':>10} {'ready s':>8} {'index s':>8} "
        f"{'RSS MiB':>8} {'+5 s':>6} {'stop s':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, n, s in (
        ("restart, empty tables (baseline)", 0, baseline),
        (f"restart, {obligations} obligations", obligations, restart),
    ):
        print(
            f"{name:34} {n:>11} {s.open_steps:>10} {s.ready_s:>8.1f} {s.rebuilt_s:>8.1f} "
            f"{_mib(s.rss_rebuilt_mib):>8} {_mib(s.rss_later_mib):>6} {s.stop_s:>7.1f}"
        )
    extra = restart.rebuilt_s - baseline.rebuilt_s
    print(
        f"recovery cost over the baseline: {extra:.1f} s to the rebuilt index "
        f"({1e6 * extra / max(obligations, 1):.0f} us per obligation)"
    )
    if restart.rss_later_mib is not None and baseline.rss_later_mib is not None and obligations:
        grown = restart.rss_later_mib - baseline.rss_later_mib
        print(
            f"RSS over the baseline: {grown:.0f} MiB ({grown * 1024 * 1024 / obligations:.0f} bytes per obligation, "
            "including its allegation's state and deadline records)"
        )
    if obligations < args.m and obligations > 0:
        factor = args.m / obligations
        print(
            f"EXTRAPOLATED (linear, not measured) to {args.m} obligations: about "
            f"{baseline.rebuilt_s + extra * factor:.0f} s to the rebuilt index"
        )
    if profile_text:
        print(profile_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
