"""The test-only file clock (SEABUS_TEST_CLOCK_FILE): the worker follows a file a test moves,
and without the setting it keeps the real clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seabus.deploy import runner
from seabus.schemas.clock import FileClock, SystemClock, write_clock_file

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_the_clock_reads_the_file_and_follows_it_forward(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, T0)
    clock = FileClock(path)
    assert clock.now() == T0
    write_clock_file(path, T0 + timedelta(seconds=90))
    assert clock.now() == T0 + timedelta(seconds=90)


def test_it_never_runs_backwards_and_a_bad_file_keeps_the_last_time(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, T0 + timedelta(hours=1))
    clock = FileClock(path)
    write_clock_file(path, T0)
    assert clock.now() == T0 + timedelta(hours=1)
    path.write_text("not a time", encoding="utf-8")
    assert clock.now() == T0 + timedelta(hours=1)
    path.unlink()
    assert clock.now() == T0 + timedelta(hours=1)


@pytest.mark.parametrize(("text", "says"), [("2026-01-05T09:00:00", "no time zone"), ("soon", "isoformat")])
def test_a_file_without_a_zoned_time_is_refused_at_start(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "clock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=says):
        FileClock(path)


def test_the_worker_keeps_the_real_clock_unless_the_test_setting_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(runner.TEST_CLOCK_ENV, raising=False)
    assert runner._test_clock() is None  # load_context then falls back to SystemClock
    path = tmp_path / "clock"
    write_clock_file(path, T0)
    monkeypatch.setenv(runner.TEST_CLOCK_ENV, str(path))
    clock = runner._test_clock()
    assert isinstance(clock, FileClock)
    assert not isinstance(clock, SystemClock)
    assert clock.now() == T0
