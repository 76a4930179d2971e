"""Issue 13 item 6 at the gateway, over a real socket with a real Kafka producer.

Out-of-range Avro ints are a 400 naming the field, an event Kafka refuses as too
large is a 413 (resending cannot help, so never the 503 "resend"), and every
error, even one the gateway did not foresee, is RFC 9457 problem+json.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from gateway.gateway_support import bearer, event_json, serve
from kafka.admin import ConfigResource, ConfigResourceType
from support import wait_for

from seabus.connectors.gateway import GatewayConfig
from seabus.connectors.gateway.state import GatewayState
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

PROBLEM = "application/problem+json"


async def post(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/v1/allegations",
            data=body,
            headers={"Content-Type": "application/json", **(headers or bearer())},
        ) as answer,
    ):
        return answer.status, answer.content_type, json.loads(await answer.read())


def test_a_victim_count_of_2_to_the_40_is_a_400_naming_the_field(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    event = event_json("SYNTH-GW-H001")
    event["allegation"]["victims"][0]["count"] = 2**40

    async def scenario() -> tuple[int, str, dict[str, Any]]:
        async with serve(provisioned, kafka) as gw:
            return await post(gw.url, json.dumps(event).encode())

    status, content_type, problem = asyncio.run(scenario())
    assert (status, content_type, problem["type"]) == (400, PROBLEM, "urn:seabus:problem:validation-failed")
    [error] = problem["errors"]
    assert error["path"] == "allegation.victims[0].count"
    assert "out of range for Avro int" in error["detail"]


def topic_limit(admin: Any, resource: ConfigResource) -> str | None:
    described = admin.describe_configs([resource], config_filter="all").get("topic", {})
    value = described.get(resource.name, {}).get("max.message.bytes", {}).get("value")
    return None if value is None else str(value)


def test_an_event_kafka_refuses_as_too_large_is_a_413_not_a_503(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    topic = provisioned.topic("allegations")
    admin = kafka.kafka_admin()
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": "20000"})]
        )
        resource = ConfigResource(ConfigResourceType.TOPIC, topic)
        wait_for(
            lambda: topic_limit(admin, resource) == "20000",
            timeout=30,
            what="the topic's new max.message.bytes",
        )
    finally:
        admin.close()
    small, big = event_json("SYNTH-GW-H002"), event_json("SYNTH-GW-H003")
    # 60 kB of random hex (compression cannot shrink it below the topic's 20 kB), under the codec's 1 MB.
    big["allegation"]["confidential"] = {"narrative": "SYNTHETIC " + os.urandom(30_000).hex()}

    async def scenario() -> list[tuple[int, str, dict[str, Any]]]:
        async with serve(provisioned, kafka) as gw:
            return [
                await post(gw.url, json.dumps(big).encode()),
                await post(gw.url, json.dumps(big).encode()),  # permanently: the same answer again
                await post(gw.url, json.dumps(small).encode()),
            ]

    (status, content_type, problem), (again, _, _), (fine, _, receipt) = asyncio.run(scenario())
    assert (status, content_type, problem["type"]) == (413, PROBLEM, "urn:seabus:problem:too-large")
    assert problem["not_accepted"] == [big["event_id"]]
    assert again == 413
    assert fine == 202, receipt


def test_json_nested_100k_deep_is_a_400_problem(provisioned: Settings, kafka: KafkaConnection) -> None:
    async def scenario() -> tuple[int, str, dict[str, Any]]:
        async with serve(provisioned, kafka) as gw:
            return await post(gw.url, b"[" * 100_000 + b"]" * 100_000)

    status, content_type, problem = asyncio.run(scenario())
    assert (status, content_type, problem["type"]) == (400, PROBLEM, "urn:seabus:problem:malformed-request")
    assert "nested too deeply" in problem["detail"]


def test_an_unforeseen_failure_is_a_500_problem_that_says_nothing_of_the_request(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    def broken_route(app: web.Application, gw: GatewayState) -> None:
        async def fail(request: web.Request) -> web.Response:
            raise RuntimeError("SYNTHETIC-SECRET-IN-EXCEPTION")

        app.router.add_get("/v1/broken", fail)

    async def scenario() -> tuple[int, str, str]:
        async with (
            serve(provisioned, kafka, config=GatewayConfig(), extra_routes=(broken_route,)) as gw,
            aiohttp.ClientSession() as http,
            http.get(f"{gw.url}/v1/broken") as answer,
        ):
            return answer.status, answer.content_type, await answer.text()

    status, content_type, text = asyncio.run(scenario())
    assert (status, content_type) == (500, PROBLEM)
    problem = json.loads(text)
    assert (problem["status"], problem["instance"]) == (500, "/v1/broken")
    assert "SYNTHETIC-SECRET" not in text
