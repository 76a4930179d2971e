"""Working-day arithmetic: weekends, holidays, time zones and DST, and ISO durations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seabus.streams.deadlines.calendar import HolidaySet, WorkingCalendar, add_working_days
from seabus.streams.deadlines.durations import IsoDuration

UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
SYDNEY = ZoneInfo("Australia/Sydney")
NAIROBI = ZoneInfo("Africa/Nairobi")
SAT_SUN = frozenset({5, 6})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def wd(
    start: datetime, days: int, *, tz: ZoneInfo = UTC_ZONE, holidays: frozenset[date] = frozenset()
) -> datetime:
    return add_working_days(start, days, tz=tz, weekend=SAT_SUN, holidays=holidays)


# 2026-03-02 is a Monday.


def test_within_one_week_keeps_the_wall_clock_time() -> None:
    assert wd(utc(2026, 3, 2, 10, 0), 3) == utc(2026, 3, 5, 10, 0)


def test_crossing_a_weekend_skips_saturday_and_sunday() -> None:
    # Thursday + 2 working days: Friday, then Monday.
    assert wd(utc(2026, 3, 5, 10, 0), 2) == utc(2026, 3, 9, 10, 0)
    # Monday + 5 working days is the next Monday.
    assert wd(utc(2026, 3, 2, 10, 0), 5) == utc(2026, 3, 9, 10, 0)


def test_crossing_a_holiday_skips_it() -> None:
    # Tuesday + 2 with Wednesday a holiday: Thursday, Friday.
    assert wd(utc(2026, 3, 3, 10, 0), 2, holidays=frozenset({date(2026, 3, 4)})) == utc(2026, 3, 6, 10, 0)


def test_holiday_on_friday_pushes_past_the_weekend() -> None:
    assert wd(utc(2026, 3, 5, 10, 0), 1, holidays=frozenset({date(2026, 3, 6)})) == utc(2026, 3, 9, 10, 0)


def test_start_on_saturday_counts_from_monday_start_of_day() -> None:
    saturday = utc(2026, 3, 7, 14, 0)
    assert wd(saturday, 0) == utc(2026, 3, 9, 0, 0)
    # Monday is the one working day; it ends at Tuesday 00:00.
    assert wd(saturday, 1) == utc(2026, 3, 10, 0, 0)
    # Monday..Friday are the five days.
    assert wd(saturday, 5) == utc(2026, 3, 16, 0, 0)


def test_start_on_a_holiday_counts_from_the_next_working_day() -> None:
    monday_holiday = frozenset({date(2026, 3, 2)})
    assert wd(utc(2026, 3, 2, 15, 0), 1, holidays=monday_holiday) == utc(2026, 3, 4, 0, 0)


def test_paris_spring_forward_keeps_local_time_and_shortens_utc_span() -> None:
    # Europe/Paris moves to CEST on Sunday 2026-03-29.
    friday = local(PARIS, 2026, 3, 27, 10, 0)  # 09:00Z
    due = wd(friday, 1, tz=PARIS)
    assert due == local(PARIS, 2026, 3, 30, 10, 0)
    assert due == utc(2026, 3, 30, 8, 0)
    assert due - friday == timedelta(hours=71)


def test_paris_fall_back_keeps_local_time_and_lengthens_utc_span() -> None:
    # Europe/Paris returns to CET on Sunday 2026-10-25.
    friday = local(PARIS, 2026, 10, 23, 10, 0)  # 08:00Z
    due = wd(friday, 1, tz=PARIS)
    assert due == utc(2026, 10, 26, 9, 0)
    assert due - friday == timedelta(hours=73)


def test_southern_hemisphere_dst_end_and_start() -> None:
    # Australia/Sydney leaves DST on 2026-04-05 and enters it on 2026-10-04.
    assert wd(local(SYDNEY, 2026, 4, 3, 10, 0), 1, tz=SYDNEY) == utc(2026, 4, 6, 0, 0)
    assert wd(local(SYDNEY, 2026, 10, 2, 10, 0), 1, tz=SYDNEY) == utc(2026, 10, 4, 23, 0)


def test_the_local_date_decides_what_counts_as_a_weekend() -> None:
    # Friday 20:00Z is already Saturday 07:00 in Sydney: counting starts Monday 00:00 there.
    friday_evening_utc = utc(2026, 3, 6, 20, 0)
    assert wd(friday_evening_utc, 1) == utc(2026, 3, 9, 20, 0)
    assert wd(friday_evening_utc, 1, tz=SYDNEY) == local(SYDNEY, 2026, 3, 10, 0, 0)


def test_wall_time_missing_on_the_due_day_moves_forward_by_the_gap() -> None:
    # A Friday/Saturday weekend makes Sunday 2026-03-29 (the Paris DST day) a working day.
    thursday = local(PARIS, 2026, 3, 26, 2, 30)
    due = add_working_days(thursday, 1, tz=PARIS, weekend=frozenset({4, 5}), holidays=frozenset())
    assert due == utc(2026, 3, 29, 1, 30)  # 03:30 CEST: 02:30 does not exist that day
    assert due.astimezone(PARIS).hour == 3


def test_country_holidays_come_from_the_holidays_package() -> None:
    # Madaraka Day, Monday 2026-06-01, is a public holiday in Kenya.
    kenya = WorkingCalendar(name="kenya", tz=NAIROBI, holidays=HolidaySet(country="KEN"))
    friday = local(NAIROBI, 2026, 5, 29, 10, 0)
    assert kenya.add_working_days(friday, 1) == local(NAIROBI, 2026, 6, 2, 10, 0)
    assert not kenya.is_working_day(date(2026, 6, 1))
    plain = WorkingCalendar(name="plain", tz=NAIROBI)
    assert plain.add_working_days(friday, 1) == local(NAIROBI, 2026, 6, 1, 10, 0)


def test_listed_dates_add_to_country_holidays() -> None:
    days = HolidaySet(dates=frozenset({date(2026, 6, 2)}), country="KEN")
    assert date(2026, 6, 1) in days
    assert date(2026, 6, 2) in days
    assert date(2026, 6, 3) not in days


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        wd(datetime(2026, 3, 2, 10, 0), 1)
    with pytest.raises(ValueError, match="negative"):
        wd(utc(2026, 3, 2, 10, 0), -1)
    with pytest.raises(ValueError, match="at least one working day"):
        add_working_days(utc(2026, 3, 2), 1, tz=UTC_ZONE, weekend=frozenset(range(7)), holidays=frozenset())


ZONES = [UTC_ZONE, PARIS, SYDNEY, NAIROBI, ZoneInfo("America/Santiago")]


@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=1, max_value=30),
    zone=st.sampled_from(ZONES),
    weekend=st.frozensets(st.integers(0, 6), max_size=3),
    holidays=st.frozensets(st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 3, 31)), max_size=40),
)
def test_property_due_day_is_the_nth_working_day(
    start: datetime, days: int, zone: ZoneInfo, weekend: frozenset[int], holidays: frozenset[date]
) -> None:
    """Counted independently: exactly ``days`` working days lie in (start day, due day]."""
    due = add_working_days(start, days, tz=zone, weekend=weekend, holidays=holidays)

    def working(day: date) -> bool:
        return day.weekday() not in weekend and day not in holidays

    start_day, due_day = start.astimezone(zone).date(), due.astimezone(zone).date()
    counted_from = start_day
    while not working(counted_from):  # a non-working start counts from the next working day
        counted_from += timedelta(days=1)
    between = [counted_from + timedelta(days=i) for i in range(1, (due_day - counted_from).days + 1)]
    assert working(due_day)
    assert sum(working(d) for d in between) == days
    assert due > start


# --------------------------------------------------------------------------- ISO durations


def test_months_are_calendar_months_clamped_to_the_month_end() -> None:
    six = IsoDuration.parse("P6M")
    assert six.after(utc(2026, 8, 31, 12, 0)) == utc(2027, 2, 28, 12, 0)
    assert IsoDuration.parse("P1M").after(utc(2028, 1, 31)) == utc(2028, 2, 29)
    assert IsoDuration.parse("P3M").after(utc(2026, 3, 2, 9, 0)) == utc(2026, 6, 2, 9, 0)
    assert IsoDuration.parse("P1Y").after(utc(2028, 2, 29)) == utc(2029, 2, 28)


def test_days_and_time_are_elapsed_time() -> None:
    assert IsoDuration.parse("P5D").after(utc(2026, 3, 27, 10)) == utc(2026, 4, 1, 10)
    assert IsoDuration.parse("PT30S").after(utc(2026, 3, 2, 9), times=3) == utc(2026, 3, 2, 9, 1) + timedelta(
        seconds=30
    )
    assert IsoDuration.parse("P1M2DT3H").after(utc(2026, 1, 30)) == utc(2026, 3, 2, 3)


def test_before_undoes_after_for_day_and_time_durations() -> None:
    lead = IsoDuration.parse("P2DT1H")
    due = utc(2026, 3, 9, 10)
    assert lead.after(lead.before(due)) == due


@pytest.mark.parametrize("text", ["five days", "", "P", "5D", "P0.5M"])
def test_unparsable_or_fractional_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|fractional"):
        IsoDuration.parse(text)


def test_sign_of_a_duration() -> None:
    assert IsoDuration.parse("PT1S").is_positive()
    assert not IsoDuration.parse("PT0S").is_positive()
    assert not IsoDuration.parse("-P1D").is_positive()
