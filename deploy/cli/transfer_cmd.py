"""``seabus transfer``: an allegation changes hands between reporting entities, on the record.

Only holders of the bus's credentials can run it (it writes ``<prefix>.allegations``,
which no agency may write). The intake applies the transfer only if the allegation's
owner is ``--from``; from then on only ``--to``'s events are applied. The transfer
record stays on the allegations topic with the allegation's events: that is the audit
trail (who authorised it, when, why). Returns once Kafka acknowledged the record.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click

from seabus.deploy.cli.common import JSON_OPTION, echo_json, send_record_once, settings
from seabus.deploy.cli.publish_cmd import known_entities
from seabus.schemas.errors import ValidationFailed
from seabus.schemas.models import OwnershipTransfer
from seabus.schemas.validation import ownership_transfer_problems

__all__ = ["transfer"]


@click.command()
@click.argument("allegation_id")
@click.option("--from", "from_entity", required=True, help="The entity that owns the allegation now.")
@click.option("--to", "to_entity", required=True, help="The entity that takes it over.")
@click.option(
    "--authorised-by",
    required=True,
    help="The office that authorised it (an identifier, never a person's name).",
)
@click.option("--reason", required=True, help="Why, in a sentence without identifying details.")
@JSON_OPTION
def transfer(
    allegation_id: str, from_entity: str, to_entity: str, authorised_by: str, reason: str, as_json: bool
) -> None:
    """Hand ALLEGATION_ID from one reporting entity to another (recorded and audited)."""
    s = settings()
    now = datetime.now(UTC)
    record = OwnershipTransfer(
        transfer_id=str(uuid.uuid4()),
        allegation_id=allegation_id,
        from_entity=from_entity.upper(),
        to_entity=to_entity.upper(),
        transferred_at=now,
        authorised_by=authorised_by,
        reason=reason,
    )
    problems = ownership_transfer_problems(record, known_entities=known_entities(s), now=now)
    if problems:
        raise click.UsageError(str(ValidationFailed(problems, subject="OwnershipTransfer")))
    metadata = send_record_once(
        s,
        topic=s.topic("allegations"),
        record=record,
        key=allegation_id,
        event_id=record.transfer_id,
        time=now,
        what="transfer",
    )
    if as_json:
        echo_json(
            {
                **record.model_dump(mode="json"),
                "topic": s.topic("allegations"),
                "partition": metadata.partition,
                "offset": metadata.offset,
            }
        )
        return
    click.echo(
        f"transfer {record.transfer_id} of {allegation_id} from {record.from_entity} to {record.to_entity} "
        f"recorded (partition {metadata.partition}, offset {metadata.offset}); the bus applies it if "
        f"{record.from_entity} owns the allegation (else a NOT_OWNER dead letter and an escalation)"
    )
