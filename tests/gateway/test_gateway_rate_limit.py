"""Failed sign-ins are logged without the token, and each client is rate-limited (real sockets, real Kafka)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from gateway.gateway_support import bearer, event_json, serve
from structlog.testing import capture_logs

from seabus.connectors.gateway import GatewayConfig
from seabus.connectors.gateway.config import RateLimitConfig
from seabus.connectors.gateway.ratelimit import RateLimiter
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection

WRONG_TOKEN = "sbk_SYNTHETIC-WRONG-TOKEN-must-never-be-logged"
TIGHT = GatewayConfig(
    ack_timeout_s=10, rate_limit=RateLimitConfig(enabled=True, requests_per_minute=6, burst=3)
)


async def attempt(
    url: str, *, local: str = "127.0.0.1", token: str = WRONG_TOKEN
) -> tuple[int, dict[str, Any], dict[str, str]]:
    connector = aiohttp.TCPConnector(local_addr=(local, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(f"{url}/v1/allegations", json=event_json("SYNTH-GW-RL01"), headers=bearer(token)) as answer,
    ):
        return answer.status, json.loads(await answer.read()), dict(answer.headers)


@pytest.mark.kafka
def test_a_client_over_its_limit_gets_429_with_retry_after_and_others_do_not(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    async def scenario() -> tuple[list[tuple[int, dict[str, Any], dict[str, str]]], int, int]:
        async with serve(provisioned, kafka, config=TIGHT) as gw:
            tries = [await attempt(gw.url) for _ in range(4)]
            other = await attempt(gw.url, local="127.0.0.2")  # another client address has its own budget
            async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/healthz") as health:
                return tries, other[0], health.status

    tries, other, health = asyncio.run(scenario())
    assert [status for status, _, _ in tries] == [401, 401, 401, 429]
    _, problem, headers = tries[3]
    assert headers["Content-Type"].startswith("application/problem+json")
    assert problem["type"] == "urn:seabus:problem:rate-limited"
    assert int(headers["Retry-After"]) >= 1
    assert (other, health) == (401, 200)


@pytest.mark.kafka
def test_a_failed_sign_in_is_logged_with_the_client_and_never_the_token(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    async def scenario() -> int:
        async with serve(provisioned, kafka, config=TIGHT) as gw:
            status, _, _ = await attempt(gw.url)
            return status

    with capture_logs() as logs:
        status = asyncio.run(scenario())
    assert status == 401
    [failed] = [e for e in logs if e["event"] == "gateway sign-in failed"]
    assert (failed["client"], failed["path"], failed["status"]) == ("127.0.0.1", "/v1/allegations", 401)
    assert failed["problem"] == "urn:seabus:problem:unauthenticated"
    assert WRONG_TOKEN not in repr(logs)
    assert "SYNTHETIC-WRONG-TOKEN" not in repr(logs)


def test_the_bucket_refills_at_the_configured_rate_and_forgets_the_oldest_client() -> None:
    now = [0.0]
    limiter = RateLimiter(
        RateLimitConfig(enabled=True, requests_per_minute=60, burst=2, max_clients=2), clock=lambda: now[0]
    )
    assert [limiter.acquire("a"), limiter.acquire("a")] == [0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(1.0)  # one a second: the next in 1 s
    now[0] = 0.5
    assert limiter.acquire("a") == pytest.approx(0.5)
    now[0] = 1.0
    assert limiter.acquire("a") == 0.0
    limiter.acquire("b")
    limiter.acquire("c")  # "a" is the least recently seen of three: forgotten, so it starts full
    assert [limiter.acquire("a"), limiter.acquire("a")] == [0.0, 0.0]
