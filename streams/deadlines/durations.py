"""ISO-8601 durations as policy windows: calendar months plus elapsed time.

A duration is applied to a UTC instant: years and months move the calendar
date (31 August + P6M is 28 or 29 February: the day is clamped to the end of
the month), days and the time part are elapsed time (P1D is 24 hours). Windows
that must follow a recipient's local working week use working days instead
(:mod:`seabus.streams.deadlines.calendar`).
"""

from __future__ import annotations

import calendar as _monthdays
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import isodate

__all__ = ["IsoDuration"]


@dataclass(frozen=True, slots=True)
class IsoDuration:
    """A parsed ISO-8601 duration; ``text`` is kept as written for ids and messages."""

    text: str
    months: int
    delta: timedelta

    @classmethod
    def parse(cls, text: str) -> IsoDuration:
        """Parse ``P6M``, ``P5D``, ``PT30S``...; raise ValueError saying what is wrong."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("not an ISO-8601 duration; write one such as P5D, P6M or PT30S")
        try:
            parsed = isodate.parse_duration(text.strip())
        except (isodate.ISO8601Error, ValueError) as exc:
            raise ValueError("not an ISO-8601 duration; write one such as P5D, P6M or PT30S") from exc
        if isinstance(parsed, timedelta):
            return cls(text=text.strip(), months=0, delta=parsed)
        years, months = Decimal(parsed.years), Decimal(parsed.months)
        if years != years.to_integral_value() or months != months.to_integral_value():
            raise ValueError("a fractional year or month; use whole months, or days")
        total = int(years) * 12 + int(months)
        delta = parsed.tdelta
        if (total > 0 and delta < timedelta(0)) or (total < 0 and delta > timedelta(0)):
            raise ValueError("mixes positive and negative parts; use one sign")
        return cls(text=text.strip(), months=total, delta=delta)

    def is_positive(self) -> bool:
        return self.months > 0 or (self.months == 0 and self.delta > timedelta(0))

    def after(self, start: datetime, times: int = 1) -> datetime:
        """``start`` plus ``times`` of this duration (months first, then elapsed time)."""
        return _add_months(start, self.months * times) + self.delta * times

    def before(self, end: datetime) -> datetime:
        """``end`` minus this duration (elapsed time first, then months)."""
        return _add_months(end - self.delta, -self.months)

    def shortest(self) -> timedelta:
        """The least elapsed time this duration can span (a month as 28 days)."""
        return timedelta(days=28 * self.months) + self.delta

    def longest(self) -> timedelta:
        """The most elapsed time this duration can span (a month as 31 days)."""
        return timedelta(days=31 * self.months) + self.delta

    def __str__(self) -> str:
        return self.text


def _add_months(when: datetime, months: int) -> datetime:
    if months == 0:
        return when
    index = when.year * 12 + (when.month - 1) + months
    year, month = divmod(index, 12)
    day = min(when.day, _monthdays.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)
