"""Statistics from the bus's own records (res. 71/278 paras 6, 13, 15): docs/STATISTICS.md.

Pure and synchronous like the views: :class:`StatsIndex` is fed records by the
views' reader, :func:`build_report` counts and suppresses small cells.
"""

from seabus.streams.stats.facts import StatsIndex
from seabus.streams.stats.periods import PeriodChoice, PeriodError, parse_period
from seabus.streams.stats.suppress import Relation, recoverable, suppress
from seabus.streams.stats.tables import BREAKDOWNS, TABLE_NAMES, TIMELINESS, StatsReport, build_report

__all__ = [
    "BREAKDOWNS",
    "TABLE_NAMES",
    "TIMELINESS",
    "PeriodChoice",
    "PeriodError",
    "Relation",
    "StatsIndex",
    "StatsReport",
    "build_report",
    "parse_period",
    "recoverable",
    "suppress",
]
