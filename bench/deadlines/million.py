"""A million open obligations in the real worker: RSS, recovery time, and 1,000 falling due at once.

Run:  .venv/bin/python bench/deadlines/million.py [--m 1000000] [--due 1000] [--store rocksdb]
                                                [--bootstrap HOST:PORT]

Routing a third of a million allegations through the bus takes longer than a
benchmark should (docs/BENCHMARKS.md: a few hundred events a second), so the
state is written where the worker keeps it: the obligation values are made by
the deadline engine itself (``DeadlineEngine.on_notification``, the code the
intake agent calls) and produced to the tables' changelog topics, in the
partition of their allegation, exactly as the worker writes them. The intake's
per-allegation state is produced too: one real state, made by ``Intake.handle``
from a synthetic report, copied for every allegation with its ids replaced. What
the worker does from there on is what is measured:

1. Baseline: a bus with empty tables is started twice; the second start is the
   baseline (same machine, same minute).
2. Cold start: a bus whose changelogs hold M obligations (M/3 allegations, KEN:
   acknowledge, decide, report the outcome) starts on an empty data directory, so
   every record is read back from Kafka. Measured: "seabus worker ready", the
   first "deadline index rebuilt" (with the number of open steps indexed), VmRSS
   then and 10 s later, and when the on-call view (same process) has read its topics.
3. 1,000 fall due: ``--due`` of the obligations were made due at one instant, a
   little after the cold start is expected to be done. The escalations topic is
   read: how late each escalation was produced after its due time (Kafka record
   timestamp minus ``fire_at``), and the worker's CPU seconds from 2 s before the
   due time to the last escalation, against the same span of an idle worker.
4. Warm restart: the bus is stopped (SIGINT) and started again on the same data
   directory: with the RocksDB store only what changed since is read back.

Nothing falls due during the run except the ``--due`` group (windows are a year).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import TopicPartition
from kafka.admin import NewTopic
from kafka.partitioner.default import murmur2
from recovery import REBUILT, Bus, bus_env, free_port_run, rss_mib

from seabus.deploy import topics as provisioning
from seabus.deploy.kafka import LocalCluster
from seabus.schemas.codec import Codec, encode_model
from seabus.schemas.enums import PersonnelCategory
from seabus.schemas.envelopes import Source, headers_for
from seabus.streams import logs
from seabus.streams.agents.deadlines import obligation_update
from seabus.streams.config import Settings
from seabus.streams.context import load_context
from seabus.streams.deadlines import CaseFacts, DeadlineEngine, RecipientClass, ValueFormat
from seabus.streams.deadlines.codec import decode
from seabus.streams.deadlines.obligations import Obligation
from seabus.streams.deadlines.policy import load_policies
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

READY = "seabus worker ready"
VIEW_CAUGHT_UP = "read model caught up"
PARTITIONS = 6  # deploy/config/seabus.yaml: sea.allegations
WINDOW = timedelta(days=365)
CHUNK = 20_000  # allegations per engine (bounded memory in this process)

POLICIES = """\
# Benchmark policies: windows a year long, no reminders, so only the --due group falls due.
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
    second_level_after: P30D
    repeat_every: P30D
  - name: decide
    obligation: DECIDE
    recipient_classes: [MEMBER_STATE]
    window: {duration: P365D}
    second_level_after: P30D
    repeat_every: P30D
  - name: outcome
    obligation: REPORT_OUTCOME
    recipient_classes: [MEMBER_STATE]
    window: {duration: P365D}
    second_level_after: P30D
    repeat_every: P30D
"""


def partition_of(key: bytes) -> int:
    """kafka-python's default partitioner (murmur2), which the publisher SDK uses."""
    return int((murmur2(key) & 0x7FFFFFFF) % PARTITIONS)


def make_changelog_topics(kafka: KafkaConnection, app_id: str) -> dict[str, str]:
    names = {
        t: f"{app_id}-{t}-changelog" for t in ("obligations", "deadline-allegations", "allegation-state")
    }
    admin = kafka.kafka_admin()
    try:
        admin.create_topics(
            [
                NewTopic(name, PARTITIONS, 1, topic_configs={"cleanup.policy": "compact"})
                for name in names.values()
            ]
        )
    finally:
        admin.close()
    return names


def intake_state_template(policies_file: Path) -> tuple[str, str, str]:
    """(allegation id, event id, JSON) of the state the intake agent stores after one report."""
    settings = Settings(policies_file=policies_file)
    ctx = load_context(settings)
    intake = ctx.intake()
    now = datetime.now(UTC)
    allegation = synthetic_allegation(
        subjects=[("SYNTH-SUBJ-MIL-0000000", "KEN", "KEN", PersonnelCategory.MILITARY_CONTINGENT)],
        adults=1,
        reported_at=now,
    )
    event = synthetic_event(allegation_id="SYNTH-MIL-0000000", allegation=allegation, published_at=now)
    result = intake.handle(
        key=event.allegation_id.encode(),
        value=encode_model(event, codec=ctx.codec),
        headers=headers_for(event, event.event_id, event.allegation_id, now, "seabus/bench"),
        source=Source(topic="bench", partition=0, offset=0),
        state=None,
        now=now,
    )
    assert result.state is not None, result.reason
    return event.allegation_id, event.event_id, json.dumps(result.state.model_dump(mode="json"))


@dataclass
class Seeded:
    obligations: int
    allegations: int
    due: int
    seconds: float


def seed(
    kafka: KafkaConnection,
    app_id: str,
    policies_file: Path,
    m: int,
    due: int,
    due_at: datetime,
    *,
    view: bool,
) -> Seeded:
    """Obligations made by the engine, produced to the changelogs as the worker would.

    With ``view``, each obligation's ``ObligationUpdate`` also goes to
    ``<prefix>.obligations``, which the on-call view in the worker reads.
    """
    topics = make_changelog_topics(kafka, app_id)
    settings = Settings(
        policies_file=policies_file,
        topic_prefix=app_id,
        app_id=app_id,
        bootstrap=kafka.bootstrap,
        kafka=kafka.security,
    )
    if view:
        provisioning.apply(settings, load_context(settings).directory.ids(), kafka=kafka)
    codec = Codec()
    policies = load_policies(policies_file)
    producer = kafka.kafka_producer(acks="all", linger_ms=20, batch_size=512 * 1024, compression_type=None)
    allegations = -(-m // 3)
    due_allegations = -(-due // 3)
    template_id, template_event, template_state = intake_state_template(policies_file)
    now = datetime.now(UTC)
    case = CaseFacts()
    began = time.perf_counter()
    made = 0
    for start in range(0, allegations, CHUNK):
        obligations: dict[str, Any] = {}
        records: dict[str, Any] = {}
        engine = DeadlineEngine(
            policies=policies,
            obligations=obligations,
            allegations=records,
            value_format=ValueFormat.JSON_BYTES,
        )
        for i in range(start, min(start + CHUNK, allegations)):
            allegation_id = f"SYNTH-MIL-{i:07d}"
            notified_at = due_at - WINDOW if i < due_allegations else now
            engine.on_routed(allegation_id=allegation_id, recipients={"KEN": RecipientClass.MEMBER_STATE})
            engine.on_notification(
                allegation_id=allegation_id,
                recipient="KEN",
                recipient_class=RecipientClass.MEMBER_STATE,
                case=case,
                notified_at=notified_at,
            )
        states = {
            aid: template_state.replace(template_id, aid).replace(template_event, f"{aid}@1").encode()
            for aid in records
        }
        tables = (
            ("obligations", obligations),
            ("deadline-allegations", records),
            ("allegation-state", states),
        )
        for table, values in tables:
            for key, value in values.items():
                allegation_id = key.split("|", 1)[0]  # obligation keys: allegation|recipient|kind
                producer.send(
                    topics[table],
                    key=json.dumps(key).encode(),
                    value=value,
                    partition=partition_of(allegation_id.encode()),
                )
        if view:
            for key, value in obligations.items():
                update = obligation_update(
                    decode(Obligation, value, ValueFormat.JSON_BYTES), reporting_entity="MINUSCA", now=now
                )
                producer.send(
                    settings.topic("obligations"),
                    key=key.encode(),
                    value=encode_model(update, codec=codec),
                )
        made += len(obligations)
        producer.flush(timeout=300)
        print(f"  seeded {made} obligations ({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    producer.close(timeout=60)
    return Seeded(made, allegations, 3 * due_allegations, time.perf_counter() - began)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """The worker's cumulative CPU seconds every 50 ms, to cut out any span afterwards."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.time(), cpu_seconds(self.pid)))
            except OSError:
                return
            time.sleep(0.05)

    def between(self, start: float, end: float) -> float:
        inside = [c for t, c in self.samples if start <= t <= end]
        return inside[-1] - inside[0] if len(inside) >= 2 else float("nan")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def escalations(kafka: KafkaConnection, topic: str, want: int, timeout: float) -> list[tuple[float, float]]:
    """(fire_at, produced) epoch seconds of the first ``want`` escalations on the topic."""
    codec = Codec()
    consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] = set()
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic) or set()
            time.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[tuple[float, float]] = []
        while len(out) < want and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    _, datum = codec.decode(record.value, expected_type="Escalation")
                    fire_at = datum["due_at"]  # the OVERDUE step fires at the due time (no reminders here)
                    fire_s = fire_at.timestamp() if isinstance(fire_at, datetime) else fire_at / 1e6
                    out.append((fire_s, record.timestamp / 1000))
        return out
    finally:
        consumer.close()


@dataclass
class Start:
    ready_s: float
    rebuilt_s: float
    open_steps: int
    rss_rebuilt_mib: float | None
    rss_later_mib: float | None
    view_s: float
    rss_view_mib: float | None


def measure_start(bus: Bus, timeout: float) -> Start:
    """Ready, index rebuilt (+ RSS then and 10 s later), on-call view caught up (+ RSS 5 s later)."""
    ready_s, _ = bus.wait(READY, timeout)
    rebuilt_s, line = bus.wait(REBUILT, timeout)
    rss_rebuilt = rss_mib(bus.proc.pid)
    time.sleep(10)
    rss_later = rss_mib(bus.proc.pid)
    view_s, _ = bus.wait(VIEW_CAUGHT_UP, timeout)
    time.sleep(5)
    return Start(
        ready_s,
        rebuilt_s,
        int(json.loads(line).get("open_steps", -1)),
        rss_rebuilt,
        rss_later,
        view_s,
        rss_mib(bus.proc.pid),
    )


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=None, help="existing cluster (default: start a local one)")
    parser.add_argument("--m", type=int, default=1_000_000, help="open obligations (3 per allegation)")
    parser.add_argument("--due", type=int, default=1_000, help="how many fall due at one instant")
    parser.add_argument("--store", choices=("rocksdb", "memory"), default="rocksdb", help="table store")
    parser.add_argument(
        "--view",
        action="store_true",
        help="also put every obligation on <prefix>.obligations, which the worker's on-call view reads",
    )
    parser.add_argument(
        "--due-after", type=float, default=None, help="seconds after seeding (default: 60 + 240 per million)"
    )
    args = parser.parse_args(argv)

    logs.configure(level="warning")
    workdir = tempfile.TemporaryDirectory(prefix="seabus-bench-million-")
    work = Path(workdir.name)
    policies = work / "policies.yaml"
    policies.write_text(POLICIES, encoding="utf-8")
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

    def env_for(prefix: str) -> dict[str, str]:
        env = bus_env(kafka, prefix, work / prefix, policies)
        env["SEABUS_TABLE_STORE"] = args.store
        return env

    try:
        base_prefix = "mb" + uuid.uuid4().hex[:8]
        for _ in range(2):
            bus = Bus(env_for(base_prefix))
            try:
                baseline = measure_start(bus, 180)
            finally:
                bus.stop()
        print(f"baseline start: ready {baseline.ready_s:.1f} s", file=sys.stderr)

        prefix = "mb" + uuid.uuid4().hex[:8]
        due_after = args.due_after if args.due_after is not None else 60 + 240 * args.m / 1e6
        estimate = 3.0 * args.m / 1e5  # seconds of seeding, roughly
        due_at = datetime.now(UTC) + timedelta(seconds=estimate + due_after)
        due_at = due_at.replace(microsecond=0)
        seeded = seed(kafka, prefix, policies, args.m, args.due, due_at, view=args.view)
        print(
            f"seeded {seeded.obligations} obligations in {seeded.seconds:.0f} s; due at {due_at:%H:%M:%S}",
            file=sys.stderr,
        )

        env = env_for(prefix)
        bus = Bus(env)
        sampler = CpuSampler(bus.proc.pid)
        try:
            cold = measure_start(bus, 900)
            print(f"cold start: index rebuilt at {cold.rebuilt_s:.1f} s", file=sys.stderr)
            if time.time() < due_at.timestamp():
                idle_from = time.time()
                time.sleep(min(5.0, max(0.0, due_at.timestamp() - time.time() - 3)))
                idle_cpu = sampler.between(idle_from, time.time()) / max(time.time() - idle_from, 1e-9)
            else:
                idle_cpu = float("nan")
            fired = escalations(
                kafka,
                f"{prefix}.escalations",
                seeded.due,
                max(0.0, due_at.timestamp() - time.time()) + 120,
            )
            time.sleep(0.3)
            last = max((p for _, p in fired), default=float("nan"))
            span_cpu = sampler.between(due_at.timestamp() - 2, last + 0.2)
            span_s = last + 0.2 - (due_at.timestamp() - 2)
            fired_rss = rss_mib(bus.proc.pid)
        finally:
            sampler.stop()
            bus.stop()
        bus = Bus(env)
        try:
            warm = measure_start(bus, 900)
        finally:
            bus.stop()
    finally:
        if cluster is not None:
            cluster.down()
        workdir.cleanup()

    lateness = sorted(p - f for f, p in fired)
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s), "
        f"load1 {os.getloadavg()[0]:.1f}; broker {kafka.bootstrap}"
        + (" (local KRaft)" if cluster else "")
        + f"; table store {args.store}"
        + ("; obligations also on the view's topic" if args.view else "")
    )
    print(
        f"seeded: {seeded.obligations} obligations of {seeded.allegations} allegations in {seeded.seconds:.0f} s"
    )
    header = (
        f"{'start':40} {'open_steps':>10} {'ready s':>8} {'index s':>8} {'RSS MiB':>8} {'+10 s':>6} "
        f"{'x base':>7} {'view s':>7} {'RSS view':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, s in (
        ("empty tables (baseline)", baseline),
        ("cold: empty data dir, all from changelogs", cold),
        ("warm: same data dir", warm),
    ):
        print(
            f"{name:40} {s.open_steps:>10} {s.ready_s:>8.1f} {s.rebuilt_s:>8.1f} "
            f"{_mib(s.rss_rebuilt_mib):>8} {_mib(s.rss_later_mib):>6} {s.rebuilt_s / baseline.rebuilt_s:>7.2f} "
            f"{s.view_s:>7.1f} {_mib(s.rss_view_mib):>9}"
        )
    if lateness:
        print(
            f"{len(fired)} of {seeded.due} due escalations: lateness after the due time "
            f"p50 {1000 * statistics.median(lateness):.0f} ms, max {1000 * lateness[-1]:.0f} ms; "
            f"worker CPU {span_cpu:.2f} s over the {span_s:.1f} s span around the due time "
            f"(idle worker: {idle_cpu:.3f} CPU-s per s); RSS after {_mib(fired_rss)} MiB"
        )
    else:
        print(f"NO escalation seen of the {seeded.due} due")
    return 0


if __name__ == "__main__":
    sys.exit(main())
