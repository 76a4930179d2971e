"""``seabus stats``: the published statistics (docs/STATISTICS.md), straight from the topics.

Like ``seabus overdue`` it reads every topic up to its current end with the
views' reader (no consumer group, no commits), so it needs no running bus.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from seabus.deploy.cli.common import READ_TIMEOUT_OPTION, connection_or_local, settings
from seabus.streams.stats import StatsIndex, build_report, parse_period
from seabus.streams.stats.export import to_csv, to_json
from seabus.streams.views import read_view
from seabus.streams.views.service import stats_index

__all__ = ["stats"]


@click.command("stats")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"], case_sensitive=False),
    default="json",
    show_default=True,
    help='json: {"period", "tables": {NAME: [ROWS]}, "suppressed_cells"}; csv: the same rows in one '
    "file, with a `table` column first.",
)
@click.option(
    "--period",
    default=None,
    help="A year (2025: the year and its quarters), a quarter (2025-Q3) or `all`. Default: the current year (UTC).",
)
@click.option(
    "--min-cell",
    default=None,
    type=click.IntRange(min=1, max=1000),
    help="Withhold counts below this (default: statistics.min_cell in seabus.yaml, 3).",
)
@READ_TIMEOUT_OPTION
def stats(fmt: str, period: str | None, min_cell: int | None, timeout_s: float) -> None:
    """Allegations by quarter and year in the UN's breakdowns, and Member States' timeliness.

    Small counts are withheld (null, and named in the row's `suppressed`), with
    complementary suppression so that none can be recomputed from totals.
    """
    now = datetime.now(UTC)
    choice = parse_period(period, now=now)  # a bad value stops here, before Kafka (exit 2)
    s = settings()
    facts: StatsIndex = stats_index(s)
    asyncio.run(
        read_view(
            s, kafka=connection_or_local(s), timeout_s=timeout_s, also=(facts,), client_id="seabus-stats"
        )
    )
    report = build_report(facts, choice=choice, min_cell=min_cell or s.statistics.min_cell, now=now)
    click.echo(to_csv(report) if fmt.lower() == "csv" else to_json(report), nl=fmt.lower() != "csv")
