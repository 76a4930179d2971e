"""Stopping a background task without trusting one cancellation.

aiokafka suppresses ``CancelledError`` in several of its own waits (its fetcher, its
client's sync task, its coordinator), and a consumer's ``stop()`` inside a cancelled
task's ``finally`` can itself wait on the network. So ``task.cancel(); await task``
can wait for ever: a CI run of the gateway's end-to-end test spent its whole 600 s in
the owners index's stop after a request had been answered. :func:`stop_task`
cancels again until the task ends and gives up, loudly, after a bound: a stop must
end, and what the task was doing (following a topic for an early answer, polling) is
never an acknowledgement anyone is waiting for.

This module is part of the light install (no faust): the gateway and delivery use it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import structlog

__all__ = ["stop_task"]

log = structlog.get_logger(__name__)

RECANCEL_S = 1.0
"""How long one cancellation is given before the next."""


async def stop_task(task: asyncio.Task[Any] | None, *, what: str, timeout_s: float = 10.0) -> bool:
    """Cancel ``task`` until it ends, for at most ``timeout_s``; True if it ended.

    The task's own failure is retrieved, not raised: the stop goes on, and a failure is
    reported where it happens (a done callback). The caller's own cancellation propagates.
    """
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    cancels = 0
    where = ""
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.error(
                "background task did not stop; left running",
                task=what,
                cancellations=cancels,
                waited_s=timeout_s,
                where=_where(task),
            )
            return False
        if cancels:
            where = _where(task)  # where the last cancellation was swallowed
        task.cancel()
        cancels += 1
        await asyncio.wait({task}, timeout=min(RECANCEL_S, remaining))
    if cancels > 1:
        log.warning(
            "background task ignored a cancellation; cancelled again",
            task=what,
            cancellations=cancels,
            where=where,
        )
    if not task.cancelled():
        task.exception()  # retrieved: asyncio would otherwise log it again at collection
    return True


def _where(task: asyncio.Task[Any]) -> str:
    """The innermost frame the task waits in (file, line, function): where to look next time."""
    frames = task.get_stack()
    if not frames:
        return "unknown"
    code = frames[-1].f_code
    return f"{Path(code.co_filename).name}:{frames[-1].f_lineno} {code.co_name}"
