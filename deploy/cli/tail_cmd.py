"""``seabus tail RECIPIENT``: print a recipient's decoded notifications and escalations as they arrive."""

from __future__ import annotations

import json

import click
from kafka import TopicPartition

from seabus.deploy.cli.common import ActionableError, connection_or_local, echo_json, settings
from seabus.schemas.codec import decode_model
from seabus.schemas.errors import CodecError, CodecReason, ValidationFailed
from seabus.schemas.models import Escalation, Notification, ReplyNotice


@click.command()
@click.argument("recipient")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest notification, not the newest.")
@click.option("--max", "max_messages", type=int, default=None, help="Stop after this many notifications.")
@click.option("--timeout", type=float, default=None, help="Stop after this many seconds without a message.")
@click.option("--full", is_flag=True, help="Print the whole notification, not a one-line summary.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per record (NDJSON): type, partition, offset and the record, or its error.",
)
def tail(
    recipient: str,
    from_beginning: bool,
    max_messages: int | None,
    timeout: float | None,
    full: bool,
    as_json: bool,
) -> None:
    """Follow sea.notify.RECIPIENT: notifications, escalations, reply notices (read-only: no group, no commits)."""
    s = settings()
    topic = s.notify_topic(recipient.upper())
    consumer = connection_or_local(s).kafka_consumer(
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=int(timeout * 1000) if timeout else float("inf"),
    )
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise ActionableError(f"topic {topic} does not exist; is {recipient} in the recipients directory?")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    if from_beginning:
        consumer.seek_to_beginning(*tps)
    else:
        consumer.seek_to_end(*tps)
    seen = 0
    try:
        for record in consumer:
            try:
                note = decode_model(record.value)
                if not isinstance(note, Notification | Escalation | ReplyNotice):
                    raise CodecError(CodecReason.SCHEMA_INVALID, f"a {note.avro_name} on a notify topic")
            except (CodecError, ValidationFailed) as exc:
                if as_json:
                    echo_json(
                        {
                            "type": None,
                            "partition": record.partition,
                            "offset": record.offset,
                            "error": str(exc),
                        }
                    )
                else:
                    click.echo(f"[{record.partition}:{record.offset}] undecodable: {exc}")
                continue
            if as_json:
                echo_json(
                    {
                        "type": note.avro_name,
                        "partition": record.partition,
                        "offset": record.offset,
                        "record": note.model_dump(mode="json"),
                    }
                )
            elif full:
                click.echo(json.dumps(note.model_dump(mode="json"), indent=2))
            elif isinstance(note, Escalation):
                due = f" due {note.due_at:%Y-%m-%dT%H:%M:%SZ}" if note.due_at else ""
                click.echo(
                    f"{note.fired_at:%Y-%m-%dT%H:%M:%SZ} {note.allegation_id} ESCALATION {note.level.value}"
                    f"{f' repeat {note.repeat}' if note.repeat else ''} "
                    f"{note.obligation.value if note.obligation else '-'} owed by {note.recipient}{due} "
                    f"id {note.escalation_id}"
                )
            elif isinstance(note, ReplyNotice):
                outcome = f" outcome {note.outcome.value}" if note.outcome else ""
                click.echo(
                    f"{note.responded_at:%Y-%m-%dT%H:%M:%SZ} {note.allegation_id} REPLY {note.kind.value} "
                    f"from {note.answered_by}{outcome} id {note.notice_id}"
                )
            else:
                click.echo(
                    f"{note.routed_at:%Y-%m-%dT%H:%M:%SZ} {note.allegation_id} seq {note.sequence} "
                    f"{note.event_type.value} via {','.join(r.rule for r in note.reasons)} "
                    f"id {note.notification_id}"
                )
            seen += 1
            if max_messages is not None and seen >= max_messages:
                break
    finally:
        consumer.close()
