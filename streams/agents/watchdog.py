"""Watchdog for a Faust gap: records fetched around a rebalance that never reach an agent.

Faust "pauses" partitions during table recovery only on its own side: the Kafka
client keeps fetching them, and the records are skipped while the fetch position
moves on; records handed over during the rebalance can also be counted as read
without reaching the agent. They would be read again only after a restart. Seen
in a two-worker test: allegations published while the second worker joined were
never routed.

Every few seconds, for each active source partition, compare the client's fetch
position with the committed offset (what the agent acknowledged). If the position
stays ahead with no commit progress for two looks in a row, seek back to the
committed offset. Seeking back can only re-deliver records, which the bus
recognises by event id (and a slow agent merely gets a record twice).
"""

from __future__ import annotations

import contextlib
from typing import Any

import faust
import structlog
from aiokafka.errors import IllegalStateError

log = structlog.get_logger(__name__)


def register_watchdog(app: faust.App, *, topics: set[str], interval_s: float = 2.0) -> None:
    last: dict[Any, tuple[int, int]] = {}

    @app.timer(interval=interval_s, name="stalled-partition-watchdog")  # type: ignore[untyped-decorator]
    async def stalled_partition_watchdog() -> None:
        if app.rebalancing or app.in_recovery:
            last.clear()
            return
        consumer: Any = app.consumer
        for tp in consumer.assignment():
            if tp.topic not in topics:
                continue
            try:
                position = await consumer.position(tp)
            except IllegalStateError:  # revoked while we looked: not ours any more
                last.pop(tp, None)
                continue
            if position is None:
                continue
            # Faust may count a record as read that its conductor never handed to the
            # agent, so only the committed offset (acknowledged by the agent) is trusted.
            committed = consumer._committed_offset.get(tp)
            expected = committed if committed is not None else 0
            if position <= expected:
                last.pop(tp, None)
                continue
            seen = (position, expected)
            if last.get(tp) == seen:
                log.warning(
                    "records fetched but not delivered; seeking back",
                    topic=tp.topic,
                    partition=tp.partition,
                    position=position,
                    seek_to=expected,
                )
                with contextlib.suppress(IllegalStateError):
                    await consumer.seek(tp, expected)
                last.pop(tp, None)
            else:
                last[tp] = seen
