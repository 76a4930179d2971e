"""Helpers shared by the CLI commands: settings, the local cluster, the Kafka connection."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from kafka import KafkaProducer

from seabus.deploy.kafka import LocalCluster
from seabus.schemas.cloudevents import build_headers, ce_type_for
from seabus.schemas.codec import encode_model
from seabus.schemas.models import SeabusRecord
from seabus.streams.config import Settings, load_settings
from seabus.streams.config.recipients import RecipientsDirectory, load_recipients
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.produce import ToSend, send_one


class ActionableError(click.ClickException):
    """An error the operator can fix (the message says how): exit status 2, as the README promises.

    Click's own :class:`click.ClickException` exits 1, which scripts read as "ran, found a problem"
    (``topics plan`` with changes pending); 2 means "could not do what was asked".
    """

    exit_code = 2


def settings() -> Settings:
    return load_settings()


def local_cluster(s: Settings, *, nodes: int | None = None, insecure: bool | None = None) -> LocalCluster:
    directory = s.data_dir / "kafka"
    existing = LocalCluster.existing(directory=directory, cache_dir=s.cache_dir)
    if existing is not None and nodes is None and insecure is None:
        return existing
    return LocalCluster(
        directory=directory,
        cache_dir=s.cache_dir,
        nodes=nodes or s.local_kafka_nodes,
        base_port=s.local_kafka_port,
        insecure=s.local_kafka_insecure if insecure is None else insecure,
    )


def recipients(s: Settings) -> RecipientsDirectory:
    return load_recipients(s.resolve(s.recipients_file))


def connection_or_local(s: Settings) -> KafkaConnection:
    """The configured cluster (SEABUS_BOOTSTRAP, SEABUS_KAFKA__*), or the local one as the bus's principal."""
    if s.bootstrap:
        return s.connection()
    return local_cluster(s).connection()


def data_path(s: Settings, *parts: str) -> Path:
    return s.data_dir.joinpath(*parts)


def send_record(
    producer: KafkaProducer,
    *,
    topic: str,
    record: SeabusRecord,
    key: str,
    event_id: str,
    time: datetime,
    source: str = "seabus-cli",
    what: str,
    timeout_s: float = 30.0,
) -> Any:
    """Produce one contract record with its CloudEvents headers and wait for Kafka's acknowledgement.

    The commands that write one record (respond, transfer, the demo's replies) return only once
    Kafka has it; anything else is a :class:`KafkaUnavailable` that says nothing was recorded.
    Returns kafka-python's ``RecordMetadata`` (partition, offset).
    """
    headers = build_headers(
        event_id=event_id, source=source, type_=ce_type_for(record.avro_name), time=time, subject=key
    )
    return send_one(
        producer,
        ToSend(topic=topic, key=key.encode(), value=encode_model(record), headers=headers),
        timeout_s=timeout_s,
        what=what,
    )


def send_record_once(
    s: Settings,
    *,
    topic: str,
    record: SeabusRecord,
    key: str,
    event_id: str,
    time: datetime,
    what: str,
) -> Any:
    """:func:`send_record` on a producer of its own, for the commands that write one record and exit."""
    producer = connection_or_local(s).kafka_producer(acks="all", enable_idempotence=True, max_block_ms=15000)
    try:
        return send_record(
            producer, topic=topic, record=record, key=key, event_id=event_id, time=time, what=what
        )
    finally:
        producer.close()


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
"""The one spelling of ``--json`` every command that prints data takes."""

READ_TIMEOUT_OPTION = click.option(
    "--timeout",
    "timeout_s",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds to read the topics before giving up.",
)
"""``--timeout`` of the commands that read the bus's topics (overdue, stats)."""


def report_plan(
    *, dry_run: bool, as_json: bool, pending: bool, data: dict[str, Any], lines: Iterable[str], summary: str
) -> None:
    """Print a plan or its changes (or their JSON); a plan with changes pending exits 1
    (like `terraform plan -detailed-exitcode`), so scripts can tell "nothing to do"."""
    if as_json:
        echo_json({"dry_run": dry_run, "pending": pending, **data})
    else:
        for line in lines:
            click.echo(line)
        click.echo(summary)
    if dry_run and pending:
        raise SystemExit(1)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, default=str))
