"""Benchmark webhook delivery: throughput and latency, with and without a stalled endpoint.

Receivers (``seabus.connectors.webhooks.testing.WebhookReceiver``, verifying every
signature) run in a separate process on 127.0.0.1. The sender pushes a burst of
N notifications spread round-robin over K healthy recipients through
``WebhookDispatcher`` and measures, for the healthy recipients only:

* throughput: healthy deliveries per second, from the first submit to the last
  healthy result;
* latency: submit to result, per delivery (p50, p99), queueing in the
  recipient's lane included (the whole burst is submitted at once);
* attempt latency: from signing to the endpoint's answer, per request (p50, p99).

Run 1 uses the K healthy receivers. Run 2 adds one more recipient whose
endpoint accepts connections and never answers (each request hangs until the
client timeout), and gives it its share of the burst. If lanes isolate
recipients, run 2's healthy figures match run 1's.

    .venv/bin/python bench/delivery/run.py [--deliveries 4000] [--recipients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from seabus.connectors.webhooks import (
    AttemptOutcome,
    AttemptRecord,
    DeliveryResult,
    RetryPolicy,
    WebhookDeliverer,
    WebhookDispatcher,
    WebhookEndpoint,
    generate_secret,
)
from seabus.connectors.webhooks.testing import WebhookReceiver

HEALTHY_IDS = ["FRA", "KEN", "URY", "NPL", "BGD", "SEN", "RWA", "PAK", "IND", "GHA", "EGY", "IDN"]
STALLED_ID = "ZZZ-STALLED"


def serve_receivers(conn: Connection, secret: str, healthy: int) -> None:
    """Child process: run the receivers until the parent says stop."""

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


@dataclass(frozen=True, kw_only=True)
class Settings:
    secret: str
    body_size: int
    stall_timeout_s: float
    max_in_flight: int


@dataclass(frozen=True)
class RunResult:
    label: str
    healthy_deliveries: int
    seconds: float
    p50_ms: float
    p99_ms: float
    attempt_p50_ms: float
    attempt_p99_ms: float
    stalled_submitted: int
    stalled_completed: int

    @property
    def per_second(self) -> float:
        return self.healthy_deliveries / self.seconds


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def one_run(
    settings: Settings,
    *,
    label: str,
    healthy_urls: list[str],
    stalled_url: str | None,
    deliveries: int,
    run_tag: str,
) -> RunResult:
    secret = settings.secret
    endpoints = [
        WebhookEndpoint(recipient=HEALTHY_IDS[i], url=url, secrets=(secret,), allow_private=True)
        for i, url in enumerate(healthy_urls)
    ]
    if stalled_url is not None:
        endpoints.append(
            WebhookEndpoint(
                recipient=STALLED_ID,
                url=stalled_url,
                secrets=(secret,),
                allow_private=True,
                timeout_s=settings.stall_timeout_s,
            )
        )
    body = json.dumps({"allegation_id": "SYNTH-2026-0001", "pad": "x" * settings.body_size}).encode()
    policy = RetryPolicy(max_attempts=2, base_delay=0.1, max_delay=0.5)
    latencies: list[float] = []
    attempt_latencies: list[float] = []

    async def on_attempt(record: AttemptRecord) -> None:
        if record.recipient != STALLED_ID:
            elapsed = datetime.now(UTC) - record.attempted_at
            attempt_latencies.append(elapsed.total_seconds())

    stalled_futures: list[asyncio.Future[DeliveryResult]] = []

    async with WebhookDeliverer(
        policy=policy, max_in_flight=settings.max_in_flight, on_attempt=on_attempt
    ) as deliverer:
        dispatcher = WebhookDispatcher(deliverer=deliverer)
        healthy_futures: list[asyncio.Future[DeliveryResult]] = []
        start = time.perf_counter()
        for n in range(deliveries):
            ep = endpoints[n % len(endpoints)]
            submitted = time.perf_counter()
            future = dispatcher.submit(
                ep,
                webhook_id=f"SYNTH-{run_tag}-{n:06d}",
                body=body,
                allegation_id=f"SYNTH-2026-{n % 500:04d}",
            )
            if ep.recipient == STALLED_ID:
                stalled_futures.append(future)
                continue

            def done(_f: asyncio.Future[DeliveryResult], t0: float = submitted) -> None:
                latencies.append(time.perf_counter() - t0)

            future.add_done_callback(done)
            healthy_futures.append(future)
        results = await asyncio.gather(*healthy_futures)
        elapsed = time.perf_counter() - start
        failed = [r for r in results if r.outcome is not AttemptOutcome.DELIVERED]
        if failed:
            raise SystemExit(f"{len(failed)} healthy deliveries did not succeed: {failed[0]}")
        stalled_completed = sum(1 for f in stalled_futures if f.done())
        await dispatcher.close(grace_s=0)

    latencies.sort()
    attempt_latencies.sort()
    return RunResult(
        label=label,
        healthy_deliveries=len(healthy_futures),
        seconds=elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        attempt_p50_ms=percentile(attempt_latencies, 0.50) * 1000,
        attempt_p99_ms=percentile(attempt_latencies, 0.99) * 1000,
        stalled_submitted=len(stalled_futures),
        stalled_completed=stalled_completed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=4000, help="burst size per run")
    parser.add_argument("--recipients", type=int, default=8, help="healthy recipients (max 12)")
    parser.add_argument("--body-size", type=int, default=2048, help="payload padding in bytes")
    parser.add_argument("--stall-timeout", type=float, default=5.0, help="stalled endpoint timeout, s")
    parser.add_argument("--max-in-flight", type=int, default=64)
    args = parser.parse_args()
    if not 1 <= args.recipients <= len(HEALTHY_IDS):
        parser.error(f"--recipients must be between 1 and {len(HEALTHY_IDS)}")

    secret = generate_secret()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve_receivers, args=(child, secret, args.recipients), daemon=True)
    proc.start()
    urls = parent.recv()
    settings = Settings(
        secret=secret,
        body_size=args.body_size,
        stall_timeout_s=args.stall_timeout,
        max_in_flight=args.max_in_flight,
    )
    warm = asyncio.run(
        one_run(
            settings,
            label="warm-up",
            healthy_urls=urls["healthy"],
            stalled_url=None,
            deliveries=min(500, args.deliveries),
            run_tag="W",
        )
    )
    baseline = asyncio.run(
        one_run(
            settings,
            label=f"{args.recipients} healthy",
            healthy_urls=urls["healthy"],
            stalled_url=None,
            deliveries=args.deliveries,
            run_tag="A",
        )
    )
    # Same healthy burst size, plus the stalled recipient's share on top.
    with_stalled = asyncio.run(
        one_run(
            settings,
            label=f"{args.recipients} healthy + 1 stalled",
            healthy_urls=urls["healthy"],
            stalled_url=urls["stalled"],
            deliveries=args.deliveries * (args.recipients + 1) // args.recipients,
            run_tag="B",
        )
    )
    parent.send("stop")
    receipt = parent.recv()
    proc.join(timeout=10)

    print(
        f"webhook delivery benchmark: burst of {args.deliveries} healthy deliveries over "
        f"{args.recipients} recipients, body {args.body_size} B, max_in_flight "
        f"{args.max_in_flight}, stalled endpoint timeout {args.stall_timeout:g} s "
        f"(warm-up {warm.healthy_deliveries})"
    )
    print(
        f"{'run':<28}{'deliveries/s':>14}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'attempt p50':>13}{'attempt p99':>13}{'stalled done':>15}"
    )
    for r in (baseline, with_stalled):
        stalled = f"{r.stalled_completed}/{r.stalled_submitted}" if r.stalled_submitted else "-"
        print(
            f"{r.label:<28}{r.per_second:>14.0f}{r.p50_ms:>10.1f}{r.p99_ms:>10.1f}"
            f"{r.attempt_p50_ms:>13.2f}{r.attempt_p99_ms:>13.2f}{stalled:>15}"
        )
    print(
        f"ratio stalled/baseline: throughput {with_stalled.per_second / baseline.per_second:.2f}, "
        f"p99 {with_stalled.p99_ms / baseline.p99_ms:.2f}, "
        f"attempt p99 {with_stalled.attempt_p99_ms / baseline.attempt_p99_ms:.2f}"
    )
    print(
        f"receivers saw {sum(receipt['received'])} requests, {receipt['unverified']} failed "
        f"verification; the stalled endpoint held {receipt['stalled_arrived']} request(s) open"
    )


if __name__ == "__main__":
    main()
