"""Replies through the real `seabus run` gateway: they reach sea.responses and satisfy the obligation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml
from delivery.delivery_support import notification_for, webhook, write_delivery, write_recipients
from replies.replies_support import FRA_TOKEN, KEN_TOKEN, bearer, post, reply, signed
from support import unique_prefix
from support.bus import BusPool, BusProcess, producer, read_topic
from support.routing import event

from seabus.connectors.gateway import token_sha256
from seabus.connectors.webhooks import generate_secret
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import ObligationUpdate
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

FRA_SECRET = generate_secret()


@dataclass
class Bus:
    prefix: str
    process: BusProcess
    url: str


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    tmp = tmp_path_factory.mktemp("replies")
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
    # FRA's webhook channel gives the bus FRA's secret; push delivery itself is off in this module.
    recipients = write_recipients(
        tmp,
        [
            {
                "id": "FRA",
                "name": "France (test)",
                "channels": {"webhook": webhook("https://hooks.fra.example.org/", "WEBHOOK_SECRET_FRA")},
            },
            {"id": "KEN", "name": "Kenya (test)"},
        ],
    )
    prefix = unique_prefix()
    with BusPool() as pool:
        process = pool.start(
            kafka,
            prefix,
            tmp / "data",
            SEABUS_GATEWAY_FILE=gateway,
            SEABUS_RECIPIENTS_FILE=recipients,
            SEABUS_DELIVERY_FILE=write_delivery(tmp, enabled=False),
            WEBHOOK_SECRET_FRA=FRA_SECRET,
        )
        yield Bus(
            prefix=prefix, process=process, url=f"http://127.0.0.1:{process.env['SEABUS_GATEWAY__PORT']}"
        )
        process.stop_cleanly()


def notified(kafka: KafkaConnection, prefix: str, aid: str) -> None:
    p = producer(kafka)
    subjects = [("SYNTH-SUBJ-RPL", "FRA", None, P.STAFF_MEMBER)]
    p.send(f"{prefix}.allegations", key=aid.encode(), value=encode_model(event(aid, subjects=subjects))).get(
        timeout=30
    )
    p.close()
    notification_for(kafka, prefix, "FRA", aid)  # routed, so its obligations are open


def acknowledged(kafka: KafkaConnection, prefix: str, aid: str) -> ObligationUpdate:
    def satisfied(values: list[bytes]) -> list[ObligationUpdate]:
        return [
            u
            for u in (decode_model(v, ObligationUpdate) for v in values)
            if (u.allegation_id, u.recipient, u.kind.value, u.state.value)
            == (aid, "FRA", "ACKNOWLEDGE", "SATISFIED")
        ]

    return satisfied(read_topic(kafka, f"{prefix}.obligations", until=lambda vs: bool(satisfied(vs))))[0]


def test_a_reply_by_token_satisfies_the_acknowledgement(kafka: KafkaConnection, bus: Bus) -> None:
    aid = "SYNTH-RPL-E2E-1"
    notified(kafka, bus.prefix, aid)
    status, body, _ = post(f"{bus.url}/v1/responses", reply(aid), bearer(FRA_TOKEN))
    assert status == 202, body
    update = acknowledged(kafka, bus.prefix, aid)
    assert (update.answered_by, update.answered_kind.value if update.answered_kind else None) == (
        "SYNTH-DESK-FRA",
        "ACKNOWLEDGED",
    )


def test_a_signed_webhook_reply_satisfies_the_acknowledgement(kafka: KafkaConnection, bus: Bus) -> None:
    aid = "SYNTH-RPL-E2E-2"
    notified(kafka, bus.prefix, aid)
    body = reply(aid)
    status, answer, _ = post(f"{bus.url}/v1/webhook-replies/FRA", body, signed(body, FRA_SECRET))
    assert status == 202, answer
    assert acknowledged(kafka, bus.prefix, aid).answered_by == "SYNTH-DESK-FRA"


def test_another_states_token_and_a_bad_signature_are_refused(bus: Bus) -> None:
    body = reply("SYNTH-RPL-E2E-3", recipient="FRA")
    status, problem, _ = post(f"{bus.url}/v1/responses", body, bearer(KEN_TOKEN))
    assert (status, problem["type"]) == (403, "urn:seabus:problem:wrong-recipient")
    tampered = body.replace(b"ACKNOWLEDGED", b"INVESTIGATION_DECLINED")
    status, problem, _ = post(f"{bus.url}/v1/webhook-replies/FRA", tampered, signed(body, FRA_SECRET))
    assert (status, problem["type"]) == (401, "urn:seabus:problem:unauthenticated")
