"""The dashboard's summary band: overdue counts by recipient and by level, and a 30-day trend.

The trend is "how many obligations were overdue at the end of each UTC day":
an obligation counts at instant ``t`` when its due time is at or before ``t``
and it was neither answered nor cancelled by ``t``. Open obligations are
counted from the index's ordered open list (a binary search per day); those
already closed are counted here, and only those closed *after* their due time
(closed on time, an obligation was never overdue). For them this keeps two
counters keyed by UTC day, of due days and of closing days, so the memory is
bounded by the number of days in the history, not by the number of
obligations, and an update costs a constant amount.

Everything here is a pure function of what the index holds and the ``now``
it is given: no clock is read.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from seabus.schemas.enums import ObligationState
from seabus.streams.views.stored import StoredObligation

__all__ = ["TREND_DAYS", "LateClosures", "closed_at", "day_of", "day_start"]

TREND_DAYS = 30
"""How many UTC days the trend covers, today included."""

_DAY_S = 86_400
_EPOCH = date(1970, 1, 1)


def day_of(at: datetime) -> int:
    """The UTC day of ``at`` as days since 1970-01-01 (an int: small keys, cheap arithmetic)."""
    return int(at.timestamp() // _DAY_S)


def day_start(day: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)


def day_date(day: int) -> date:
    return _EPOCH + timedelta(days=day)


def closed_at(o: StoredObligation) -> datetime | None:
    """When an obligation stopped being owed: its answer, else the update that closed it; None if open.

    A cancellation (closing status) carries no time of its own: the update that
    recorded it is the closest the bus knows.
    """
    if o.state is ObligationState.OPEN:
        return None
    return o.answered_at or o.updated_at


class LateClosures:
    """Obligations closed after their due time, counted by due day and by closing day.

    Such an obligation was overdue from its due time until it closed: it counts
    on every day end in between. ``overdue_at(t)`` for a day end ``t`` is the
    number of due days up to ``t`` minus the number of closing days up to ``t``
    (a closing always follows its due time, so the difference never counts an
    obligation that was not yet due).
    """

    def __init__(self) -> None:
        self._due: Counter[int] = Counter()
        self._closed: Counter[int] = Counter()

    @staticmethod
    def _late(o: StoredObligation) -> tuple[int, int] | None:
        closed = closed_at(o)
        if closed is None or closed <= o.due_at:
            return None
        return day_of(o.due_at), day_of(closed)

    def add(self, o: StoredObligation) -> None:
        late = self._late(o)
        if late is not None:
            self._due[late[0]] += 1
            self._closed[late[1]] += 1

    def discard(self, o: StoredObligation) -> None:
        late = self._late(o)
        if late is None:
            return
        for counter, day in ((self._due, late[0]), (self._closed, late[1])):
            counter[day] -= 1
            if counter[day] <= 0:
                del counter[day]

    def __len__(self) -> int:
        """Distinct days kept (the memory this costs)."""
        return len(self._due) + len(self._closed)

    def window(self, first: int, last: int) -> tuple[list[int], list[int], list[int]]:
        """Per day from ``first`` to ``last``: (still overdue at its end, due that day, closed that day).

        Counts of obligations closed late only; the index adds its open ones.
        """
        days = range(first, last + 1)
        base = sum(n for d, n in self._due.items() if d < first) - sum(
            n for d, n in self._closed.items() if d < first
        )
        due = [self._due.get(d, 0) for d in days]
        closed = [self._closed.get(d, 0) for d in days]
        still = [base + net for net in accumulate(a - b for a, b in zip(due, closed, strict=True))]
        return still, due, closed
