"""Whose allegation is this? The gateway's copy of ``<prefix>.owners``, kept current.

The bus's intake is the authority on ownership: it writes ``allegation_id -> entity``
to the compacted owners topic when an allegation is first reported, and refuses
(dead letter, escalation) any later event from another entity. The gateway follows
that topic so that it can answer such an event with a 403 at once instead of a 202
followed by a dead letter. An allegation reported moments ago may not have reached
the gateway yet; then the intake still refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.retry import Backoff, aretrying
from seabus.streams.tasks import stop_task

__all__ = ["OwnersIndex"]

log = structlog.get_logger(__name__)


class OwnersIndex:
    """``allegation_id -> owning entity``; empty (refusing nothing) until the topic has been read."""

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}
        self._since: dict[str, datetime] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._updated = asyncio.Event()

    def owner(self, allegation_id: str) -> str | None:
        return self._owners.get(allegation_id)

    def known_since(self, allegation_id: str) -> datetime | None:
        """When the bus first accepted the allegation (its owners record); nothing about it is older."""
        return self._since.get(allegation_id)

    def record(self, allegation_id: str, entity: str, *, at: datetime | None = None) -> None:
        """The latest record stands: the intake writes one at the report and one per audited transfer."""
        self._owners[allegation_id] = entity
        if at is not None:
            self._since.setdefault(allegation_id, at)
        self._updated.set()
        self._updated = asyncio.Event()

    async def wait_for(self, allegation_id: str, *, timeout_s: float) -> str | None:
        """The owner once the index knows it, or None after ``timeout_s``."""

        async def known() -> str:
            while (owner := self.owner(allegation_id)) is None:
                await self._updated.wait()
            return owner

        try:
            return await asyncio.wait_for(known(), timeout_s)
        except TimeoutError:
            return None

    def __len__(self) -> int:
        return len(self._owners)

    async def start(self, kafka: KafkaConnection, topic: str) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._follow(kafka, topic), name="gateway-owners")

    async def stop(self) -> bool:
        """True once the follower has ended (False: it was left running after the bound)."""
        # The flag ends the loop even where aiokafka swallows the cancellation (streams/tasks.py).
        self._stopping = True
        ended = await stop_task(self._task, what="gateway owners index")
        self._task = None
        return ended

    async def _follow(self, kafka: KafkaConnection, topic: str) -> None:
        """Follow ``topic`` for good: on any interruption reconnect, pausing 1 s, doubling to 30 s
        while reconnecting fails, and 1 s again once a connection held."""
        backoff = Backoff(1.0, 30.0)
        sessions = 0
        connected_after = 0  # sessions before the latest one that connected

        async def session() -> None:
            nonlocal sessions, connected_after
            sessions += 1
            # Naming the topic makes start() wait for its metadata; then assign by hand (no group).
            consumer = kafka.aio_reader(topic)
            try:
                await consumer.start()
                parts = consumer.partitions_for_topic(topic)
                if not parts:
                    raise KafkaError(f"{topic} has no partitions yet")
                tps = [TopicPartition(topic, p) for p in sorted(parts)]
                consumer.unsubscribe()
                consumer.assign(tps)
                await consumer.seek_to_beginning(*tps)
                connected_after = sessions - 1
                while not self._stopping:
                    batch = await consumer.getmany(timeout_ms=1000)
                    for records in batch.values():
                        for r in records:
                            if r.key is not None and r.value is not None:
                                self.record(
                                    r.key.decode("utf-8", "replace"),
                                    r.value.decode("utf-8", "replace"),
                                    at=datetime.fromtimestamp(r.timestamp / 1000, UTC),
                                )
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

        follow = aretrying(
            retry_on=lambda _exc: True,  # the index is an early answer; the intake is the authority
            give_up=lambda: self._stopping,
            backoff=lambda attempt: backoff.delay(attempt - connected_after),
            on_retry=lambda w: log.warning(
                "gateway owners index interrupted",
                error=w.error.__class__.__name__,
                reason=str(w.error)[:200],
                retry_in_s=w.retry_in_s,
            ),
        )
        try:
            await follow(session)
        except Exception:
            if not self._stopping:  # only a stop ends the retries (give_up) with a failure in hand
                raise
