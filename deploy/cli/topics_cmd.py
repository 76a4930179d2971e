"""``seabus topics apply|plan``: provision the topics of the public contract."""

from __future__ import annotations

from typing import Any

import click

from seabus.deploy import topics as provisioning
from seabus.deploy.cli.common import plan_and_apply


@click.group()
def topics() -> None:
    """Create or update the bus's topics to match the configuration."""


def _data(result: provisioning.Plan) -> dict[str, Any]:
    return {
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
    }


plan_and_apply(
    topics,
    provisioning.apply,
    data=_data,
    noun="topic",
    unchanged=lambda result: len(result.unchanged),
    changes=lambda _, dry_run: "would change the rest" if dry_run else "changed the rest",
    plan_help="Show what `apply` would change, changing nothing; exit 1 when changes are pending.",
    apply_help="Create missing topics, grow partitions, set configs; refuse to shrink.",
)
