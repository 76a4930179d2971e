"""The responses agent on ``sea.responses`` (co-partitioned with ``sea.allegations``)."""

from __future__ import annotations

from functools import partial
from typing import Any

import faust
import structlog

from seabus.schemas.enums import DeadLetterReason
from seabus.schemas.envelopes import Source, dead_letter_out
from seabus.streams import metrics
from seabus.streams.agents.deadlines import Deadlines
from seabus.streams.agents.guard import agent_guard, agent_lifecycle, raw_topic
from seabus.streams.agents.outbound import queue_all, send_all
from seabus.streams.context import BusContext
from seabus.streams.deadlines import ResponseOutcome
from seabus.streams.progress import SourceProgress
from seabus.streams.replies import reply_notices
from seabus.streams.responses import SOURCE, check_response, predates_obligations, unknown_message
from seabus.streams.tables import flush_changelogs

log = structlog.get_logger(__name__)


def register_responses(
    app: faust.App, ctx: BusContext, progress: SourceProgress, deadlines: Deadlines
) -> None:
    settings = ctx.settings
    partitions = settings.topics.responses.over(settings.topics.defaults).partitions
    topic = raw_topic(app, settings.topic("responses"), partitions=partitions)

    guard = agent_guard(app, ctx, progress, agent="responses", producer=SOURCE)
    queue = partial(queue_all, app, ctx)

    async def step(message: Any) -> None:
        now = ctx.clock.now()
        source = Source(topic=message.topic, partition=message.partition, offset=message.offset)
        headers = list(message.headers or [])
        checked = check_response(
            key=message.key,
            value=message.value,
            headers=headers,
            source=source,
            now=now,
            codec=ctx.codec,
            max_bytes=ctx.max_message_bytes,
        )
        if checked.dead_letter is not None:
            await send_all(
                app, ctx, [checked.dead_letter, *([checked.escalation] if checked.escalation else [])]
            )
            metrics.observe_response("INVALID", "dead_lettered")
            log.warning("response dead-lettered", partition=message.partition, offset=message.offset)
            return
        response = checked.response
        assert response is not None
        async with deadlines.lock:
            too_early = predates_obligations(
                response, deadlines.engine.obligations_of(response.allegation_id)
            )
            if too_early is not None:
                refused = dead_letter_out(
                    key=message.key,
                    value=message.value,
                    headers=headers,
                    source=source,
                    reason=DeadLetterReason.VALIDATION_FAILED,
                    message=too_early,
                    now=now,
                    codec=ctx.codec,
                    producer=SOURCE,
                )
                await send_all(app, ctx, [refused])
                metrics.observe_response(response.kind.value, "dead_lettered")
                log.warning("response predates its obligations", allegation_id=response.allegation_id)
                return
            try:
                result = deadlines.engine.on_response(
                    allegation_id=response.allegation_id,
                    recipient=response.recipient,
                    kind=response.kind,
                    responded_at=response.responded_at,
                    responder=response.responder,
                    response_id=response.response_id,
                    received_at=now,
                )
                outbound = []
                if result.outcome in (ResponseOutcome.UNKNOWN_ALLEGATION, ResponseOutcome.UNKNOWN_RECIPIENT):
                    known = result.outcome is ResponseOutcome.UNKNOWN_RECIPIENT
                    outbound.append(
                        dead_letter_out(
                            key=message.key,
                            value=message.value,
                            headers=headers,
                            source=source,
                            reason=DeadLetterReason(result.outcome.value),
                            message=unknown_message(response, allegation_known=known),
                            now=now,
                            codec=ctx.codec,
                            producer=SOURCE,
                        )
                    )
                else:  # accepted (applied, or kept until its notification): OSC and the reporter hear of it
                    entity = deadlines.engine.reporting_entity(response.allegation_id)
                    outbound += reply_notices(response, reporting_entity=entity, now=now, codec=ctx.codec)
                await deadlines.settle(await queue(outbound), queue, now)
                await flush_changelogs(*deadlines.tables)
            except BaseException:
                deadlines.rollback()
                raise
        metrics.observe_response(response.kind.value, result.outcome.value)
        log.info(
            "response",
            allegation_id=response.allegation_id,
            recipient=response.recipient,
            kind=response.kind.value,
            outcome=result.outcome.value,
            satisfied=[o.kind.value for o in result.changed],
        )

    @app.agent(topic, name="responses", concurrency=1)
    async def responses_agent(stream: faust.StreamT[Any]) -> None:
        async with agent_lifecycle("responses", not_ready_s=settings.not_ready_after_s):
            async for event in stream.events():
                await guard.handle(event.message, step)
