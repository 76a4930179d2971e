"""The summary band's numbers: overdue by recipient and level, and the 30-day trend (no Kafka, no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from views.view_support import escalation, obligation

from seabus.schemas.enums import EscalationLevel, ObligationKind, ObligationState
from seabus.schemas.models import ObligationUpdate
from seabus.streams.views import ViewIndex
from seabus.streams.views.stored import StoredObligation
from seabus.streams.views.summary import closed_at

D = timedelta(days=1)
H = timedelta(hours=1)
NOW = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)  # mid-afternoon of the last day of the window
TODAY = datetime(2026, 3, 31, tzinfo=UTC)


def index() -> ViewIndex:
    return ViewIndex(prefix="sea")


def answered(
    aid: str, recipient: str = "KEN", *, due_at: datetime, at: datetime, kind: ObligationKind | None = None
) -> ObligationUpdate:
    return obligation(
        aid,
        recipient,
        kind or ObligationKind.ACKNOWLEDGE,
        due_at=due_at,
        state=ObligationState.SATISFIED,
        updated_at=at + timedelta(seconds=5),
        answered_at=at,
    )


def cancelled(aid: str, *, due_at: datetime, at: datetime) -> ObligationUpdate:
    return obligation(aid, due_at=due_at, state=ObligationState.CANCELLED, updated_at=at)


def by_day(view: ViewIndex, now: datetime = NOW) -> dict[date, tuple[int, int, int]]:
    return {d.day: (d.overdue, d.newly_overdue, d.closed_late) for d in view.trend(now)}


def test_the_trend_counts_what_was_owed_past_its_due_time_at_each_day_end() -> None:
    view = index()
    # Due 10 days ago at noon, still open: overdue at every day end since, and now.
    view.add(obligation("SYNTH-OPEN", due_at=TODAY - 10 * D + 12 * H))
    # Due 5 days ago, answered 2 days ago: overdue at the ends of days -5, -4, -3.
    view.add(answered("SYNTH-LATE", due_at=TODAY - 5 * D + 9 * H, at=TODAY - 2 * D + 8 * H))
    # Due and answered on the same day, late: never overdue at a day end, but it fell due that day.
    view.add(answered("SYNTH-SAMEDAY", due_at=TODAY - 7 * D + 9 * H, at=TODAY - 7 * D + 18 * H))
    # Answered before its due time: never overdue at all.
    view.add(answered("SYNTH-ONTIME", due_at=TODAY - 3 * D, at=TODAY - 4 * D))
    # Cancelled (closing status) 1 day after its due time: overdue at the end of its due day only.
    view.add(cancelled("SYNTH-CXL", due_at=TODAY - 6 * D + 1 * H, at=TODAY - 5 * D + 2 * H))
    # Due today, before now: overdue now. Due today after now: not yet.
    view.add(obligation("SYNTH-TODAY", due_at=TODAY + 10 * H))
    view.add(obligation("SYNTH-LATER", due_at=TODAY + 20 * H))
    # Long before the window, still open: counts on every day of it.
    view.add(obligation("SYNTH-OLD", due_at=TODAY - 90 * D))

    trend = view.trend(NOW)
    assert len(trend) == 30
    assert trend[0].day == date(2026, 3, 2)
    assert trend[-1].day == date(2026, 3, 31)
    assert trend[-1].at == NOW
    assert trend[-2].at == TODAY
    got = by_day(view)

    def day(n: int) -> date:
        return (TODAY - n * D).date()

    assert got[day(29)] == (1, 0, 0)  # SYNTH-OLD only
    assert got[day(11)] == (1, 0, 0)
    assert got[day(10)] == (2, 1, 0)  # + SYNTH-OPEN
    assert got[day(7)] == (2, 1, 1)  # SYNTH-SAMEDAY fell due and was answered late that day
    assert got[day(6)] == (3, 1, 0)  # + SYNTH-CXL
    assert got[day(5)] == (3, 1, 1)  # SYNTH-CXL closed, SYNTH-LATE due
    assert got[day(4)] == (3, 0, 0)
    assert got[day(3)] == (3, 0, 0)  # SYNTH-ONTIME never counts
    assert got[day(2)] == (2, 0, 1)  # SYNTH-LATE answered
    assert got[day(1)] == (2, 0, 0)
    assert got[day(0)] == (3, 1, 0)  # now: + SYNTH-TODAY, not SYNTH-LATER
    # Today's value is the band's total.
    assert view.summary(NOW).overdue == 3


def test_the_trend_follows_updates_and_tombstones_without_counting_twice() -> None:
    view = index()
    due = TODAY - 4 * D
    view.add(obligation("SYNTH-A", due_at=due))
    view.add(obligation("SYNTH-A", due_at=due))  # a redelivery
    assert by_day(view)[(TODAY - 3 * D).date()] == (1, 0, 0)
    view.add(answered("SYNTH-A", due_at=due, at=TODAY - 2 * D))
    view.add(answered("SYNTH-A", due_at=due, at=TODAY - 2 * D))
    got = by_day(view)
    assert got[(TODAY - 3 * D).date()] == (1, 0, 0)
    assert got[(TODAY - 2 * D).date()] == (0, 0, 1)
    # An older update read after the newer one changes nothing.
    view.add(obligation("SYNTH-A", due_at=due, updated_at=due - H))
    assert by_day(view) == got
    # Compaction removed the obligation: it leaves the trend too.
    view.ingest("sea.obligations", key=b"SYNTH-A|KEN|ACKNOWLEDGE", value=None)
    assert view.timeline("SYNTH-A") is None
    assert all(counts == (0, 0, 0) for counts in by_day(view).values())
    assert len(view._late) == 0  # the per-day counters hold nothing once nothing closed late


def test_the_trend_memory_is_per_day_not_per_obligation() -> None:
    view = index()
    for n in range(500):
        view.add(answered(f"SYNTH-M-{n:04d}", due_at=TODAY - 3 * D + n * timedelta(seconds=1), at=TODAY - D))
    assert len(view._late) == 2  # one due day, one closing day
    assert by_day(view)[(TODAY - 2 * D).date()] == (500, 0, 0)


def test_the_band_ranks_recipients_and_counts_levels() -> None:
    view = index()
    overdue = NOW - H
    for n in range(4):
        view.add(obligation(f"SYNTH-K{n}", "KEN", due_at=overdue))
    for n in range(3):
        view.add(obligation(f"SYNTH-F{n}", "FRA", due_at=overdue))
    view.add(obligation("SYNTH-B0", "BGD", due_at=overdue))
    view.add(obligation("SYNTH-A0", "ARG", due_at=overdue, last_level=EscalationLevel.OVERDUE))
    view.add(escalation("SYNTH-A0", EscalationLevel.SECOND_LEVEL, at=overdue + H / 2, recipient="ARG"))
    view.add(
        obligation("SYNTH-K9", "KEN", due_at=NOW + H, last_level=EscalationLevel.REMINDER)
    )  # not yet due
    view.add(answered("SYNTH-Z0", "ZAF", due_at=overdue, at=NOW - H / 4))  # answered late: gone

    band = view.summary(NOW, top=2)
    assert (band.overdue, band.due) == (9, 1)
    assert [(r.recipient, r.overdue) for r in band.by_recipient] == [("KEN", 4), ("FRA", 3)]
    assert (band.others, band.other_recipients) == (2, 2)  # ARG and BGD, one each
    assert [(level.level, level.overdue) for level in band.by_level] == [("NONE", 8), ("SECOND_LEVEL", 1)]
    assert band.trend[-1].overdue == 9
    assert band.trend[-1].closed_late == 1

    everyone = view.summary(NOW, top=10)
    assert [r.recipient for r in everyone.by_recipient] == ["KEN", "FRA", "ARG", "BGD"]  # ties by name
    assert (everyone.others, everyone.other_recipients) == (0, 0)
    assert index().summary(NOW).by_recipient == []


def test_closed_at_prefers_the_answer_time() -> None:
    due = TODAY - D
    assert closed_at(StoredObligation.of(obligation("SYNTH-O", due_at=due))) is None
    assert closed_at(StoredObligation.of(answered("SYNTH-S", due_at=due, at=TODAY))) == TODAY
    assert closed_at(StoredObligation.of(cancelled("SYNTH-C", due_at=due, at=TODAY + H))) == TODAY + H
