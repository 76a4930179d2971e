"""``seabus kafka up|down|status``: the local KRaft cluster."""

from __future__ import annotations

import json
import time

import click

from seabus.deploy.cli.common import local_cluster, settings
from seabus.deploy.kafka import LocalCluster
from seabus.schemas.errors import ConfigError


@click.group()
def kafka() -> None:
    """Run a local Apache Kafka (KRaft) cluster from Maven Central jars."""


def _refuse_when_external() -> None:
    s = settings()
    if s.bootstrap:
        raise ConfigError(
            f"SEABUS_BOOTSTRAP (or the config file) names an existing cluster ({s.bootstrap}); "
            "seabus starts no local Kafka then. Unset it to use a local broker."
        )


@kafka.command()
@click.option(
    "--nodes", type=click.Choice(["1", "3"]), default=None, help="Cluster size (default: settings)."
)
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Plaintext listeners, no authentication or authorization (default: SASL_SSL + SCRAM-SHA-512).",
)
def up(nodes: str | None, insecure: bool | None) -> None:
    """Format storage if new, start the node(s) on loopback and wait until they answer.

    Secure by default: TLS from a CA made for this cluster, SCRAM-SHA-512 logins and the
    StandardAuthorizer; certificates and passwords live in the cluster's data directory.
    """
    _refuse_when_external()
    s = settings()
    asked = s.local_kafka_insecure if insecure is None else insecure
    if nodes:
        cluster = local_cluster(s, nodes=int(nodes), insecure=asked)
    else:
        cluster = LocalCluster.wanted(
            directory=s.data_dir / "kafka",
            cache_dir=s.cache_dir,
            nodes=s.local_kafka_nodes,
            base_port=s.local_kafka_port,
            insecure=asked,
        )
    started = time.monotonic()
    info = cluster.up()
    sec = info.connection.security
    click.echo(f"kafka ready in {time.monotonic() - started:.1f}s: bootstrap {info.bootstrap}")
    click.echo(f"  data: {info.directory}")
    if cluster.secure:
        click.echo(f"  {sec.security_protocol} {sec.sasl_mechanism}, principal {sec.username}")
        click.echo(f"  CA: {sec.ca_file}   password file: {sec.password_file}")
        click.echo(
            "  seabus commands use it when SEABUS_BOOTSTRAP is unset; `seabus kafka status --json` for tools"
        )
    else:
        click.echo(
            "  WARNING: INSECURE cluster: plaintext, no authentication; anyone reaching the port reads "
            "and writes every topic",
            err=True,
        )


@kafka.command()
@click.option("--purge", is_flag=True, help="Also delete the cluster's data.")
def down(purge: bool) -> None:
    """Stop every node together."""
    _refuse_when_external()
    cluster = local_cluster(settings())
    cluster.down(purge=purge)
    click.echo("kafka stopped" + (" and its data deleted" if purge else ""))


@kafka.command()
@click.option("--json", "as_json", is_flag=True, help="bootstrap, ca_file, security protocol etc. as JSON.")
def status(as_json: bool) -> None:
    """Show each node's process and whether it answers; exit 1 unless all are up."""
    _refuse_when_external()
    info = local_cluster(settings()).status()
    if as_json:
        click.echo(json.dumps(info.as_json(), indent=2))
        raise SystemExit(0 if info.running else 1)
    for node in info.nodes:
        state = "up" if node.running and node.answering else ("starting" if node.running else "down")
        click.echo(f"node {node.node_id}: {state} (port {node.port}, pid {node.pid or '-'})")
    click.echo(f"bootstrap {info.bootstrap}: {'ready' if info.running else 'not running'}")
    raise SystemExit(0 if info.running else 1)
