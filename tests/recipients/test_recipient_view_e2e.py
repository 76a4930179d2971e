"""A state's own view through the real `seabus run`: FRA's reply token gets FRA's obligations,
notifications and formal notice (never KEN's), its answer flips the obligation to answered, KEN's
token gets 403."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from recipients.recipients_support import FRA_TOKEN, KEN_TOKEN, bearer, get
from replies.replies_support import post, reply
from support import WITH_VIEW, unique_prefix, wait_for
from support.bus import BusPool, BusProcess, producer
from support.routing import event

from seabus.connectors.gateway import token_sha256
from seabus.schemas.cloudevents import format_time
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import PersonnelCategory as P
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

FRA_AID = "SYNTH-SV-E2E-FRA"
KEN_AID = "SYNTH-SV-E2E-KEN"


@dataclass
class Bus:
    prefix: str
    process: BusProcess
    url: str


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    tmp = tmp_path_factory.mktemp("stateview")
    gateway = tmp / "gateway.yaml"
    gateway.write_text(
        yaml.safe_dump(
            {
                "host": "127.0.0.1",
                "recipients": [
                    {"recipient": "FRA", "token_sha256": token_sha256(FRA_TOKEN)},
                    {"recipient": "KEN", "token_sha256": token_sha256(KEN_TOKEN)},
                ],
            }
        )
    )
    recipients = tmp / "recipients.yaml"
    entries = [{"id": i, "name": f"{i} (test)"} for i in ("OSC", "OIOS", "VRA", "FRA", "KEN")]
    recipients.write_text(yaml.safe_dump({"recipients": entries}, sort_keys=False))
    with BusPool() as pool:
        prefix = unique_prefix()
        process = pool.start(
            kafka,
            prefix,
            tmp / "data",
            SEABUS_GATEWAY_FILE=gateway,
            SEABUS_RECIPIENTS_FILE=recipients,
            **WITH_VIEW,
        )
        try:
            yield Bus(
                prefix=prefix, process=process, url=f"http://127.0.0.1:{process.env['SEABUS_GATEWAY__PORT']}"
            )
        finally:
            process.stop_cleanly()


@pytest.fixture(scope="module")
def published(kafka: KafkaConnection, bus: Bus) -> datetime:
    """Two synthetic allegations, one about a French staff member, one about a Kenyan; returns a time before."""
    before = datetime.now(UTC) - timedelta(seconds=2)
    p = producer(kafka)
    at = datetime.now(UTC) - timedelta(minutes=1)
    for aid, state in ((FRA_AID, "FRA"), (KEN_AID, "KEN")):
        record = event(aid, subjects=[(f"SYNTH-SUBJ-{aid}", state, None, P.STAFF_MEMBER)], published_at=at)
        p.send(f"{bus.prefix}.allegations", key=aid.encode(), value=encode_model(record)).get(timeout=30)
    p.close()
    return before


def obligations(bus: Bus, recipient: str, token: str) -> dict[str, Any]:
    status, body, _, _ = get(f"{bus.url}/v1/recipients/{recipient}/obligations", bearer(token))
    assert status == 200, body
    return dict(body)


def owed(bus: Bus, aid: str) -> list[dict[str, Any]]:
    return [i for i in obligations(bus, "FRA", FRA_TOKEN)["items"] if i["allegation_id"] == aid]


def test_a_state_sees_what_it_owes_and_its_answer_flips_it_to_answered(bus: Bus, published: datetime) -> None:
    [acknowledge] = wait_for(lambda: owed(bus, FRA_AID), timeout=90, what="FRA's obligation in its own view")
    assert (acknowledge["obligation"], acknowledge["state"], acknowledge["answered"]) == (
        "ACKNOWLEDGE",
        "OPEN",
        False,
    )
    assert datetime.fromisoformat(acknowledge["due_at"]) > datetime.fromisoformat(acknowledge["created_at"])
    mine = obligations(bus, "FRA", FRA_TOKEN)
    assert {i["allegation_id"] for i in mine["items"]} == {FRA_AID}  # never KEN's
    kens = wait_for(
        lambda: [i for i in obligations(bus, "KEN", KEN_TOKEN)["items"] if i["allegation_id"] == KEN_AID],
        timeout=60,
        what="KEN's obligation in KEN's view",
    )
    assert kens[0]["state"] == "OPEN"

    status, answer, _ = post(
        f"{bus.url}/v1/responses", reply(FRA_AID, responder="SYNTH-DESK-FRA"), bearer(FRA_TOKEN)
    )
    assert status == 202, answer

    def answered() -> dict[str, Any] | None:
        items = owed(bus, FRA_AID)
        return items[0] if items and items[0]["state"] == "SATISFIED" else None

    done = wait_for(answered, timeout=90, what="FRA's acknowledgement answered in its own view")
    assert (done["answered"], done["answered_kind"], done["overdue"]) == (True, "ACKNOWLEDGED", False)
    assert done["answered_at"] is not None
    assert obligations(bus, "FRA", FRA_TOKEN)["open"] == 0


def test_a_state_reads_what_it_was_told_since_a_time(bus: Bus, published: datetime) -> None:
    url = f"{bus.url}/v1/recipients/FRA/notifications?since={quote(format_time(published))}"

    def told() -> list[dict[str, Any]]:
        status, body, _, _ = get(url, bearer(FRA_TOKEN))
        assert status == 200, body
        return [i for i in body["items"] if i["type"] == "notification" and i["allegation_id"] == FRA_AID]

    [item] = wait_for(told, timeout=90, what="FRA's notification on its own topic")
    assert item["record"]["recipient"] == "FRA"
    assert [o["kind"] for o in item["record"]["obligations"]] == ["ACKNOWLEDGE"]
    status, body, _, raw = get(url, bearer(FRA_TOKEN))
    assert status == 200
    assert KEN_AID.encode() not in raw
    assert body["next"]


@pytest.mark.parametrize("route", ["obligations", "notifications"])
def test_another_states_token_gets_403_and_no_token_401(bus: Bus, published: datetime, route: str) -> None:
    status, problem, _, raw = get(f"{bus.url}/v1/recipients/FRA/{route}", bearer(KEN_TOKEN))
    assert (status, problem["type"]) == (403, "urn:seabus:problem:wrong-recipient")
    assert FRA_AID.encode() not in raw
    status, problem, headers, _ = get(f"{bus.url}/v1/recipients/FRA/{route}")
    assert (status, problem["type"]) == (401, "urn:seabus:problem:unauthenticated")
    assert "WWW-Authenticate" in headers


def test_the_running_gateway_describes_the_recipients_routes(bus: Bus) -> None:
    status, doc, _, _ = get(f"{bus.url}/openapi.json")
    assert status == 200
    assert {
        "/v1/recipients/{recipient}/obligations",
        "/v1/recipients/{recipient}/notifications",
        "/v1/recipients/{recipient}/notices/{allegation_id}",
    } <= set(doc["paths"])


def test_a_state_gets_its_formal_notice_and_another_state_gets_403(bus: Bus, published: datetime) -> None:
    notice = f"{bus.url}/v1/recipients/FRA/notices/{FRA_AID}"

    def fetched() -> tuple[int, dict[str, str], bytes] | None:
        status, _, headers, raw = get(notice, bearer(FRA_TOKEN))
        return (status, headers, raw) if status == 200 else None

    status, headers, raw = wait_for(fetched, timeout=90, what="FRA's formal notice")
    assert headers["Content-Type"] == "application/pdf"
    assert raw.startswith(b"%PDF")
    assert headers["X-Notice-Reference"].endswith(f"/{FRA_AID}/FRA")

    status, _, headers, raw = get(f"{notice}?format=html", bearer(FRA_TOKEN))
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert FRA_AID in raw.decode()
    assert "Permanent Mission of France" in raw.decode()

    status, problem, _, raw = get(notice, bearer(KEN_TOKEN))
    assert (status, problem["type"]) == (403, "urn:seabus:problem:wrong-recipient")
    assert not raw.startswith(b"%PDF")
    status, _, _, _ = get(notice)
    assert status == 401
    # KEN was never notified of FRA's allegation: no notice of it on KEN's own URL either.
    status, _, _, _ = get(f"{bus.url}/v1/recipients/KEN/notices/{FRA_AID}", bearer(KEN_TOKEN))
    assert status == 404
