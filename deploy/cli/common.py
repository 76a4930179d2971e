"""Helpers shared by the CLI commands: settings, the local cluster, the Kafka connection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click
from click.decorators import FC
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
    existing = LocalCluster.existing(
        directory=directory, cache_dir=s.cache_dir, jvm_options=s.local_kafka_jvm_options
    )
    if existing is not None and nodes is None and insecure is None:
        return existing
    return LocalCluster(
        directory=directory,
        cache_dir=s.cache_dir,
        nodes=nodes or s.local_kafka_nodes,
        base_port=s.local_kafka_port,
        insecure=s.local_kafka_insecure if insecure is None else insecure,
        jvm_options=s.local_kafka_jvm_options,
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


def seconds_option(*names: str, default: float, help: str, least: float = 0) -> Callable[[FC], FC]:
    """A duration option in seconds, ``least`` or more, its default shown in ``--help``."""
    return click.option(
        *names, default=default, show_default=True, type=click.FloatRange(min=least), help=help
    )


def timeout_option(*, default: float, help: str) -> Callable[[FC], FC]:
    """The one spelling of ``--timeout`` (into ``timeout_s``, at least a second)."""
    return seconds_option("--timeout", "timeout_s", default=default, help=help, least=1)


READ_TIMEOUT_OPTION = timeout_option(default=60.0, help="Seconds to read the topics before giving up.")
"""``--timeout`` of the commands that read the bus's topics (overdue, stats)."""


class _Plan(Protocol):
    """What ``topics`` and ``access`` plan: changes, each described in a line."""

    @property
    def empty(self) -> bool: ...

    def describe(self) -> list[str]: ...


_P = TypeVar("_P", bound=_Plan)


def plan_and_apply(
    group: click.Group,
    apply: Callable[..., _P],
    *,
    data: Callable[[_P], dict[str, Any]],
    noun: str,
    unchanged: Callable[[_P], int],
    changes: Callable[[_P, bool], str],
    plan_help: str,
    apply_help: str,
) -> None:
    r"""Add a group's ``plan`` and ``apply``: ``apply(settings, recipients, kafka=, dry_run=)``, dry
    or not, then :func:`report_plan` with the result's ``data``, ending in how many ``noun``\ s were
    ``unchanged`` and what ``changes`` (given ``dry_run``) were, or would be, made."""

    def run(dry_run: bool, as_json: bool) -> None:
        s = settings()
        result = apply(s, recipients(s).ids(), kafka=connection_or_local(s), dry_run=dry_run)
        report_plan(
            dry_run=dry_run,
            as_json=as_json,
            pending=not result.empty,
            data=data(result),
            lines=result.describe(),
            summary=f"{unchanged(result)} {noun}(s) already as configured; "
            + ("nothing to do" if result.empty else changes(result, dry_run)),
        )

    @group.command("plan", help=plan_help)
    @JSON_OPTION
    def plan(as_json: bool) -> None:
        run(dry_run=True, as_json=as_json)

    @group.command("apply", help=apply_help)
    @JSON_OPTION
    def apply_(as_json: bool) -> None:
        run(dry_run=False, as_json=as_json)


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
