"""The one clock: time is passed in, never read inside the logic, so tests can move it by hand.

Two shapes, one source. Objects that keep time (the worker's deadline engine, the
bus context) take a :class:`Clock` with ``now()``; edges that only ask the time
(the gateway, webhook delivery, the dashboard) take a :data:`Now`, which is
``clock.now`` of the same clock or :func:`utc_now`. :func:`utc_now` is the only
place that reads the system time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

__all__ = ["Clock", "FileClock", "ManualClock", "Now", "SystemClock", "utc_now", "write_clock_file"]

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


class FileClock:
    """TEST ONLY: the time written in a file (ISO-8601 with a zone), re-read when the file
    changes, so a test can move a running `seabus run` forward without sleeping
    (``SEABUS_TEST_CLOCK_FILE``, read by :mod:`seabus.deploy.runner`, which logs it loudly).
    A file that cannot be read keeps the last time it could; time never runs backwards."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._now = self._read()  # a bad file at start-up is an error, not a silent real clock

    def _read(self) -> datetime:
        when = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        _require_aware(when)
        return when.astimezone(UTC)

    def now(self) -> datetime:
        try:
            stat = self.path.stat()
            seen = (stat.st_mtime_ns, stat.st_size)
            if seen != self._seen:
                self._now = max(self._now, self._read())
                self._seen = seen
        except (OSError, ValueError):
            pass  # half-written or gone: the last good time stands
        return self._now


def write_clock_file(path: Path, when: datetime) -> None:
    """Set a :class:`FileClock`'s time atomically (write aside, then rename)."""
    _require_aware(when)
    aside = path.with_name(path.name + ".tmp")
    aside.write_text(when.astimezone(UTC).isoformat(), encoding="utf-8")
    os.replace(aside, path)


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r} has no time zone; pass a UTC-aware datetime")
