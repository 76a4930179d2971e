"""Deadline wiring: obligation tables, the responses agent and the tick timer.

* Obligations are created in the intake agent (same event, same partition as the
  allegation), answered in the responses agent (``sea.responses`` is
  co-partitioned with ``sea.allegations``), and fired by a timer on *every*
  worker — each worker ticks only the obligations of its active partitions, so
  two workers never both fire one (standby copies are never indexed).
* A tick emits escalations first and records them as fired only after Kafka
  acknowledged them: a crash in between repeats the step with the same
  ``escalation_id`` (recognisable) instead of losing it.
* Each step goes to ``sea.escalations`` and to its target's
  ``sea.notify.<ID>`` (the owing recipient; OSC for SECOND_LEVEL), where push
  delivery takes it to the target's webhook and e-mail like a notification.
* Every change of an obligation is published to the compacted
  ``sea.obligations`` topic, from which dashboards rebuild the overdue view, in
  the same acknowledgement round as the step's outputs and before the tables are
  written (:meth:`Deadlines.settle`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import faust
import structlog

from seabus.schemas.cloudevents import build_headers, ce_type_for
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import ObligationState, RecipientClass
from seabus.schemas.envelopes import Outbound
from seabus.schemas.models import AllegationEvent, ObligationUpdate
from seabus.schemas.models import Obligation as NoticeObligation
from seabus.streams import faust_compat, metrics
from seabus.streams.context import BusContext
from seabus.streams.deadlines import DeadlineEngine
from seabus.streams.deadlines.codec import ValueFormat, decode
from seabus.streams.deadlines.obligations import EscalationDraft, Obligation
from seabus.streams.tables import DeferredWrites, PartitionedTable, changelog_config, flush_changelogs

log = structlog.get_logger(__name__)
SOURCE = "seabus/deadlines"

#: Hands records to the producer and returns their acknowledgements (``outbound.queue_all``).
Queue = Callable[[list[Outbound]], Awaitable[list[Awaitable[Any]]]]

TICK_CHUNK = 500
"""Due obligations one tick chunk takes. Unbounded, a backfill of old allegations (all due at
once) made one tick fire everything in a single round: the intake waited behind it (ticks of
95-400 ms measured after a 3,000-event burst, docs/bench-notes/routing.md), and at a large
enough backfill one failed send rolled the whole tick back, crashed the worker and repeated
on restart. 500 keeps one recipient's ``OVERDUE_SUMMARY`` about as coarse as a 0.5 s tick made
it during that burst (a summary covers one chunk's born-overdue obligations)."""
TICK_CHUNKS = 1000
"""At most this many chunks per run of the timer (half a million steps; the next run goes on)."""


def partitioned_table(
    app: faust.App, name: str, partitions: int, *, configs: dict[str, str] | None = None
) -> PartitionedTable:
    table = PartitionedTable(
        app,
        name=name,
        default=None,
        beacon=app.tables.beacon,
        partitions=partitions,
        schema=faust.Schema(key_type=str, value_type=bytes, key_serializer="json", value_serializer="raw"),
        # Said again for the store, which picks its serialisers from these types (bytes: raw).
        key_type=str,
        value_type=bytes,
        extra_topic_configs=configs or {},
    )
    app.tables.add(table)
    return table


@dataclass(kw_only=True)
class Deadlines:
    """The engine plus the tables and the lock that serialises its users."""

    ctx: BusContext
    engine: DeadlineEngine
    obligations: PartitionedTable
    records: PartitionedTable
    deferred: DeferredWrites
    records_deferred: DeferredWrites = field(default_factory=lambda: DeferredWrites({}))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    active: frozenset[int] | None = None
    send_now: Callable[[], object] = lambda: None
    """Called once a round is queued, before it is awaited (faust_compat.send_now: no linger)."""

    # -- hooks called by the intake step (inside the agent, under the lock) --

    def on_event(
        self, event: AllegationEvent, recipients: dict[str, RecipientClass], now: datetime
    ) -> dict[str, list[NoticeObligation]]:
        """Cancel on closing, then create each recipient's obligations; returns the open ones."""
        current = self.engine.on_event(event, recipients, now)
        return {
            recipient: [NoticeObligation(kind=o.kind, due_at=o.due_at) for o in obligations if o.is_open]
            for recipient, obligations in current.items()
        }

    def on_transfer(self, allegation_id: str, entity: str) -> None:
        """The allegation changed hands: replies about it now reach the new owner's feed."""
        self.engine.on_transfer(allegation_id, entity)

    def commit(self) -> list[str]:
        """Write what one step changed; returns the changed obligation keys.

        Per-allegation records are written once per step, however many
        recipients the step touched (one changelog record, not one each).
        """
        self.records_deferred.commit()
        return self.deferred.commit()

    def rollback(self) -> None:
        """Drop what a failed step wrote (call under the lock): it is redone or dead-lettered."""
        self.records_deferred.clear()
        self.deferred.clear()

    def savepoint(self) -> tuple[Any, Any]:
        """The pending writes now (under the lock): a batch goes back to it when one record fails."""
        return self.deferred.savepoint(), self.records_deferred.savepoint()

    def restore(self, saved: tuple[Any, Any]) -> None:
        self.deferred.restore(saved[0])
        self.records_deferred.restore(saved[1])

    @property
    def tables(self) -> tuple[PartitionedTable, PartitionedTable]:
        """The tables whose changelog a step flushes before its progress is recorded."""
        return self.obligations, self.records

    @property
    def pending(self) -> bool:
        return bool(self.deferred.pending or self.records_deferred.pending)

    # -- records -------------------------------------------------------------

    def pending_updates(self, now: datetime) -> list[Outbound]:
        """The ``sea.obligations`` records of the obligation writes not yet committed."""
        out = []
        entities: dict[str, str | None] = {}
        for key, raw in self.deferred.pending.items():
            if raw is None:
                continue
            o = decode(Obligation, raw, ValueFormat.JSON_BYTES)
            if o.allegation_id not in entities:
                # Faust reads a table in the current event's partition only: read under the
                # event the key was written for.
                with faust_compat.as_current_event(self.deferred.events.get(key)):
                    entities[o.allegation_id] = self.engine.reporting_entity(o.allegation_id)
            update = obligation_update(o, reporting_entity=entities[o.allegation_id], now=now)
            out.append(
                Outbound(
                    route="obligations",
                    recipient=None,
                    key=key.encode(),
                    value=encode_model(update, codec=self.ctx.codec),
                    headers=build_headers(
                        event_id=f"{key}@{now.timestamp():.3f}",
                        source=SOURCE,
                        type_=ce_type_for("ObligationUpdate"),
                        time=now,
                        subject=o.allegation_id,
                    ),
                )
            )
        return out

    async def settle(self, queued: list[Awaitable[Any]], queue: Queue, now: datetime) -> list[str]:
        """Await a step's outputs and its obligation updates together, then write the tables.

        Written only once Kafka acknowledged everything: when a send fails nothing is
        written, so the step's retry changes the same obligations again and sends their
        updates again. (Written first, the retry would find nothing changed and the
        ``sea.obligations`` updates, the on-call view's source, would be lost.)
        Returns the obligation keys written.
        """
        try:
            futures = list(queued) + await queue(self.pending_updates(now))
            if futures:
                self.send_now()
                await asyncio.gather(*futures)
        except BaseException:
            self.rollback()
            raise
        return self.commit()

    def escalation_out(self, draft: EscalationDraft) -> list[Outbound]:
        """The step on ``sea.escalations`` (on-call is paged from there) and on its target's topic.

        Both carry the same record and ``escalation_id``, so the push delivery of
        the target's topic and the pager recognise a step fired again after a crash.
        """
        record = draft.to_record()
        value = encode_model(record, codec=self.ctx.codec)
        headers = build_headers(
            event_id=record.escalation_id,
            source=SOURCE,
            type_=ce_type_for("Escalation"),
            time=record.fired_at,
            subject=record.allegation_id,
        )
        key = record.allegation_id.encode()
        return [
            Outbound(route="escalations", recipient=None, key=key, value=value, headers=headers),
            Outbound(route="notify", recipient=draft.target, key=key, value=value, headers=headers),
        ]


def obligation_update(o: Obligation, *, reporting_entity: str | None, now: datetime) -> ObligationUpdate:
    last_level = None
    if o.fired:
        from seabus.schemas.enums import EscalationLevel

        head = o.fired[-1].split(":", 1)[0]
        last_level = EscalationLevel(head) if head in EscalationLevel.__members__ else EscalationLevel.UNKNOWN
    return ObligationUpdate(
        obligation_key=o.key,
        allegation_id=o.allegation_id,
        recipient=o.recipient,
        recipient_class=o.recipient_class,
        kind=o.kind,
        policy=o.policy,
        reporting_entity=reporting_entity,
        created_at=o.created_at,
        due_at=o.due_at,
        state=ObligationState(o.state.value),
        last_level=last_level,
        escalations_fired=len(o.fired) + o.repeats_done,
        answered_by=o.answered_by,
        answered_at=o.answered_at,
        answered_kind=o.answered_kind,
        cancel_reason=o.cancel_reason,
        updated_at=now,
    )


def active_partitions(app: faust.App, topic: str) -> frozenset[int]:
    return frozenset(tp.partition for tp in faust_compat.active_source_partitions(app, [topic]))


def register_deadlines(app: faust.App, ctx: BusContext) -> Deadlines:
    settings = ctx.settings
    partitions = settings.topics.allegations.over(settings.topics.defaults).partitions
    assert partitions is not None
    configs = changelog_config(settings)
    obligations = partitioned_table(app, "obligations", partitions, configs=configs)
    records = partitioned_table(app, "deadline-allegations", partitions, configs=configs)
    deferred = DeferredWrites(obligations)
    records_deferred = DeferredWrites(records)
    engine = DeadlineEngine(
        policies=ctx.policies,
        obligations=deferred,
        allegations=records_deferred,
        calendar_for=ctx.calendar_for,
        value_format=ValueFormat.JSON_BYTES,
        adopt=obligations.adopt,
    )
    deadlines = Deadlines(
        ctx=ctx,
        engine=engine,
        obligations=obligations,
        records=records,
        deferred=deferred,
        records_deferred=records_deferred,
        send_now=partial(faust_compat.send_now, app),
    )
    allegations_topic = settings.topic("allegations")

    @app.timer(interval=ctx.tick_interval_s, name="deadline-tick")  # type: ignore[untyped-decorator]
    async def deadline_tick() -> None:
        if not faust_compat.app_settled(app):
            return
        # A backlog of due steps (a backfill of old allegations is due at once) is worked off in
        # chunks, the lock released between them: the intake's batches go in between (the lock
        # is first come, first served) instead of waiting for one long round. The run goes on
        # until nothing is due, so a backfill's escalations are not spread over later runs.
        for _ in range(TICK_CHUNKS):
            if not await tick_chunk():
                return
            await asyncio.sleep(0)  # a chunk does not yield by itself: let the other tasks run

    async def tick_chunk() -> bool:
        """One chunk of due steps fired, their records acknowledged; True if more are due."""
        from seabus.streams.agents.outbound import queue_all

        async with deadlines.lock:
            active = active_partitions(app, allegations_topic)
            if active != deadlines.active:
                size = engine.rebuild_index_from_items(obligations.items_in(set(active)))
                deadlines.active = active
                log.info("deadline index rebuilt", partitions=sorted(active), open_steps=size)
            now = ctx.clock.now()
            drafts = engine.tick(now, limit=TICK_CHUNK)
            if not drafts and not deadlines.pending:
                return engine.due(now)
            try:
                queued = await queue_all(
                    app, ctx, [out for d in drafts for out in deadlines.escalation_out(d)]
                )
                await deadlines.settle(queued, partial(queue_all, app, ctx), now)
                await flush_changelogs(*deadlines.tables)
            except BaseException:
                # Nothing of this chunk was written, but its index moved past the steps: rebuilt
                # from the table, it fires them again (same escalation ids). The exception ends
                # the timer, which crashes the worker (mode's task), and its restart recovers.
                deadlines.rollback()
                deadlines.active = None
                raise
            metrics.escalations_fired(drafts)
            for d in drafts:
                log.info(
                    "escalation fired",
                    allegation_id=d.allegation_id,
                    recipient=d.recipient,
                    obligation=None if d.obligation is None else d.obligation.value,
                    covers=len(d.obligation_keys) or None,
                    level=d.level.value,
                    repeat=d.repeat,
                    escalation_id=d.escalation_id,
                    to=d.target,
                )
            return engine.due(now)

    return deadlines
