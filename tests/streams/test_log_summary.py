"""The intake's info summary: counts at once, then at most every ``every_s``, never ids."""

from __future__ import annotations

from structlog.testing import capture_logs

from seabus.streams.logs import Summary


def test_the_first_counts_are_logged_at_once_then_once_per_period() -> None:
    now = [100.0]
    summary = Summary("intake summary", every_s=30.0, clock=lambda: now[0])
    with capture_logs() as lines:
        summary.count("routed", 3)
        summary.count("duplicate")
        assert summary.maybe_log() is True  # the first batch: records flow
        summary.count("routed")
        now[0] += 10.0
        assert summary.maybe_log() is False  # within the period: counted, not logged
        now[0] += 25.0
        summary.count("routed")
        assert summary.maybe_log() is True
        now[0] += 40.0
        assert summary.maybe_log() is True  # nothing counted: nothing logged, the period restarts
    assert [(line["event"], line.get("routed"), line.get("duplicate")) for line in lines] == [
        ("intake summary", 3, 1),
        ("intake summary", 2, None),
    ]
    assert lines[1]["seconds"] == 35.0
    assert all(set(line) <= {"event", "log_level", "seconds", "routed", "duplicate"} for line in lines)
