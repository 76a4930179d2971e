"""``seabus``: the one front door for every operator task.

Each command group lives in its own module; this file only assembles them and
turns a :class:`SeabusError` into one readable line and exit status 2 (the
README's promise for every actionable error; commands raise
:class:`seabus.deploy.cli.common.ActionableError` for theirs).
"""

from __future__ import annotations

import os
from typing import Any

import click

from seabus.schemas.errors import SeabusError
from seabus.streams import logs


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeabusError as exc:
            click.echo(f"seabus: {exc}", err=True)
            ctx.exit(2)


LOG_LEVELS = ("debug", "info", "warning", "error")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seabus", prog_name="seabus", message="%(prog)s %(version)s")
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="Log level (default: SEABUS_LOG_LEVEL, else info).",
)
def cli(log_level: str | None) -> None:
    """seabus: carries allegations of SEA to the Member States concerned and the Special Coordinator."""
    level = (log_level or os.environ.get("SEABUS_LOG_LEVEL") or "info").lower()
    if level not in LOG_LEVELS:
        raise click.BadParameter(
            f"SEABUS_LOG_LEVEL={level!r} is not one of {', '.join(LOG_LEVELS)}", param_hint="SEABUS_LOG_LEVEL"
        )
    logs.configure(level=level)


def _register() -> None:
    from seabus.deploy.cli import (
        access_cmd,
        demo_cmd,
        demo_receivers_cmd,
        gateway_cmd,
        kafka_cmd,
        obligations_cmd,
        overdue_cmd,
        publish_cmd,
        routes_cmd,
        run_cmd,
        schema_cmd,
        tail_cmd,
        topics_cmd,
        transfer_cmd,
    )

    cli.add_command(kafka_cmd.kafka)
    cli.add_command(topics_cmd.topics)
    cli.add_command(access_cmd.access)
    cli.add_command(run_cmd.run)
    cli.add_command(schema_cmd.schema)
    cli.add_command(routes_cmd.routes)
    cli.add_command(tail_cmd.tail)
    cli.add_command(publish_cmd.publish)
    cli.add_command(gateway_cmd.gateway)
    cli.add_command(obligations_cmd.obligations)
    cli.add_command(obligations_cmd.respond)
    cli.add_command(transfer_cmd.transfer)
    cli.add_command(overdue_cmd.overdue)
    cli.add_command(demo_cmd.demo)
    cli.add_command(demo_receivers_cmd.demo_receivers)


_register()


def main() -> None:
    cli(prog_name="seabus")


if __name__ == "__main__":
    main()
