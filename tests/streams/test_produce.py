"""The one send-and-wait (streams/produce.py) against the real broker, sync and async.

Acknowledged records come back as their metadata, in order; a record Kafka does not take
comes back as the exception (batches) or as a KafkaUnavailable naming what was not
recorded (single records). The topic that does not exist is the real failure: the test
broker does not create topics on demand, so the producer never gets metadata for it.
"""

from __future__ import annotations

import asyncio

import pytest
from support import create_topic, unique_prefix
from support.reading import read_records

from seabus.schemas.errors import KafkaUnavailable
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.produce import (
    ToSend,
    not_recorded,
    send_and_wait,
    send_and_wait_async,
    send_one,
    send_one_async,
)


@pytest.fixture
def topic(kafka: KafkaConnection) -> str:
    return create_topic(kafka, f"{unique_prefix()}.produce")


def _records(topic: str, n: int) -> list[ToSend]:
    return [
        ToSend(topic=topic, key=b"SYNTH-K", value=f"v{i}".encode(), headers=[("h", b"1")]) for i in range(n)
    ]


@pytest.mark.kafka
def test_sync_batch_is_acknowledged_in_order_and_on_the_log(kafka: KafkaConnection, topic: str) -> None:
    producer = kafka.kafka_producer(acks="all", enable_idempotence=True)
    try:
        acked = send_and_wait(producer, _records(topic, 3), timeout_s=30)
    finally:
        producer.close()
    assert [m.offset for m in acked] == [0, 1, 2]
    on_log = read_records(kafka, topic, until=lambda rs: len(rs) >= 3, timeout=30)
    assert [r.value for r in on_log] == [b"v0", b"v1", b"v2"]
    assert [tuple(r.headers) for r in on_log] == [(("h", b"1"),)] * 3


@pytest.mark.kafka
def test_sync_single_record_to_a_missing_topic_says_what_was_not_recorded(kafka: KafkaConnection) -> None:
    producer = kafka.kafka_producer(acks="all", max_block_ms=500)
    try:
        missing = ToSend(topic=f"{unique_prefix()}.missing", key=None, value=b"v")
        with pytest.raises(
            KafkaUnavailable, match=r"did not acknowledge the SYNTH test reply .*nothing was recorded"
        ):
            send_one(producer, missing, timeout_s=5, what="SYNTH test reply")
        # a batch reports every record, and does not block again once the first one failed
        outcomes = send_and_wait(producer, [missing, missing], timeout_s=5)
    finally:
        producer.close(timeout=0)
    assert all(isinstance(o, BaseException) for o in outcomes)
    assert outcomes[0] is outcomes[1]


@pytest.mark.kafka
def test_async_batch_and_single_record(kafka: KafkaConnection, topic: str) -> None:
    async def scenario() -> tuple[list[object], object]:
        producer = kafka.aio_producer(acks="all", enable_idempotence=True)
        await producer.start()
        try:
            batch = await send_and_wait_async(producer, _records(topic, 2), timeout_s=30)
            one = await send_one_async(producer, _records(topic, 1)[0], timeout_s=30, what="record")
        finally:
            await producer.stop()
        return batch, one

    batch, one = asyncio.run(scenario())
    assert [m.offset for m in batch] == [0, 1]  # type: ignore[attr-defined]
    assert one.offset == 2  # type: ignore[attr-defined]


@pytest.mark.kafka
def test_async_single_record_to_a_missing_topic_is_kafka_unavailable(kafka: KafkaConnection) -> None:
    async def scenario() -> None:
        producer = kafka.aio_producer(acks="all", request_timeout_ms=1000)
        await producer.start()
        try:
            missing = ToSend(topic=f"{unique_prefix()}.missing", key=None, value=b"v")
            await send_one_async(producer, missing, timeout_s=2, what="SYNTH response")
        finally:
            await producer.stop()

    with pytest.raises(KafkaUnavailable, match=r"the SYNTH response within 2s \(.*\); nothing was recorded"):
        asyncio.run(scenario())


def test_not_recorded_names_the_record_and_the_cause() -> None:
    error = not_recorded("transfer of SYNTH-1", TimeoutError("no acknowledgement"), 3)
    assert str(error) == (
        "Kafka did not acknowledge the transfer of SYNTH-1 within 3s (TimeoutError: no acknowledgement); "
        "nothing was recorded"
    )
    assert isinstance(error.__cause__, TimeoutError)
