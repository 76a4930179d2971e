"""The intake agent on ``sea.allegations``: one message at a time, every offset in order.

Every message goes through :class:`seabus.streams.agents.guard.RecordGuard`: the bus's own
progress record decides whether it is the next one to process, a failure on it
ends in a dead letter, and Kafka being away is waited out.

Concurrency stays 1: Faust's ``concurrency>1`` can commit offsets past unfinished
messages (faust-streaming issue #606) and would reorder an allegation's events.
State is a changelog-backed table keyed by allegation_id, the topic's key, so
the worker that owns a partition owns those allegations' whole history.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import structlog
from faust.types import TableT

from seabus.schemas.envelopes import Source
from seabus.streams import metrics
from seabus.streams.agents.deadlines import Deadlines
from seabus.streams.agents.guard import agent_guard, agent_lifecycle, raw_topic
from seabus.streams.agents.outbound import send_all
from seabus.streams.context import BusContext
from seabus.streams.intake import SOURCE, AllegationState
from seabus.streams.progress import SourceProgress
from seabus.streams.tables import changelog_config

log = structlog.get_logger(__name__)

STATE_TABLE = "allegation-state"


def register_intake(
    app: faust.App, ctx: BusContext, progress: SourceProgress, deadlines: Deadlines | None = None
) -> TableT[str, Any]:
    settings = ctx.settings
    partitions = settings.topics.allegations.over(settings.topics.defaults).partitions
    topic = raw_topic(app, settings.topic("allegations"), partitions=partitions)
    table = app.Table(
        STATE_TABLE,
        default=None,
        partitions=partitions,
        key_type=str,
        extra_topic_configs=changelog_config(settings),
    )
    intake = ctx.intake(deadlines)
    lock = deadlines.lock if deadlines else asyncio.Lock()
    metrics.track_worker(
        app,
        topics=(settings.topic("allegations"), settings.topic("responses")),
        stop_after_s=settings.not_ready_after_s,
    )
    guard = agent_guard(app, ctx, progress, agent="intake", producer=SOURCE)

    async def step(message: Any) -> None:
        key: bytes | None = message.key
        table_key = key.decode("utf-8", "replace") if key else None
        raw_state = table.get(table_key) if table_key else None
        state = AllegationState.model_validate(raw_state) if raw_state else None
        async with lock:
            try:
                now = ctx.clock.now()
                result = intake.handle(
                    key=key,
                    value=message.value,
                    headers=list(message.headers or []),
                    source=Source(topic=message.topic, partition=message.partition, offset=message.offset),
                    state=state,
                    now=now,
                )
                await send_all(app, ctx, result.outbound)
                if deadlines is not None:
                    changed = deadlines.commit()
                    await send_all(app, ctx, deadlines.updates_for(changed, now))
            except BaseException:
                if deadlines is not None:
                    deadlines.rollback()  # this step's obligation writes must not ride on the next step
                raise
            if result.state is not None and table_key:
                table[table_key] = result.state.model_dump(mode="json")
        metrics.observe_intake(result)
        log.info(
            "allegation event",
            outcome=result.outcome.value,
            allegation_id=result.event.allegation_id if result.event else None,
            event_id=result.event.event_id if result.event else None,
            reason=result.reason.value if result.reason else None,
            recipients=[n.recipient for n in result.notifications],
            partition=message.partition,
            offset=message.offset,
        )

    @app.agent(topic, name="intake", concurrency=1)
    async def intake_agent(stream: faust.StreamT[Any]) -> None:
        async with agent_lifecycle("intake", not_ready_s=settings.not_ready_after_s):
            async for event in stream.events():
                await guard.handle(event.message, step)

    return table
