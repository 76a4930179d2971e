"""One recipient's lane: its own Kafka consumer, delivering its notifications one at a time.

Why not a Faust agent: Faust agents of one app share one consumer, and a
stream whose buffer is full pauses that shared consumer's fetches. A webhook
endpoint that hangs (or a relay backing off for minutes) would hold one
recipient's stream, fill its buffer and stall every other recipient's
notifications with it. A consumer per recipient (group
``<app_id>-delivery-<RECIPIENT>``) keeps a stalled endpoint's cost on its own
recipient: the others read and deliver as usual.

Within a lane notifications are delivered in order, one at a time, so an update
never overtakes the allegation it updates. The offset is committed only when
the pipeline reached a final outcome (delivered, or dead-lettered and
escalated); anything that breaks before that (Kafka not acknowledging an audit
record, say) is retried with backoff, and after a crash the notification is
read again, while the audit index keeps anything already delivered from being
sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from seabus.connectors.delivery.pipeline import Incoming
from seabus.connectors.delivery.plan import RecipientPlan
from seabus.streams.kafka_connection import KafkaConnection

__all__ = ["Processor", "RecipientLane"]


class Processor(Protocol):
    """What a lane hands each record to: the delivery pipeline, or the on-call pager."""

    async def process(self, plan: RecipientPlan, incoming: Incoming) -> object: ...


log = structlog.get_logger(__name__)

# A delivery may take long (8 attempts with backoff up to minutes, Retry-After up to an hour);
# the consumer must not be declared dead meanwhile.
MAX_POLL_INTERVAL_MS = 2 * 60 * 60 * 1000


class _OnAssigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Catch up on the audit topic whenever partitions arrive (another worker may have delivered)."""

    def __init__(self, recipient: str, catch_up: Callable[[], Awaitable[object]]) -> None:
        self._recipient = recipient
        self._catch_up = catch_up

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        try:
            await self._catch_up()
        except Exception as exc:
            log.warning("audit catch-up failed", recipient=self._recipient, error=type(exc).__name__)


class RecipientLane:
    """Consumes ``topic`` in group ``group_id`` and hands each record to the pipeline."""

    def __init__(
        self,
        *,
        plan: RecipientPlan,
        pipeline: Processor,
        kafka: KafkaConnection,
        topic: str,
        group_id: str,
        catch_up: Callable[[], Awaitable[object]],
        session_timeout_s: float = 10.0,
        retry_delay_s: float = 1.0,
        max_retry_delay_s: float = 30.0,
        **consumer_options: Any,
    ) -> None:
        self.plan = plan
        self.topic = topic
        self.group_id = group_id
        self.processed = 0
        self._pipeline = pipeline
        self._retry_delay_s = retry_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        self._listener = _OnAssigned(plan.recipient, catch_up)
        self._consumer = kafka.aio_consumer(
            group_id=group_id,
            client_id=f"seabus-delivery-{plan.recipient}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(session_timeout_s * 1000),
            heartbeat_interval_ms=int(max(1.0, session_timeout_s / 4) * 1000),
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
            **consumer_options,
        )
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._stopping = False

    async def start(self) -> None:
        self._consumer.subscribe([self.topic], listener=self._listener)
        await self._consumer.start()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"delivery-{self.plan.recipient}"
        )

    async def stop(self, *, grace_s: float) -> None:
        """Let the notification in hand finish (up to ``grace_s``), then stop; it stays uncommitted if cut."""
        self._stopping = True
        task = self._task
        if task is not None and not task.done():
            if self._busy:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), grace_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._consumer.stop()

    async def _run(self) -> None:
        while not self._stopping:
            record = await self._consumer.getone()
            self._busy = True
            try:
                await self._deliver(Incoming.of(record))
                await self._commit(TopicPartition(record.topic, record.partition), record.offset)
            finally:
                self._busy = False

    async def _deliver(self, incoming: Incoming) -> None:
        delay = self._retry_delay_s
        while True:
            try:
                await self._pipeline.process(self.plan, incoming)
                self.processed += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error(
                    "delivery step failed; the notification will be tried again",
                    recipient=self.plan.recipient,
                    partition=incoming.partition,
                    offset=incoming.offset,
                    error=type(exc).__name__,
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
                delay = min(self._max_retry_delay_s, delay * 2)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset + 1})
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved during a rebalance; its new owner reads the record again and
            # the audit index (caught up on assignment) keeps it from being delivered twice.
            log.warning(
                "offset commit failed", recipient=self.plan.recipient, partition=tp.partition, error=str(exc)
            )
