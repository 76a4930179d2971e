"""The injectable clock: a manual one moves only when told, and only in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from seabus.streams.deadlines.clock import Clock, ManualClock, SystemClock


def test_manual_clock_moves_only_when_told_and_normalises_to_utc() -> None:
    clock = ManualClock(start=datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.advance(timedelta(seconds=90)) == datetime(2026, 3, 2, 9, 1, 30, tzinfo=UTC)
    clock.set(datetime(2026, 3, 3, tzinfo=UTC))
    assert clock.now() == datetime(2026, 3, 3, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        ManualClock(start=datetime(2026, 3, 2))
    clock = ManualClock(start=datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="no time zone"):
        clock.set(datetime(2026, 3, 2))


def test_system_clock_is_utc_aware() -> None:
    clock: Clock = SystemClock()
    assert clock.now().utcoffset() == timedelta(0)
