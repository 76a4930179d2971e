"""The gateway's owners index stops, whatever its consumer is doing when the stop comes.

A CI run once spent its whole 600 s in ``GatewayHandle.stop`` after the test's requests had
been answered: the index's task had been cancelled while aiokafka was inside a wait that
swallows the cancellation (streams/tasks.py). Here the stop comes at each stage of the
index's session against the real broker: while its consumer starts, while it seeks, and
while it follows the topic; every stop must leave no task behind.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from support import create_topic

from seabus.connectors.gateway.owners import OwnersIndex
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

ROUNDS = 8


def test_the_index_stops_at_every_stage_of_its_session(kafka: KafkaConnection) -> None:
    topic = create_topic(kafka, f"owners-stop-{uuid.uuid4().hex[:10]}", 3)

    async def scenario() -> list[str]:
        producer = kafka.aio_producer(acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, key=b"SYNTH-OWNERS-STOP-1", value=b"UNMISS")
        finally:
            await producer.stop()
        left: list[str] = []
        # Stop points, by how many loop turns the index gets first (0: inside consumer.start()),
        # and last once it has read the record (inside its getmany loop).
        for turns in [0, 1, 2, 5, 10, 25, 50, 100] * (ROUNDS // 8):
            index = OwnersIndex()
            await index.start(kafka, topic)
            for _ in range(turns):
                await asyncio.sleep(0)
            if not await index.stop():
                left.append(f"after {turns} turns")
        index = OwnersIndex()
        await index.start(kafka, topic)
        assert await index.wait_for("SYNTH-OWNERS-STOP-1", timeout_s=120) == "UNMISS"
        if not await index.stop():
            left.append("while following")
        return left

    assert asyncio.run(scenario()) == []
