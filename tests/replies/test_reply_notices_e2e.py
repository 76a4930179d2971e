"""The loop closed, through the real `seabus run`: a state's reply reaches OSC whole and the
reporting entity minimised, on their topics, at OSC's webhook, and in a Subscriber's hands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from delivery.delivery_support import (
    ReceiverThread,
    notification_for,
    webhook,
    write_delivery,
)
from replies.replies_support import KEN_TOKEN, bearer, post, reply
from support import unique_prefix, wait_for
from support.bus import BusPool, BusProcess, producer, read_topic
from support.routing import event

from seabus.connectors.gateway import token_sha256
from seabus.connectors.subscriber import Subscriber
from seabus.connectors.webhooks import generate_secret
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.enums import ResponseKind
from seabus.schemas.models import ReplyNotice
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

OSC_SECRET = generate_secret()
AID = "SYNTH-LOOP-E2E-1"
ENTITY = "MINUSCA"  # the synthetic events' reporting entity
INVESTIGATOR = {
    "office": "SYNTH-KEN-MIL-JUSTICE",
    "role": "national investigation officer",
    "contact": "desk@justice.ken.example.org",
    "reference": "SYNTH-KEN-CASE-7",
}


@dataclass
class Bus:
    prefix: str
    process: BusProcess
    url: str
    receivers: ReceiverThread


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    tmp = tmp_path_factory.mktemp("loop")
    gateway = tmp / "gateway.yaml"
    gateway.write_text(
        yaml.safe_dump(
            {
                "host": "127.0.0.1",
                "recipients": [{"recipient": "KEN", "token_sha256": token_sha256(KEN_TOKEN)}],
            }
        )
    )
    with ReceiverThread({"OSC": {"secrets": [OSC_SECRET]}}) as receivers, BusPool() as pool:
        recipients = tmp / "recipients.yaml"
        entries = [
            {
                "id": "OSC",
                "name": "OSC (test)",
                "channels": {"webhook": webhook(receivers["OSC"].url, "SECRET_OSC")},
            },
            {"id": "OIOS", "name": "OIOS (test)"},
            {"id": "VRA", "name": "VRA (test)"},
            {"id": "KEN", "name": "Kenya (test)"},
        ]
        recipients.write_text(yaml.safe_dump({"recipients": entries}, sort_keys=False))
        prefix = unique_prefix()
        process = pool.start(
            kafka,
            prefix,
            tmp / "data",
            SEABUS_GATEWAY_FILE=gateway,
            SEABUS_RECIPIENTS_FILE=recipients,
            SEABUS_DELIVERY_FILE=write_delivery(tmp),
            SECRET_OSC=OSC_SECRET,
        )
        try:
            yield Bus(
                prefix=prefix,
                process=process,
                url=f"http://127.0.0.1:{process.env['SEABUS_GATEWAY__PORT']}",
                receivers=receivers,
            )
        finally:
            process.stop_cleanly()


def notices(kafka: KafkaConnection, topic: str, count: int = 1) -> list[ReplyNotice]:
    def mine(values: list[bytes]) -> list[ReplyNotice]:
        return [
            m
            for m in (decode_model(v) for v in values)
            if isinstance(m, ReplyNotice) and m.allegation_id == AID
        ]

    return mine(read_topic(kafka, topic, until=lambda vs: len(mine(vs)) >= count, timeout=120))


def test_a_states_reply_reaches_osc_whole_and_the_reporting_entity_minimised(
    kafka: KafkaConnection, bus: Bus
) -> None:
    p = producer(kafka)
    subjects = [("SYNTH-SUBJ-LOOP", "KEN", "KEN", P.MILITARY_CONTINGENT)]
    p.send(
        f"{bus.prefix}.allegations", key=AID.encode(), value=encode_model(event(AID, subjects=subjects))
    ).get(timeout=30)
    p.close()
    notification_for(kafka, bus.prefix, "KEN", AID)  # routed: KEN owes answers
    appointed = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    body = reply(
        AID,
        kind=ResponseKind.INVESTIGATION_ACCEPTED_NIO.value,
        responder="SYNTH-DESK-KEN",
        national_investigation_officer_appointed=True,
        investigator={**INVESTIGATOR, "appointed_at": appointed},
        note="Synthetic remark for OSC",
    )
    status, answer, _ = post(f"{bus.url}/v1/responses", body, bearer(KEN_TOKEN))
    assert status == 202, answer

    [osc] = notices(kafka, f"{bus.prefix}.notify.OSC")
    assert (osc.answered_by, osc.kind, osc.note) == (
        "KEN",
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        "Synthetic remark for OSC",
    )
    assert osc.investigator is not None
    assert osc.investigator.model_dump(exclude={"appointed_at"}) == INVESTIGATOR
    assert osc.national_investigation_officer_appointed is True

    [entity] = notices(kafka, f"{bus.prefix}.notify.{ENTITY}")
    assert (entity.recipient, entity.answered_by, entity.kind) == (
        ENTITY,
        "KEN",
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
    )
    assert (entity.investigator, entity.note) == (None, None)
    assert entity.response_id == osc.response_id

    # OSC's webhook gets it, typed by its CloudEvents header, under the notice id.
    receiver = bus.receivers["OSC"]
    wait_for(
        lambda: any(
            r.event_type == "org.seabus.ReplyNotice" and 200 <= r.status < 300 for r in receiver.requests
        ),
        timeout=60,
        what="the reply notice at OSC's webhook",
    )
    [pushed] = [json.loads(r.body) for r in receiver.requests if r.event_type == "org.seabus.ReplyNotice"]
    assert pushed["notice_id"] == osc.notice_id
    assert pushed["investigator"]["office"] == INVESTIGATOR["office"]

    # The agency's own Subscriber hands it over typed.
    heard: list[ReplyNotice] = []
    subscriber = Subscriber(
        kafka=kafka,
        recipient=ENTITY,
        topic_prefix=bus.prefix,
        group_id=f"{ENTITY}.loop-test",
        handler=lambda n: None,
        on_reply=heard.append,
    )

    async def scenario() -> None:
        running = asyncio.create_task(subscriber.run())
        async with asyncio.timeout(60):
            while not heard:
                if running.done():
                    await running
                await asyncio.sleep(0.05)
        subscriber.stop()
        await running

    asyncio.run(scenario())
    assert [n.notice_id for n in heard] == [entity.notice_id]
