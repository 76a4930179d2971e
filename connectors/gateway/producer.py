"""How the gateway hands events to Kafka, behind a two-method protocol.

The gateway answers 202 only with receipts from here, and a receipt exists
only for an event the broker acknowledged (``acks=all``, idempotent producer).
Anything else within the deadline is a :class:`PublishFailed` for that event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from aiokafka.errors import KafkaError

from seabus.connectors.publisher.errors import PublishFailed
from seabus.connectors.publisher.outgoing import OutgoingEvent
from seabus.connectors.publisher.sdk import PublishReceipt
from seabus.schemas.errors import KafkaUnavailable
from seabus.streams.kafka_connection import KafkaConnection

__all__ = ["GatewayProducer", "KafkaGatewayProducer", "SendOutcome"]

log = structlog.get_logger(__name__)

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
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise KafkaUnavailable(
                f"the gateway cannot reach Kafka at {self.kafka.bootstrap} ({exc}); start the broker "
                f"(`seabus kafka up`) or set SEABUS_BOOTSTRAP, then start the gateway again."
            ) from exc

    async def stop(self) -> None:
        await self._producer.stop()

    async def send_batch(self, batch: Sequence[OutgoingEvent], *, timeout_s: float) -> list[SendOutcome]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        futures: list[asyncio.Future[Any] | BaseException] = []
        broken: BaseException | None = None
        for outgoing in batch:
            if broken is not None:
                futures.append(broken)
                continue
            try:
                async with asyncio.timeout_at(deadline):  # send() waits for metadata and buffer space
                    futures.append(
                        await self._producer.send(
                            self.topic, value=outgoing.value, key=outgoing.key, headers=list(outgoing.headers)
                        )
                    )
            except (KafkaError, TimeoutError) as exc:
                broken = exc
                futures.append(exc)
        waiting = [f for f in futures if isinstance(f, asyncio.Future)]
        for f in waiting:
            f.add_done_callback(_retrieve)  # a failure after the deadline must not be logged as unhandled
        if waiting:
            # asyncio.wait does not cancel what is still pending: a late ack is simply not reported.
            await asyncio.wait(waiting, timeout=max(0.0, deadline - loop.time()))
        outcomes: list[SendOutcome] = []
        for outgoing, future in zip(batch, futures, strict=True):
            cause: BaseException | None
            if isinstance(future, BaseException):
                cause = future
            elif not future.done():
                cause = TimeoutError(f"no acknowledgement within {timeout_s:g}s")
            else:
                cause = future.exception()
            if cause is None:
                assert isinstance(future, asyncio.Future)
                meta = future.result()
                outcomes.append(
                    PublishReceipt(
                        event_id=outgoing.event_id,
                        allegation_id=outgoing.allegation_id,
                        partition=meta.partition,
                        offset=meta.offset,
                    )
                )
            else:
                outcomes.append(self._failure(outgoing, cause, timeout_s))
        failed = sum(isinstance(o, PublishFailed) for o in outcomes)
        if failed:
            log.warning("kafka did not acknowledge events", topic=self.topic, failed=failed, sent=len(batch))
        return outcomes

    def _failure(self, outgoing: OutgoingEvent, cause: BaseException, timeout_s: float) -> PublishFailed:
        error = PublishFailed(
            f"Kafka did not acknowledge event {outgoing.event_id} within {timeout_s:g}s "
            f"({type(cause).__name__}: {cause}); it was NOT accepted"
        )
        error.__cause__ = cause
        return error


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
