"""Wiring of the progress guard: its table, its independent reader and its timer."""

from __future__ import annotations

from typing import Any

import faust
import structlog
from faust.types import TP

from seabus.streams import faust_compat, metrics
from seabus.streams.context import BusContext
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.progress import TABLE, Prober, SourceProgress
from seabus.streams.tables import changelog_config

log = structlog.get_logger(__name__)


class FaustSeeker:
    """Seeks Faust's consumer (its public ``seek`` also resets the fetcher's read offset)."""

    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def seek(self, tp: Any, offset: int) -> None:
        await self.app.consumer.seek(TP(tp.topic, tp.partition), offset)


def register_progress(
    app: faust.App,
    ctx: BusContext,
    *,
    kafka: KafkaConnection,
    sources: tuple[str, ...] | None = None,
    table_name: str = TABLE,
    partitions: int | None = None,
) -> SourceProgress:
    """The progress of ``sources`` (default: the allegations and responses topics) in ``table_name``.

    A Faust table must have as many partitions as the topics that write it, so sources
    of another shape (the one-partition inbound topics) get a table of their own.
    """
    settings = ctx.settings
    if sources is None:
        sources = (settings.topic("allegations"), settings.topic("responses"))
    if partitions is None:
        partitions = settings.topics.allegations.over(settings.topics.defaults).partitions
    table = app.Table(
        table_name,
        default=None,
        partitions=partitions,
        key_type=str,
        value_type=int,
        extra_topic_configs=changelog_config(settings),
    )

    def problem(name: str) -> str:
        return name if table_name == TABLE else f"{table_name} {name}"

    prober = Prober(kafka=kafka)
    progress = SourceProgress(
        table=table,
        seeker=FaustSeeker(app),
        reader=prober,
        stall_after_s=settings.progress_stall_s,
        on_event=lambda kind, tp: metrics.SOURCE_OFFSETS.labels(tp.topic, kind).inc(),
    )

    async def stop_prober(_app: Any, *_args: Any, **_kwargs: Any) -> None:
        # Its consumer is not one of Faust's: left open, every Ctrl-C ended in "Unclosed AIOKafkaConsumer".
        await prober.stop()

    app.on_before_shutdown.connect(stop_prober)  # type: ignore[arg-type]  # mode types the receiver narrower than it calls it

    @app.timer(interval=settings.progress_check_interval_s, name=table_name)  # type: ignore[untyped-decorator]
    async def check_progress() -> None:
        # An exception escaping a Faust timer stops the worker: report it as not ready instead.
        try:
            if not faust_compat.app_settled(app):
                return
            active = faust_compat.active_source_partitions(app, sources)
            checked = await progress.check(active)
        except Exception as exc:
            log.warning("progress check failed", error=exc.__class__.__name__)
            metrics.set_problem(
                problem("progress"),
                f"the progress check failed ({exc.__class__.__name__})",
                for_s=settings.not_ready_after_s,
            )
            return
        metrics.report_lag(checked.lags, reporter=table_name)
        late = [s for s in checked.stalls if s.idle_s >= settings.not_ready_after_s]
        metrics.set_problem(
            problem("stalled"),
            "; ".join(
                f"{s.tp.topic}[{s.tp.partition}] has {s.end - s.expected} record(s) to process and no "
                f"progress for {s.idle_s:.0f}s"
                for s in late
            )
            or None,
        )

    return progress
