"""Identifiers beyond their limits get a 400 with the limit in the message, and nothing is sent.

In-process: the gateway app with a recording producer and reply sink, no broker needed.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from gateway.gateway_support import MINUSCA, TOKENS, bearer, event_json

from seabus.connectors.gateway import AgencyAuth, build_gateway_app
from seabus.connectors.gateway.producer import SendOutcome
from seabus.connectors.gateway.responses import RecipientAuth, response_routes
from seabus.connectors.publisher.outgoing import OutgoingEvent
from seabus.connectors.publisher.sdk import PublishReceipt
from seabus.streams.config import Settings, load_settings
from seabus.streams.config.recipients import RecipientsDirectory

FRA_TOKEN = "sbr_test-fra-token"
PROBLEM = "application/problem+json"
HUGE = 400_000


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[OutgoingEvent] = []

    async def send_batch(self, batch: Sequence[OutgoingEvent], *, timeout_s: float) -> list[SendOutcome]:
        self.sent.extend(batch)
        return [PublishReceipt(o.event_id, o.allegation_id, 0, i) for i, o in enumerate(batch)]


class RecordingSink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(
        self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]], timeout_s: float
    ) -> tuple[int, int]:
        self.sent.append(key)
        return 0, len(self.sent)


@pytest.fixture
def offline_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    return load_settings(
        bootstrap="127.0.0.1:9", topic_prefix="t", app_id="t", data_dir=tmp_path / "data", cache_dir=tmp_path
    )


def post(settings: Settings, path: str, body: Any, token: str) -> tuple[int, str, dict[str, Any], int]:
    producer, sink = RecordingProducer(), RecordingSink()
    offices = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA", "FRA")]
    directory = RecipientsDirectory.model_validate({"recipients": offices})
    app = build_gateway_app(
        settings=settings,
        producer=producer,
        auth=AgencyAuth.from_tokens(TOKENS),
        known_entities=frozenset({"MINUSCA", "MONUSCO"}),
        extra_routes=(
            response_routes(
                auth=RecipientAuth.from_tokens({FRA_TOKEN: "FRA"}), sink=sink, directory=directory
            ),
        ),
    )

    async def main() -> tuple[int, str, dict[str, Any], int]:
        async with TestClient(TestServer(app)) as client:
            response = await client.post(
                path, data=json.dumps(body), headers={**bearer(token), "Content-Type": "application/json"}
            )
            text = await response.text()
            return (
                response.status,
                response.content_type,
                json.loads(text),
                len(producer.sent) + len(sink.sent),
            )

    return asyncio.run(main())


def test_a_400_kb_allegation_id_is_a_400_naming_the_limit(offline_settings: Settings) -> None:
    event = event_json("SYNTH-" + "4" * HUGE)
    event["allegation"]["subjects"][0]["subject_ref"] = "SYNTH-SUBJ-GW-1"  # event_json derives it from the id
    status, content_type, body, sent = post(offline_settings, "/v1/allegations", event, MINUSCA)
    assert (status, content_type, sent) == (400, PROBLEM, 0)
    assert body["type"] == "urn:seabus:problem:validation-failed"
    [error] = body["errors"]
    assert (error["path"], error["pointer"]) == ("allegation_id", "#/allegation_id")
    assert error["detail"].startswith(f"is {HUGE + 6} characters long, more than the limit of 64")
    assert len(json.dumps(body)) < 2000  # neither the id nor anything else is echoed back


def test_an_oversized_event_id_is_not_echoed_back(offline_settings: Settings) -> None:
    event = event_json("SYNTH-GW-LIM-1")
    event["event_id"] = "-" * HUGE + "0b6c2d9e4f1a4c1e9a572f0e7c3b8d41"
    status, _, body, sent = post(offline_settings, "/v1/allegations", event, MINUSCA)
    assert (status, sent) == (400, 0)
    [error] = body["errors"]
    assert (error["path"], error["event_id"]) == ("event_id", None)
    assert "36-character" in error["detail"]


def test_bad_subject_ref_in_a_batch_is_located(offline_settings: Settings) -> None:
    good, bad = event_json("SYNTH-GW-LIM-2"), event_json("SYNTH-GW-LIM-3")
    bad["allegation"]["subjects"][0]["subject_ref"] = "SYNTH SUBJ 1"
    status, _, body, sent = post(offline_settings, "/v1/allegations", [good, bad], MINUSCA)
    assert (status, sent) == (400, 0)
    [error] = body["errors"]
    assert error["pointer"] == "#/1/allegation/subjects/0/subject_ref"
    assert "not allowed (position 6)" in error["detail"]


def test_a_valid_event_still_goes_through(offline_settings: Settings) -> None:
    status, _, body, sent = post(offline_settings, "/v1/allegations", event_json("SYNTH-GW-LIM-4"), MINUSCA)
    assert (status, sent) == (202, 1)
    assert body["accepted"][0]["allegation_id"] == "SYNTH-GW-LIM-4"


def test_a_reply_with_an_oversized_allegation_id_or_responder_is_a_400(offline_settings: Settings) -> None:
    reply = {"allegation_id": "A" * HUGE, "kind": "ACKNOWLEDGED", "responder": "Desk " * 1000}
    status, content_type, body, sent = post(offline_settings, "/v1/responses", reply, FRA_TOKEN)
    assert (status, content_type, sent) == (400, PROBLEM, 0)
    details = {e["path"]: e["detail"] for e in body["errors"]}
    assert set(details) == {"allegation_id", "responder"}
    assert "limit of 64" in details["allegation_id"]
    assert "limit of 128" in details["responder"]
    assert len(json.dumps(body)) < 2000


def test_a_reply_naming_a_huge_recipient_is_refused_without_echoing_it(offline_settings: Settings) -> None:
    reply = {
        "allegation_id": "SYNTH-RPL-1",
        "kind": "ACKNOWLEDGED",
        "responder": "Desk",
        "recipient": "R" * HUGE,
    }
    status, _, body, sent = post(offline_settings, "/v1/responses", reply, FRA_TOKEN)
    assert (status, sent) == (403, 0)
    assert len(json.dumps(body)) < 2000
