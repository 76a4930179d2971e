"""The fault run: SIGKILL brokers and workers under load, then check every acknowledged event was delivered.

    PYTHONPATH=tests .venv/bin/python -m faults.run --broker-kills 10 --worker-kills 10 --allegations 3000

What it does (docs/RELIABILITY.md has the details and the figures of past runs):

1. a 3-node KRaft cluster in the run directory; the bus's topics with replication
   factor 3 and min.insync.replicas 2 (``seabus topics apply`` with
   ``SEABUS_TOPICS__DEFAULTS__*`` overrides);
2. two ``seabus run`` workers in one consumer group (same app id and prefix, own
   data dirs and web ports, gateway off), stderr to ``worker-N.K.log``;
3. a publisher (the SDK, acks=all) sending REPORTED events and UPDATED events for
   about a third of the allegations, recording every acknowledged event;
4. interleaved faults while it publishes: SIGKILL of the broker leading most
   ``<prefix>.allegations`` partitions (restarted after ``--broker-down``
   seconds, then waited for until every partition is back in sync), and SIGKILL
   of a worker's whole process tree (restarted after ``--worker-down`` seconds,
   waited for until ready);
5. after the last fault and the last acknowledgement, a bounded wait until every
   expected notification is seen, then an independent read of every
   ``<prefix>.notify.*`` partition up to its end offset, and the verdict.

Exit status: 0 nothing missing, 1 notifications missing (or the read failed), 2 the
run could not carry out its schedule.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kafka import TopicPartition
from support import REPO, bus_env, unique_prefix

from faults.cluster import FaultCluster
from faults.events import Planned, plan_events
from faults.observe import (
    Collector,
    bus_progress,
    committed_offsets,
    end_offsets,
    read_to_end,
    topics_with_prefix,
)
from faults.publisher import LoadPublisher
from faults.verify import Verdict, expected_pairs, load_routing, verify
from faults.workers import Worker
from seabus.schemas.codec import decode_model
from seabus.schemas.errors import CodecError, ValidationFailed
from seabus.schemas.ids import escalation_id
from seabus.schemas.models import DeadLetter, Escalation


@dataclass
class FaultConfig:
    allegations: int = 3000
    broker_kills: int = 10
    worker_kills: int = 10
    rate: float = 8.0  # events per second the publisher aims for
    broker_down_s: float = 12.0  # above KRaft's broker.session.timeout.ms (9 s): leaders move, ISRs shrink
    worker_down_s: float = 3.0
    recovery_timeout_s: float = 180.0
    complete_timeout_s: float = 120.0
    seed: int = 71278
    update_share: float = 1 / 3
    overlap: bool = True  # every second broker fault encloses the next worker fault (kill + restart)
    via_inbound: bool = False  # agencies publish to their own <prefix>.inbound.<ENTITY>; the forwarder relays


@dataclass
class FaultRecord:
    index: int
    kind: str  # "broker" or "worker"
    target: str
    at_s: float  # seconds since the run started
    down_s: float = 0.0
    recovery_s: float = 0.0  # from restart to in sync / ready
    acked_before: int = 0
    detail: str = ""


@dataclass
class FaultReport:
    config: FaultConfig
    directory: str
    prefix: str = ""
    bootstrap: str = ""
    planned_events: int = 0
    planned_updates: int = 0
    published: int = 0  # acknowledged (an event is published when Kafka acknowledged it)
    failed_sends: int = 0
    resent_events: int = 0
    faults: list[FaultRecord] = field(default_factory=list)
    unexpected_exits: list[str] = field(default_factory=list)
    topic_shape: dict[str, Any] = field(default_factory=dict)
    internal_min_isr_fixed: list[str] = field(default_factory=list)
    expected: int = 0
    found: int = 0
    missing: int = 0
    events_missing: int = 0
    first_missing: list[str] = field(default_factory=list)
    missing_by_partition: dict[int, int] = field(default_factory=dict)
    notifications_raw: int = 0
    notifications_distinct: int = 0
    duplicates: int = 0
    undecodable: int = 0
    unexpected_notifications: int = 0
    mismatched: list[str] = field(default_factory=list)
    order_violations: int = 0
    held_updates: int = 0
    held_in_logs: int = 0
    duplicates_in_logs: int = 0
    errors_in_logs: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    lag_committed: int | None = None
    lag_detail: dict[str, int] = field(default_factory=dict)
    lag_bus: int | None = None
    last_fault_to_lag0_s: float | None = None
    lag_bus_detail: dict[str, int] = field(default_factory=dict)
    recipients: dict[str, int] = field(default_factory=dict)
    setup_s: float = 0.0
    publish_s: float = 0.0
    last_fault_to_complete_s: float | None = None
    last_ack_to_complete_s: float | None = None
    total_s: float = 0.0
    complete: bool = False
    error: str | None = None

    @property
    def schedule_done(self) -> bool:
        return (
            self.error is None
            and len(self.faults) == self.config.broker_kills + self.config.worker_kills
            and self.published == self.planned_events
        )

    @property
    def ok(self) -> bool:
        return (
            self.schedule_done
            and self.expected > 0
            and self.missing == 0
            and not self.mismatched
            and self.lag_bus == 0
        )

    @property
    def exit_code(self) -> int:
        if not self.schedule_done:
            return 2
        return 0 if self.ok else 1

    def summary(self) -> str:
        c = self.config
        broker = [f for f in self.faults if f.kind == "broker"]
        worker = [f for f in self.faults if f.kind == "worker"]

        def avg(values: list[float]) -> str:
            return f"{sum(values) / len(values):.1f}s" if values else "-"

        lines = [
            "=" * 72,
            f"seabus fault run: {'PASS' if self.ok else 'FAIL'}  (exit {self.exit_code})",
            f"  directory            {self.directory}",
            f"  prefix / group       {self.prefix}",
            f"  schedule             {c.broker_kills} broker + {c.worker_kills} worker SIGKILLs, "
            f"{c.allegations} allegations, {c.rate:g} events/s, overlap {'on' if c.overlap else 'off'}"
            + (", via the inbound topics" if c.via_inbound else ""),
            f"  topics               {self.topic_shape}",
            f"  internal topics given min ISR 2 by the harness: {len(self.internal_min_isr_fixed)}",
            f"  events planned       {self.planned_events} ({self.planned_updates} updates)",
            f"  events acknowledged  {self.published}  (sends not acknowledged and retried: {self.failed_sends}, "
            f"events sent more than once: {self.resent_events})",
            f"  faults done          {len(broker)} broker (avg recovery {avg([f.recovery_s for f in broker])}), "
            f"{len(worker)} worker (avg restart {avg([f.recovery_s for f in worker])})",
            f"  unexpected exits     {len(self.unexpected_exits)}"
            + (f": {'; '.join(self.unexpected_exits[:5])}" if self.unexpected_exits else ""),
            f"  notifications        expected {self.expected}, found {self.found}, MISSING {self.missing} "
            f"(of {self.events_missing} event(s))",
            f"  duplicates           {self.duplicates} (raw {self.notifications_raw}, distinct ids "
            f"{self.notifications_distinct}); worker log 'duplicate' outcomes: {self.duplicates_in_logs}",
            f"  unexpected / undecodable / mismatched  {self.unexpected_notifications} / {self.undecodable} / "
            f"{len(self.mismatched)}",
            f"  first-delivery order violations  {self.order_violations}",
            f"  held updates         {self.held_updates} (HELD escalations); worker log 'held' outcomes: "
            f"{self.held_in_logs}",
            f"  dead letters         {self.dead_letters or 0}",
            f"  worker error lines   {self.errors_in_logs}",
            f"  lag at end           {self.lag_bus if self.lag_bus is not None else '-'} "
            f"(end offset - the bus's expected offset in source-progress, {self.prefix}.allegations + "
            f"responses) {self.lag_bus_detail or ''}; 0 reached "
            + (
                f"{self.last_fault_to_lag0_s:.1f}s after the last fault"
                if self.last_fault_to_lag0_s is not None
                else "never"
            ),
            f"  group lag at end     {self.lag_committed if self.lag_committed is not None else '-'} "
            f"(end offset - committed offset; informative, the bus does not rely on it) {self.lag_detail or ''}",
            f"  durations            setup {self.setup_s:.0f}s, publishing {self.publish_s:.0f}s, total "
            f"{self.total_s:.0f}s",
            "  last fault -> complete  "
            + (
                f"{self.last_fault_to_complete_s:.1f}s"
                if self.last_fault_to_complete_s is not None
                else "never"
            )
            + ";  last ack -> complete  "
            + (f"{self.last_ack_to_complete_s:.1f}s" if self.last_ack_to_complete_s is not None else "never"),
        ]
        if self.missing_by_partition:
            lines.append(f"  missing events by allegations partition  {self.missing_by_partition}")
        if self.first_missing:
            lines.append("  first missing:")
            lines += [f"    {m}" for m in self.first_missing]
        if self.mismatched:
            lines.append("  mismatched:")
            lines += [f"    {m}" for m in self.mismatched[:10]]
        if self.error:
            lines.append(f"  ERROR: {self.error}")
        lines.append("=" * 72)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ok=self.ok, exit_code=self.exit_code, schedule_done=self.schedule_done)
        return data


def fault_schedule(broker_kills: int, worker_kills: int) -> list[str]:
    """Interleave the two kinds evenly, starting with a broker."""
    total = broker_kills + worker_kills
    out: list[str] = []
    b = w = 0
    for _ in range(total):
        # Pick the kind that is furthest behind its share.
        if w >= worker_kills or (b < broker_kills and b * worker_kills <= w * broker_kills):
            out.append("broker")
            b += 1
        else:
            out.append("worker")
            w += 1
    return out


class ScheduleFailed(RuntimeError):
    pass


class FaultRun:
    def __init__(
        self, config: FaultConfig, directory: Path, *, echo: Callable[[str], None] | None = None
    ) -> None:
        self.config = config
        self.directory = directory
        self.report = FaultReport(config=config, directory=str(directory))
        self._echo = echo or (lambda line: print(line, flush=True))
        self.t0 = time.monotonic()
        self.cluster = FaultCluster(directory / "kafka")
        self.workers: list[Worker] = []
        self.deliberately_down: set[str] = set()
        self.publisher: LoadPublisher | None = None
        self.collector: Collector | None = None
        self.faults_started = 0
        self.schedule = fault_schedule(config.broker_kills, config.worker_kills)
        self.planned: list[Planned] = []
        self.prefix = ""
        self.publish_started = self.last_fault_end = self.last_ack = time.monotonic()
        self._broker_killed_at = self._killed_at = 0.0
        self._log = (directory / "run.log").open("a")

    # --- small helpers -----------------------------------------------------------

    def echo(self, message: str) -> None:
        line = f"[faults {time.monotonic() - self.t0:7.1f}s] {message}"
        self._echo(line)
        self._log.write(line + "\n")
        self._log.flush()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def wait(
        self, predicate: Callable[[], bool], *, timeout_s: float, what: str, every_s: float = 1.0
    ) -> None:
        """Poll ``predicate`` (collecting notifications meanwhile) until it holds; ScheduleFailed after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.watch()
            if predicate():
                return
            if time.monotonic() > deadline:
                raise ScheduleFailed(f"timed out after {timeout_s:.0f}s waiting for {what}")
            self.idle(every_s)

    def idle(self, seconds: float) -> None:
        if self.collector is not None:
            self.collector.poll(seconds)
        else:
            time.sleep(seconds)

    def hold_for(self, seconds: float) -> None:
        """A deliberate outage of a fixed length (the fault itself, not a stand-in for a condition)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.watch()
            self.idle(min(1.0, left))

    def watch(self) -> None:
        """Fail fast on a publisher crash; restart (and record) any worker that died on its own."""
        if self.publisher is not None and self.publisher.error is not None:
            raise ScheduleFailed(f"publisher failed: {self.publisher.error!r}")
        for w in self.workers:
            if w.name in self.deliberately_down or w.alive() or w.proc is None:
                continue
            code = w.proc.returncode
            note = f"{w.name} exited on its own (status {code}) at {self.elapsed():.0f}s; log {w.log_file}"
            self.report.unexpected_exits.append(note)
            self.echo("UNEXPECTED: " + note + "\n" + w.log_tail(15))
            if len(self.report.unexpected_exits) > 20:
                raise ScheduleFailed("workers keep exiting on their own; giving up")
            w.start()

    def allowance(self) -> int:
        total = len(self.planned)
        faults = len(self.schedule)
        if self.faults_started >= faults:
            return total
        return math.ceil(total * (self.faults_started + 1) / (faults + 1))

    # --- the run -------------------------------------------------------------------

    def run(self) -> FaultReport:
        try:
            self._setup()
            self._faults()
            self._finish()
        except Exception as exc:
            self.report.error = f"{type(exc).__name__}: {exc}"
            self.echo(f"run aborted: {self.report.error}")
        finally:
            self._teardown()
            self.report.total_s = self.elapsed()
            (self.directory / "report.json").write_text(
                json.dumps(self.report.to_json(), indent=2, default=str)
            )
            self._log.close()
        return self.report

    def _setup(self) -> None:
        self.echo(f"starting a 3-node KRaft cluster in {self.directory / 'kafka'}")
        self.cluster.up()
        kafka = self.cluster.connection
        prefix = unique_prefix()
        self.prefix = prefix
        self.report.prefix, self.report.bootstrap = prefix, kafka.bootstrap
        self.echo(
            f"cluster up: {kafka.bootstrap} ({kafka.security.security_protocol}); topic prefix and consumer group {prefix}"
        )
        shape = {
            "SEABUS_TOPICS__DEFAULTS__REPLICATION_FACTOR": 3,
            "SEABUS_TOPICS__DEFAULTS__MIN_INSYNC_REPLICAS": 2,
            "SEABUS_GATEWAY__ENABLED": "false",
            "SEABUS_LOG_LEVEL": "info",
        }
        envs = [
            bus_env(kafka=kafka, prefix=prefix, data_dir=self.directory / f"worker-{i}", **shape)
            for i in (1, 2)
        ]
        with (self.directory / "topics-apply.log").open("wb") as out:
            subprocess.run(
                [sys.executable, "-m", "seabus.deploy.cli.main", "topics", "apply"],
                env=envs[0],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=180,
                check=True,
            )
        core = [f"{prefix}.{t}" for t in ("allegations", "responses", "escalations", "deadletter", "audit")]
        rf = self.cluster.replication(core)
        isr = self.cluster.topic_configs(core, "min.insync.replicas")
        self.report.topic_shape = {
            "replication_factor": sorted(set(rf.values())),
            "min_isr": sorted(set(isr.values())),
        }
        if set(rf.values()) != {3} or set(isr.values()) != {"2"}:
            raise ScheduleFailed(f"topics not provisioned as asked: replication {rf}, min ISR {isr}")
        self.workers = [
            Worker(f"worker-{i}", env, self.directory) for i, env in zip((1, 2), envs, strict=True)
        ]
        for w in self.workers:  # one after the other, as a deployment would
            w.start()
            self.wait(w.ready, timeout_s=self.config.recovery_timeout_s, what=f"{w.name} ready")
            self.echo(f"{w.name} ready (pid {w.pid})")
        internal = topics_with_prefix(kafka, prefix + "-")
        # Faust creates its changelog topics itself, with replication 3 but the broker's default min ISR (1).
        self.report.internal_min_isr_fixed = self.cluster.set_min_isr(internal, 2)
        if self.report.internal_min_isr_fixed:
            self.echo(
                f"set min.insync.replicas=2 on Faust's own topics: {self.report.internal_min_isr_fixed}"
            )
        self.planned = plan_events(
            self.config.allegations,
            run_tag=prefix[1:7].upper(),
            seed=self.config.seed,
            update_share=self.config.update_share,
        )
        self.report.planned_events = len(self.planned)
        self.report.planned_updates = sum(p.event.sequence > 1 for p in self.planned)
        self.collector = Collector(kafka, prefix)
        self.report.setup_s = self.elapsed()

    def _faults(self) -> None:
        total = len(self.planned)
        faults = len(self.schedule)
        self.publisher = LoadPublisher(
            kafka=self.cluster.connection,
            topic=f"{self.prefix}.allegations",
            inbound_prefix=self.prefix if self.config.via_inbound else None,
            planned=self.planned,
            rate=self.config.rate,
            allowance=self.allowance,
        )
        self.publish_started = time.monotonic()
        self.echo(
            f"publishing {total} events ({self.report.planned_updates} updates) at ~{self.config.rate:g}/s"
        )
        self.publisher.start()
        publisher = self.publisher
        slot_s = total / (faults + 1) / self.config.rate
        worker_turn = 0
        brokers_done = 0
        index = 0
        while index < faults:
            kind = self.schedule[index]
            threshold = total * (index + 0.5) / (faults + 1)

            def reached(t: float = threshold) -> bool:
                return publisher.acked_count >= t or publisher.done

            self.wait(
                reached,
                timeout_s=4 * slot_s + self.config.recovery_timeout_s,
                what=f"{math.ceil(threshold)} acknowledged events before fault {index + 1}",
            )
            self.faults_started = index + 1
            if kind == "broker":
                brokers_done += 1
                combined = (
                    self.config.overlap
                    and brokers_done % 2 == 0
                    and index + 1 < faults
                    and self.schedule[index + 1] == "worker"
                )
                during = None
                if combined:
                    worker = self.workers[worker_turn % len(self.workers)]
                    worker_turn += 1
                    fault_no = index + 1

                    pending: list[FaultRecord] = []

                    def during(
                        w: Worker = worker, n: int = fault_no, pending: list[FaultRecord] = pending
                    ) -> None:
                        self.faults_started = n + 1
                        rec = self._kill_worker(n, w, note="while a broker is down")
                        outage_end = self._broker_killed_at + self.config.broker_down_s
                        if not self._restart_worker(w, rec, deadline=outage_end):
                            rec.detail += "; could not start until the broker was back"
                            pending.append(rec)
                        self.report.faults.append(rec)

                    def after(w: Worker = worker, pending: list[FaultRecord] = pending) -> None:
                        for rec in pending:
                            if not self._restart_worker(
                                w, rec, deadline=time.monotonic() + self.config.recovery_timeout_s
                            ):
                                raise ScheduleFailed(f"{w.name} could not be restarted")

                self.report.faults.append(self._broker_fault(index, during, after if combined else None))
                if combined:  # the broker record goes before the worker record it enclosed
                    self.report.faults[-2:] = self.report.faults[-2:][::-1]
                    index += 1
            else:
                worker = self.workers[worker_turn % len(self.workers)]
                self.report.faults.append(self._worker_fault(index, worker))
                worker_turn += 1
            self.last_fault_end = time.monotonic()
            index += 1
        self.faults_started = faults
        remaining = total - publisher.acked_count
        self.wait(
            lambda: publisher.done,
            timeout_s=3 * remaining / self.config.rate + 300,
            what="the publisher to have every event acknowledged",
        )
        self.last_ack = max((a.acked_at for a in publisher.acked), default=time.monotonic())
        self.report.publish_s = self.last_ack - self.publish_started
        if not self.schedule:
            self.last_fault_end = self.publish_started
        self.echo(
            f"all {publisher.acked_count} events acknowledged; {publisher.failed_sends} sends were retried"
        )

    def _broker_fault(
        self,
        index: int,
        during: Callable[[], None] | None = None,
        after: Callable[[], None] | None = None,
    ) -> FaultRecord:
        topic = f"{self.prefix}.allegations"
        node, leaders = self.cluster.leader_of_most(topic)
        acked = self.publisher.acked_count if self.publisher else 0
        record = FaultRecord(
            index=index + 1, kind="broker", target=f"node-{node}", at_s=self.elapsed(), acked_before=acked
        )
        pid = self.cluster.kill(node)
        killed = self._broker_killed_at = time.monotonic()
        self.echo(f"fault {index + 1}: SIGKILL kafka node {node} (pid {pid}; leaders of {topic}: {leaders})")
        if during is None:
            self.hold_for(self.config.broker_down_s)
        else:  # a combined fault: a worker is killed and restarted while this broker is down
            self.hold_for(1.0)
            during()
            self.hold_for(max(0.0, self.config.broker_down_s - (time.monotonic() - killed)))
        try:
            _, moved = self.cluster.leader_of_most(topic)
        except Exception as exc:
            moved = {"?": 0}
            self.echo(f"fault {index + 1}: leaders during the outage unknown ({exc!r})")
        self.cluster.restart(node)
        restarted = time.monotonic()
        if after is not None:
            after()
        record.down_s = restarted - killed
        prefixes = (self.prefix + ".", self.prefix + "-")
        # In sync only counts once the new incarnation answers: until the controller notices a
        # short outage, metadata still shows the dead node in every ISR.
        self.wait(
            lambda: self.cluster.answering(node) and self.cluster.healthy(prefixes),
            timeout_s=self.config.recovery_timeout_s,
            what=f"kafka node {node} back and every partition in sync",
            every_s=2.0,
        )
        record.recovery_s = time.monotonic() - restarted
        record.detail = f"leaders before: {leaders}, during the outage: {moved}" + (
            "; a worker fault inside" if during else ""
        )
        self.echo(
            f"fault {index + 1}: node {node} back, all partitions in sync after {record.recovery_s:.1f}s "
            f"(leaders during the outage: {moved})"
        )
        return record

    def _worker_fault(self, index: int, worker: Worker, *, note: str = "") -> FaultRecord:
        record = self._kill_worker(index, worker, note=note)
        if not self._restart_worker(
            worker, record, deadline=time.monotonic() + self.config.recovery_timeout_s
        ):
            raise ScheduleFailed(f"{worker.name} could not be restarted")
        return record

    def _kill_worker(self, index: int, worker: Worker, *, note: str = "") -> FaultRecord:
        acked = self.publisher.acked_count if self.publisher else 0
        record = FaultRecord(
            index=index + 1,
            kind="worker",
            target=worker.name,
            at_s=self.elapsed(),
            acked_before=acked,
            detail=note,
        )
        if not worker.ready():  # restarted after an unexpected exit: let it finish starting first
            self.wait(worker.ready, timeout_s=self.config.recovery_timeout_s, what=f"{worker.name} ready")
        self.deliberately_down.add(worker.name)
        pid = worker.pid
        worker.kill()
        self._killed_at = time.monotonic()
        self.echo(
            f"fault {index + 1}: SIGKILL {worker.name} (pid {pid}, whole process tree){' ' + note if note else ''}"
        )
        self.hold_for(self.config.worker_down_s)
        record.down_s = time.monotonic() - self._killed_at
        return record

    def _restart_worker(self, worker: Worker, record: FaultRecord, *, deadline: float) -> bool:
        """Start ``worker`` until it is ready (True) or ``deadline`` passes (False, left stopped)."""
        started = time.monotonic()
        while time.monotonic() < deadline:
            if not worker.alive():  # still starting from an earlier call: keep waiting for it
                worker.start()
            try:
                self.wait(
                    lambda: worker.ready() or not worker.alive(),
                    timeout_s=max(1.0, deadline - time.monotonic()),
                    what=f"{worker.name} ready",
                )
            except ScheduleFailed:
                return False  # still starting; the caller decides whether that is a failure
            if worker.ready():
                self.deliberately_down.discard(worker.name)
                record.recovery_s = time.monotonic() - started
                self.echo(f"fault {record.index}: {worker.name} ready again after {record.recovery_s:.1f}s")
                return True
            note = (
                f"{worker.name} exited during start {worker.starts} (status "
                f"{worker.proc.returncode if worker.proc else '?'}) at {self.elapsed():.0f}s; log {worker.log_file}"
            )
            self.report.unexpected_exits.append(note)
            self.echo("UNEXPECTED: " + note + "\n" + worker.log_tail(6))
            self.hold_for(
                min(2.0, max(0.0, deadline - time.monotonic()))
            )  # restart pacing, like a supervisor
        return False

    def _finish(self) -> None:
        assert self.publisher is not None
        assert self.collector is not None
        acked = self.publisher.snapshot()
        self.report.published = len(acked)
        self.report.failed_sends = self.publisher.failed_sends
        self.report.resent_events = sum(a.attempts > 1 for a in acked)
        planned = {p.event_id: p for p in self.planned}
        want = set(expected_pairs(acked, planned, load_routing()))
        started = time.monotonic()
        collector = self.collector
        self.echo(f"waiting up to {self.config.complete_timeout_s:.0f}s for {len(want)} notifications")
        try:
            self.wait(
                lambda: want <= collector.seen,
                timeout_s=self.config.complete_timeout_s,
                what="every expected notification",
            )
            done = time.monotonic()
            self.report.complete = True
            self.report.last_fault_to_complete_s = done - self.last_fault_end
            self.report.last_ack_to_complete_s = done - self.last_ack
            self.echo(
                f"every expected notification seen {done - started:.1f}s after the last acknowledgement wait"
            )
        except ScheduleFailed:
            self.echo(f"still {len(want - collector.seen)} notification(s) not seen; reading everything")
        self._lag()
        kafka = self.cluster.connection
        notify = topics_with_prefix(kafka, f"{self.prefix}.notify.")
        self.echo(f"independent read of {len(notify)} notify topics up to their end offsets")
        records = read_to_end(kafka, notify)
        verdict = verify(acked, planned, records)
        self._record_verdict(verdict)
        self._operational(acked)

    def _lag(self) -> None:
        """Poll the bus's own lag until it is 0, at most until ``complete_timeout`` after the
        last fault (but at least once); the run fails unless it reached 0."""
        deadline = self.last_fault_end + self.config.complete_timeout_s
        while True:
            self._measure_lag()
            if self.report.lag_bus == 0:
                self.report.last_fault_to_lag0_s = time.monotonic() - self.last_fault_end
                return
            if time.monotonic() > deadline:
                self.echo(
                    f"bus lag still {self.report.lag_bus} at the deadline: {self.report.lag_bus_detail}"
                )
                return
            self.idle(2.0)

    def _measure_lag(self) -> None:
        topics = [f"{self.prefix}.allegations", f"{self.prefix}.responses"]
        if self.config.via_inbound:
            topics += sorted({f"{self.prefix}.inbound.{p.event.reporting_entity}" for p in self.planned})
        try:
            end = end_offsets(self.cluster.connection, topics)
            committed = committed_offsets(self.cluster.connection, self.prefix, list(end))
            progress = bus_progress(self.cluster.connection, self.prefix)
            if self.config.via_inbound:
                progress |= bus_progress(self.cluster.connection, self.prefix, table="inbound-progress")
        except Exception as exc:
            self.echo(f"could not measure lag: {exc!r}")
            self.report.lag_bus = None
            return

        def name(tp: TopicPartition) -> str:
            return f"{tp.topic.rsplit('.', 1)[1]}/{tp.partition}"

        # An empty partition nobody has read has no commit and no progress: lag 0, not -1.
        group = {name(tp): end[tp] - committed.get(tp, 0) for tp in end}
        bus = {name(tp): end[tp] - progress.get(tp, 0) for tp in end}
        self.report.lag_committed = sum(group.values())
        self.report.lag_detail = {k: v for k, v in group.items() if v}
        self.report.lag_bus = sum(bus.values())
        self.report.lag_bus_detail = {k: v for k, v in bus.items() if v}

    def _record_verdict(self, v: Verdict) -> None:
        r = self.report
        r.expected, r.found, r.missing = v.expected, v.found, len(v.missing)
        r.events_missing = v.events_missing
        r.first_missing = [str(m) for m in v.missing[:15]]
        r.missing_by_partition = v.missing_by_partition
        r.notifications_raw, r.notifications_distinct, r.duplicates = (
            v.notifications_raw,
            v.notifications_distinct,
            v.duplicates,
        )
        r.undecodable, r.unexpected_notifications, r.mismatched = v.undecodable, v.unexpected, v.mismatched
        r.order_violations = v.order_violations
        r.recipients = dict(sorted(v.recipients.items()))

    def _operational(self, acked: list[Any]) -> None:
        """Held updates (HELD escalations of our updates), dead letters, and what the worker logs say."""
        kafka = self.cluster.connection
        held_ids = {escalation_id(a.event_id, "HELD") for a in acked if a.sequence > 1}
        ours = {(a.partition, a.offset) for a in acked}
        held = set()
        dead: Counter[str] = Counter()
        try:
            for rec in read_to_end(kafka, [f"{self.prefix}.escalations"]):
                with contextlib.suppress(CodecError, ValidationFailed):
                    e = decode_model(rec.value or b"", Escalation)
                    if e.escalation_id in held_ids or "is held" in e.reason:
                        held.add(e.escalation_id)
            for rec in read_to_end(kafka, [f"{self.prefix}.deadletter"]):
                with contextlib.suppress(CodecError, ValidationFailed):
                    d = decode_model(rec.value or b"", DeadLetter)
                    mine = (
                        d.source_topic.endswith(".allegations")
                        and (d.source_partition, d.source_offset) in ours
                    )
                    dead[f"{d.reason.value}{'' if mine else ' (other)'}"] += 1
        except Exception as exc:
            self.echo(f"could not read escalations / dead letters: {exc!r}")
        self.report.held_updates = len(held)
        self.report.dead_letters = dict(dead)
        for log in sorted(self.directory.glob("worker-*.log")):
            text = log.read_text(errors="replace")
            # The per-event line is at debug (issue 16); at info the intake logs counts.
            for line in text.splitlines():
                if '"intake summary"' in line:
                    with contextlib.suppress(ValueError):
                        counts = json.loads(line)
                        self.report.held_in_logs += int(counts.get("held", 0))
                        self.report.duplicates_in_logs += int(counts.get("duplicate", 0))
            self.report.errors_in_logs += text.count('"level": "error"')

    def _stop_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()
            self.publisher.join(timeout=60)

    def _teardown(self) -> None:
        """Stop everything this run started, whatever failed before; each step on its own."""
        steps: list[tuple[str, Callable[[], object]]] = []
        if self.publisher is not None:
            steps.append(("publisher", self._stop_publisher))
        if self.collector is not None:
            steps.append(("collector", self.collector.close))
        steps += [(w.name, functools.partial(w.stop, timeout_s=60)) for w in self.workers]
        steps.append(("cluster", self.cluster.down))  # every node together
        for name, step in steps:
            try:
                step()
            except Exception as exc:
                self.echo(f"stopping {name}: {exc!r}")
        for w in self.workers:
            with contextlib.suppress(Exception):
                w.kill()
        self.echo("workers and cluster stopped")


def run_faults(
    config: FaultConfig, directory: Path, *, echo: Callable[[str], None] | None = None
) -> FaultReport:
    directory.mkdir(parents=True, exist_ok=True)
    return FaultRun(config, directory, echo=echo).run()


def main(argv: list[str] | None = None) -> int:
    d = FaultConfig()
    parser = argparse.ArgumentParser(prog="python -m faults.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--allegations", type=int, default=d.allegations)
    parser.add_argument("--broker-kills", type=int, default=d.broker_kills)
    parser.add_argument("--worker-kills", type=int, default=d.worker_kills)
    parser.add_argument("--rate", type=float, default=d.rate, help="events per second (default %(default)s)")
    parser.add_argument(
        "--broker-down", type=float, default=d.broker_down_s, help="seconds a killed broker stays down"
    )
    parser.add_argument(
        "--worker-down", type=float, default=d.worker_down_s, help="seconds a killed worker stays down"
    )
    parser.add_argument("--complete-timeout", type=float, default=d.complete_timeout_s)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument(
        "--no-overlap",
        action="store_true",
        help="never kill a worker while a broker is down (default: every second broker fault encloses one)",
    )
    parser.add_argument(
        "--directory", type=Path, help="run directory (default: a new one under the temp dir)"
    )
    parser.add_argument(
        "--via-inbound",
        action="store_true",
        help="publish each agency's events to its own <prefix>.inbound.<ENTITY> (through the forwarder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run directory even when the run passes")
    args = parser.parse_args(argv)
    config = FaultConfig(
        allegations=args.allegations,
        broker_kills=args.broker_kills,
        worker_kills=args.worker_kills,
        rate=args.rate,
        broker_down_s=args.broker_down,
        worker_down_s=args.worker_down,
        complete_timeout_s=args.complete_timeout,
        seed=args.seed,
        overlap=not args.no_overlap,
        via_inbound=args.via_inbound,
    )
    directory = args.directory or Path(tempfile.mkdtemp(prefix="seabus-faults-"))
    report = run_faults(config, directory)
    print(report.summary(), flush=True)
    if report.ok and not args.keep and args.directory is None:
        shutil.rmtree(directory / "kafka", ignore_errors=True)  # the logs and report.json stay
    return report.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
