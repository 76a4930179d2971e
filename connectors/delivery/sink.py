"""Produce delivery's records (attempts, dead letters, escalations) and wait for Kafka's ack.

Waiting matters: a source offset is committed only after every record about it
was acknowledged, so a crash never loses an audit record or an escalation. If
Kafka does not acknowledge, the send is retried with backoff for as long as it
takes (delivery of that recipient waits meanwhile); records carry stable ids,
so a retried send that did reach the broker is recognisable downstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from seabus.schemas.envelopes import Outbound
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.produce import ToSend, send_and_wait_async, start_producer

__all__ = ["InMemorySink", "RecordSink", "Sink"]

log = structlog.get_logger(__name__)


class Sink(Protocol):
    """Where delivery's records go; returns once they are durable."""

    async def send_all(self, records: Iterable[Outbound]) -> None: ...


class InMemorySink:
    """The twin of :class:`RecordSink` for tests without Kafka: keeps what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    async def send_all(self, records: Iterable[Outbound]) -> None:
        self.sent.extend(records)


class RecordSink:
    """One idempotent ``acks=all`` producer; ``topic_for`` maps a route ("audit", ...) to a topic."""

    def __init__(
        self,
        *,
        kafka: KafkaConnection,
        topic_for: Callable[[str], str],
        client_id: str = "seabus-delivery",
        retry_delay_s: float = 0.5,
        max_retry_delay_s: float = 30.0,
        **producer_options: Any,
    ) -> None:
        self.kafka = kafka
        self._topic_for = topic_for
        self._retry_delay_s = retry_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        self._options = {"client_id": client_id, **producer_options}
        self._producer: AIOKafkaProducer | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the record sink is not started; call start() first")
        return self._producer

    async def start(self) -> None:
        """Connect (aiokafka objects must be made inside the running event loop)."""
        self._producer = self.kafka.aio_producer(
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            **self._options,
        )
        await start_producer(self._producer, bootstrap=self.kafka.bootstrap, who="delivery", then="the bus")

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send_all(self, records: Iterable[Outbound]) -> None:
        """Produce every record and return once Kafka acknowledged them all."""
        pending = list(records)
        delay = self._retry_delay_s
        while pending:
            out = [
                ToSend(topic=self._topic_for(r.route), key=r.key, value=r.value, headers=r.headers)
                for r in pending
            ]
            acked = await send_and_wait_async(self.producer, out, timeout_s=None)
            exc = next((a for a in acked if isinstance(a, BaseException)), None)
            if exc is None:
                return
            if not isinstance(exc, KafkaError):
                raise exc
            log.warning(
                "kafka did not acknowledge delivery records; retrying",
                records=len(pending),
                error=type(exc).__name__,
                retry_in_s=delay,
            )
            await asyncio.sleep(delay)
            delay = min(self._max_retry_delay_s, delay * 2)
