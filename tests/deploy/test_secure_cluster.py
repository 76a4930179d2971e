"""The session's local cluster is SASL_SSL + SCRAM-SHA-512 with the StandardAuthorizer:
real sockets, real broker. A client without credentials, with a wrong password, over
plaintext or not trusting the cluster's CA gets nothing; the bus's principal works."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

import pytest
from kafka.errors import KafkaError
from pydantic import SecretStr
from support import create_topic
from support.reading import read_all

from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity

pytestmark = pytest.mark.kafka


@pytest.fixture
def secured(kafka: KafkaConnection) -> KafkaConnection:
    if not (kafka.tls and kafka.sasl):
        pytest.skip("the suite runs against a cluster without TLS and SASL (SEABUS_BOOTSTRAP)")
    return kafka


# The broker drops a connection that does not speak TLS then SASL first.
DROPPED = r"socket disconnected|Invalid frame length|closed"
# A failed SCRAM exchange: the broker answers with the error, then closes the connection. On a
# loaded machine kafka-python sometimes sees the close before it reads the answer (seen once
# in a full run), so either is the refusal; the bus principal's test is the control.
REFUSED_LOGIN = r"SaslAuthenticationFailed|socket disconnected"


def _variants(good: KafkaConnection) -> dict[str, tuple[KafkaConnection, str]]:
    """Each refused client, with (a pattern of) what kafka-python logs as the reason."""
    sec = good.security
    return {
        "plaintext": (KafkaConnection(bootstrap=good.bootstrap), DROPPED),
        "tls without credentials": (
            KafkaConnection(
                bootstrap=good.bootstrap, security=KafkaSecurity(security_protocol="SSL", ca_file=sec.ca_file)
            ),
            DROPPED,
        ),
        "wrong password": (
            KafkaConnection(
                bootstrap=good.bootstrap,
                security=sec.model_copy(update={"password_file": None, "password": SecretStr("not-it")}),
            ),
            REFUSED_LOGIN,
        ),
        "unknown principal": (
            KafkaConnection(
                bootstrap=good.bootstrap, security=sec.model_copy(update={"username": "mallory"})
            ),
            REFUSED_LOGIN,
        ),
        "untrusted certificate": (
            KafkaConnection(bootstrap=good.bootstrap, security=sec.model_copy(update={"ca_file": None})),
            "CERTIFICATE_VERIFY_FAILED",
        ),
    }


def _send(client: KafkaConnection, topic: str, value: bytes) -> None:
    producer = client.kafka_producer(bootstrap_timeout_ms=4000, max_block_ms=4000)
    try:
        producer.send(topic, value).get(timeout=5)
    finally:
        producer.close(timeout=1)


@pytest.mark.parametrize(
    "case",
    ["plaintext", "tls without credentials", "wrong password", "unknown principal", "untrusted certificate"],
)
def test_a_client_without_the_right_credentials_is_refused(
    secured: KafkaConnection, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    client, reason = _variants(secured)[case]
    topic = "secure." + uuid.uuid4().hex[:8]
    create_topic(secured, topic)
    caplog.set_level(logging.WARNING, logger="kafka")
    with pytest.raises(KafkaError, match=r"(?i)bootstrap"):  # it never gets a usable connection
        _send(client, topic, b"forged")
    assert re.search(reason, caplog.text), caplog.text[-2000:]
    assert read_all(secured, topic) == []  # nothing reached the topic


@pytest.mark.parametrize("case", ["plaintext", "wrong password"])
def test_the_asyncio_client_is_refused_too(secured: KafkaConnection, case: str) -> None:
    """aiokafka (the worker's, the gateway's and the subscriber's library) fails to start."""
    client, _reason = _variants(secured)[case]

    async def start() -> None:
        consumer = client.aio_consumer(request_timeout_ms=4000)
        try:
            await asyncio.wait_for(consumer.start(), timeout=30)
        finally:
            await consumer.stop()

    with pytest.raises(Exception, match=r"(?i)bootstrap|authentication"):
        asyncio.run(start())


def test_the_bus_principal_writes_and_reads(secured: KafkaConnection) -> None:
    assert secured.security.username == "seabus"
    assert secured.security.sasl_mechanism == "SCRAM-SHA-512"
    topic = "secure." + uuid.uuid4().hex[:8]
    create_topic(secured, topic)
    producer = secured.kafka_producer(acks="all")
    producer.send(topic, b"synthetic").get(timeout=30)
    producer.close()
    assert read_all(secured, topic) == [b"synthetic"]
