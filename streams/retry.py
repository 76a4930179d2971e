"""One retry helper for the whole bus, on tenacity.

Before it, each place that waits for Kafka (the agents' guard, topic creation, the
start-up steps, the gateway's owners index, the read model, the deploy and test
helpers that wait for metadata) carried its own ``while True`` loop with its own
backoff arithmetic. Here the shapes they share are named once:

* :func:`retrying` / :func:`aretrying`: call again on the exceptions ``retry_on``
  accepts, with a :class:`Backoff` between attempts, until it succeeds, ``give_up()``
  says stop, or a deadline passes; then the last exception is raised as it was
  (never tenacity's ``RetryError``).
* :func:`poll_until`: probe until the value satisfies a condition or a deadline
  passes; on time-out the caller's own error is raised, built from the last value
  seen.

What to log before each wait is the caller's (``on_retry`` receives a :class:`Waiting`),
so every place keeps its own log line. ``sleep`` and ``clock`` are injectable, so the
helper is tested without waiting.

This module is part of the light install (no faust): connectors and deploy use it too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Required, TypedDict, TypeVar, Unpack

import tenacity

__all__ = [
    "Backoff",
    "RetryOptions",
    "Waiting",
    "aretrying",
    "poll_until",
    "retrying",
]

T = TypeVar("T")

Pause = Callable[[int], float]
"""A pause computed by the caller from the attempt number (1 after the first failure)."""
RetryOn = tuple[type[BaseException], ...] | Callable[[BaseException], bool]
"""Which failures are worth another attempt: exception classes, or a predicate."""


@dataclass(frozen=True)
class Backoff:
    """The pause between attempts: ``first_s``, doubled after each failure up to ``max_s``.

    ``max_s=None`` keeps the pause at ``first_s`` (a fixed interval).
    """

    first_s: float
    max_s: float | None = None

    def delay(self, failures: int) -> float:
        """The pause after the ``failures``-th failure in a row (1 for the first)."""
        if self.max_s is None:
            return self.first_s
        return min(self.first_s * 2.0 ** (failures - 1), self.max_s)


@dataclass(frozen=True)
class Waiting:
    """What ``on_retry`` is told before a pause: the failure, how many so far, and the pause."""

    error: BaseException
    attempt: int
    retry_in_s: float
    waited_s: float


def _retry_predicate(retry_on: RetryOn) -> tenacity.retry_base:
    def accepts(exc: BaseException) -> bool:
        # Cancellation and interrupts are never a failure to retry, whatever the predicate says.
        if not isinstance(exc, Exception):
            return False
        if isinstance(retry_on, tuple):
            return isinstance(exc, retry_on)
        return retry_on(exc)

    return tenacity.retry_if_exception(accepts)


class RetryOptions(TypedDict, total=False):
    """What :func:`retrying` and :func:`aretrying` take besides ``sleep`` (the one that differs)."""

    retry_on: Required[RetryOn]
    backoff: Required[Backoff | Pause]
    give_up: Callable[[], bool] | None
    deadline_s: float | None
    on_retry: Callable[[Waiting], None] | None
    clock: Callable[[], float]


def _common(
    *,
    retry_on: RetryOn,
    backoff: Backoff | Pause,
    give_up: Callable[[], bool] | None = None,
    deadline_s: float | None = None,
    on_retry: Callable[[Waiting], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    started = clock()
    pause = backoff.delay if isinstance(backoff, Backoff) else backoff

    def stop(_state: tenacity.RetryCallState) -> bool:
        if give_up is not None and give_up():
            return True
        return deadline_s is not None and clock() - started > deadline_s

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is None:
            return
        assert state.outcome is not None
        assert state.next_action is not None
        error = state.outcome.exception()
        assert error is not None
        on_retry(
            Waiting(
                error=error,
                attempt=state.attempt_number,
                retry_in_s=state.next_action.sleep,
                waited_s=clock() - started,
            )
        )

    return {
        "retry": _retry_predicate(retry_on),
        "wait": lambda state: pause(state.attempt_number),
        "stop": stop,
        "before_sleep": before_sleep,
        "reraise": True,
    }


def retrying(
    *, sleep: Callable[[float], None] = time.sleep, **options: Unpack[RetryOptions]
) -> tenacity.Retrying:
    """A tenacity ``Retrying``: ``retrying(...)(fn)`` or ``for attempt in retrying(...): with attempt: ...``."""
    return tenacity.Retrying(sleep=sleep, **_common(**options))


def aretrying(
    *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, **options: Unpack[RetryOptions]
) -> tenacity.AsyncRetrying:
    """The same for coroutines: ``await aretrying(...)(coroutine_function)``."""
    return tenacity.AsyncRetrying(sleep=sleep, **_common(**options))


class _NotYet(Exception):
    """The condition does not hold yet (carries the value seen)."""

    def __init__(self, value: object) -> None:
        super().__init__("not yet")
        self.value = value


def poll_until(
    probe: Callable[[], T],
    *,
    until: Callable[[T], bool] = bool,
    timeout_s: float,
    interval_s: float,
    timed_out: Callable[[T], BaseException],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``probe`` every ``interval_s`` until ``until(value)`` holds, and return that value.

    After ``timeout_s`` (checked after each probe, so there is at least one), raise
    ``timed_out(last value)``. Exceptions from ``probe`` propagate at once.
    """

    def attempt() -> T:
        value = probe()
        if not until(value):
            raise _NotYet(value)
        return value

    try:
        result: T = retrying(
            retry_on=(_NotYet,), backoff=Backoff(interval_s), deadline_s=timeout_s, sleep=sleep, clock=clock
        )(attempt)
    except _NotYet as last:
        raise timed_out(last.value) from None  # type: ignore[arg-type]  # the probe's own value
    return result
