"""Reporting periods: quarters (``2025-Q3``) and years (``2025``), and which of them a report shows.

An allegation belongs to the quarter and the year of its ``reported_at`` (UTC),
as the UN's quarterly tables count allegations by the date they were reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from seabus.schemas.errors import SeabusError

__all__ = ["PeriodChoice", "PeriodError", "parse_period", "quarter_of", "year_of"]

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(SeabusError):
    """A ``--period`` (or ``?period=``) value that is not a year, a quarter or ``all``."""


def quarter_of(at: datetime) -> str:
    return f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}"


def year_of(at: datetime) -> str:
    return f"{at.year:04d}"


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    """What a report shows: ``all``, one year (with its quarters) or one quarter."""

    label: str

    def shows(self, period: str) -> bool:
        if self.label == "all":
            return True
        if _YEAR.match(self.label):
            return period == self.label or period.startswith(self.label + "-Q")
        return period == self.label


def parse_period(value: str | None, *, now: datetime) -> PeriodChoice:
    """``None`` means the current year (UTC); raises :class:`PeriodError` with the accepted forms."""
    if value is None or not value.strip():
        return PeriodChoice(year_of(now))
    text = value.strip().upper()
    if text == "ALL":
        return PeriodChoice("all")
    if _YEAR.match(text) or _QUARTER.match(text):
        return PeriodChoice(text)
    raise PeriodError(f"period {value!r} is not understood; give a year (2025), a quarter (2025-Q3) or `all`")
