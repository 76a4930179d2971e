"""The one clock: time is passed in, never read inside the logic, so tests can move it by hand.

Two shapes, one source. Objects that keep time (the worker's deadline engine, the
bus context) take a :class:`Clock` with ``now()``; edges that only ask the time
(the gateway, webhook delivery, the dashboard) take a :data:`Now`, which is
``clock.now`` of the same clock or :func:`utc_now`. :func:`utc_now` is the only
place that reads the system time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "Now", "SystemClock", "utc_now"]

Now = Callable[[], datetime]
"""Returns the current time, aware and in UTC."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    """Anything that can say what time it is, as a UTC-aware datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return utc_now()


class ManualClock:
    """A clock that moves only when told to, for tests and simulations."""

    def __init__(self, *, start: datetime) -> None:
        _require_aware(start)
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        _require_aware(when)
        self._now = when.astimezone(UTC)

    def advance(self, by: timedelta) -> datetime:
        self._now = self._now + by
        return self._now


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r} has no time zone; pass a UTC-aware datetime")
