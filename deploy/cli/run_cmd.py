"""``seabus run``: the main job."""

from __future__ import annotations

import click

from seabus.deploy.cli.common import settings
from seabus.deploy.runner import run_bus


@click.command()
def run() -> None:
    """Start local Kafka if none is configured, apply topics, run the worker (Ctrl-C stops all)."""
    raise SystemExit(run_bus(settings()))
