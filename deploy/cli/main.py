"""``seabus``: the one front door for every operator task.

Each command group lives in its own module; this file only assembles them and
turns a :class:`SeabusError` into one readable line and exit status 2 (the
README's promise for every actionable error; commands raise
:class:`seabus.deploy.cli.common.ActionableError` for theirs).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from seabus.schemas.errors import SeabusError
from seabus.streams import logs

COMMANDS: dict[str, str] = {
    "kafka": "kafka_cmd:kafka",
    "topics": "topics_cmd:topics",
    "access": "access_cmd:access",
    "run": "run_cmd:run",
    "schema": "schema_cmd:schema",
    "routes": "routes_cmd:routes",
    "tail": "tail_cmd:tail",
    "publish": "publish_cmd:publish",
    "gateway": "gateway_cmd:gateway",
    "obligations": "obligations_cmd:obligations",
    "respond": "obligations_cmd:respond",
    "transfer": "transfer_cmd:transfer",
    "overdue": "overdue_cmd:overdue",
    "stats": "stats_cmd:stats",
    "demo": "demo_cmd:demo",
    "demo-receivers": "demo_receivers_cmd:demo_receivers",
}
"""Each command and where it lives (``module:attribute`` in seabus.deploy.cli), imported when used.

Lazy so that the light install (the SDK, the subscriber and the contract, without
faust-streaming or rocksdict) still runs ``seabus --version``, ``publish``, ``tail``
or ``schema``; a command whose server dependencies are missing says how to install them.
"""

SERVER_EXTRA = "seabus[bus]"


class _MissingExtra(click.Command):
    """Stands in for a command whose modules need the server install."""

    def __init__(self, name: str, missing: str) -> None:
        super().__init__(name, help=f"(needs the server install: pip install '{SERVER_EXTRA}')")
        self.missing = missing

    def invoke(self, ctx: click.Context) -> Any:
        click.echo(
            f"seabus {self.name}: this install lacks {self.missing}, which the command needs; "
            f"install the bus with `pip install '{SERVER_EXTRA}'`",
            err=True,
        )
        ctx.exit(2)


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        try:
            loaded = importlib.import_module(f"seabus.deploy.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] == "seabus":
                raise
            return _MissingExtra(cmd_name, exc.name.split(".")[0])
        command = getattr(loaded, attribute)
        assert isinstance(command, click.Command)
        return command

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


def main() -> None:
    cli(prog_name="seabus")


if __name__ == "__main__":
    main()
