"""Issue 13 item 6 through the real `seabus run`: worker, web port and gateway, on the secured cluster.

No table contents on the worker's web port; a 2**40 victim count written straight
to Kafka is dead-lettered naming the field (and the dead letter carries no
narrative), while every notification on a state's topic stays valid Avro; a reply
dated before its obligation is refused; a signed reply resent after a restart of
the gateway is recognised as the same reply.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import yaml
from delivery.delivery_support import notification_for, webhook, write_delivery, write_recipients
from fastavro import schemaless_writer
from replies.replies_support import post, reply, signed
from support import unique_prefix
from support.bus import BusPool, BusProcess, producer, read_topic
from support.routing import event

from seabus.connectors.webhooks import generate_secret
from seabus.schemas.codec import MAGIC, decode_model, default_codec, encode_model
from seabus.schemas.datum_check import range_problems
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import Confidential, DeadLetter, Response
from seabus.schemas.registry import default_registry
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

FRA_SECRET = generate_secret()
NARRATIVE = "SYNTHETIC-E2E-NARRATIVE-MARKER the account of a synthetic witness"


@dataclass
class Bus:
    prefix: str
    pool: BusPool
    process: BusProcess

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.process.env['SEABUS_GATEWAY__PORT']}"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.process.env['SEABUS_WEB_PORT']}"

    def restart(self) -> None:
        """Stop `seabus run` cleanly and start it again on the same ports, data and topics."""
        env = self.process.env
        self.process.stop_cleanly()
        self.process = self.pool.spawn(env)
        self.process.wait_ready()


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    tmp = tmp_path_factory.mktemp("hardening")
    gateway = tmp / "gateway.yaml"
    gateway.write_text(yaml.safe_dump({"host": "127.0.0.1"}))
    recipients = write_recipients(
        tmp,
        [
            {
                "id": "FRA",
                "name": "France (test)",
                "channels": {"webhook": webhook("https://hooks.fra.example.org/", "WEBHOOK_SECRET_FRA")},
            }
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
        running = Bus(prefix=prefix, pool=pool, process=process)
        yield running
        running.process.stop_cleanly()


def notified(kafka: KafkaConnection, prefix: str, aid: str) -> None:
    p = producer(kafka)
    value = encode_model(event(aid, subjects=[("SYNTH-SUBJ-HRD", "FRA", None, P.STAFF_MEMBER)]))
    p.send(f"{prefix}.allegations", key=aid.encode(), value=value).get(timeout=30)
    p.close()
    notification_for(kafka, prefix, "FRA", aid)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def letters_for(
    kafka: KafkaConnection, prefix: str, aid: str, count: int = 1
) -> tuple[list[DeadLetter], list[bytes]]:
    def mine(values: list[bytes]) -> list[tuple[DeadLetter, bytes]]:
        return [
            (d, v)
            for d, v in ((decode_model(v, DeadLetter), v) for v in values)
            if d.original_key == aid.encode()
        ]

    found = mine(
        read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: len(mine(vs)) >= count, timeout=120)
    )
    return [d for d, _ in found], [v for _, v in found]


def test_the_worker_web_port_serves_no_table_contents(kafka: KafkaConnection, bus: Bus) -> None:
    aid = "SYNTH-HRD-E2E-1"
    notified(kafka, bus.prefix, aid)  # the allegation is in the worker's allegation-state table now
    status, _ = get(f"{bus.web}/")
    assert status < 500  # the web server is up and answering on this port
    for path in ("/table/", "/table/allegation-state/", f"/table/allegation-state/{aid}/"):
        status, body = get(f"{bus.web}{path}")
        assert status == 404, (path, status)
        assert aid.encode() not in body
        assert b"SYNTH-SUBJ-HRD" not in body


def test_an_out_of_range_victim_count_on_kafka_is_dead_lettered_and_never_notified(
    kafka: KafkaConnection, bus: Bus
) -> None:
    aid = "SYNTH-HRD-E2E-2"
    bad = event(aid, subjects=[("SYNTH-SUBJ-HRD2", "FRA", None, P.STAFF_MEMBER)])
    bad = bad.model_copy(
        update={
            "allegation": bad.allegation.model_copy(
                update={"confidential": Confidential(narrative=NARRATIVE)}
            )
        }
    )
    datum = bad.to_avro()
    datum["allegation"]["victims"][0]["count"] = 2**40
    writer = default_registry().latest("AllegationEvent")
    out = io.BytesIO()
    out.write(MAGIC + writer.fingerprint)
    schemaless_writer(out, writer.parsed, datum)  # fastavro writes it without a range check
    p = producer(kafka)
    p.send(f"{bus.prefix}.allegations", key=aid.encode(), value=out.getvalue()).get(timeout=30)
    p.close()

    [letter], [raw] = letters_for(kafka, bus.prefix, aid)
    assert letter.reason.value == "VALIDATION_FAILED"
    assert "allegation.victims[0].count" in letter.message
    assert "out of range for Avro int" in letter.message
    assert NARRATIVE.encode() not in raw
    assert b"SYNTH-SUBJ-HRD2" not in raw
    assert letter.original_value_withheld
    assert letter.original_value == b""

    notified(kafka, bus.prefix, "SYNTH-HRD-E2E-2B")  # a later allegation routes: the worker went on
    notification = default_registry().latest("Notification")
    for value in read_topic(kafka, f"{bus.prefix}.notify.FRA", until=lambda vs: True):
        _name, decoded = default_codec().decode(value)
        assert decoded["allegation_id"] != aid
        assert range_problems(notification.parsed, decoded, notification.named_types) == []


def test_a_reply_dated_before_its_obligation_is_dead_lettered(kafka: KafkaConnection, bus: Bus) -> None:
    aid = "SYNTH-HRD-E2E-3"
    notified(kafka, bus.prefix, aid)
    back_dated = Response.model_validate(
        {
            "response_id": "7f1f7c63-2b7e-4f0e-9a55-6c1d2e3f4a5b",
            "allegation_id": aid,
            "recipient": "FRA",
            "kind": "ACKNOWLEDGED",
            "responder": "SYNTH-DESK-FRA",
            "responded_at": datetime(1970, 1, 2, tzinfo=UTC),
        }
    )
    p = producer(kafka)
    p.send(f"{bus.prefix}.responses", key=aid.encode(), value=encode_model(back_dated)).get(timeout=30)
    p.close()
    [letter], _ = letters_for(kafka, bus.prefix, aid)
    assert letter.reason.value == "VALIDATION_FAILED"
    assert "before its first obligation existed" in letter.message
    assert "1970-01-02" in letter.message


def test_a_signed_reply_resent_after_a_gateway_restart_is_the_same_reply(
    kafka: KafkaConnection, bus: Bus
) -> None:
    aid = "SYNTH-HRD-E2E-4"
    notified(kafka, bus.prefix, aid)
    body = reply(aid)
    headers = signed(body, FRA_SECRET)
    status, answer, _ = post(f"{bus.gateway}/v1/webhook-replies/FRA", body, headers)
    assert status == 202, answer
    bus.restart()
    again, replayed, replay_headers = post(f"{bus.gateway}/v1/webhook-replies/FRA", body, headers)
    assert (again, replayed) == (202, answer)
    assert replay_headers.get("Idempotent-Replayed") == "true"
    records = read_topic(kafka, f"{bus.prefix}.responses", until=lambda vs: True)
    mine = [r for r in (decode_model(v, Response) for v in records) if r.allegation_id == aid]
    assert [r.response_id for r in mine] == [answer["response_id"]]
