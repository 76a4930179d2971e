"""``seabus obligations`` and ``seabus respond``: an allegation's obligations, and answering them.

Both talk to Kafka directly: ``obligations`` reads the compacted
``<prefix>.obligations`` topic (no running worker needed), ``respond`` produces a
Response to ``<prefix>.responses`` and returns once Kafka acknowledged it.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime

import click
from kafka import TopicPartition
from rich.console import Console
from rich.table import Table

from seabus.deploy.cli.common import JSON_OPTION, connection_or_local, echo_json, send_record_once, settings
from seabus.schemas.codec import decode_model
from seabus.schemas.enums import ResponseKind
from seabus.schemas.errors import CodecError, KafkaUnavailable, ValidationFailed
from seabus.schemas.models import ObligationUpdate
from seabus.schemas.validation import parse_response
from seabus.streams.kafka_connection import KafkaConnection


def read_obligations(
    *, kafka: KafkaConnection, topic: str, allegation_id: str | None
) -> list[ObligationUpdate]:
    """Latest state of each obligation on the topic (of one allegation, or all)."""
    consumer = kafka.kafka_consumer(group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise KafkaUnavailable(f"topic {topic} does not exist; has `seabus run` provisioned the topics?")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        latest: dict[str, ObligationUpdate] = {}
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    try:
                        update = decode_model(record.value, ObligationUpdate)
                    except (CodecError, ValidationFailed):
                        continue
                    if allegation_id is None or update.allegation_id == allegation_id:
                        latest[update.obligation_key] = update
        return sorted(latest.values(), key=lambda u: (u.due_at, u.recipient, u.kind.value))
    finally:
        consumer.close()


@click.command()
@click.argument("allegation_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def obligations(allegation_id: str, as_json: bool) -> None:
    """Print ALLEGATION_ID's open and closed obligations with due times and who answered."""
    s = settings()
    updates = read_obligations(
        kafka=connection_or_local(s), topic=s.topic("obligations"), allegation_id=allegation_id
    )
    if as_json:
        click.echo(json.dumps([u.model_dump(mode="json") for u in updates], indent=2))
        return
    if not updates:
        click.echo(f"no obligations recorded for {allegation_id}")
        raise SystemExit(1)
    now = datetime.now(UTC)
    table = Table(title=f"Obligations of {allegation_id}")
    for column in (
        "recipient",
        "obligation",
        "due (UTC)",
        "state",
        "overdue by",
        "last escalation",
        "answered",
    ):
        table.add_column(column, no_wrap=column != "answered")
    for u in updates:
        overdue = ""
        if u.state.value == "OPEN" and u.due_at < now:
            overdue = str(now - u.due_at).split(".")[0]
        answered = ""
        if u.answered_at is not None:
            answered = f"{u.answered_kind.value if u.answered_kind else ''} by {u.answered_by} at {u.answered_at:%Y-%m-%d %H:%M:%S}"
        elif u.cancel_reason:
            answered = f"cancelled: {u.cancel_reason}"
        table.add_row(
            u.recipient,
            u.kind.value,
            f"{u.due_at:%Y-%m-%d %H:%M:%S}",
            u.state.value,
            overdue,
            u.last_level.value if u.last_level else "",
            answered,
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@click.command()
@click.argument("allegation_id")
@click.option(
    "--recipient", required=True, help="Who answers: alpha-3 code of the Member State, or OSC/OIOS/VRA."
)
@click.option(
    "--kind",
    type=click.Choice([k.value for k in ResponseKind if k is not ResponseKind.UNKNOWN]),
    default=ResponseKind.ACKNOWLEDGED.value,
    show_default=True,
)
@click.option(
    "--responder", default=None, help="Office identifier (never a person's name). Default: <RECIPIENT>-CLI."
)
@click.option("--note", default=None, help="Free text without identifying details.")
@click.option("--in-reply-to", default=None, help="The notification_id answered, if known.")
@JSON_OPTION
def respond(
    allegation_id: str,
    recipient: str,
    kind: str,
    responder: str | None,
    note: str | None,
    in_reply_to: str | None,
    as_json: bool,
) -> None:
    """Record a response from the command line (for Member States without a system, and demos)."""
    s = settings()
    recipient = recipient.upper()
    response = parse_response(
        {
            "response_id": str(uuid.uuid4()),
            "allegation_id": allegation_id,
            "recipient": recipient,
            "kind": kind,
            "responded_at": datetime.now(UTC).isoformat(),
            "responder": responder or f"{recipient}-CLI",
            "note": note,
            "in_reply_to": in_reply_to,
        },
        now=datetime.now(UTC),
    )
    metadata = send_record_once(
        s,
        topic=s.topic("responses"),
        record=response,
        key=allegation_id,
        event_id=response.response_id,
        time=response.responded_at,
        what="response",
    )
    if as_json:
        echo_json(
            {
                "response_id": response.response_id,
                "allegation_id": allegation_id,
                "recipient": recipient,
                "kind": kind,
                "topic": s.topic("responses"),
                "partition": metadata.partition,
                "offset": metadata.offset,
            }
        )
        return
    click.echo(
        f"recorded {kind} from {recipient} for {allegation_id} "
        f"(response {response.response_id}, partition {metadata.partition}, offset {metadata.offset})"
    )
