"""Routing throughput and latency: the seabus worker against a Quix Streams app, a bare aiokafka loop
and a naive script, each on a plaintext and on a TLS + SCRAM cluster.

Run:  .venv/bin/python bench/routing/run.py [--quick] [--bootstrap HOST:PORT] [--n 5000] [--rate 200,50]
                                           [--seconds 10] [--repeat 2] [--profile FILE]
                                           [--cases seabus,quix,bare,bare-all,naive] [--max-minutes 20]
                                           [--security plaintext,secured]

``--quick`` (a few minutes) means ``--n 600 --rate 25 --seconds 8 --repeat 3
--cases seabus,bare --max-minutes 8``; any of them can still be given. Its paced
rate is one a worker sustains on a loaded 2-vCPU machine (at 50/s it was
queueing at load 10), so its latencies compare the clusters, not two backlogs.

Without ``--bootstrap`` two local single-node KRaft brokers are started in a
temporary folder, both up for the whole run, and stopped at the end:
**plaintext** (``LocalCluster(insecure=True)``, PLAINTEXT listeners) and
**secured** (the default local cluster: SASL_SSL, SCRAM-SHA-512, the
StandardAuthorizer; every client as the bus's principal through
``KafkaConnection``). ``--security`` picks one or both. In each round every
case runs on both clusters back to back, in alternating order (plaintext first
in odd rounds, secured first in even ones), so load on the shared machine hits
both alike; the report adds, per case and figure, the ratio secured/plaintext
of each round and their median and range. With ``--bootstrap`` only that
cluster is used (its security from ``SEABUS_KAFKA__*``), labelled "external".

Every case runs on a copy of the same input (the same encoded allegation
events, keyed by allegation_id) written to its own ``<prefix>.allegations``
topic (6 partitions) with kafka-python ``acks=all``:

* **seabus**: the real bus, ``python -m deploy.cli.main run`` in a subprocess
  (its own topic prefix, app id and data dir), stopped with SIGINT;
* **bare (notifications)**: the limit. A bare aiokafka consume -> produce loop
  that, for each input, produces the notifications the bus produces for it
  (pre-computed with the bus's own intake step: same topics, keys, values and
  headers, about three per input) with ``acks=all`` and awaits their acks
  before the next input, as the bus's intake agent does;
* **bare (all bus records)**: the same loop producing every record the bus's
  agent awaits for that input (the notifications plus one ``ObligationUpdate``
  per obligation created), i.e. the same Kafka work minus Faust, the codec,
  routing, deadlines and the state tables;
* **naive**: a kafka-python script that decodes each input with the codec,
  routes it with ``routes.yaml``, builds and encodes the notifications and
  produces each with ``send(...).get()``;
* **quix** (issue 16): the routing job as a Quix Streams user would write it
  (``bench/routing/quix_job.py``: fastavro deserializer, de-duplication by event id in
  Quix's RocksDB state, seabus's rule engine on ``routes.yaml``, one notification per
  recipient with the bus's headers, Quix's defaults). quixstreams pins pydantic below
  the bus's, so it runs from its own virtual environment, ``.build/bench-quix-venv``
  (``quixstreams==3.28.1`` and seabus's light install, made on first use).

Two variants of the bus, for finding out what a figure owes to what (issue 16):
**seabus-memory** (the worker with ``SEABUS_TABLE_STORE=memory``) and **seabus-tree**
(the worker of another checkout, ``--tree DIR``, with that checkout's own ``.venv``: e.g.
an older commit; its notifications are not checked).

Every output is checked (``check_outputs``): after each case, every record on the
case's ``<prefix>.notify.*`` topics is read back and compared with what the bus's own
intake step produces for the same inputs (``bus_outputs``): none missing, none
duplicated, none unexpected, and the same topic, key, headers and fields, except the
fields that depend on when and by what the routing ran: ``routed_at`` and its
``ce_time`` header, and ``obligations`` (the deadline engine's, not part of the
routing job, so the Quix app does not make them); the naive script's ``ce_source``
is its own.

The bare, naive and Quix loops run in their own process (this file re-invoked with
``--run-loop``; Faust itself reads ``--loop`` from argv), like the bus, so the
publisher and the measuring consumer in this process never share a GIL with
the loop under test.

Measurements per case, after a warm-up of 100 events:

* seabus against Quix and against bare, per round and cluster: events/s, CPU ms per
  event and p99 at each paced rate, as seabus/other (``versus``), with the issue's
  goals (seabus/Quix >= 1.0 and seabus/bare >= 0.5 in events/s);
* throughput: N events published as fast as possible; routed events/s from the
  first publish to the last notification seen on ``<prefix>.notify.OSC``
  (every event reaches OSC), counting distinct ``source_event_id``; and the
  CPU time (user + system, /proc/<pid>/stat) the loop's process and its live child
  processes (the view's process of `seabus run`) spent over that burst, per event: on a shared machine the steadiest figure; likewise the local
  broker's CPU time over the burst, per event (``brk ms/ev``: where TLS also costs);
* latency: for each ``--rate`` (events/s; a comma-separated list, the first is
  the goal's) new events paced for ``--seconds``; per event the time from just
  before its ``send`` to the poll that returned its OSC notification in this
  process's consumer (same clock); p50 and p99. A rate above what a loop can
  sustain shows up as a growing backlog, i.e. latencies of seconds.

All cases run ``--repeat`` rounds, interleaved, so that each round's ratios
compare cases measured under similar load (the machine is shared; ``load1`` is
the 1-minute load average when the case ended). The case order is reversed every
other round, and before round 1 a run of the first case's burst that is not reported
warms each broker up (``--no-warm-up`` skips it): measured without it, the first case of
round 1 met a broker still warming up (the broker's CPU per event 1.0-1.1 ms in
round 1's first cases, 0.2-0.9 ms in the later ones; docs/BENCHMARKS.md, 2026-12-04). For the bus, intake outcomes
other than "routed" (duplicates, dead letters) and error lines are reported, and
a failed case prints the bus's last log lines.

``--profile FILE`` then runs the bus once more (on the last cluster of
``--security``: secured by default) under ``python -m cProfile -o FILE`` while the warm-up and N events are routed, stops it with SIGINT (the
profile is written on the way out) and prints where the worker's time went:
self time by area, cumulative time of the functions on the hot path, the top of
the seabus functions by cumulative time and of everything by self time. The
profile spans the whole process, start-up (imports) and shutdown included.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import pickle
import platform
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from kafka import TopicPartition

from seabus.deploy import topics
from seabus.deploy.kafka import LocalCluster
from seabus.schemas.codec import Codec, decode_model, encode_model
from seabus.schemas.envelopes import Source, headers_for
from seabus.schemas.models import AllegationEvent
from seabus.streams import logs
from seabus.streams.agents.deadlines import Deadlines
from seabus.streams.config import Settings, load_settings
from seabus.streams.context import BusContext, load_context
from seabus.streams.deadlines import DeadlineEngine, ValueFormat
from seabus.streams.intake import Outcome
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.routing.notifications import build_notifications
from seabus.streams.routing.rules import load_rules
from seabus.streams.synthetic import random_event
from seabus.streams.tables import DeferredWrites

REPO = Path(__file__).resolve().parents[2]

WARMUP = 100
SEED = 71278
READY_LINE = "seabus worker ready"
LOOP_READY = "bench loop ready"
Headers = list[tuple[str, bytes]]
OutRecord = tuple[str, bytes | None, bytes, Headers]  # topic, key, value, headers

SEABUS = "seabus worker"
BARE = "bare aiokafka loop (notifications)"
QUIX = "quix streams app"
# Latest 3.x on PyPI when the case was written. Its own venv: quixstreams 3.28.1 requires
# pydantic<2.14 (and pydantic-settings<2.16), below what the bus runs with, so installing it
# into .venv would change the bus under test.
QUIX_VERSION = "3.28.1"
QUIX_VENV = REPO / ".build" / "bench-quix-venv"
# What depends on when and by what a notification was routed, left out of the output check:
# routed_at (and its ce_time header), and the deadline engine's obligations, which are not
# part of the routing job (the Quix app does not run a deadline engine).
VOLATILE_FIELDS = ("routed_at", "obligations")
VOLATILE_HEADERS = ("ce_time",)


class Budget:
    """The whole run's wall-time bound: every wait takes the smaller of its own limit and what is left."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self, limit: float) -> float:
        return max(0.0, min(limit, self.deadline - time.monotonic()))


# --- inputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    event_id: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Workload:
    warmup: list[Input]
    burst: list[Input]
    paced: list[tuple[float, list[Input]]]  # (events/s, events)

    def all(self) -> list[Input]:
        return [*self.warmup, *self.burst, *(i for _, phase in self.paced for i in phase)]


def make_workload(n: int, rates: Sequence[float], seconds: float, codec: Codec) -> Workload:
    rng = random.Random(SEED)
    now = datetime.now(UTC) - timedelta(minutes=1)
    counts = [WARMUP, n, *(round(rate * seconds) for rate in rates)]
    inputs = []
    for i in range(sum(counts)):
        event = random_event(rng, index=i, now=now)
        inputs.append(Input(event.event_id, event.allegation_id.encode(), encode_model(event, codec=codec)))
    phases = []
    start = 0
    for count in counts:
        phases.append(inputs[start : start + count])
        start += count
    return Workload(phases[0], phases[1], list(zip(rates, phases[2:], strict=True)))


def bus_outputs(
    inputs: Sequence[Input], ctx: BusContext, prefix: str, *, notifications_only: bool
) -> dict[bytes, list[OutRecord]]:
    """What the bus's intake agent produces (and awaits) for each input, computed with its own code."""
    obligations: dict[str, Any] = {}
    deferred = DeferredWrites(obligations)
    engine = DeadlineEngine(
        policies=ctx.policies,
        obligations=deferred,
        allegations={},
        calendar_for=lambda r: (
            ctx.policies.calendar(e.calendar, time_zone=e.timezone)
            if (e := ctx.directory.get(r))
            else ctx.policies.calendar()
        ),
        value_format=ValueFormat.JSON_BYTES,
    )
    deadlines = Deadlines(
        ctx=ctx, engine=engine, obligations=cast(Any, obligations), records=cast(Any, {}), deferred=deferred
    )
    intake = ctx.intake(deadlines)
    out: dict[bytes, list[OutRecord]] = {}
    now = datetime.now(UTC)
    for offset, item in enumerate(inputs):
        result = intake.handle(
            key=item.key,
            value=item.value,
            headers=[],
            source=Source(topic="bench", partition=0, offset=offset),
            state=None,
            now=now,
        )
        if result.outcome is not Outcome.ROUTED:
            raise RuntimeError(f"synthetic input {item.event_id} was not routed: {result.reason}")
        records = list(result.outbound) + deadlines.pending_updates(now)
        deferred.commit()
        out[item.key] = [
            (
                f"{prefix}.notify.{r.recipient}" if r.route == "notify" else f"{prefix}.{r.route}",
                r.key,
                r.value,
                list(r.headers),
            )
            for r in records
            if r.route == "notify" or not notifications_only
        ]
    return out


@dataclass
class OutputCheck:
    """A case's notifications against the bus's own routing of the same inputs."""

    expected: int = 0
    read: int = 0
    missing: list[str] = field(default_factory=list)  # notification ids
    duplicates: list[str] = field(default_factory=list)  # ids read more than once (once per extra copy)
    unexpected: list[str] = field(default_factory=list)  # ids the bus would not have produced
    differing: list[str] = field(default_factory=list)  # "<id>: <what differs>"

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicates or self.unexpected or self.differing)

    def summary(self) -> str:
        return (
            f"{self.read} read / {self.expected} expected: {len(self.missing)} missing, "
            f"{len(self.duplicates)} duplicates, {len(self.unexpected)} unexpected, "
            f"{len(self.differing)} differing"
            + ("" if not self.differing else f" (first: {self.differing[0]})")
        )


def _comparable(
    record: OutRecord, codec: Codec, ignore_headers: Sequence[str]
) -> tuple[str, tuple[str, bytes | None, dict[str, Any], list[tuple[str, bytes]]]]:
    """(notification id, what must be identical): topic, key, the fields, the headers."""
    topic, key, value, headers = record
    _, datum = codec.decode(value, expected_type="Notification")
    nid = str(datum["notification_id"])
    fields = {k: v for k, v in datum.items() if k not in VOLATILE_FIELDS}
    kept = sorted((k, bytes(v)) for k, v in headers if k not in VOLATILE_HEADERS and k not in ignore_headers)
    return nid, (topic, key, fields, kept)


def check_outputs(
    expected: Sequence[OutRecord],
    got: Sequence[OutRecord],
    codec: Codec,
    *,
    ignore_headers: Sequence[str] = (),
) -> OutputCheck:
    """Every expected notification read exactly once, nothing else read, each identical but for
    ``VOLATILE_FIELDS`` / ``VOLATILE_HEADERS`` (and ``ignore_headers``)."""
    want = dict(_comparable(r, codec, ignore_headers) for r in expected)
    check = OutputCheck(expected=len(want), read=len(got))
    seen: set[str] = set()
    for record in got:
        nid, actual = _comparable(record, codec, ignore_headers)
        if nid in seen:
            check.duplicates.append(nid)
            continue
        seen.add(nid)
        if nid not in want:
            check.unexpected.append(nid)
            continue
        wanted = want[nid]
        what = [
            name
            for name, a, b in zip(("topic", "key", "fields", "headers"), actual, wanted, strict=True)
            if a != b
        ]
        if what == ["fields"]:
            what = [
                f"field {k}"
                for k in sorted(set(actual[2]) | set(wanted[2]))
                if actual[2].get(k) != wanted[2].get(k)
            ]
        if what:
            check.differing.append(f"{nid}: {', '.join(what)}")
    check.missing = [nid for nid in want if nid not in seen]
    return check


def read_notifications(kafka: KafkaConnection, prefix: str, budget: Budget) -> list[OutRecord]:
    """Every record on ``<prefix>.notify.*``, from the beginning to the end offsets of now."""
    consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100)
    try:
        names = sorted(t for t in consumer.topics() if t.startswith(f"{prefix}.notify."))
        tps = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        left = {tp for tp in tps if end[tp] > 0}
        out: list[OutRecord] = []
        deadline = time.monotonic() + budget.left(180)
        while left and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=200, max_records=5000).items():
                out.extend((tp.topic, r.key, r.value, [(k, bytes(v)) for k, v in r.headers]) for r in records)
            left = {tp for tp in left if consumer.position(tp) < end[tp]}
        if left:
            raise RuntimeError(f"{len(left)} notify partition(s) of {prefix} not read to their end in time")
        return out
    finally:
        consumer.close()


def verify(
    result: Result,
    kafka: KafkaConnection,
    prefix: str,
    expected: dict[bytes, list[OutRecord]],
    codec: Codec,
    budget: Budget,
    *,
    ignore_headers: Sequence[str] = (),
) -> None:
    """Read the case's notifications back and compare them with the bus's (``result.check``)."""
    try:
        got = read_notifications(kafka, prefix, budget)
    except RuntimeError as exc:
        result.note += f" output check: {exc}"
        return
    flat = [r for key, records in expected.items() if key in result.published for r in records]
    result.check = check_outputs(flat, got, codec, ignore_headers=ignore_headers)


def quix_python(venv: Path = QUIX_VENV) -> Path:
    """The Quix case's interpreter: its own venv with quixstreams and seabus's light install
    (editable, so the case routes with this tree's rule engine), made or remade when the pin changes."""
    python = venv / "bin" / "python"
    stamp = venv / ".quix-stamp"
    want = f"quixstreams=={QUIX_VERSION}\n"
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == want:
        return python
    print(f"making {venv} (quixstreams=={QUIX_VERSION} and seabus's light install) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"quixstreams=={QUIX_VERSION}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*pip, "-e", str(REPO)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stamp.write_text(want, encoding="utf-8")
    return python


# --- processes -------------------------------------------------------------------------


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


class Child:
    """A subprocess whose stderr lines are collected (with arrival time) by a reader thread."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if '"allegation event"' not in line:  # one per event: read, not kept
                self.lines.append((time.perf_counter(), line))

    def first(self, text: str) -> float | None:
        """Seconds from process start to the first line containing ``text``."""
        for at, line in list(self.lines):
            if text in line:
                return at - self.started
        return None

    def wait_line(self, text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            at = self.first(text)
            if at is not None:
                return at
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = "".join(line for _, line in self.lines[-30:])
        raise RuntimeError(f"no {text!r} within {timeout:.0f} s (exit {self.proc.poll()}):\n{tail}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 120.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return code

    def errors(self) -> list[str]:
        return [line for _, line in self.lines if "Traceback" in line or '"level": "error"' in line]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The live processes below ``pid`` (from /proc/<pid>/task/*/children)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                kids = [int(k) for k in f.read().split()]
        except FileNotFoundError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each live descendant: all of a loop's work counts, e.g. the
    on-call view's child process of `seabus run` (issue 16: "1 ms of CPU per event for all of
    seabus's work"). Keyed by pid so a child that starts or ends mid-burst counts only its part."""
    out: dict[int, float] = {}
    for p in [pid, *descendants(pid)]:
        try:
            out[p] = cpu_seconds(p)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def tree_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two ``tree_cpu_seconds`` readings (a pid new since ``before``
    counts from 0; one gone by ``after`` counts what ``before`` saw of it: a floor)."""
    return sum(after.get(p, before.get(p, 0.0)) - before.get(p, 0.0) for p in before.keys() | after.keys())


P99_GOAL_MS = 20
"""Issue 16: p99 publish-to-notification under 20 ms at 200 events/s."""
CPU_GOAL_MS = 1.0
"""Issue 16: at most 1 ms of CPU per event for all of seabus's work (its child processes included)."""

EXTRA_BUS_ENV: dict[str, str] = {}
"""``--bus-env KEY=VALUE``: settings of the bus under test (e.g. SEABUS_VIEW__IN_WORKER=false)."""


def intake_outcomes(lines: Iterable[str]) -> dict[str, int]:
    """Intake outcomes (routed, duplicate, dead-lettered, ...) summed over the bus's "intake summary"
    lines (counts logged at info every 30 s since the per-event line went to debug; the last
    interval before a stop may be missing, so these are a floor, and the output check is the proof)."""
    outcomes: dict[str, int] = {}
    meta = {"event", "level", "logger", "timestamp", "seconds"}
    for line in lines:
        if '"intake summary"' not in line:
            continue
        try:
            fields = json.loads(line)
        except ValueError:
            continue
        for key, value in fields.items():
            if key not in meta and isinstance(value, int):
                outcomes[key] = outcomes.get(key, 0) + value
    return outcomes


def bus_env(kafka: KafkaConnection, prefix: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEABUS_")} | kafka.env()
    env.update(
        {
            "SEABUS_TOPIC_PREFIX": prefix,
            "SEABUS_APP_ID": prefix,
            "SEABUS_DATA_DIR": str(data_dir),
            "SEABUS_WEB_PORT": str(free_port_run(1)),
            "SEABUS_GATEWAY__PORT": str(free_port_run(1)),
            # info, as deployed: the readiness line is an info line, and the per-event log
            # line is part of what the worker costs (since 70fa2b0 this setting reaches
            # seabus's own logs; "warning" hid the readiness line and broke this benchmark).
            "SEABUS_LOG_LEVEL": "info",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(EXTRA_BUS_ENV)
    return env


# --- measuring -------------------------------------------------------------------------


class Watch:
    """Consumes ``<prefix>.notify.OSC`` in a thread, noting when each source_event_id first arrived."""

    def __init__(self, kafka: KafkaConnection, topic: str, codec: Codec, budget: Budget) -> None:
        self.seen: dict[str, float] = {}
        self.codec = codec
        self._stop = threading.Event()
        self.consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100)
        deadline = time.monotonic() + budget.left(60)
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
        self.hard_stop = budget.deadline
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self.hard_stop:
            batches = self.consumer.poll(timeout_ms=100)
            at = time.perf_counter()
            for records in batches.values():
                for record in records:
                    _, datum = self.codec.decode(record.value, expected_type="Notification")
                    self.seen.setdefault(datum["source_event_id"], at)

    def wait_all(self, ids: Sequence[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(i in self.seen for i in ids):
                return True
            time.sleep(0.05)
        return all(i in self.seen for i in ids)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.consumer.close()


class Publisher:
    def __init__(self, kafka: KafkaConnection) -> None:
        self.producer = kafka.kafka_producer(acks="all", enable_idempotence=True, linger_ms=0)

    def burst(self, topic: str, inputs: Sequence[Input]) -> dict[str, float]:
        sent: dict[str, float] = {}
        for item in inputs:
            sent[item.event_id] = time.perf_counter()
            self.producer.send(topic, key=item.key, value=item.value)
        self.producer.flush(timeout=120)
        return sent

    def paced(self, topic: str, inputs: Sequence[Input], rate: float) -> dict[str, float]:
        sent: dict[str, float] = {}
        start = time.perf_counter()
        for i, item in enumerate(inputs):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent[item.event_id] = time.perf_counter()
            self.producer.send(topic, key=item.key, value=item.value)
        self.producer.flush(timeout=120)
        return sent

    def close(self) -> None:
        self.producer.close(timeout=30)


@dataclass
class Result:
    case: str
    n: int = 0
    routed: int = 0
    seconds: float = 0.0
    latencies_ms: dict[float, list[float]] = field(default_factory=dict)  # by paced rate
    paced_sent: dict[float, int] = field(default_factory=dict)
    published: set[bytes] = field(default_factory=set)  # keys of the inputs published (what to check)
    outputs_per_event: float | None = None
    cpu_ms_per_event: float | None = (
        None  # CPU time of the loop's process and children over the burst, per event
    )
    broker_cpu_ms_per_event: float | None = None  # the (local) broker's CPU time over the burst, per event
    children_cpu_ms_per_event: float | None = None  # of cpu_ms_per_event, the child processes' (the view's)
    note: str = ""
    check: OutputCheck | None = None  # every notification read back and compared with the bus's
    round: int = 0
    security: str = ""  # which cluster: "plaintext", "secured" (SASL_SSL + SCRAM) or "external"
    load: float = field(default_factory=lambda: os.getloadavg()[0])  # at the end of the case

    @property
    def rate(self) -> float | None:
        return self.routed / self.seconds if self.seconds > 0 and self.routed == self.n else None

    def pct(self, rate: float, q: float) -> float | None:
        samples = self.latencies_ms.get(rate)
        if not samples:
            return None
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    result: Result,
    *,
    kafka: KafkaConnection,
    input_topic: str,
    notify_topic: str,
    work: Workload,
    codec: Codec,
    budget: Budget,
    pid: int,
    broker_pid: int | None,
) -> Result:
    """Warm-up, then the burst and the paced phase against a loop that is already running."""
    watch = Watch(kafka, notify_topic, codec, budget)
    publisher = Publisher(kafka)
    try:
        result.published.update(i.key for i in work.warmup)
        publisher.burst(input_topic, work.warmup)
        if not watch.wait_all([i.event_id for i in work.warmup], budget.left(180)):
            result.note = "warm-up not routed in time"
            return result
        ids = [i.event_id for i in work.burst]
        result.n = len(ids)
        cpu_before = tree_cpu_seconds(pid)
        broker_before = cpu_seconds(broker_pid) if broker_pid else 0.0
        result.published.update(i.key for i in work.burst)
        sent = publisher.burst(input_topic, work.burst)
        first = min(sent.values())
        complete = watch.wait_all(ids, budget.left(120 + len(ids) / 5))
        cpu_after = tree_cpu_seconds(pid)
        result.cpu_ms_per_event = tree_cpu_delta(cpu_before, cpu_after) * 1000 / len(ids)
        children = tree_cpu_delta(
            {k: v for k, v in cpu_before.items() if k != pid},
            {k: v for k, v in cpu_after.items() if k != pid},
        )
        result.children_cpu_ms_per_event = children * 1000 / len(ids) if len(cpu_after) > 1 else None
        if broker_pid:
            result.broker_cpu_ms_per_event = (cpu_seconds(broker_pid) - broker_before) * 1000 / len(ids)
        seen = [watch.seen[i] for i in ids if i in watch.seen]
        result.routed = len(seen)
        result.seconds = (max(seen) - first) if seen else 0.0
        if not complete:
            result.note = f"throughput: only {len(seen)}/{len(ids)} routed in time"
            return result
        for rate, phase in work.paced:
            result.published.update(i.key for i in phase)
            sent = publisher.paced(input_topic, phase, rate)
            result.paced_sent[rate] = len(sent)
            ids = [i.event_id for i in phase]
            complete = watch.wait_all(ids, budget.left(120 + len(ids) / 5))
            result.latencies_ms[rate] = [(watch.seen[i] - sent[i]) * 1000 for i in ids if i in watch.seen]
            if not complete:
                result.note = (
                    f"latency at {rate:g}/s: only {len(result.latencies_ms[rate])}/{len(ids)} routed in time"
                )
                break
        return result
    finally:
        publisher.close()
        watch.close()


# --- the cases ---------------------------------------------------------------------------


def bench_seabus(
    kafka: KafkaConnection,
    work: Workload,
    codec: Codec,
    budget: Budget,
    workdir: Path,
    *,
    ctx: BusContext | None = None,
    broker_pid: int | None = None,
    profile: Path | None = None,
    variant: str = "seabus",
    tree: Path | None = None,
) -> Result:
    """The real worker; with ``ctx``, its notifications are then checked against ``bus_outputs``.

    ``variant`` "seabus-memory" runs it with in-memory tables instead of RocksDB
    (``SEABUS_TABLE_STORE=memory``); "seabus-tree" runs the worker of another checkout,
    ``tree`` (``--tree``: its own ``.venv`` and its own code, e.g. an older commit), whose
    notifications are not checked (an older tree may write an older schema version)."""
    prefix = "rb" + uuid.uuid4().hex[:8]
    python, module, env = sys.executable, "seabus.deploy.cli.main", bus_env(kafka, prefix, workdir / prefix)
    name, cwd = SEABUS, None
    if variant == "seabus-memory":
        env["SEABUS_TABLE_STORE"] = "memory"
        name = f"{SEABUS} (memory tables)"
    elif variant == "seabus-tree":
        if tree is None:
            raise ValueError("the seabus-tree case needs --tree DIR")
        python = str(tree / ".venv" / "bin" / "python")
        if "seabus.deploy" not in (tree / "pyproject.toml").read_text(encoding="utf-8"):
            module = "deploy.cli.main"  # before the one namespace (e5b6950)
        env["PYTHONPATH"] = str(tree)
        cwd = tree  # ``-m`` looks in the current directory first
        commit = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        name = f"{SEABUS} at {commit or tree.name}"
        ctx = None
    argv = [python, "-m", module, "run"]
    if profile is not None:
        argv = [python, "-m", "cProfile", "-o", str(profile), "-m", module, "run"]
    bus = Child(argv, env, cwd=cwd)
    name += " under cProfile" if profile else ""
    result = Result(name)
    try:
        try:
            bus.wait_line(READY_LINE, budget.left(180))
        except RuntimeError as exc:  # this case failed; the run goes on with the others
            result.note = str(exc).splitlines()[0]
            return result
        if profile is not None:  # throughput only: N events, no paced phase
            work = Workload(work.warmup, work.burst, [])
        result = measure(
            result,
            kafka=kafka,
            input_topic=f"{prefix}.allegations",
            notify_topic=f"{prefix}.notify.OSC",
            work=work,
            codec=codec,
            budget=budget,
            pid=bus.proc.pid,
            broker_pid=broker_pid,
        )
    finally:
        code = bus.stop(signal.SIGINT)
        if code != 0:
            result.note += f" bus exited {code}"
        errors = bus.errors()
        if errors:
            result.note += f" {len(errors)} error line(s), first: {errors[0].strip()[:300]}"
        outcomes = intake_outcomes(line for _, line in bus.lines)
        if set(outcomes) - {"routed"}:
            result.note += f" intake outcomes {outcomes}"
        if ctx is not None and result.n:
            verify(
                result,
                kafka,
                prefix,
                bus_outputs(work.all(), ctx, prefix, notifications_only=True),
                codec,
                budget,
            )
        for _, line in bus.lines:
            if '"read model stopped"' in line:  # what the on-call view read back, by topic (issue 16)
                print(f"--- {name}: {line.strip()}", file=sys.stderr)
        if result.note:  # the bus's own account of what went wrong
            print(f"--- {name}: last lines of the bus's stderr ---", file=sys.stderr)
            quiet = [line for _, line in bus.lines if '"allegation event"' not in line]
            print("".join(quiet[-60:]), file=sys.stderr)
    return result


def bench_loop(
    kind: str,
    kafka: KafkaConnection,
    work: Workload,
    codec: Codec,
    budget: Budget,
    workdir: Path,
    ctx: BusContext,
    *,
    broker_pid: int | None = None,
) -> Result:
    prefix = "rb" + uuid.uuid4().hex[:8]
    settings: Settings = load_settings(
        bootstrap=kafka.bootstrap, kafka=kafka.security, topic_prefix=prefix, app_id=prefix
    )
    topics.apply(settings, list(ctx.directory.ids()), kafka=kafka)
    argv = [sys.executable, __file__, "--run-loop", kind, "--prefix", prefix]  # the cluster: env
    argv += ["--max-seconds", str(int(budget.left(600)) + 5)]
    label = {"naive": "naive kafka-python script"}.get(kind, "")
    per_event: float | None = None
    expected = bus_outputs(work.all(), ctx, prefix, notifications_only=True)
    if kind in ("bare", "bare-all"):
        outputs = (
            expected if kind == "bare" else bus_outputs(work.all(), ctx, prefix, notifications_only=False)
        )
        per_event = sum(len(v) for v in outputs.values()) / len(outputs)
        table = workdir / f"{prefix}.outputs.pickle"
        table.write_bytes(pickle.dumps(outputs))
        argv += ["--outputs", str(table)]
        label = "bare aiokafka loop (" + ("notifications" if kind == "bare" else "all bus records") + ")"
    # Only this cluster's SEABUS_* settings: a plaintext child must not inherit SASL settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEABUS_")} | kafka.env()
    env = {**env, "PYTHONPATH": str(REPO)}
    if kind == "quix":  # its own venv, where seabus is the light install of this tree
        argv = [str(quix_python()), str(Path(__file__).with_name("quix_job.py")), "--prefix", prefix]
        argv += ["--routes", str(REPO / "deploy" / "config" / "routes.yaml")]
        argv += ["--state-dir", str(workdir / prefix / "quix-state")]
        argv += ["--max-seconds", str(int(budget.left(600)) + 5)]
        env.pop("PYTHONPATH")
        label = QUIX
    child = Child(argv, env)
    result = Result(label, outputs_per_event=per_event)
    try:
        child.wait_line(LOOP_READY, budget.left(60))
        result = measure(
            result,
            kafka=kafka,
            input_topic=f"{prefix}.allegations",
            notify_topic=f"{prefix}.notify.OSC",
            work=work,
            codec=codec,
            budget=budget,
            pid=child.proc.pid,
            broker_pid=broker_pid,
        )
    finally:
        code = child.stop(signal.SIGTERM, timeout=30)
        if code != 0:
            result.note += f" loop exited {code}: " + "".join(line for _, line in child.lines[-5:])
    if result.n:
        ignore = ("ce_source",) if kind == "naive" else ()
        verify(result, kafka, prefix, expected, codec, budget, ignore_headers=ignore)
    return result


# --- the loops (child processes) ----------------------------------------------------------


async def bare_loop(
    kafka: KafkaConnection, prefix: str, outputs: dict[bytes, list[OutRecord]], max_seconds: float
) -> None:
    """Consume, produce the pre-computed records of each input, await their acks, next input."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    consumer = kafka.aio_consumer(
        f"{prefix}.allegations",
        group_id=prefix,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        auto_commit_interval_ms=1000,
    )
    producer = kafka.aio_producer(acks="all", enable_idempotence=True)
    await producer.start()
    await consumer.start()
    print(LOOP_READY, file=sys.stderr, flush=True)
    deadline = time.monotonic() + max_seconds
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=100)
            for messages in batches.values():
                for message in messages:
                    futures = [
                        await producer.send(topic, value=value, key=key, headers=headers)
                        for topic, key, value, headers in outputs[message.key]
                    ]
                    await asyncio.gather(*futures)
    finally:
        await consumer.stop()
        await producer.stop()


def naive_loop(kafka: KafkaConnection, prefix: str, max_seconds: float) -> None:
    """kafka-python: decode, route, build, encode, and ``send().get()`` each notification."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    codec = Codec()
    rules = load_rules(REPO / "deploy" / "config" / "routes.yaml")
    consumer = kafka.kafka_consumer(
        f"{prefix}.allegations",
        group_id=prefix,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    producer = kafka.kafka_producer(acks="all", enable_idempotence=True, linger_ms=0)
    print(LOOP_READY, file=sys.stderr, flush=True)
    deadline = time.monotonic() + max_seconds
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=100).values():
                for record in records:
                    event = decode_model(record.value, AllegationEvent, codec=codec)
                    decision = rules.decide(event)
                    now = datetime.now(UTC)
                    for n in build_notifications(
                        event,
                        recipients={r: list(c) for r, c in decision.recipients.items()},
                        rules=rules,
                        routed_at=now,
                    ):
                        producer.send(
                            f"{prefix}.notify.{n.recipient}",
                            key=n.allegation_id.encode(),
                            value=encode_model(n, codec=codec),
                            headers=headers_for(
                                n, n.notification_id, n.allegation_id, n.routed_at, "bench/naive"
                            ),
                        ).get(timeout=30)
    finally:
        consumer.close()
        producer.close(timeout=10)


# --- profile summary ----------------------------------------------------------------------

AREAS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("idle (epoll wait)", lambda f, fn: "select.epoll" in fn),
    ("socket send/recv (syscalls)", lambda f, fn: "_socket.socket" in fn),
    ("fastavro (C)", lambda f, fn: "fastavro" in f or "fastavro" in fn),
    ("pydantic (validation, dump)", lambda f, fn: "pydantic" in f or "pydantic" in fn),
    ("seabus schemas.codec", lambda f, fn: f.endswith("schemas/codec.py")),
    ("seabus schemas.validation", lambda f, fn: f.endswith("schemas/validation.py")),
    ("seabus schemas (other)", lambda f, fn: "/schemas/" in f and "site-packages" not in f),
    ("seabus routing", lambda f, fn: "/streams/routing/" in f),
    ("seabus deadlines", lambda f, fn: "/streams/deadlines/" in f),
    ("seabus intake + agents + tables", lambda f, fn: "/streams/" in f and "site-packages" not in f),
    ("faust", lambda f, fn: "/faust/" in f),
    ("mode", lambda f, fn: "/mode/" in f),
    ("aiokafka", lambda f, fn: "/aiokafka/" in f),
    ("kafka-python", lambda f, fn: "/kafka/" in f),
    (
        "logging (structlog, logging, json)",
        lambda f, fn: any(p in f for p in ("structlog", "/logging/", "/json/")),
    ),
    ("asyncio", lambda f, fn: "/asyncio/" in f),
    ("uuid", lambda f, fn: f.endswith("/uuid.py")),
]

KEY_FUNCTIONS = [
    ("streams/intake.py", "handle"),
    ("schemas/codec.py", "decode_model"),
    ("schemas/validation.py", "allegation_event_problems"),
    ("streams/intake.py", "_apply"),
    ("streams/routing/rules.py", "decide"),
    ("streams/agents/deadlines.py", "on_event"),
    ("streams/routing/notifications.py", "build_notifications"),
    ("streams/intake.py", "_notification_out"),
    ("schemas/codec.py", "encode_model"),
    ("streams/agents/deadlines.py", "pending_updates"),
    ("streams/agents/deadlines.py", "settle"),
    ("streams/tables.py", "commit"),
    ("streams/agents/outbound.py", "queue_all"),
    ("faust/tables/base.py", "_maybe_set_key_ttl"),
    ("faust/tables/table.py", "on_key_set"),
    ("faust/tables/base.py", "send_changelog"),
    ("faust/transport/drivers/aiokafka.py", "send"),
    ("faust/topics.py", "publish_message"),
    ("pydantic/main.py", "model_validate"),
    ("pydantic/main.py", "model_dump"),
    ("structlog/_native.py", "meth"),
    ("structlog/stdlib.py", "info"),
]


def summarise_profile(path: Path, top: int = 35) -> str:
    stats = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    areas: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        label = next((name for name, match in AREAS if match(filename, func)), "other (stdlib, builtins)")
        areas[label] = areas.get(label, 0.0) + tottime
    idle = areas.get("idle (epoll wait)", 0.0)
    busy = total - idle
    out = io.StringIO()
    print(f"profiled time {total:.2f} s, of which idle in epoll {idle:.2f} s, busy {busy:.2f} s", file=out)
    print("\nself time by area (share of busy time):", file=out)
    for label, seconds in sorted(areas.items(), key=lambda kv: -kv[1]):
        if label != "idle (epoll wait)":
            print(f"  {label:40} {seconds:8.2f} s  {100 * seconds / busy:5.1f} %", file=out)
    print("\nkey functions (cumulative, includes callees; calls):", file=out)
    for suffix, name in KEY_FUNCTIONS:
        for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            if filename.endswith(suffix) and func == name:
                print(
                    f"  {suffix + ':' + name:60} {ct:8.2f} s  {100 * ct / busy:5.1f} %  {nc:>8} calls",
                    file=out,
                )
    buf = io.StringIO()
    pstats.Stats(str(path), stream=buf).sort_stats("cumulative").print_stats(
        f"{REPO}/(streams|schemas)/", top
    )
    print("\n--- seabus functions by cumulative time ---", file=out)
    print(_trim(buf.getvalue()), file=out)
    buf = io.StringIO()
    pstats.Stats(str(path), stream=buf).sort_stats("tottime").print_stats(top)
    print("--- top by self time ---", file=out)
    print(_trim(buf.getvalue()), file=out)
    return out.getvalue()


def _trim(text: str) -> str:
    """pstats output from its column header on, with the site-packages path shortened."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    site = str(Path(sys.prefix) / "lib")
    return "\n".join(line.replace(site, "<lib>").replace(str(REPO), "<repo>") for line in lines[start:])


# --- report -------------------------------------------------------------------------------


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def report(results: list[Result], *, clusters: dict[str, str], rates: Sequence[float]) -> str:
    out = io.StringIO()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)", file=out)
    for label, description in clusters.items():
        print(f"  {label:9} {description}", file=out)
    paced = "".join(f" {f'p50@{r:g}':>8} {f'p99@{r:g}':>8}" for r in rates)
    header = (
        f"{'round':>5} {'cluster':9} {'case':40} {'N':>6} {'events/s':>9} {'cpu ms/ev':>9} "
        f"{'brk ms/ev':>9} {'out/ev':>7}{paced} {'load1':>6}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in results:
        cells = "".join(
            f" {_f(r.pct(rate, 0.5), '.1f'):>8} {_f(r.pct(rate, 0.99), '.1f'):>8}" for rate in rates
        )
        print(
            f"{r.round:>5} {r.security:9} {r.case:40} {r.n:>6} {_f(r.rate, '.0f'):>9} "
            f"{_f(r.cpu_ms_per_event, '.2f'):>9} {_f(r.broker_cpu_ms_per_event, '.2f'):>9} "
            f"{_f(r.outputs_per_event, '.2f'):>7}"
            f"{cells} {r.load:>6.1f}",
            file=out,
        )
    print(
        "(events/s, cpu ms/ev and brk ms/ev: the burst of N; cpu = the loop's process and its children, "
        "brk = the local broker's process; latencies: ms from publish to the OSC notification "
        "at each paced rate)",
        file=out,
    )
    for r in results:
        if r.children_cpu_ms_per_event is not None and r.cpu_ms_per_event is not None:
            print(
                f"cpu split: round {r.round} {r.security}: {r.case}: its own process "
                f"{r.cpu_ms_per_event - r.children_cpu_ms_per_event:.2f} ms/ev, its child processes "
                f"(the on-call view's) {r.children_cpu_ms_per_event:.2f} ms/ev",
                file=out,
            )
    for r in results:
        if r.note:
            print(f"note: round {r.round} {r.security}: {r.case}: {r.note.strip()}", file=out)
    print("\noutputs checked against the bus's own routing (bus_outputs):", file=out)
    for r in results:
        verdict = "not checked" if r.check is None else ("ok " if r.check.ok else "BAD ") + r.check.summary()
        print(f"  round {r.round} {r.security:9} {r.case:40} {verdict}", file=out)
    print(versus(results, rates), end="", file=out)
    print(baselines(results, rates), end="", file=out)
    if len(clusters) > 1:
        print(security_ratios(results, rates), end="", file=out)
    return out.getvalue()


def baselines(results: list[Result], rates: Sequence[float]) -> str:
    """Per round and cluster: the bus against the loops measured on the same cluster, and the goals."""
    out = io.StringIO()
    for round_, security in sorted({(r.round, r.security) for r in results}):
        by = {r.case: r for r in results if r.round == round_ and r.security == security}
        bus = by.get(SEABUS)
        if bus is None or bus.rate is None:
            continue
        print(f"\nround {round_}, {security}:", file=out)
        for r in by.values():
            if r is not bus and r.rate:
                cpu = ""
                if bus.cpu_ms_per_event and r.cpu_ms_per_event:
                    cpu = f"   CPU per event {bus.cpu_ms_per_event / r.cpu_ms_per_event:5.2f}x"
                print(f"  seabus / {r.case:40} throughput {bus.rate / r.rate:5.2f}x{cpu}", file=out)
        bare = by.get(BARE)
        if bare is not None and bare.rate:
            ratio = bus.rate / bare.rate
            verdict = "met" if ratio >= 0.5 else "NOT met"
            print(f"  goal throughput >= 0.5 x bare: {ratio:.2f} -> {verdict}", file=out)
        goal_rate = rates[0]
        p99 = bus.pct(goal_rate, 0.99)
        if p99 is not None:
            complete = len(bus.latencies_ms[goal_rate]) == bus.paced_sent.get(goal_rate)
            verdict = "met" if p99 < P99_GOAL_MS and complete else "NOT met"
            print(
                f"  goal p99 < {P99_GOAL_MS} ms at {goal_rate:g} events/s: {p99:.1f} ms -> {verdict}",
                file=out,
            )
        if bus.cpu_ms_per_event is not None:
            verdict = "met" if bus.cpu_ms_per_event <= CPU_GOAL_MS else "NOT met"
            print(
                f"  goal CPU <= {CPU_GOAL_MS} ms per event: {bus.cpu_ms_per_event:.2f} ms -> {verdict}",
                file=out,
            )
    return out.getvalue()


# seabus / other in events/s that issue 16 asks for, per compared case.
GOALS = {QUIX: 1.0, BARE: 0.5}


def versus(results: list[Result], rates: Sequence[float], others: Sequence[str] = (QUIX, BARE)) -> str:
    """seabus / Quix and seabus / bare per round and cluster: events/s (above 1 = seabus faster),
    CPU ms per event and p99 at each paced rate (below 1 = seabus cheaper), and the events/s goals."""
    out = io.StringIO()
    paced = "".join(f" {f'p99@{r:g}':>8}" for r in rates)
    header = f"  {'round':>5} {'cluster':9} {'seabus / ...':40} {'events/s':>8} {'cpu ms/ev':>9}{paced}  goal"
    lines = []
    for round_, security in sorted({(r.round, r.security) for r in results}):
        by = {r.case: r for r in results if r.round == round_ and r.security == security}
        bus = by.get(SEABUS)
        if bus is None:
            continue
        for name in others:
            other = by.get(name)
            if other is None:
                continue
            a, b = metrics(bus, rates), metrics(other, rates)
            ratio = {k: (a[k] / b[k] if a[k] is not None and b[k] else None) for k in a}
            cells = "".join(f" {_f(ratio[f'p99@{r:g}'], '.2f'):>8}" for r in rates)
            goal = ""
            if name in GOALS and ratio["events/s"] is not None:
                met = "met" if ratio["events/s"] >= GOALS[name] else "NOT met"
                goal = f"  >= {GOALS[name]:g}: {met}"
            lines.append(
                f"  {round_:>5} {security:9} {name:40} {_f(ratio['events/s'], '.2f'):>8} "
                f"{_f(ratio['cpu ms/ev'], '.2f'):>9}{cells}{goal}"
            )
    if lines:
        print(
            "\nseabus / other, same round and cluster (events/s above 1 = seabus faster; cpu and p99 "
            "below 1 = seabus cheaper):",
            file=out,
        )
        print(header, file=out)
        print("\n".join(lines), file=out)
    return out.getvalue()


def metrics(r: Result, rates: Sequence[float]) -> dict[str, float | None]:
    """The figures compared between clusters, by name."""
    out: dict[str, float | None] = {
        "events/s": r.rate,
        "cpu ms/ev": r.cpu_ms_per_event,
        "brk ms/ev": r.broker_cpu_ms_per_event,
    }
    for rate in rates:
        out[f"p50@{rate:g}"] = r.pct(rate, 0.5)
        out[f"p99@{rate:g}"] = r.pct(rate, 0.99)
    return out


def security_ratios(
    results: list[Result], rates: Sequence[float], *, secured: str = "secured", plain: str = "plaintext"
) -> str:
    """secured / plaintext per case and figure: each round's ratio (the two measured back to back),
    their median and their range; a round where either side has no figure is left out."""
    out = io.StringIO()
    print(
        f"\n{secured} / {plain} (TLS + SCRAM cost; per round, the two measured back to back): "
        "events/s below 1 = slower; cpu, brk and latencies above 1 = costlier",
        file=out,
    )
    rounds = sorted({r.round for r in results})
    print(f"  {'case':40} {'figure':10} {'median':>7} {'min':>6} {'max':>6}   rounds {rounds}", file=out)
    for case in dict.fromkeys(r.case for r in results):
        for name in metrics(Result(case), rates):
            ratios: list[float | None] = []
            for round_ in rounds:
                pair = {r.security: r for r in results if r.case == case and r.round == round_}
                if secured not in pair or plain not in pair:
                    ratios.append(None)
                    continue
                a, b = metrics(pair[secured], rates)[name], metrics(pair[plain], rates)[name]
                ratios.append(a / b if a is not None and b else None)
            known = [x for x in ratios if x is not None]
            if not known:
                continue
            each = " ".join(_f(x, ".2f") for x in ratios)
            print(
                f"  {case:40} {name:10} {statistics.median(known):7.2f} {min(known):6.2f} {max(known):6.2f}"
                f"   {each}",
                file=out,
            )
    return out.getvalue()


QUICK = {"n": 600, "rate": "25", "seconds": 8.0, "repeat": 3, "cases": "seabus,bare"}
FULL = {"n": 5000, "rate": "200,50", "seconds": 10.0, "repeat": 2, "cases": "seabus,quix,bare,bare-all,naive"}


def start_cluster(label: str, workdir: Path) -> LocalCluster:
    cluster = LocalCluster(
        directory=workdir / f"kafka-{label}",
        cache_dir=Path.home() / ".cache" / "seabus",
        nodes=1,
        base_port=free_port_run(2),
        insecure=label == "plaintext",
    )
    cluster.up()
    return cluster


def broker_pid(cluster: LocalCluster | None) -> int | None:
    if cluster is None:
        return None
    pids = [n.pid for n in cluster.status().nodes if n.pid]
    return pids[0] if pids else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=None, help="existing cluster (default: start local ones)")
    parser.add_argument(
        "--security",
        default="plaintext,secured",
        help="local clusters to compare, comma-separated: plaintext (PLAINTEXT), secured "
        "(SASL_SSL + SCRAM-SHA-512 + authorizer); ignored with --bootstrap",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: " + " ".join(f"--{k} {v}" for k, v in QUICK.items()) + " (each overridable)",
    )
    parser.add_argument("--n", type=int, default=None, help=f"events in the throughput burst ({FULL['n']})")
    parser.add_argument(
        "--rate",
        default=None,
        help=f"events/s of the paced latency phases (comma-separated; first = goal; {FULL['rate']})",
    )
    parser.add_argument("--seconds", type=float, default=None, help="length of each paced phase (10)")
    parser.add_argument("--profile", type=Path, default=None, help="also profile the bus, writing this file")
    parser.add_argument(
        "--cases",
        default=None,
        help=f"comma-separated subset of {FULL['cases']}, seabus-memory (in-memory tables), "
        "seabus-tree (the worker of --tree)",
    )
    parser.add_argument("--repeat", type=int, default=None, help="rounds of all cases (interleaved; 2)")
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="bound on the whole run (20; quick 8)"
    )
    parser.add_argument(
        "--tree",
        type=Path,
        default=None,
        help="another checkout (with its own .venv) whose worker the case seabus-tree runs",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip the unreported bare-loop run that warms each broker up",
    )
    parser.add_argument(
        "--bus-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the bus under test, e.g. SEABUS_VIEW__IN_WORKER=false (repeatable)",
    )
    parser.add_argument(
        "--run-loop", choices=["bare", "bare-all", "naive"], help=argparse.SUPPRESS
    )  # quix: quix_job.py
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--outputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=600.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for pair in args.bus_env:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("SEABUS_"):
            parser.error(f"--bus-env takes SEABUS_NAME=VALUE, not {pair!r}")
        EXTRA_BUS_ENV[key] = value

    if args.run_loop is not None:  # child process: one loop under test
        loop_kafka = load_settings().connection()  # SEABUS_BOOTSTRAP, SEABUS_KAFKA__* from the parent
        if args.run_loop == "naive":
            naive_loop(loop_kafka, args.prefix, args.max_seconds)
        else:
            outputs: dict[bytes, list[OutRecord]] = pickle.loads(args.outputs.read_bytes())
            asyncio.run(bare_loop(loop_kafka, args.prefix, outputs, args.max_seconds))
        return 0

    defaults: dict[str, Any] = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.max_minutes is None:
        args.max_minutes = 8.0 if args.quick else 20.0
    securities = [s for s in args.security.split(",") if s]
    if args.bootstrap is None and (not securities or set(securities) - {"plaintext", "secured"}):
        parser.error("--security takes plaintext and/or secured")

    logs.configure(level="warning")  # provisioning chatter off stdout; the tables are the output
    budget = Budget(args.max_minutes * 60)
    workdir = tempfile.TemporaryDirectory(prefix="seabus-bench-routing-")
    clusters: dict[str, LocalCluster | None] = {}
    connections: dict[str, KafkaConnection] = {}
    try:
        if args.bootstrap:
            connections["external"] = Settings(bootstrap=args.bootstrap).connection()
            clusters["external"] = None
        else:
            for label in securities:  # both up for the whole run: each idles while the other works
                cluster = clusters[label] = start_cluster(label, Path(workdir.name))
                connections[label] = cluster.connection()
        described = {
            label: " ".join(
                f"{k}={v}" for k, v in kafka.describe().items() if v is not None and k != "username"
            )
            + (" (local KRaft, started for this run)" if clusters[label] else "")
            for label, kafka in connections.items()
        }
        codec = Codec()
        contexts = {
            label: load_context(load_settings(bootstrap=kafka.bootstrap, kafka=kafka.security))
            for label, kafka in connections.items()
        }
        rates = [float(r) for r in args.rate.split(",")]
        work = make_workload(args.n, rates, args.seconds, codec)
        results: list[Result] = []
        labels = list(connections)
        cases = [c for c in args.cases.split(",") if c]

        def run_case(case: str, label: str, workload: Workload) -> Result:
            kafka, pid = connections[label], broker_pid(clusters[label])
            if case.startswith("seabus"):
                return bench_seabus(
                    kafka,
                    workload,
                    codec,
                    budget,
                    Path(workdir.name),
                    ctx=contexts[label],
                    broker_pid=pid,
                    variant=case,
                    tree=args.tree,
                )
            return bench_loop(
                case, kafka, workload, codec, budget, Path(workdir.name), contexts[label], broker_pid=pid
            )

        if cases and not args.no_warm_up:
            for label in labels:  # not reported: only so that round 1's first case meets a warm broker
                began = time.monotonic()
                run_case(cases[0], label, Workload(work.warmup, work.burst, []))  # the burst, no paced phase
                print(
                    f"warm-up {label}: {cases[0]}, {time.monotonic() - began:.0f} s (not reported)",
                    file=sys.stderr,
                )
        for round_ in range(1, args.repeat + 1):  # cases interleaved: each round sees similar load
            for case in cases if round_ % 2 else cases[::-1]:
                # The clusters back to back for each case, in alternating order (ABBA...), so
                # neither is always first after a case change or always measured later.
                for label in labels if round_ % 2 else labels[::-1]:
                    if budget.left(1) <= 0:
                        print(f"time budget spent; round {round_} {label} {case} skipped", file=sys.stderr)
                        continue
                    began = time.monotonic()
                    result = run_case(case, label, work)
                    result.round = round_
                    result.security = label
                    result.load = os.getloadavg()[0]
                    results.append(result)
                    print(
                        f"round {round_} {label} {result.case}: {time.monotonic() - began:.0f} s",
                        file=sys.stderr,
                    )
        print(report(results, clusters=described, rates=rates))
        if args.profile is not None and budget.left(1) > 0:
            label = labels[-1]
            profiled = bench_seabus(
                connections[label],
                work,
                codec,
                budget,
                Path(workdir.name),
                broker_pid=broker_pid(clusters[label]),
                profile=args.profile.resolve(),
            )
            print(
                f"under cProfile ({label}): {profiled.routed}/{profiled.n} routed, "
                f"{_f(profiled.rate, '.0f')} events/s {profiled.note}"
            )
            if args.profile.exists():
                print(summarise_profile(args.profile))
            else:
                print(f"no profile written to {args.profile}")
    finally:
        for cluster in clusters.values():
            if cluster is not None:
                cluster.down()
        workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
