"""stop_task: a stop ends even when the task swallows a cancellation (as aiokafka does in places)."""

from __future__ import annotations

import asyncio

import pytest

from seabus.streams import tasks
from seabus.streams.tasks import stop_task


async def _swallows(times: int, ended: asyncio.Event) -> None:
    """Ignore the first ``times`` cancellations, as a library wait that suppresses CancelledError."""
    ignored = 0
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if ignored == times:
                ended.set()
                raise
            ignored += 1


async def _stubborn(release: asyncio.Event, cancelled: asyncio.Event | None = None) -> None:
    """Swallow every cancellation until the test releases it (setting ``cancelled`` at each)."""
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            if cancelled is not None:
                cancelled.set()


def test_a_task_that_swallows_two_cancellations_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "RECANCEL_S", 0.01)

    async def scenario() -> tuple[bool, bool, bool]:
        ended = asyncio.Event()
        task = asyncio.create_task(_swallows(2, ended))
        await asyncio.sleep(0)
        stopped = await stop_task(task, what="test", timeout_s=5)
        return stopped, ended.is_set(), task.cancelled()

    assert asyncio.run(scenario()) == (True, True, True)


def test_the_old_single_cancel_would_have_waited_for_ever() -> None:
    """The bug stop_task exists for: one cancel, then await, on a task that swallows one."""

    async def scenario() -> bool:
        task = asyncio.create_task(_swallows(1, asyncio.Event()))
        await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.2)
        stuck = not done
        await stop_task(task, what="test", timeout_s=5)
        return stuck

    assert asyncio.run(scenario()) is True


def test_a_task_that_never_ends_is_left_after_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "RECANCEL_S", 0.01)

    async def scenario() -> tuple[bool, bool]:
        release = asyncio.Event()
        task = asyncio.create_task(_stubborn(release))
        await asyncio.sleep(0)
        stopped = await stop_task(task, what="test", timeout_s=0.1)
        left = not task.done()
        release.set()
        await task
        return stopped, left

    assert asyncio.run(scenario()) == (False, True)


def test_a_failed_task_is_retrieved_not_raised_and_none_is_fine() -> None:
    async def scenario() -> list[bool]:
        async def fails() -> None:
            raise RuntimeError("synthetic failure")

        task = asyncio.create_task(fails())
        await asyncio.sleep(0)
        return [await stop_task(task, what="test"), await stop_task(None, what="nothing")]

    assert asyncio.run(scenario()) == [True, True]


def test_the_callers_own_cancellation_propagates() -> None:
    async def scenario() -> bool:
        release = asyncio.Event()
        cancelled = asyncio.Event()
        inner = asyncio.create_task(_stubborn(release, cancelled))
        await asyncio.sleep(0)
        stopper = asyncio.create_task(stop_task(inner, what="test", timeout_s=60))
        await cancelled.wait()  # the stopper has cancelled once and is inside its wait
        stopper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopper
        release.set()
        await inner
        return stopper.cancelled()

    assert asyncio.run(scenario()) is True
