"""How the gateway hands events to Kafka, behind a two-method protocol.

The gateway answers 202 only with receipts from here, and a receipt exists
only for an event the broker acknowledged (``acks=all``, idempotent producer).
Anything else within the deadline is a :class:`PublishFailed` for that event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from seabus.connectors.publisher.errors import PublishFailed
from seabus.connectors.publisher.outgoing import OutgoingEvent
from seabus.connectors.publisher.sdk import PublishReceipt, receipts_of
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.produce import ToSend, send_and_wait_async, start_producer

__all__ = ["GatewayProducer", "KafkaGatewayProducer", "SendOutcome"]


SendOutcome = PublishReceipt | PublishFailed


class GatewayProducer(Protocol):
    """Sends a batch and reports, per event and in order, a receipt or why not."""

    async def send_batch(self, batch: Sequence[OutgoingEvent], *, timeout_s: float) -> list[SendOutcome]: ...


class KafkaGatewayProducer:
    """:class:`GatewayProducer` on aiokafka; :meth:`start` before use, :meth:`stop` after."""

    def __init__(
        self,
        *,
        kafka: KafkaConnection,
        topic: str,
        client_id: str = "seabus-gateway",
        request_timeout_ms: int = 30_000,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self._producer = kafka.aio_producer(
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=request_timeout_ms,
            linger_ms=0,
        )

    async def start(self) -> None:
        await start_producer(
            self._producer, bootstrap=self.kafka.bootstrap, who="the gateway", then="the gateway"
        )

    async def stop(self) -> None:
        await self._producer.stop()

    async def send_batch(self, batch: Sequence[OutgoingEvent], *, timeout_s: float) -> list[SendOutcome]:
        acked = await send_and_wait_async(
            self._producer,
            [ToSend(topic=self.topic, key=o.key, value=o.value, headers=o.headers) for o in batch],
            timeout_s=timeout_s,
        )
        return receipts_of(
            batch, acked, lambda o, cause: self._failure(o, cause, timeout_s), topic=self.topic
        )

    def _failure(self, outgoing: OutgoingEvent, cause: BaseException, timeout_s: float) -> PublishFailed:
        error = PublishFailed(
            f"Kafka did not acknowledge event {outgoing.event_id} within {timeout_s:g}s "
            f"({type(cause).__name__}: {cause}); it was NOT accepted"
        )
        error.__cause__ = cause
        return error
