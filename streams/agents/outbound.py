"""Produce the records an agent decided on, and wait until Kafka acknowledged them all.

Waiting matters for at-least-once: the source offset is committed only after the
agent's iteration ends, so a crash before this returns re-processes the message
and re-sends the same ids (recognisable downstream), never loses one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import faust

from seabus.schemas.envelopes import Outbound
from seabus.streams.context import BusContext


async def send_all(app: faust.App, ctx: BusContext, records: Iterable[Outbound]) -> None:
    futures = []
    for record in records:
        if record.route == "notify":
            assert record.recipient is not None
            topic = ctx.settings.notify_topic(record.recipient)
            if ctx.directory.get(record.recipient) is None:
                await ctx.ensure_topic(record.recipient)
        else:
            topic = ctx.settings.topic(record.route)
        futures.append(
            await app.producer.send(
                topic,
                key=record.key,
                value=record.value,
                partition=None,
                timestamp=None,
                headers=record.headers,
            )
        )
    if futures:
        await asyncio.gather(*futures)
