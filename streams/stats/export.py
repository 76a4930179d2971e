"""The report as JSON or CSV: the same rows, CSV with a ``table`` column first.

CSV columns are the union of every table's columns in a fixed order; a column a
table does not have is empty, a withheld value is empty too, and ``suppressed``
lists the withheld columns of the row separated by ``;``.
"""

from __future__ import annotations

import csv
import io
import json

from seabus.streams.stats.tables import MEDIANS, StatsReport

__all__ = ["CSV_LEAD", "to_csv", "to_json"]

CSV_LEAD = ("table", "period")
_TAIL = ("count", *(c for c, _ in MEDIANS), "answered_late_share", "suppressed")


def to_json(report: StatsReport, *, indent: int | None = 2) -> str:
    return json.dumps(report.as_json(), indent=indent, sort_keys=False)


def to_csv(report: StatsReport) -> str:
    keys: list[str] = []
    for rows in report.tables.values():
        for row in rows:
            for column in row:
                if column not in (*CSV_LEAD, *_TAIL, *keys):
                    keys.append(column)
    header = [*CSV_LEAD, *keys, *_TAIL]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for name, rows in report.tables.items():
        for row in rows:
            cells = {**row, "table": name, "suppressed": ";".join(row.get("suppressed", []))}
            writer.writerow(["" if cells.get(c) is None else cells.get(c) for c in header])
    return out.getvalue()
