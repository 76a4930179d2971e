"""Produce the records an agent decided on, and wait until Kafka acknowledged them all.

Waiting matters for at-least-once: the source offset is committed only after the
agent's iteration ends, so a crash before this returns re-processes the message
and re-sends the same ids (recognisable downstream), never loses one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

import faust

from seabus.schemas.envelopes import Outbound
from seabus.streams import faust_compat
from seabus.streams.context import BusContext


async def send_all(app: faust.App, ctx: BusContext, records: Iterable[Outbound]) -> None:
    futures = await queue_all(app, ctx, records)
    if futures:
        faust_compat.send_now(app)  # all of it is queued: no linger
        await asyncio.gather(*futures)


async def queue_all(app: faust.App, ctx: BusContext, records: Iterable[Outbound]) -> list[Awaitable[Any]]:
    """Hand ``records`` to the producer in order; the caller awaits the returned acknowledgements.

    A batch of records from several source records is queued first and awaited together,
    so Kafka acknowledges them in one round trip instead of one per source record.
    """
    futures: list[Awaitable[Any]] = []
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
    return futures
