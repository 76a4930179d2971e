"""``seabus overdue``: the on-call overdue list in the terminal, straight from the topics.

It builds the read model itself (the same one the dashboard uses) by reading
every topic up to its current end, so it works without a running bus and
changes nothing: no consumer group, no commits.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from seabus.connectors.dashboard.render import LEVEL_CHOICES, LEVELS, OBLIGATIONS, duration
from seabus.deploy.cli.common import READ_TIMEOUT_OPTION, connection_or_local, settings
from seabus.streams.views import DueStatus, OverdueFilter, OverdueReport, read_view

__all__ = ["overdue", "overdue_table"]


def _upper(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v.strip().upper() for raw in values for v in raw.split(",") if v.strip())


def overdue_table(report: OverdueReport) -> Table:
    """The report as a rich table (overdue rows in bold red)."""
    table = Table(
        title=f"{report.overdue} overdue, {report.due} not yet due · as of {report.as_of:%Y-%m-%d %H:%M:%S} UTC"
        + (f" · showing the first {len(report.items)}" if report.truncated else ""),
        title_justify="left",
    )
    for column in ("Allegation", "Recipient", "Obligation", "Due (UTC)", "Overdue by", "Level", "Entity"):
        table.add_column(column, no_wrap=column in ("Allegation", "Due (UTC)"))
    for item in report.items:
        late = item.status is DueStatus.OVERDUE
        level = item.level.value if item.level is not None else "NONE"
        label = LEVELS.get(level, level) + (f" (repeat {item.repeat})" if item.repeat else "")
        table.add_row(
            item.allegation_id,
            item.recipient,
            OBLIGATIONS.get(item.obligation.value, item.obligation.value),
            f"{item.due_at:%Y-%m-%d %H:%M:%S}",
            duration(item.overdue_by_s) if late else f"due in {duration(item.overdue_by_s)}",
            label,
            item.reporting_entity or "unknown",
            style="bold red" if late else None,
        )
    return table


@click.command("overdue")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON (the shape of GET /v1/overdue)."
)
@click.option("--recipient", multiple=True, help="Only these recipients (repeat, or separate by commas).")
@click.option("--entity", multiple=True, help="Only allegations of these reporting entities.")
@click.option(
    "--level",
    multiple=True,
    type=click.Choice(LEVEL_CHOICES, case_sensitive=False),
    help="Only obligations at these escalation levels (NONE: not escalated yet).",
)
@click.option("--overdue-only", is_flag=True, help="Leave out obligations that are not yet due.")
@click.option(
    "--limit",
    default=None,
    type=click.IntRange(min=1),
    help="At most this many rows, in order (the counts still cover every match). Default: all.",
)
@READ_TIMEOUT_OPTION
def overdue(
    as_json: bool,
    recipient: tuple[str, ...],
    entity: tuple[str, ...],
    level: tuple[str, ...],
    overdue_only: bool,
    limit: int | None,
    timeout_s: float,
) -> None:
    """Open obligations, overdue first (longest overdue first), read from Kafka directly."""
    s = settings()
    index = asyncio.run(read_view(s, kafka=connection_or_local(s), timeout_s=timeout_s))
    where = OverdueFilter(
        recipients=_upper(recipient),
        entities=_upper(entity),
        levels=_upper(level),
        statuses=frozenset({DueStatus.OVERDUE}) if overdue_only else frozenset(),
    )
    report = index.overdue(datetime.now(UTC), where, limit=limit)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    console = Console()
    if not report.items:
        console.print("No open obligations match." if where != OverdueFilter() else "No open obligations.")
        return
    console.print(overdue_table(report))
