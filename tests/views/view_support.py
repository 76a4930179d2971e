"""Synthetic records of every kind the read model reads, built without Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from support.routing import event, make_intake

from seabus.schemas.codec import encode_model
from seabus.schemas.enums import (
    DeadLetterReason,
    DeliveryChannel,
    DeliveryOutcome,
    EscalationLevel,
    ObligationKind,
    ObligationState,
    PersonnelCategory,
    RecipientClass,
    ResponseKind,
)
from seabus.schemas.envelopes import Source
from seabus.schemas.models import (
    AllegationEvent,
    DeadLetter,
    DeliveryAttempt,
    Escalation,
    Notification,
    ObligationUpdate,
    Response,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SUBJECT_MARKER = "SYNTH-SUBJ-VIEW-MARKER"
NARRATIVE_MARKER = "SYNTHETIC-NARRATIVE-VIEW-MARKER"


def report(aid: str, *, state: str = "KEN", at: datetime = T0, entity: str = "MINUSCA") -> AllegationEvent:
    """A REPORTED event whose subject ref and narrative carry markers no view may show."""
    e = event(aid, subjects=[(SUBJECT_MARKER, state, None, PersonnelCategory.STAFF_MEMBER)], published_at=at)
    allegation = e.allegation.model_copy(
        update={"confidential": e.allegation.confidential.model_copy(update={"narrative": NARRATIVE_MARKER})}  # type: ignore[union-attr]
    )
    return e.model_copy(update={"allegation": allegation, "reporting_entity": entity})


def notifications(e: AllegationEvent, *, routed_at: datetime) -> list[Notification]:
    """What the real routing step sends for ``e``."""
    result = make_intake().handle(
        key=e.allegation_id.encode(),
        value=encode_model(e),
        headers=[],
        source=Source(topic="sea.allegations", partition=0, offset=0),
        state=None,
        now=routed_at,
    )
    return result.notifications


def obligation(
    aid: str,
    recipient: str = "KEN",
    kind: ObligationKind = ObligationKind.ACKNOWLEDGE,
    *,
    due_at: datetime,
    updated_at: datetime | None = None,
    state: ObligationState = ObligationState.OPEN,
    last_level: EscalationLevel | None = None,
    entity: str | None = "MINUSCA",
    answered_at: datetime | None = None,
) -> ObligationUpdate:
    return ObligationUpdate(
        obligation_key=f"{aid}|{recipient}|{kind.value}",
        allegation_id=aid,
        recipient=recipient,
        recipient_class=RecipientClass.MEMBER_STATE,
        kind=kind,
        policy="test-acknowledge",
        reporting_entity=entity,
        created_at=due_at - timedelta(seconds=30),
        due_at=due_at,
        state=state,
        last_level=last_level,
        escalations_fired=0 if last_level is None else 1,
        answered_by="SYNTH-OFFICE" if answered_at else None,
        answered_at=answered_at,
        answered_kind=ResponseKind.ACKNOWLEDGED if answered_at else None,
        updated_at=updated_at or due_at - timedelta(seconds=30),
    )


def escalation(
    aid: str,
    level: EscalationLevel,
    *,
    at: datetime,
    recipient: str | None = "KEN",
    kind: ObligationKind | None = ObligationKind.ACKNOWLEDGE,
    repeat: int = 0,
) -> Escalation:
    return Escalation(
        escalation_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{aid}|{recipient}|{kind}|{level}|{repeat}")),
        allegation_id=aid,
        recipient=recipient,
        obligation=kind,
        level=level,
        repeat=repeat,
        due_at=at,
        fired_at=at,
        reason=f"MEMBER_STATE {recipient} has not acknowledged receipt of allegation {aid}.",
    )


def response(aid: str, recipient: str = "KEN", *, at: datetime) -> Response:
    return Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient=recipient,
        kind=ResponseKind.ACKNOWLEDGED,
        responded_at=at,
        responder=f"SYNTH-OFFICE-{recipient}",
        note="SYNTHETIC-NOTE-VIEW-MARKER",
    )


def delivery(
    note: Notification, *, at: datetime, outcome: DeliveryOutcome = DeliveryOutcome.DELIVERED
) -> DeliveryAttempt:
    return DeliveryAttempt(
        attempt_id=str(uuid.uuid4()),
        notification_id=note.notification_id,
        allegation_id=note.allegation_id,
        recipient=note.recipient,
        channel=DeliveryChannel.WEBHOOK,
        attempt=1,
        outcome=outcome,
        http_status=200 if outcome is DeliveryOutcome.DELIVERED else 503,
        attempted_at=at,
    )


def dead_letter(aid: str, *, at: datetime, offset: int = 7) -> DeadLetter:
    return DeadLetter(
        original_key=aid.encode(),
        original_value=b"SYNTHETIC-NOTE-VIEW-MARKER garbage",
        source_topic="sea.responses",
        source_partition=0,
        source_offset=offset,
        reason=DeadLetterReason.VALIDATION_FAILED,
        message="responded_at: is in the future",
        dead_lettered_at=at,
    )
