"""Benchmark the delivery service end to end: notify topics on a real broker → lanes → webhooks.

Where ``run.py`` measures the webhook library alone, this runs what ``seabus
run`` runs (:class:`seabus.connectors.delivery.Delivery`: one consumer per recipient,
every attempt written to the audit topic and acknowledged before the offset is
committed) against a real Kafka broker and real receivers in a child process.

A backlog of N notifications per healthy recipient is put on their notify
topics first (a burst: a mission uploading a year of cases); then delivery
starts. Measured for the healthy recipients only:

* throughput: notifications delivered per second, from delivery start to the
  last healthy lane done;
* latency: from delivery start to the audit record of each 2xx (the backlog's
  queueing included), p50 and p99 — the Kafka timestamp of the audit record.

Run 2 adds one recipient whose endpoint accepts connections and never answers,
with its own backlog. If lanes isolate recipients, run 2's healthy figures
match run 1's.

    .venv/bin/python bench/delivery/service.py [--per-recipient 200] [--recipients 8]

Uses ``SEABUS_BOOTSTRAP`` when set, else starts a local broker for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kafka import TopicPartition
from run import HEALTHY_IDS, serve_receivers

from seabus.connectors.delivery import Delivery, DeliveryConfig, RetrySettings, build_delivery
from seabus.connectors.webhooks import generate_secret
from seabus.deploy import topics
from seabus.deploy.kafka import LocalCluster
from seabus.schemas.codec import decode_model, default_codec, encode_model
from seabus.schemas.enums import DeliveryOutcome
from seabus.schemas.models import DeliveryAttempt
from seabus.schemas.testing import synthetic_notification
from seabus.streams import logs
from seabus.streams.config import load_settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

STALLED = "ZMB"  # a real alpha-3 code, not among HEALTHY_IDS


@dataclass(frozen=True)
class Result:
    label: str
    delivered: int
    seconds: float
    p50_ms: float
    p99_ms: float
    stalled_processed: int

    @property
    def per_second(self) -> float:
        return self.delivered / self.seconds


def free_port() -> int:
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                s.close()
                with socket.socket() as t:
                    t.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise SystemExit("no free port pair found")


def directory(urls: dict[str, str], secret_env: str, stall_timeout_s: float) -> RecipientsDirectory:
    entries: list[dict[str, object]] = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA")]
    for rid, url in urls.items():
        timeout = stall_timeout_s if rid == STALLED else 10.0
        hook = {"url": url, "secrets_env": [secret_env], "allow_private": True, "timeout_s": timeout}
        entries.append({"id": rid, "name": rid, "channels": {"webhook": hook}})
    return RecipientsDirectory.model_validate({"recipients": entries})


def backlog(kafka: KafkaConnection, prefix: str, recipients: list[str], per_recipient: int) -> None:
    producer = kafka.kafka_producer(acks="all", linger_ms=5)
    for rid in recipients:
        for n in range(per_recipient):
            aid = f"SYNTH-BENCH-{n % 50:04d}"
            note = synthetic_notification(
                n + 1, recipient=rid, notification_id=f"SYNTH-{prefix}-{rid}-{n:06d}", allegation_id=aid
            )
            producer.send(f"{prefix}.notify.{rid}", key=aid.encode(), value=encode_model(note))
    producer.flush()
    producer.close()


def delivered_times(kafka: KafkaConnection, topic: str, expected: int) -> list[int]:
    """Kafka timestamps (ms) of the DELIVERED audit records, once ``expected`` of them are there."""
    consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    times: list[int] = []
    deadline = time.monotonic() + 120
    while len(times) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                attempt = decode_model(r.value, DeliveryAttempt)
                if attempt.outcome is DeliveryOutcome.DELIVERED and attempt.recipient != STALLED:
                    times.append(r.timestamp)
    consumer.close()
    return times


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def one_run(
    *,
    label: str,
    kafka: KafkaConnection,
    urls: dict[str, str],
    per_recipient: int,
    stall_timeout_s: float,
    secret_env: str,
) -> Result:
    prefix = "bench" + uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(
            bootstrap=kafka.bootstrap,
            kafka=kafka.security,
            topic_prefix=prefix,
            app_id=prefix,
            data_dir=Path(data),
        )
        ids = list(urls)
        topics.apply(settings, ids, kafka=kafka)
        backlog(kafka, prefix, ids, per_recipient)
        delivery: Delivery | None = build_delivery(
            settings=settings,
            kafka=kafka,
            directory=directory(urls, secret_env, stall_timeout_s),
            codec=default_codec(),
            clock=lambda: datetime.now(UTC),
            config=DeliveryConfig(retry=RetrySettings(base_delay_s=0.1, max_delay_s=0.5), shutdown_grace_s=0),
        )
        assert delivery is not None
        started_ms = time.time() * 1000
        started = time.perf_counter()
        await delivery.start()
        healthy = [lane for lane in delivery.lanes if lane.plan.recipient != STALLED]
        while True:
            if all(lane.processed >= per_recipient for lane in healthy):
                break
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        stalled = sum(lane.processed for lane in delivery.lanes if lane.plan.recipient == STALLED)
        await delivery.stop()
        count = per_recipient * len(healthy)
        times = await asyncio.to_thread(delivered_times, kafka, settings.topic("audit"), count)
    latencies = sorted(t - started_ms for t in times)
    return Result(label, count, seconds, pct(latencies, 0.5), pct(latencies, 0.99), stalled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-recipient", type=int, default=200, help="backlog per healthy recipient")
    parser.add_argument("--recipients", type=int, default=8, help="healthy recipients (max 12)")
    parser.add_argument("--stall-timeout", type=float, default=30.0, help="stalled endpoint timeout, s")
    parser.add_argument(
        "--pairs", type=int, default=3, help="baseline/stalled pairs, alternating; medians shown"
    )
    args = parser.parse_args()
    if not 1 <= args.recipients <= len(HEALTHY_IDS):
        parser.error(f"--recipients must be between 1 and {len(HEALTHY_IDS)}")
    assert STALLED not in HEALTHY_IDS
    logs.configure(level="warning")  # one line per delivery would be the benchmark's main cost

    secret = generate_secret()
    secret_env = "SEABUS_BENCH_WEBHOOK_SECRET"
    os.environ[secret_env] = secret
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve_receivers, args=(child, secret, args.recipients), daemon=True)
    proc.start()
    served = parent.recv()
    healthy = dict(zip(HEALTHY_IDS[: args.recipients], served["healthy"], strict=True))

    cluster: LocalCluster | None = None
    kafka = load_settings().connection() if os.environ.get("SEABUS_BOOTSTRAP") else None
    workdir = tempfile.TemporaryDirectory()
    if not kafka:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seabus"
        cluster = LocalCluster(directory=Path(workdir.name), cache_dir=cache, nodes=1, base_port=free_port())
        kafka = cluster.up().connection
    try:
        run = functools.partial(
            one_run,
            kafka=kafka,
            per_recipient=args.per_recipient,
            stall_timeout_s=args.stall_timeout,
            secret_env=secret_env,
        )
        asyncio.run(run(label="warm-up", urls=healthy))
        bases: list[Result] = []
        stalls: list[Result] = []
        for n in range(args.pairs):  # alternate which goes first, so drift on the machine cancels out
            pair = [
                lambda: bases.append(asyncio.run(run(label=f"{args.recipients} healthy", urls=healthy))),
                lambda: stalls.append(
                    asyncio.run(
                        run(
                            label=f"{args.recipients} healthy + 1 stalled",
                            urls={**healthy, STALLED: served["stalled"]},
                        )
                    )
                ),
            ]
            for step in pair if n % 2 == 0 else reversed(pair):
                step()
    finally:
        parent.send("stop")
        receipt = parent.recv()
        proc.join(timeout=10)
        if cluster is not None:
            cluster.down()
        workdir.cleanup()

    print(
        f"delivery service benchmark: backlog of {args.per_recipient} notifications per recipient, "
        f"{args.recipients} healthy recipients, real broker, audit record per attempt, "
        f"median of {args.pairs} alternating pair(s)"
    )
    print(f"{'run':<28}{'delivered/s':>13}{'p50 ms':>10}{'p99 ms':>10}{'stalled processed':>19}")
    medians = []
    for results in (bases, stalls):
        row = Result(
            results[0].label,
            results[0].delivered,
            statistics.median(r.seconds for r in results),
            statistics.median(r.p50_ms for r in results),
            statistics.median(r.p99_ms for r in results),
            max(r.stalled_processed for r in results),
        )
        medians.append(row)
        print(
            f"{row.label:<28}{row.per_second:>13.0f}{row.p50_ms:>10.0f}{row.p99_ms:>10.0f}"
            f"{row.stalled_processed:>19}"
        )
    base, stalled = medians
    print(
        "each pair's throughput ratio stalled/baseline: "
        + ", ".join(f"{s.per_second / b.per_second:.2f}" for b, s in zip(bases, stalls, strict=True))
    )
    print(
        f"ratio of medians stalled/baseline: throughput {stalled.per_second / base.per_second:.2f}, "
        f"p99 {stalled.p99_ms / base.p99_ms:.2f}"
    )
    print(
        f"receivers saw {sum(receipt['received'])} requests, {receipt['unverified']} failed verification; "
        f"the stalled endpoint held {receipt['stalled_arrived']} request(s) open"
    )


if __name__ == "__main__":
    main()
