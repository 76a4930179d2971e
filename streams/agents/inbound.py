"""The forwarder on ``<prefix>.inbound.<PRINCIPAL>``: the origin stamped, claims checked.

Each principal writes only its own inbound topic (the ACLs say so), so the topic a
record was read from is who wrote it. :func:`seabus.streams.origin.check_inbound` decides;
this agent moves bytes under the same :class:`~seabus.streams.agents.guard.RecordGuard` as
intake: every offset in order, tracked in the bus's own ``inbound-progress`` table,
outputs acknowledged before the offset counts as done. A repeat after a crash
forwards the same event or response again, which the intake and the deadline engine
recognise by its id.
"""

from __future__ import annotations

from typing import Any

import faust
import structlog

from seabus.schemas.envelopes import Source
from seabus.streams import metrics
from seabus.streams.agents.guard import agent_guard, agent_lifecycle, raw_topic
from seabus.streams.agents.outbound import send_all
from seabus.streams.agents.sources import register_progress
from seabus.streams.context import BusContext
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import SOURCE, check_inbound, principal_of, principals

log = structlog.get_logger(__name__)

PROGRESS_TABLE = "inbound-progress"


def register_inbound(app: faust.App, ctx: BusContext, *, kafka: KafkaConnection) -> list[str]:
    """Registers the forwarder over every principal's inbound topic; returns the topics."""
    settings = ctx.settings
    recipients = ctx.directory.ids()
    names = [settings.inbound_topic(p) for p in principals(settings, recipients)]
    partitions = settings.topics.inbound.over(settings.topics.defaults).partitions
    assert partitions is not None
    progress = register_progress(
        app, ctx, kafka=kafka, sources=tuple(names), table_name=PROGRESS_TABLE, partitions=partitions
    )
    topic = raw_topic(app, *names, partitions=partitions)
    entities = ctx.known_entities
    directory = frozenset(recipients)
    guard = agent_guard(app, ctx, progress, agent="inbound", producer=SOURCE)

    async def step(message: Any) -> None:
        principal = principal_of(message.topic, settings)
        assert principal is not None, message.topic  # the agent reads inbound topics only
        verdict = check_inbound(
            principal=principal,
            key=message.key,
            value=message.value,
            headers=list(message.headers or []),
            source=Source(topic=message.topic, partition=message.partition, offset=message.offset),
            now=ctx.clock.now(),
            codec=ctx.codec,
            max_bytes=ctx.max_message_bytes,
            entities=entities,
            recipients=directory,
        )
        await send_all(app, ctx, verdict.outbound)
        metrics.observe_inbound(principal, verdict.forwarded_to or "refused")
        log_fn = log.info if verdict.reason is None else log.warning
        log_fn(
            "inbound record",
            principal=principal,
            forwarded_to=verdict.forwarded_to,
            reason=verdict.reason.value if verdict.reason else None,
            offset=message.offset,
        )

    @app.agent(topic, name="inbound", concurrency=1)
    async def inbound_agent(stream: faust.StreamT[Any]) -> None:
        async with agent_lifecycle("inbound", not_ready_s=settings.not_ready_after_s):
            async for event in stream.events():
                await guard.handle(event.message, step)

    return names
