"""The read model inside ``seabus run`` (:class:`ViewService`) and on its own (:func:`read_view`).

The service keeps following the topics while the worker runs; the gateway's
dashboard routes and ``/metrics`` read its index. ``seabus overdue`` builds the
same index once, up to the end of every topic, without a running bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import mode
import structlog
from aiokafka.errors import KafkaError

from seabus.schemas.codec import Codec
from seabus.schemas.errors import KafkaUnavailable
from seabus.streams import metrics
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.retry import Backoff, aretrying
from seabus.streams.tasks import stop_task
from seabus.streams.views.index import ViewIndex
from seabus.streams.views.lean import RecordDecoder
from seabus.streams.views.reader import ReaderStatus, RecordSink, ViewReader

if TYPE_CHECKING:
    from seabus.streams.stats.facts import StatsIndex

__all__ = ["ViewService", "read_view", "stats_index"]

log = structlog.get_logger(__name__)

RETRY_S = 5.0


def stats_index(settings: Settings, *, decoder: RecordDecoder | None = None) -> StatsIndex:
    """An empty statistics index for the settings' prefix (``decoder``: shared with the view's)."""
    from seabus.streams.stats.facts import StatsIndex  # streams.stats imports the views' topic names

    return StatsIndex(
        prefix=settings.topic_prefix,
        codec=Codec(max_bytes=settings.max_message_bytes),
        max_bytes=settings.max_message_bytes,
        decoder=decoder,
    )


def _index(settings: Settings) -> ViewIndex:
    return ViewIndex(
        prefix=settings.topic_prefix,
        codec=Codec(max_bytes=settings.max_message_bytes),
        max_bytes=settings.max_message_bytes,
    )


class ViewService(mode.Service):
    """Follows the bus's topics from the beginning into an in-memory :class:`ViewIndex`.

    Kafka being unreachable never stops the worker: the service logs, retries,
    and reports itself not ready (``/readyz``) until it has caught up again.
    """

    def __init__(self, *, settings: Settings, kafka: KafkaConnection, refresh_s: float = 5.0) -> None:
        self.settings = settings
        self.index = _index(settings)
        self.stats = stats_index(settings, decoder=self.index.decoder)  # each record decoded once
        """The statistics' facts, fed by the same reader (``/dashboard/stats``)."""
        self.reader = ViewReader(index=self.index, kafka=kafka, refresh_s=refresh_s, also=(self.stats,))
        self._task: asyncio.Task[None] | None = None
        self._forget_metrics: Callable[[], None] | None = None
        super().__init__()

    def status(self) -> ReaderStatus:
        return self.reader.status()

    async def on_start(self) -> None:
        self._forget_metrics = metrics.watch_view(self.index)
        self._task = asyncio.create_task(self._follow(), name="seabus-view")
        self._task.add_done_callback(_report_crash)

    async def on_stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task, what="read model")  # a crash was logged when it happened
        await self.reader.stop()
        read = self.reader.read_by_kind()
        log.info("read model stopped", records_read=sum(read.values()), read_by_topic=read)
        if self._forget_metrics is not None:
            self._forget_metrics()

    async def _follow(self) -> None:
        await aretrying(
            retry_on=(KafkaUnavailable,),
            backoff=Backoff(RETRY_S),
            on_retry=lambda w: log.warning(
                "read model waiting for Kafka", error=str(w.error), retry_s=RETRY_S
            ),
        )(self.reader.start)
        log.info("read model following topics", prefix=self.index.prefix, partitions=self.status().partitions)

        async def poll_for_good() -> None:
            while True:
                await self.reader.poll(0.5)

        # The reader resumes where it was; /readyz shows the gap meanwhile.
        await aretrying(
            retry_on=(KafkaError,),
            backoff=Backoff(RETRY_S),
            on_retry=lambda w: log.warning(
                "read model could not fetch; retrying", error=f"{w.error.__class__.__name__}: {w.error}"
            ),
        )(poll_for_good)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("read model stopped; /readyz stays 503 until a restart", exc_info=task.exception())


async def read_view(
    settings: Settings,
    *,
    kafka: KafkaConnection,
    timeout_s: float = 60.0,
    also: Sequence[RecordSink] = (),
    client_id: str = "seabus-overdue",
) -> ViewIndex:
    """The read model up to the current end of every topic (no running bus needed); ``also`` is fed too."""
    index = _index(settings)
    reader = ViewReader(index=index, kafka=kafka, client_id=client_id, announce=False, also=also)
    await reader.start()
    try:
        await reader.catch_up(timeout_s=timeout_s)
    finally:
        await reader.stop()
    return index
