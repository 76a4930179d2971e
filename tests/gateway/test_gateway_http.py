"""POST /v1/allegations over real HTTP sockets with a real broker behind it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from gateway.gateway_support import (
    MINUSCA,
    bearer,
    decode,
    event_ids,
    event_json,
    has_ids,
    read_records,
    serve,
)

from seabus.connectors.gateway import GatewayConfig
from seabus.schemas.cloudevents import parse_headers
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

PROBLEM = "application/problem+json"


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    async with http.post(f"{url}/v1/allegations", json=body, headers=headers or bearer()) as response:
        return response.status, await response.json(content_type=None), response


def test_one_event_is_accepted_only_with_kafkas_receipt(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    event = event_json("SYNTH-GW-0001")

    async def scenario() -> tuple[int, dict[str, Any]]:
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            status, body, _ = await post(http, gw.url, event)
            return status, body

    status, body = asyncio.run(scenario())
    assert status == 202
    [receipt] = body["accepted"]
    assert receipt["event_id"] == event["event_id"]
    assert receipt["allegation_id"] == "SYNTH-GW-0001"

    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(event["event_id"]))
    [record] = records
    assert (record.partition, record.offset) == (receipt["partition"], receipt["offset"])
    assert record.key == b"SYNTH-GW-0001"
    meta = parse_headers(record.headers.items())
    assert (meta.id, meta.subject, meta.type) == (
        event["event_id"],
        "SYNTH-GW-0001",
        "org.seabus.AllegationEvent",
    )
    assert decode(record).model_dump(mode="json") == event


def test_a_batch_is_accepted_in_order(provisioned: Settings, kafka: KafkaConnection) -> None:
    batch = [event_json(f"SYNTH-GW-B{i}") for i in range(3)]

    async def scenario() -> tuple[int, dict[str, Any]]:
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            status, body, _ = await post(http, gw.url, batch)
            return status, body

    status, body = asyncio.run(scenario())
    assert status == 202
    assert [a["event_id"] for a in body["accepted"]] == [e["event_id"] for e in batch]
    records = read_records(
        kafka, provisioned.topic("allegations"), until=has_ids(*(e["event_id"] for e in batch))
    )
    assert sorted(event_ids(records)) == sorted(e["event_id"] for e in batch)


def test_invalid_batch_lists_every_problem_and_sends_nothing(
    provisioned: Settings, kafka: KafkaConnection
) -> None:
    good = event_json("SYNTH-GW-0002")
    bad = event_json("SYNTH-GW-0003")
    bad["event_id"] = "not-a-uuid"
    bad["allegation"]["subjects"][0]["nationality"] = "XXY"
    bad["allegation"]["location_country"] = "ZZZ"
    untyped = event_json("SYNTH-GW-0004")
    del untyped["sequence"]
    sentinel = event_json("SYNTH-GW-0002", sequence=2)  # same key as `good`: same partition, after it

    async def scenario() -> tuple[int, dict[str, Any], str, int]:
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            status, body, response = await post(http, gw.url, [good, bad, untyped])
            sentinel_status, _, _ = await post(http, gw.url, sentinel)
            return status, body, response.content_type, sentinel_status

    status, body, content_type, sentinel_status = asyncio.run(scenario())
    assert (status, content_type, body["status"]) == (400, PROBLEM, 400)
    assert body["type"] == "urn:seabus:problem:validation-failed"
    found = {(e["index"], e["path"]) for e in body["errors"]}
    assert found == {
        (1, "event_id"),
        (1, "allegation.subjects[0].nationality"),
        (1, "allegation.location_country"),
        (2, "sequence"),
    }
    pointers = {e["pointer"] for e in body["errors"]}
    assert "#/1/allegation/subjects/0/nationality" in pointers
    assert all(e["detail"] for e in body["errors"])

    assert sentinel_status == 202
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(sentinel["event_id"]))
    assert event_ids(records) == [sentinel["event_id"]]


def test_missing_or_unknown_token_is_401(provisioned: Settings, kafka: KafkaConnection) -> None:
    event = event_json("SYNTH-GW-0005")

    async def scenario() -> list[tuple[int, str, str | None, dict[str, Any]]]:
        out = []
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            for headers in (
                {},
                {"Authorization": "Bearer sbk_not-a-configured-token"},
                {"Authorization": "Basic x"},
            ):
                async with http.post(f"{gw.url}/v1/allegations", json=event, headers=headers) as r:
                    out.append(
                        (
                            r.status,
                            r.content_type,
                            r.headers.get("WWW-Authenticate"),
                            await r.json(content_type=None),
                        )
                    )
        return out

    for status, content_type, challenge, body in asyncio.run(scenario()):
        assert (status, content_type, body["status"]) == (401, PROBLEM, 401)
        assert challenge is not None
        assert challenge.startswith("Bearer")
        assert body["type"] == "urn:seabus:problem:unauthenticated"


def test_an_agency_cannot_publish_as_another(provisioned: Settings, kafka: KafkaConnection) -> None:
    mine = event_json("SYNTH-GW-0006")
    theirs = event_json("SYNTH-GW-0007", entity="MONUSCO")
    sentinel = event_json("SYNTH-GW-0006", sequence=2)

    async def scenario() -> tuple[int, dict[str, Any], int]:
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            status, body, _ = await post(http, gw.url, [mine, theirs], bearer(MINUSCA))
            sentinel_status, _, _ = await post(http, gw.url, sentinel)
            return status, body, sentinel_status

    status, body, sentinel_status = asyncio.run(scenario())
    assert (status, body["type"]) == (403, "urn:seabus:problem:wrong-agency")
    assert body["indexes"] == [1]
    assert "MINUSCA" in body["detail"]
    assert sentinel_status == 202
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(sentinel["event_id"]))
    assert event_ids(records) == [sentinel["event_id"]]


def test_oversized_body_is_413(provisioned: Settings, kafka: KafkaConnection) -> None:
    config = GatewayConfig(max_body_bytes=8192, max_batch=3)
    small_batch = [event_json(f"SYNTH-GW-S{i}") for i in range(4)]  # under 8 KiB, over max_batch
    big_batch = [event_json(f"SYNTH-GW-L{i}") for i in range(12)]  # over 8 KiB
    assert len(json.dumps(big_batch)) > 8192 > len(json.dumps(small_batch))

    async def scenario() -> list[tuple[int, str, dict[str, Any]]]:
        out = []
        async with serve(provisioned, kafka, config=config) as gw, aiohttp.ClientSession() as http:
            for body in (big_batch, small_batch):
                async with http.post(f"{gw.url}/v1/allegations", json=body, headers=bearer()) as r:
                    out.append((r.status, r.content_type, await r.json(content_type=None)))
            # a chunked body has no Content-Length: the limit must hold while reading
            data = json.dumps(big_batch).encode()

            async def chunks() -> Any:
                for i in range(0, len(data), 1024):
                    yield data[i : i + 1024]

            headers = bearer() | {"Content-Type": "application/json"}
            async with http.post(f"{gw.url}/v1/allegations", data=chunks(), headers=headers) as r:
                out.append((r.status, r.content_type, await r.json(content_type=None)))
        return out

    results = asyncio.run(scenario())
    for status, content_type, body in results:
        assert (status, content_type, body["type"]) == (413, PROBLEM, "urn:seabus:problem:too-large")
    assert "at most 3" in results[1][2]["detail"]


def test_idempotency_key_replays_the_first_answer(provisioned: Settings, kafka: KafkaConnection) -> None:
    event = event_json("SYNTH-GW-0008")
    other = event_json("SYNTH-GW-0009")
    sentinel = event_json("SYNTH-GW-0008", sequence=2)
    key = {"Idempotency-Key": "a7c1a3f4-replay-test"}

    async def scenario() -> list[tuple[int, bytes, str | None]]:
        out = []
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            for body in (event, event, other):
                async with http.post(f"{gw.url}/v1/allegations", json=body, headers=bearer() | key) as r:
                    out.append((r.status, await r.read(), r.headers.get("Idempotent-Replayed")))
            async with http.post(f"{gw.url}/v1/allegations", json=sentinel, headers=bearer()) as r:
                out.append((r.status, await r.read(), None))
        return out

    first, replay, conflict, sentinel_answer = asyncio.run(scenario())
    assert first[0] == 202
    assert first[2] is None
    assert replay == (202, first[1], "true")
    assert conflict[0] == 422
    assert json.loads(conflict[1])["type"] == "urn:seabus:problem:idempotency-key-reused"
    assert sentinel_answer[0] == 202
    records = read_records(kafka, provisioned.topic("allegations"), until=has_ids(sentinel["event_id"]))
    assert sorted(event_ids(records)) == sorted([event["event_id"], sentinel["event_id"]])


def test_errors_outside_the_routes_are_problem_details(provisioned: Settings, kafka: KafkaConnection) -> None:
    async def scenario() -> list[tuple[int, str, dict[str, Any]]]:
        out = []
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            for method, path, kwargs in (
                ("GET", "/v1/nowhere", {}),
                ("GET", "/v1/allegations", {}),
                (
                    "POST",
                    "/v1/allegations",
                    {"data": b"{not json", "headers": bearer() | {"Content-Type": "application/json"}},
                ),
                (
                    "POST",
                    "/v1/allegations",
                    {"data": b"<xml/>", "headers": bearer() | {"Content-Type": "application/xml"}},
                ),
                ("POST", "/v1/allegations", {"json": [], "headers": bearer()}),
            ):
                async with http.request(method, f"{gw.url}{path}", **kwargs) as r:
                    out.append((r.status, r.content_type, await r.json(content_type=None)))
        return out

    results = asyncio.run(scenario())
    assert [(s, c) for s, c, _ in results] == [
        (404, PROBLEM),
        (405, PROBLEM),
        (400, PROBLEM),
        (415, PROBLEM),
        (400, PROBLEM),
    ]
    assert all(body["status"] == status and body["detail"] for status, _, body in results)


def test_openapi_document_describes_every_route(provisioned: Settings, kafka: KafkaConnection) -> None:
    async def scenario() -> tuple[int, dict[str, Any], int]:
        async with serve(provisioned, kafka) as gw, aiohttp.ClientSession() as http:
            async with http.get(f"{gw.url}/openapi.json") as r:
                doc = await r.json()
                status = r.status
            async with http.get(f"{gw.url}/healthz") as h:
                return status, doc, h.status

    status, doc, health = asyncio.run(scenario())
    assert (status, health) == (200, 200)
    assert doc["openapi"].startswith("3.1")
    assert {(p, m) for p, item in doc["paths"].items() for m in item} == {
        ("/v1/allegations", "post"),
        ("/healthz", "get"),
        ("/openapi.json", "get"),
    }
    post_op = doc["paths"]["/v1/allegations"]["post"]
    assert set(post_op["responses"]) >= {"202", "400", "401", "403", "413", "422", "503"}
    assert post_op["responses"]["400"]["content"]["application/problem+json"]
    schemas = doc["components"]["schemas"]
    assert {"AllegationEvent", "Allegation", "Subject", "Problem"} <= set(schemas)

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    dangling = [r for r in refs(doc) if r.removeprefix("#/components/schemas/") not in schemas]
    assert dangling == []
