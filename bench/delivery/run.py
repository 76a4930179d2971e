"""Benchmark the delivery service `seabus run` starts, against a real broker and real HTTP endpoints.

What runs is production code: :class:`seabus.connectors.delivery.Delivery` built by
``build_delivery``, its pipeline (every attempt written to the audit topic and
acknowledged before the offset is committed) and its consumer design. The
receivers (``seabus.connectors.webhooks.testing.WebhookReceiver``, verifying every
signature) run in a child process on 127.0.0.1.

For each number of recipients N (``--topics``, e.g. 20 and 200 notify topics)
one recipient's endpoint is dead (it accepts connections and never answers, so
every request hangs until the client timeout) and has a backlog; the others are
healthy. Each case runs in three ways, in an order that flips per case:

* ``single``: production: ONE consumer for every notify topic, each
  recipient's partitions paused while its lane delivers (connectors/delivery/consumer.py);
* ``groups``: the former design, one consumer group per recipient (the same
  lane code, one consumer each, group ``<app_id>-delivery-<ID>``, without the
  offset check on assignment the former lanes did not have): the baseline;
* ``single, no dead``: production without the dead recipient: what isolation
  should look like.

Measured, for the healthy recipients only:

* start-up: from ``start()`` until every healthy recipient's backlog (``--backlog``
  each) is delivered: joining the group(s), the audit catch-up(s), the deliveries;
* each phase waits until every one of its notifications has a 2xx in a
  worker's audit index (not for counts, which a re-read after a rebalance inflates);
* latency: notifications published at a steady rate (``--rate`` per second for
  ``--seconds``) to random healthy recipients; publish → the Kafka timestamp
  of the DELIVERED audit record, p50 and p99;
* rebalance: a second worker joins; from its ``start()`` until one new
  notification per healthy recipient (published right then) is delivered by
  either worker.

Ratios are printed against ``groups`` measured in the same run (the machine is
shared and noisy; compare rows of one run, not runs across machines).

    .venv/bin/python bench/delivery/run.py                      # --topics 20,200
    .venv/bin/python bench/delivery/run.py --topics 20 --rate 20 --seconds 5

Uses ``SEABUS_BOOTSTRAP`` when set, else starts a local broker for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import pycountry
from aiokafka import TopicPartition
from kafka import TopicPartition as SyncTopicPartition

from seabus.connectors.delivery import (
    Delivery,
    DeliveryConfig,
    DeliveryConsumer,
    RetrySettings,
    Route,
    build_delivery,
)
from seabus.connectors.webhooks import generate_secret
from seabus.connectors.webhooks.testing import WebhookReceiver
from seabus.deploy import topics
from seabus.deploy.kafka import LocalCluster
from seabus.schemas.codec import decode_model, default_codec, encode_model
from seabus.schemas.enums import DeliveryChannel, DeliveryOutcome
from seabus.schemas.models import DeliveryAttempt
from seabus.schemas.testing import synthetic_notification
from seabus.streams import logs
from seabus.streams.config import Settings, load_settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

DEAD = "ZMB"
SECRET_ENV = "SEABUS_BENCH_WEBHOOK_SECRET"
WEBHOOK = DeliveryChannel.WEBHOOK
RECEIVERS = 8  # healthy recipients share these round-robin (one process, one loop)


def serve_receivers(conn: Connection, secret: str, healthy: int) -> None:
    """Child process: ``healthy`` receivers and one that never answers, until the parent says stop."""

    async def main() -> None:
        receivers = [WebhookReceiver(secrets=[secret]) for _ in range(healthy)]
        stalled = WebhookReceiver(secrets=[secret], stall=True)
        for r in [*receivers, stalled]:
            await r.start()
        conn.send({"healthy": [r.url for r in receivers], "stalled": stalled.url})
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        counts = [len(r.requests) for r in receivers]
        unverified = sum(1 for r in receivers for q in r.requests if not q.verified)
        for r in [*receivers, stalled]:
            await r.stop()
        conn.send({"received": counts, "unverified": unverified, "stalled_arrived": stalled.arrived})

    asyncio.run(main())


def recipient_ids(n: int) -> list[str]:
    """The first N ISO 3166-1 alpha-3 codes (the directory accepts no others), never DEAD."""
    ids = sorted(c.alpha_3 for c in pycountry.countries if c.alpha_3 != DEAD)
    if n > len(ids):
        raise SystemExit(f"at most {len(ids)} recipients")
    return ids[:n]


class FormerConsumer(DeliveryConsumer):
    """As the former per-recipient lanes were: no offset check or takeover on assignment."""

    async def _settle(self, tps: list[TopicPartition]) -> None:
        return None


class GroupPerRecipient(Delivery):
    """The former consumer design, kept here as the benchmark's baseline: one group per recipient."""

    async def start_consumers(self, routes: list[Route]) -> None:
        for route in routes:
            consumer = FormerConsumer(
                routes=[route],
                kafka=self.kafka,
                group_id=f"{self.settings.app_id}-delivery-{route.plan.recipient}",
                catch_up=self.catch_up,
                session_timeout_s=self.settings.consumer_session_timeout_s,
            )
            self.consumers.append(consumer)
            await consumer.start()


@dataclass(frozen=True)
class Result:
    label: str
    recipients: int
    startup_s: float
    p50_ms: float
    p99_ms: float
    rebalance_s: float
    paced: int
    dead_processed: int


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


def directory(urls: dict[str, str], stall_timeout_s: float) -> RecipientsDirectory:
    entries: list[dict[str, object]] = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA")]
    for rid, url in urls.items():
        timeout = stall_timeout_s if rid == DEAD else 10.0
        hook = {"url": url, "secrets_env": [SECRET_ENV], "allow_private": True, "timeout_s": timeout}
        entries.append({"id": rid, "name": rid, "channels": {"webhook": hook}})
    return RecipientsDirectory.model_validate({"recipients": entries})


class Publisher:
    """Notifications onto notify topics; remembers when each was sent (ms since the epoch)."""

    def __init__(self, kafka: KafkaConnection, prefix: str) -> None:
        self._producer = kafka.kafka_producer(acks="all", linger_ms=0)
        self._prefix = prefix
        self.sent_ms: dict[str, float] = {}
        self.recipient: dict[str, str] = {}
        self._n = 0

    def send(self, rid: str, tag: str) -> str:
        self._n += 1
        nid = f"SYNTH-{self._prefix}-{tag}-{rid}-{self._n:06d}"
        aid = f"SYNTH-BENCH-{self._n % 50:04d}"
        note = synthetic_notification(self._n, recipient=rid, notification_id=nid, allegation_id=aid)
        self.sent_ms[nid] = time.time() * 1000
        self.recipient[nid] = rid
        self._producer.send(f"{self._prefix}.notify.{rid}", key=aid.encode(), value=encode_model(note))
        return nid

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.close()


def delivered_at(kafka: KafkaConnection, topic: str, wanted: set[str]) -> dict[str, int]:
    """Kafka timestamps (ms) of the DELIVERED audit record of each wanted notification."""
    consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False)
    tps = [SyncTopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    found: dict[str, int] = {}
    deadline = time.monotonic() + 120
    while len(found) < len(wanted) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                attempt = decode_model(r.value, DeliveryAttempt)
                if attempt.outcome is DeliveryOutcome.DELIVERED and attempt.notification_id in wanted:
                    found.setdefault(attempt.notification_id, r.timestamp)
    consumer.close()
    return found


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@contextmanager
def case_settings(kafka: KafkaConnection) -> Iterator[tuple[Settings, str]]:
    prefix = "bench" + uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as data:
        yield (
            load_settings(
                bootstrap=kafka.bootstrap,
                kafka=kafka.security,
                topic_prefix=prefix,
                app_id=prefix,
                data_dir=Path(data),
            ),
            prefix,
        )


async def one_case(
    *,
    label: str,
    kafka: KafkaConnection,
    urls: dict[str, str],
    groups: bool,
    backlog: int,
    rate: float,
    seconds: float,
    stall_timeout_s: float,
) -> Result:
    healthy_ids = [r for r in urls if r != DEAD]
    with case_settings(kafka) as (settings, prefix):
        topics.apply(settings, list(urls), kafka=kafka)
        publisher = Publisher(kafka, prefix)
        for rid in urls:
            for _ in range(backlog):
                publisher.send(rid, "B")
        publisher.flush()

        def build() -> Delivery:
            made = build_delivery(
                settings=settings,
                kafka=kafka,
                directory=directory(urls, stall_timeout_s),
                codec=default_codec(),
                clock=lambda: datetime.now(UTC),
                config=DeliveryConfig(
                    retry=RetrySettings(base_delay_s=0.1, max_delay_s=0.5), shutdown_grace_s=0
                ),
            )
            assert made is not None
            if groups:
                made.__class__ = GroupPerRecipient  # same object, the former consumer layout
            return made

        def done(workers: list[Delivery], ids: list[str]) -> Callable[[], bool]:
            """Every one of ``ids`` delivered (a 2xx recorded in a worker's audit index)."""

            def check() -> bool:
                return all(
                    any(w.index.is_delivered(WEBHOOK, publisher.recipient[n], n) for w in workers)
                    for n in ids
                )

            return check

        backlog_ids = [n for n in publisher.sent_ms if publisher.recipient[n] != DEAD]

        first = build()
        started = time.perf_counter()
        await first.start()
        await until(done([first], backlog_ids), "the backlog")
        startup_s = time.perf_counter() - started

        paced: list[str] = []
        interval = 1 / rate
        next_at = time.perf_counter()
        for _ in range(int(rate * seconds)):
            paced.append(publisher.send(random.choice(healthy_ids), "P"))
            await asyncio.to_thread(publisher.flush)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await until(done([first], paced), "the paced notifications")

        second = build()
        joined = time.perf_counter()
        await second.start()
        probes = [publisher.send(rid, "R") for rid in healthy_ids]
        await asyncio.to_thread(publisher.flush)
        await until(done([first, second], probes), "the rebalance probes")
        rebalance_s = time.perf_counter() - joined
        dead = sum(lane.processed for w in (first, second) for lane in w.lanes if lane.plan.recipient == DEAD)
        await asyncio.gather(first.stop(), second.stop())
        publisher.close()
        times = await asyncio.to_thread(delivered_at, kafka, settings.topic("audit"), set(paced))
    latencies = sorted(times[n] - publisher.sent_ms[n] for n in paced if n in times)
    if len(latencies) < len(paced):
        raise SystemExit(
            f"{label}: {len(paced) - len(latencies)} paced notifications have no DELIVERED record"
        )
    return Result(
        label, len(urls), startup_s, pct(latencies, 0.5), pct(latencies, 0.99), rebalance_s, len(paced), dead
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--topics", default="20,200", help="recipients (notify topics) per case, comma-separated"
    )
    parser.add_argument("--backlog", type=int, default=3, help="notifications waiting per recipient at start")
    parser.add_argument("--rate", type=float, default=20.0, help="paced notifications per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the paced phase lasts")
    parser.add_argument("--stall-timeout", type=float, default=30.0, help="dead endpoint's client timeout, s")
    args = parser.parse_args()
    sizes = [int(s) for s in args.topics.split(",") if s]
    logs.configure(level="error")  # one line per delivery would be the benchmark's main cost

    secret = generate_secret()
    os.environ[SECRET_ENV] = secret
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve_receivers, args=(child, secret, RECEIVERS), daemon=True)
    proc.start()
    served = parent.recv()

    cluster: LocalCluster | None = None
    kafka = load_settings().connection() if os.environ.get("SEABUS_BOOTSTRAP") else None
    workdir = tempfile.TemporaryDirectory()
    if not kafka:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seabus"
        cluster = LocalCluster(directory=Path(workdir.name), cache_dir=cache, nodes=1, base_port=free_port())
        kafka = cluster.up().connection
    results: dict[int, dict[str, Result]] = {}
    try:
        for case, n in enumerate(sizes):
            healthy = {rid: served["healthy"][i % RECEIVERS] for i, rid in enumerate(recipient_ids(n - 1))}
            runs = [
                ("groups", True, {**healthy, DEAD: served["stalled"]}),
                ("single", False, {**healthy, DEAD: served["stalled"]}),
                ("single, no dead", False, healthy),
            ]
            if case % 2:
                runs.reverse()  # drift on the machine cancels out over the cases
            results[n] = {}
            for label, groups, urls in runs:
                r = results[n][label] = asyncio.run(
                    one_case(
                        label=label,
                        kafka=kafka,
                        urls=urls,
                        groups=groups,
                        backlog=args.backlog,
                        rate=args.rate,
                        seconds=args.seconds,
                        stall_timeout_s=args.stall_timeout,
                    )
                )
                print(  # as it comes, so a cut run still leaves its figures
                    f"# {n} {label}: start-up {r.startup_s:.2f} s, p50 {r.p50_ms:.1f} ms, "
                    f"p99 {r.p99_ms:.1f} ms, rebalance {r.rebalance_s:.2f} s",
                    flush=True,
                )
    finally:
        parent.send("stop")
        receipt = parent.recv()
        proc.join(timeout=10)
        if cluster is not None:
            cluster.down()
        workdir.cleanup()

    print(
        f"delivery service benchmark: real broker, {RECEIVERS} local receivers, one dead endpoint "
        f"(timeout {args.stall_timeout:g} s) with a backlog; backlog {args.backlog} per recipient, "
        f"paced {args.rate:g}/s for {args.seconds:g} s, then a second worker joins"
    )
    print(
        f"{'recipients':>10}  {'design':<17}{'start-up s':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'rebalance s':>13}{'dead done':>11}"
    )
    for n, rows in results.items():
        for label in ("groups", "single", "single, no dead"):
            r = rows[label]
            print(
                f"{n:>10}  {label:<17}{r.startup_s:>11.2f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}"
                f"{r.rebalance_s:>13.2f}{r.dead_processed:>11}"
            )
        base = rows["groups"]
        for label in ("single", "single, no dead"):
            r = rows[label]
            print(
                f"{n:>10}  {label + ' ÷ groups':<28} start-up {r.startup_s / base.startup_s:.2f}, "
                f"p50 {r.p50_ms / base.p50_ms:.2f}, p99 {r.p99_ms / base.p99_ms:.2f}, "
                f"rebalance {r.rebalance_s / base.rebalance_s:.2f}"
            )
    medians = statistics.median(r.p99_ms for rows in results.values() for r in rows.values())
    print(f"median p99 over all rows: {medians:.1f} ms")
    print(
        f"receivers saw {sum(receipt['received'])} requests, {receipt['unverified']} failed verification; "
        f"the dead endpoint held {receipt['stalled_arrived']} request(s) open"
    )


if __name__ == "__main__":
    main()
