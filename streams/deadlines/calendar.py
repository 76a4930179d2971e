"""Working-day arithmetic in a recipient's own time zone.

The rule: a deadline of N working days falls at the same local wall-clock time
on the Nth working day after the day of notification. A notification on a
non-working day (weekend or holiday) counts from the start (00:00 local) of the
next working day, so Saturday 14:00 plus 5 working days is the following
Monday 00:00 (Monday to Friday are the five days). The arithmetic is done on
local dates and converted back to UTC at the end, so a DST change in between
moves the UTC instant, not the local time. A local time that does not exist on
the due day (spring-forward gap) moves forward by the gap; one that exists
twice (fall-back) is the first occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as _holidays

__all__ = [
    "WEEKDAYS",
    "HolidaySet",
    "WorkingCalendar",
    "add_working_days",
    "country_holidays",
]

WEEKDAYS: dict[str, int] = {
    "MONDAY": 0,
    "TUESDAY": 1,
    "WEDNESDAY": 2,
    "THURSDAY": 3,
    "FRIDAY": 4,
    "SATURDAY": 5,
    "SUNDAY": 6,
}
_ONE_DAY = timedelta(days=1)


def add_working_days(
    start: datetime,
    days: int,
    *,
    tz: ZoneInfo,
    weekend: frozenset[int],
    holidays: Container[date],
) -> datetime:
    """The UTC instant ``days`` working days after ``start`` (see the module rule).

    ``weekend`` holds ``date.weekday()`` numbers (Monday is 0); ``holidays`` is
    anything that answers ``day in holidays``.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"{start!r} has no time zone; pass a UTC-aware datetime")
    if days < 0:
        raise ValueError(f"working days must not be negative, got {days}")
    if len(weekend) >= 7:
        raise ValueError("a calendar needs at least one working day in the week")

    def working(day: date) -> bool:
        return day.weekday() not in weekend and day not in holidays

    local = start.astimezone(tz)
    day, wall = local.date(), local.time()
    if not working(day):
        wall = time(0)
        day = _next_working(day, working)
    for _ in range(days):
        day = _next_working(day, working)
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def _next_working(day: date, working: Callable[[date], bool]) -> date:
    day += _ONE_DAY
    while not working(day):
        day += _ONE_DAY
    return day


@lru_cache(maxsize=4096)
def country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """One country's public holidays in one year, from the ``holidays`` package."""
    return frozenset(_holidays.country_holidays(country, subdiv=subdivision, years=year))


@dataclass(frozen=True, slots=True)
class HolidaySet:
    """Listed dates plus, optionally, a country's public holidays (looked up per year)."""

    dates: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day in self.dates:
            return True
        if self.country is None:
            return False
        return day in country_holidays(self.country, self.subdivision, day.year)


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """A named working week and holiday list in one time zone."""

    name: str
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    weekend: frozenset[int] = frozenset({5, 6})
    holidays: HolidaySet = field(default_factory=HolidaySet)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        return add_working_days(start, days, tz=self.tz, weekend=self.weekend, holidays=self.holidays)
