"""``seabus topics apply|plan``: provision the topics of the public contract."""

from __future__ import annotations

import click

from seabus.deploy import topics as provisioning
from seabus.deploy.cli.common import JSON_OPTION, connection_or_local, recipients, report_plan, settings


@click.group()
def topics() -> None:
    """Create or update the bus's topics to match the configuration."""


def _run(dry_run: bool, *, as_json: bool = False) -> None:
    """Print the plan or the changes; a plan with changes pending exits 1 (like `terraform plan -detailed-exitcode`)."""
    s = settings()
    directory = recipients(s)
    result = provisioning.apply(s, directory.ids(), kafka=connection_or_local(s), dry_run=dry_run)
    verb = "would change" if dry_run else "changed"
    report_plan(
        dry_run=dry_run,
        as_json=as_json,
        pending=not result.empty,
        data={
            "create": [
                {
                    "name": t.name,
                    "partitions": t.partitions,
                    "replication_factor": t.replication_factor,
                    "configs": t.configs,
                }
                for t in result.create
            ],
            "grow": [{"name": n, "from": a, "to": b} for n, a, b in result.add_partitions],
            "set": [{"name": n, "configs": c} for n, c in result.alter_configs],
            "refused": result.refusals,
            "unchanged": result.unchanged,
        },
        lines=result.describe(),
        summary=f"{len(result.unchanged)} topic(s) already as configured; "
        + ("nothing to do" if result.empty else f"{verb} the rest"),
    )


@topics.command()
@JSON_OPTION
def apply(as_json: bool) -> None:
    """Create missing topics, grow partitions, set configs; refuse to shrink."""
    _run(dry_run=False, as_json=as_json)


@topics.command()
@JSON_OPTION
def plan(as_json: bool) -> None:
    """Show what `apply` would change, changing nothing; exit 1 when changes are pending."""
    _run(dry_run=True, as_json=as_json)
