"""The first "done when" of issue 13 on the real secured cluster, through the real worker.

Principals are made the way an operator makes them (`seabus access apply`, then
`seabus access credentials ID --json`), and each is then used only with its own secret:
clients without the right credentials are refused at sign-in; URY cannot read FRA's
topic or the bus's own topics and cannot write where FRA's replies or agencies' events
go (authorization errors from the broker, not timeouts); FRA reads its topic and its
reply, written to its own inbound topic, satisfies its obligation; no agency writes
another agency's inbound topic.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka.errors import GroupAuthorizationFailedError as AioGroupAuthorizationFailed
from aiokafka.errors import TopicAuthorizationFailedError as AioTopicAuthorizationFailed
from kafka import TopicPartition
from kafka.admin import UserScramCredentialDeletion
from kafka.errors import KafkaError, TopicAuthorizationFailedError
from pydantic import SecretStr
from support import bus_env, unique_prefix
from support.bus import BusPool, BusProcess, read_topic
from support.notify import notifications_among
from support.reading import read_all
from support.routing import event

from seabus.connectors.subscriber import Subscriber
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.enums import ResponseKind
from seabus.schemas.models import Notification, ObligationUpdate, Response
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity

pytestmark = pytest.mark.kafka

PRINCIPALS = ("FRA", "URY", "MINUSCA", "MONUSCO")


@dataclass(frozen=True)
class Bus:
    prefix: str
    process: BusProcess
    kafka: KafkaConnection  # the bus's own principal (a super user)
    principals: dict[str, KafkaConnection]  # each made by `seabus access credentials`

    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"


def _seabus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "seabus.deploy.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def _connection(made: dict[str, str]) -> KafkaConnection:
    """A client configured from nothing but what `access credentials --json` printed."""
    return KafkaConnection(
        bootstrap=made["bootstrap"],
        security=KafkaSecurity(
            security_protocol=made["security_protocol"],  # type: ignore[arg-type]
            sasl_mechanism=made["sasl_mechanism"],  # type: ignore[arg-type]
            username=made["principal"],
            password=SecretStr(made["password"]),
            ca_file=Path(made["ca_file"]) if made["ca_file"] else None,
        ),
    )


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    if not (kafka.tls and kafka.sasl):
        pytest.skip("the suite runs against a cluster without TLS and SASL (SEABUS_BOOTSTRAP)")
    prefix = unique_prefix()
    data = tmp_path_factory.mktemp("access-bus")
    with BusPool() as pool:
        process = pool.start(kafka, prefix, data)
        env = bus_env(kafka=kafka, prefix=prefix, data_dir=data)
        _seabus(env, "access", "apply")
        made = {p: json.loads(_seabus(env, "access", "credentials", p, "--json").stdout) for p in PRINCIPALS}
        try:
            yield Bus(prefix, process, kafka, {p: _connection(m) for p, m in made.items()})
            process.stop_cleanly()
        finally:
            admin = kafka.kafka_admin()
            try:
                admin.alter_user_scram_credentials(
                    [UserScramCredentialDeletion(p, "SCRAM-SHA-512") for p in PRINCIPALS]
                )
            finally:
                admin.close()


def _send(connection: KafkaConnection, topic: str, key: str, value: bytes) -> None:
    producer = connection.kafka_producer(acks="all", max_block_ms=20000)
    try:
        producer.send(topic, key=key.encode(), value=value).get(timeout=30)
    finally:
        producer.close(timeout=5)


def _reported(bus: Bus, aid: str) -> None:
    """MINUSCA, as itself, reports an allegation concerning FRA and URY; FRA's topic has it."""
    subjects = [
        ("SYNTH-SUBJ-ACCESS-FRA", "FRA", None, P.STAFF_MEMBER),
        ("SYNTH-SUBJ-ACCESS-URY", "URY", None, P.STAFF_MEMBER),
    ]
    _send(
        bus.principals["MINUSCA"],
        bus.topic("inbound.MINUSCA"),
        aid,
        encode_model(event(aid, subjects=subjects)),
    )
    read_topic(
        bus.kafka,
        bus.topic("notify.FRA"),
        until=lambda vs: any(n.allegation_id == aid for n in notifications_among(vs)),
        timeout=120,
    )


# -- sign-in ----------------------------------------------------------------------------------


def _produce_once(client: KafkaConnection, topic: str) -> None:
    producer = client.kafka_producer(bootstrap_timeout_ms=4000, max_block_ms=4000)
    try:
        producer.send(topic, b"forged").get(timeout=5)
    finally:
        producer.close(timeout=1)


@pytest.mark.parametrize("case", ["plaintext", "no credentials", "wrong password"])
def test_a_client_without_the_right_credentials_is_refused(bus: Bus, case: str) -> None:
    fra = bus.principals["FRA"]
    client = {
        "plaintext": KafkaConnection(bootstrap=fra.bootstrap),
        "no credentials": KafkaConnection(
            bootstrap=fra.bootstrap,
            security=KafkaSecurity(security_protocol="SSL", ca_file=fra.security.ca_file),
        ),
        "wrong password": KafkaConnection(
            bootstrap=fra.bootstrap,
            security=fra.security.model_copy(update={"password": SecretStr("not-it")}),
        ),
    }[case]
    before = read_all(bus.kafka, bus.topic("inbound.FRA"))
    with pytest.raises(KafkaError, match=r"(?i)bootstrap"):  # it never gets a usable connection
        _produce_once(client, bus.topic("inbound.FRA"))
    assert read_all(bus.kafka, bus.topic("inbound.FRA")) == before


# -- URY ------------------------------------------------------------------------------------


def _refused_letter(bus: Bus) -> None:
    """URY answers as FRA on its own inbound topic: the bus dead-letters it (ORIGIN_MISMATCH)."""
    aid = "SYNTH-ACCESS-0001"
    forged = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient="FRA",
        kind=ResponseKind.ACKNOWLEDGED,
        responded_at=datetime.now(UTC),
        responder="SYNTH-OFFICE-URY",
    )
    if not read_all(bus.kafka, bus.topic("deadletter")):
        _send(bus.principals["URY"], bus.topic("inbound.URY"), aid, encode_model(forged))
    read_topic(bus.kafka, bus.topic("deadletter"), until=bool, timeout=120)


async def _read_in_group(connection: KafkaConnection, topic: str, group: str, *, want: int = 1) -> int:
    """Records of ``topic`` read in consumer group ``group`` (up to 60 s, stops at ``want``)."""
    consumer = connection.aio_consumer(topic, group_id=group, auto_offset_reset="earliest")
    await consumer.start()
    try:
        got = 0
        for _ in range(60):
            got += sum(len(b) for b in (await consumer.getmany(timeout_ms=1000)).values())
            if got >= want:
                break
        return got
    finally:
        await consumer.stop()


@pytest.mark.parametrize("name", ["notify.FRA", "allegations", "deadletter"])
def test_ury_cannot_read_fras_topic_or_the_bus_topics(bus: Bus, name: str) -> None:
    _reported(bus, "SYNTH-ACCESS-0001")
    _refused_letter(bus)  # URY's own forged record is among the dead letters it cannot read
    topic = bus.topic(name)
    ury = bus.principals["URY"]
    assert read_all(bus.kafka, topic)  # the topic is not empty: the bus's principal reads it

    # In a consumer group of URY's own prefix (what the subscriber client does): refused.
    with pytest.raises(AioTopicAuthorizationFailed):
        asyncio.run(_read_in_group(ury, topic, "URY.case-system"))
    # kafka-python, assigned directly: offsets are refused, and a fetch yields nothing at all.
    consumer = ury.kafka_consumer(group_id=None, enable_auto_commit=False)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            consumer.end_offsets([TopicPartition(topic, 0)])
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        assert consumer.poll(timeout_ms=2000) == {}
    finally:
        consumer.close()


def test_the_subscriber_client_of_ury_is_refused_on_fras_topic(bus: Bus) -> None:
    _reported(bus, "SYNTH-ACCESS-0001")
    subscriber = Subscriber(
        kafka=bus.principals["URY"],
        recipient="FRA",
        group_id="URY.case-system",
        handler=lambda n: None,
        topic_prefix=bus.prefix,
    )
    with pytest.raises(AioTopicAuthorizationFailed):
        asyncio.run(asyncio.wait_for(subscriber.run(), timeout=60))
    assert subscriber.handled == 0


@pytest.mark.parametrize("target", ["inbound.FRA", "inbound.MINUSCA", "responses", "allegations"])
def test_ury_cannot_write_where_fras_replies_or_agencies_events_go(bus: Bus, target: str) -> None:
    aid = "SYNTH-ACCESS-0002"
    forged = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient="FRA",
        kind=ResponseKind.ACKNOWLEDGED,
        responded_at=datetime.now(UTC),
        responder="SYNTH-OFFICE-URY",
    )
    value = encode_model(event(aid)) if target in ("inbound.MINUSCA", "allegations") else encode_model(forged)
    before = read_all(bus.kafka, bus.topic(target))
    with pytest.raises(TopicAuthorizationFailedError):
        _send(bus.principals["URY"], bus.topic(target), aid, value)
    assert read_all(bus.kafka, bus.topic(target)) == before


def test_ury_may_use_only_consumer_groups_with_its_prefix(bus: Bus) -> None:
    ury = bus.principals["URY"]
    _reported(bus, "SYNTH-ACCESS-0003")
    read_topic(bus.kafka, bus.topic("notify.URY"), until=bool, timeout=120)
    with pytest.raises(AioGroupAuthorizationFailed):
        asyncio.run(_read_in_group(ury, bus.topic("notify.URY"), "ury-case-system"))
    # The same client in a group of its own prefix reads its own topic (the allegation concerns URY).
    assert asyncio.run(_read_in_group(ury, bus.topic("notify.URY"), "URY.case-system")) > 0


# -- FRA --------------------------------------------------------------------------------------


def test_fra_reads_its_topic_and_its_reply_satisfies_its_obligation(bus: Bus) -> None:
    aid = "SYNTH-ACCESS-0004"
    _reported(bus, aid)
    fra = bus.principals["FRA"]
    seen: list[Notification] = []

    def handle(notification: Notification) -> None:
        seen.append(notification)
        if notification.allegation_id == aid:
            subscriber.stop()

    subscriber = Subscriber(kafka=fra, recipient="FRA", handler=handle, topic_prefix=bus.prefix)
    assert subscriber.group_id == "FRA.subscriber"  # the default follows FRA's group prefix
    asyncio.run(asyncio.wait_for(subscriber.run(), timeout=120))
    mine = [n for n in seen if n.allegation_id == aid]
    assert [n.recipient for n in mine] == ["FRA"]
    assert mine[0].obligations

    reply = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient="FRA",
        kind=ResponseKind.ACKNOWLEDGED,
        responded_at=datetime.now(UTC),
        responder="SYNTH-OFFICE-FRA",
    )
    _send(fra, bus.topic("inbound.FRA"), aid, encode_model(reply))

    def satisfied(values: list[bytes]) -> list[ObligationUpdate]:
        return [
            u
            for u in (decode_model(v, ObligationUpdate) for v in values)
            if u.allegation_id == aid and u.kind.value == "ACKNOWLEDGE" and u.state.value == "SATISFIED"
        ]

    done = satisfied(
        read_topic(bus.kafka, bus.topic("obligations"), until=lambda vs: bool(satisfied(vs)), timeout=120)
    )
    assert {u.recipient for u in done} == {"FRA"}
    assert bus.process.running


# -- agencies -----------------------------------------------------------------------------------


def test_an_agency_cannot_write_another_agencys_inbound_topic(bus: Bus) -> None:
    aid = "SYNTH-ACCESS-0005"
    monusco = bus.principals["MONUSCO"]
    before = read_all(bus.kafka, bus.topic("inbound.MINUSCA"))
    with pytest.raises(TopicAuthorizationFailedError):
        _send(monusco, bus.topic("inbound.MINUSCA"), aid, encode_model(event(aid)))
    assert read_all(bus.kafka, bus.topic("inbound.MINUSCA")) == before
    # Its own inbound topic takes its own events (the same client, so the refusal above is the ACL's).
    own = event(aid).model_copy(update={"reporting_entity": "MONUSCO"})
    _send(monusco, bus.topic("inbound.MONUSCO"), aid, encode_model(own))
    assert read_all(bus.kafka, bus.topic("inbound.MONUSCO"))
