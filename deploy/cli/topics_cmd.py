"""``seabus topics apply|plan``: provision the topics of the public contract."""

from __future__ import annotations

import click

from seabus.deploy import topics as provisioning
from seabus.deploy.cli.common import connection_or_local, recipients, settings


@click.group()
def topics() -> None:
    """Create or update the bus's topics to match the configuration."""


def _run(dry_run: bool) -> None:
    s = settings()
    directory = recipients(s)
    result = provisioning.apply(s, directory.ids(), kafka=connection_or_local(s), dry_run=dry_run)
    for line in result.describe():
        click.echo(line)
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{len(result.unchanged)} topic(s) already as configured; "
        + ("nothing to do" if result.empty else f"{verb} the rest")
    )


@topics.command()
def apply() -> None:
    """Create missing topics, grow partitions, set configs; refuse to shrink."""
    _run(dry_run=False)


@topics.command()
def plan() -> None:
    """Show what `apply` would change, changing nothing."""
    _run(dry_run=True)
