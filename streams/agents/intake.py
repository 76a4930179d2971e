"""The intake agent on ``sea.allegations``: in batches of what is already buffered, every offset in order.

Every batch goes through :meth:`seabus.streams.agents.guard.RecordGuard.handle_batch`: the
bus's own progress record decides which records are next, the batch's outputs are
acknowledged together before its progress is recorded, and when a record of the batch
fails, the ones before it are finished and it and the rest go one at a time through the
per-record path (a failure on one
ends in a dead letter, Kafka being away is waited out).

Concurrency stays 1: Faust's ``concurrency>1`` can commit offsets past unfinished
messages (faust-streaming issue #606) and would reorder an allegation's events.
State is a changelog-backed table keyed by allegation_id, the topic's key, so
the worker that owns a partition owns those allegations' whole history.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import faust
import structlog
from faust.types import TableT

from seabus.schemas.envelopes import Source
from seabus.streams import faust_compat, logs, metrics
from seabus.streams.agents.deadlines import Deadlines
from seabus.streams.agents.guard import agent_guard, agent_lifecycle, raw_topic
from seabus.streams.agents.outbound import queue_all, send_all
from seabus.streams.context import BusContext
from seabus.streams.intake import SOURCE, AllegationState, IntakeResult
from seabus.streams.progress import SourceProgress
from seabus.streams.tables import AckedTable, changelog_config, flush_changelogs

log = structlog.get_logger(__name__)

STATE_TABLE = "allegation-state"
#: Most records one batch takes: its outputs are awaited together, then its progress recorded.
MAX_BATCH = 200
#: How often the intake's counts are logged at info (the per-record line is at debug).
SUMMARY_EVERY_S = 30.0


def _table_key(message: Any) -> str | None:
    key: bytes | None = message.key
    return key.decode("utf-8", "replace") if key else None


def register_intake(
    app: faust.App, ctx: BusContext, progress: SourceProgress, deadlines: Deadlines | None = None
) -> TableT[str, Any]:
    settings = ctx.settings
    partitions = settings.topics.allegations.over(settings.topics.defaults).partitions
    topic = raw_topic(app, settings.topic("allegations"), partitions=partitions)
    table = AckedTable(
        app,
        name=STATE_TABLE,
        default=None,
        partitions=partitions,
        key_type=str,
        extra_topic_configs=changelog_config(settings),
    )
    app.tables.add(table)
    changelogs = (table, *deadlines.tables) if deadlines is not None else (table,)
    intake = ctx.intake(deadlines)
    lock = deadlines.lock if deadlines else asyncio.Lock()
    metrics.track_worker(
        app,
        topics=(settings.topic("allegations"), settings.topic("responses")),
        stop_after_s=settings.not_ready_after_s,
    )
    guard = agent_guard(app, ctx, progress, agent="intake", producer=SOURCE)

    summary = logs.Summary("intake summary", every_s=SUMMARY_EVERY_S)
    queue = partial(queue_all, app, ctx)

    def state_of(table_key: str | None) -> AllegationState | None:
        raw_state = table.get(table_key) if table_key else None
        return AllegationState.model_validate(raw_state) if raw_state else None

    def handled(message: Any, state: AllegationState | None, now: Any) -> IntakeResult:
        key: bytes | None = message.key
        return intake.handle(
            key=key,
            value=message.value,
            headers=list(message.headers or []),
            source=Source(topic=message.topic, partition=message.partition, offset=message.offset),
            state=state,
            now=now,
        )

    def observed(message: Any, result: IntakeResult) -> None:
        metrics.observe_intake(result)
        summary.count(result.outcome.value)
        log.debug(
            "allegation event",
            outcome=result.outcome.value,
            allegation_id=result.event.allegation_id if result.event else None,
            event_id=result.event.event_id if result.event else None,
            reason=result.reason.value if result.reason else None,
            recipients=[n.recipient for n in result.notifications],
            partition=message.partition,
            offset=message.offset,
        )

    async def step(message: Any) -> None:
        """One record on its own: the path of a failed batch's records (retries, dead letters)."""
        table_key = _table_key(message)
        state = state_of(table_key)
        async with lock:
            try:
                now = ctx.clock.now()
                result = handled(message, state, now)
                if deadlines is None:
                    await send_all(app, ctx, result.outbound)
                else:
                    await deadlines.settle(await queue(result.outbound), queue, now)
            except BaseException:
                if deadlines is not None:
                    deadlines.rollback()  # this step's obligation writes must not ride on the next step
                raise
            if result.state is not None and table_key:
                table[table_key] = result.state.model_dump(mode="json")
            await flush_changelogs(*changelogs)
        observed(message, result)

    async def run_batch(events: list[Any]) -> int:
        """Route the admitted ``events`` in order, await all their outputs together, then write state;
        returns how many were done.

        Each allegation's state of the batch is kept here until every output was
        acknowledged (a later event of the same allegation reads it from here), then
        written once, under the event it belongs to (its changelog partition). When one
        event fails, the ones before it are finished as a batch (their outputs are not
        sent twice) and it and the rest are left to the one-by-one path.
        """
        states: dict[str, tuple[AllegationState, Any]] = {}
        results: list[tuple[Any, IntakeResult]] = []
        async with lock:
            try:
                futures: list[Any] = []
                now = ctx.clock.now()
                for event in events:
                    message = event.message
                    table_key = _table_key(message)
                    held = states.get(table_key) if table_key else None
                    saved = deadlines.savepoint() if deadlines is not None else None
                    try:
                        with faust_compat.as_current_event(event):  # obligations' writes know their record
                            now = ctx.clock.now()
                            result = handled(message, held[0] if held else state_of(table_key), now)
                            futures += await queue_all(app, ctx, result.outbound)
                    except (asyncio.CancelledError, faust_compat.WorkerMustStop):
                        raise
                    except Exception:
                        if not results:
                            raise  # nothing done: all of it one by one
                        if deadlines is not None and saved is not None:
                            deadlines.restore(saved)  # this event's obligation writes are redone alone
                        break
                    if result.state is not None and table_key:
                        states[table_key] = (result.state, event)
                    results.append((message, result))
                if deadlines is None:
                    if futures:
                        faust_compat.send_now(app)  # the round is queued: no linger
                        await asyncio.gather(*futures)
                else:  # one round: the outputs and the obligation updates, then the writes
                    await deadlines.settle(futures, queue, now)
            except BaseException:
                if deadlines is not None:
                    deadlines.rollback()
                raise
            for table_key, (state, event) in states.items():
                with faust_compat.as_current_event(event):
                    table[table_key] = state.model_dump(mode="json")
            await flush_changelogs(*changelogs)  # stored before the batch's progress is recorded
        for message, result in results:
            observed(message, result)
        summary.maybe_log()
        return len(results)

    @app.agent(topic, name="intake", concurrency=1)
    async def intake_agent(stream: faust.StreamT[Any]) -> None:
        # Events are acknowledged to Faust once their batch is through (Faust's commits and its
        # wait for unacknowledged events at a rebalance then cover the whole batch).
        stream.enable_acks = False
        async with agent_lifecycle("intake", not_ready_s=settings.not_ready_after_s):
            batch: list[Any] = []
            async for event in stream.events():
                batch.append(event)
                if len(batch) < MAX_BATCH and faust_compat.buffered(stream):
                    continue  # more is already here: take it into this batch
                try:
                    await guard.handle_batch(batch, run_batch, step)
                finally:
                    for done in batch:
                        await stream.ack(done)
                    batch = []

    return table
