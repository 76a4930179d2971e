"""The two reply routes on a real gateway app with a real Kafka producer (no worker behind it)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from publish.publish_support import read_records
from replies.replies_support import AGENCY_TOKEN, FRA_TOKEN, KEN_TOKEN, bearer, post, reply, signed
from support import free_port

from seabus.connectors.gateway import AgencyAuth, build_gateway_app
from seabus.connectors.gateway.responses import RecipientAuth, response_routes
from seabus.connectors.gateway.webhook_replies import webhook_reply_routes
from seabus.connectors.webhooks import generate_secret
from seabus.deploy import topics
from seabus.schemas.cloudevents import parse_headers
from seabus.schemas.codec import decode_model
from seabus.schemas.models import Response
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

T = TypeVar("T")
FRA_SECRET = generate_secret()


def directory() -> RecipientsDirectory:
    offices = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA")]
    fra = {
        "id": "FRA",
        "name": "France (test)",
        "channels": {
            "webhook": {"url": "https://hooks.fra.example.org/", "secrets_env": ["WEBHOOK_SECRET_FRA"]}
        },
    }
    return RecipientsDirectory.model_validate({"recipients": [*offices, fra, {"id": "KEN", "name": "Kenya"}]})


@pytest.fixture
def gateway(
    settings: Settings, kafka: KafkaConnection, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Callable[[str], Awaitable[T]]], T]:
    """Run a coroutine against a gateway serving both reply routes on 127.0.0.1."""
    topics.apply(settings, ["FRA", "KEN"], kafka=kafka)
    monkeypatch.setenv("WEBHOOK_SECRET_FRA", FRA_SECRET)

    def run(scenario: Callable[[str], Awaitable[T]]) -> T:
        async def main() -> T:
            auth = RecipientAuth.from_tokens({FRA_TOKEN: "FRA", KEN_TOKEN: "KEN"})
            options: dict[str, Any] = {"auth": auth, "directory": directory(), "kafka": kafka}
            app = build_gateway_app(
                settings=settings,
                producer=None,  # type: ignore[arg-type]  # the allegations route is not served here
                auth=AgencyAuth.from_tokens({AGENCY_TOKEN: "MINUSCA"}),
                routes=(),
                extra_routes=(response_routes(**options), webhook_reply_routes(**options)),
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                return await scenario(f"http://127.0.0.1:{port}")
            finally:
                await runner.cleanup()

        return asyncio.run(main())

    return run


async def call(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    return await asyncio.to_thread(post, url, body, headers)


def on_topic(
    kafka: KafkaConnection, topic: str, response_id: str
) -> tuple[Response, list[tuple[str, bytes]]]:
    records = read_records(
        kafka,
        topic,
        until=lambda rs: any(decode_model(r.value, Response).response_id == response_id for r in rs),
    )
    [record] = [r for r in records if decode_model(r.value, Response).response_id == response_id]
    assert record.key == decode_model(record.value, Response).allegation_id.encode()
    return decode_model(record.value, Response), list(record.headers.items())


def test_a_reply_with_a_token_is_on_kafka_when_the_answer_is_202(
    gateway: Any, settings: Settings, kafka: KafkaConnection
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    status, body, _ = gateway(
        lambda url: call(f"{url}/v1/responses", reply("SYNTH-RPL-0001"), bearer(FRA_TOKEN))
    )
    assert status == 202
    assert uuid.UUID(body["response_id"]).version == 4  # filled in by the gateway
    assert (body["allegation_id"], body["recipient"]) == ("SYNTH-RPL-0001", "FRA")
    response, headers = on_topic(kafka, settings.topic("responses"), body["response_id"])
    assert (response.recipient, response.kind.value, response.responder) == (
        "FRA",
        "ACKNOWLEDGED",
        "SYNTH-DESK-FRA",
    )
    assert response.responded_at >= before.replace(microsecond=0)
    meta = parse_headers(headers)
    assert (meta.id, meta.type, meta.subject) == (
        body["response_id"],
        "org.seabus.Response",
        "SYNTH-RPL-0001",
    )


def test_every_problem_is_listed_and_nothing_is_sent(gateway: Any) -> None:
    body = json.dumps({"allegation_id": "SYNTH-RPL-0002", "kind": "MAYBE", "note": 7}).encode()
    status, problem, headers = gateway(lambda url: call(f"{url}/v1/responses", body, bearer(FRA_TOKEN)))
    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert problem["type"] == "urn:seabus:problem:validation-failed"
    assert {e["path"] for e in problem["errors"]} == {"kind", "responder", "note"}
    assert all(e["pointer"].startswith("#/") for e in problem["errors"])


@pytest.mark.parametrize(
    ("headers", "status", "problem_type"),
    [
        ({}, 401, "urn:seabus:problem:unauthenticated"),
        (bearer("sbk_unknown-token"), 401, "urn:seabus:problem:unauthenticated"),
        (bearer(AGENCY_TOKEN), 403, "urn:seabus:problem:wrong-recipient"),
        (bearer(KEN_TOKEN), 403, "urn:seabus:problem:wrong-recipient"),
    ],
)
def test_only_a_recipient_answers_and_only_for_itself(
    gateway: Any, headers: dict[str, str], status: int, problem_type: str
) -> None:
    body = reply("SYNTH-RPL-0003", recipient="FRA")
    got, problem, _ = gateway(lambda url: call(f"{url}/v1/responses", body, headers))
    assert (got, problem["type"]) == (status, problem_type)


def test_a_signed_webhook_reply_is_accepted_once(
    gateway: Any, settings: Settings, kafka: KafkaConnection
) -> None:
    body = reply("SYNTH-RPL-0004")
    headers = signed(body, FRA_SECRET)

    async def scenario(url: str) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
        return [await call(f"{url}/v1/webhook-replies/FRA", body, headers) for _ in range(2)]

    (first, answer, _), (second, again, replay_headers) = gateway(scenario)
    assert (first, second) == (202, 202)
    assert again == answer  # the stored answer: same partition and offset, no second record
    assert replay_headers.get("Idempotent-Replayed") == "true"
    response, _ = on_topic(kafka, settings.topic("responses"), answer["response_id"])
    assert response.recipient == "FRA"


@pytest.mark.parametrize("case", ["tampered", "wrong secret", "stale", "unsigned", "no secret for KEN"])
def test_a_bad_signature_is_refused(gateway: Any, case: str) -> None:
    body = reply("SYNTH-RPL-0005")
    path, headers = "/v1/webhook-replies/FRA", signed(body, FRA_SECRET)
    if case == "tampered":
        body = body.replace(b"ACKNOWLEDGED", b"INVESTIGATION_DECLINED")
    elif case == "wrong secret":
        headers = signed(body, generate_secret())
    elif case == "stale":
        headers = signed(body, FRA_SECRET, at=datetime.now(UTC) - timedelta(minutes=10))
    elif case == "unsigned":
        headers = {}
    else:
        path, headers = "/v1/webhook-replies/KEN", signed(body, FRA_SECRET)
    status, problem, _ = gateway(lambda url: call(f"{url}{path}", body, headers))
    assert (status, problem["type"]) == (401, "urn:seabus:problem:unauthenticated")


def test_a_signed_reply_cannot_answer_for_another_state(gateway: Any) -> None:
    body = reply("SYNTH-RPL-0006", recipient="KEN")
    status, problem, _ = gateway(
        lambda url: call(f"{url}/v1/webhook-replies/FRA", body, signed(body, FRA_SECRET))
    )
    assert (status, problem["type"]) == (403, "urn:seabus:problem:wrong-recipient")


def test_the_openapi_document_describes_both_routes(gateway: Any) -> None:
    async def scenario(url: str) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/openapi.json") as answer:
            document: dict[str, Any] = await answer.json()
            return document

    document = gateway(scenario)
    paths = document["paths"]
    assert {"/v1/responses", "/v1/webhook-replies/{recipient}"} <= set(paths)
    submission = document["components"]["schemas"]["ResponseSubmission"]
    assert "response_id" not in submission["required"]
    assert {"allegation_id", "kind", "responder"} <= set(submission["required"])
    assert set(paths["/v1/responses"]["post"]["responses"]) >= {"202", "400", "401", "403", "503"}


# --- issue 13 item 6: one webhook-id, remembered across restarts; problems, never a crash ---------


async def post_raw(url: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, str, dict[str, Any]]:
    """POST with headers as a list, so one name can be sent twice (urllib cannot)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=[("Content-Type", "application/json"), *headers]) as answer,
    ):
        return answer.status, answer.content_type, json.loads(await answer.read())


def with_webhook_id(kafka: KafkaConnection, topic: str, webhook_id: str) -> list[Any]:
    records = read_records(kafka, topic, until=lambda rs: True)
    return [r for r in records if r.headers.get("seabus-webhook-id") == webhook_id.encode()]


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp"])
def test_a_captured_reply_resent_with_an_extra_header_is_a_400(
    gateway: Any, settings: Settings, kafka: KafkaConnection, header: str
) -> None:
    body = reply("SYNTH-RPL-0101")
    captured = signed(body, FRA_SECRET)
    url_path = "/v1/webhook-replies/FRA"
    extra = {
        "webhook-id": f"msg_{uuid.uuid4().hex}",
        "webhook-timestamp": str(int(datetime.now(UTC).timestamp()) - 1),
    }

    async def scenario(url: str) -> list[tuple[int, str, dict[str, Any]]]:
        first = await post_raw(f"{url}{url_path}", body, list(captured.items()))
        # The attack: the same signed reply, with an earlier header of the same name in front.
        twice = [(header, extra[header]), *captured.items()]
        return [
            first,
            await post_raw(f"{url}{url_path}", body, twice),
            await post_raw(f"{url}{url_path}", body, twice),
        ]

    (first, _, answer), *resent = gateway(scenario)
    assert first == 202
    for status, content_type, problem in resent:
        assert (status, content_type, problem["type"]) == (
            400,
            "application/problem+json",
            "urn:seabus:problem:malformed-request",
        )
        assert header in problem["detail"]
    assert len(with_webhook_id(kafka, settings.topic("responses"), captured["webhook-id"])) == 1
    assert answer["response_id"]


def test_a_resend_after_a_gateway_restart_is_recognised(
    gateway: Any, settings: Settings, kafka: KafkaConnection
) -> None:
    body = reply("SYNTH-RPL-0102")
    headers = signed(body, FRA_SECRET)
    path = "/v1/webhook-replies/FRA"
    # Two gateway apps one after the other: the second starts with an empty memory of its own.
    first, answer, _ = gateway(lambda url: call(f"{url}{path}", body, headers))
    again, replayed, replay_headers = gateway(lambda url: call(f"{url}{path}", body, headers))
    assert (first, again) == (202, 202)
    assert replayed == answer
    assert replay_headers.get("Idempotent-Replayed") == "true"
    assert len(with_webhook_id(kafka, settings.topic("responses"), headers["webhook-id"])) == 1
    # Another body under the same id after the restart is still a reuse, not a new reply.
    other = reply("SYNTH-RPL-0102", responder="SYNTH-OTHER-DESK")
    reuse = sign_with_id(other, headers["webhook-id"])
    status, problem, _ = gateway(lambda url: call(f"{url}{path}", other, reuse))
    assert (status, problem["type"]) == (422, "urn:seabus:problem:idempotency-key-reused")


def sign_with_id(body: bytes, webhook_id: str) -> dict[str, str]:
    return signed(body, FRA_SECRET, webhook_id=webhook_id)


def test_a_non_ascii_signature_is_a_401_problem(gateway: Any) -> None:
    body = reply("SYNTH-RPL-0103")
    headers = {**signed(body, FRA_SECRET), "webhook-signature": "v1,sïgnätürë=="}
    status, content_type, problem = gateway(
        lambda url: post_raw(f"{url}/v1/webhook-replies/FRA", body, list(headers.items()))
    )
    assert (status, content_type, problem["type"]) == (
        401,
        "application/problem+json",
        "urn:seabus:problem:unauthenticated",
    )


def test_json_nested_100k_deep_is_a_400_problem_on_both_routes(gateway: Any) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000

    async def scenario(url: str) -> list[tuple[int, str, dict[str, Any]]]:
        by_token = await post_raw(f"{url}/v1/responses", deep, list(bearer(FRA_TOKEN).items()))
        by_signature = await post_raw(
            f"{url}/v1/webhook-replies/FRA", deep, list(signed(deep, FRA_SECRET).items())
        )
        return [by_token, by_signature]

    for status, content_type, problem in gateway(scenario):
        assert (status, content_type, problem["type"]) == (
            400,
            "application/problem+json",
            "urn:seabus:problem:malformed-request",
        )
        assert "nested too deeply" in problem["detail"]
