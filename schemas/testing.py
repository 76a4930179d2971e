"""Synthetic, valid messages for tests (ours and other packages').

Everything here is clearly made up: subject refs ``SYNTH-SUBJ-nnnn``, allegation
ids ``SYNTH-ALLEG-nnnn``, narratives that say they are synthetic. Each builder
returns a model that passes :mod:`seabus.schemas.validation` at :data:`SYNTH_NOW`;
keyword overrides replace top-level fields (use ``model_copy(update=...)`` for
nested ones).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from seabus.schemas.enums import (
    AgeGroup,
    AllegationEventType,
    AllegationStatus,
    AllegationSubType,
    AllegationType,
    DeadLetterReason,
    DeliveryChannel,
    DeliveryOutcome,
    EscalationLevel,
    Gender,
    IncidentDatePrecision,
    InterimActionKind,
    ObligationKind,
    PersonnelCategory,
    RecipientClass,
    ResponseKind,
    Sex,
    SourceStream,
)
from seabus.schemas.models import (
    Allegation,
    AllegationEvent,
    Confidential,
    DeadLetter,
    DeliveryAttempt,
    Escalation,
    InterimAction,
    KafkaHeader,
    Notification,
    Obligation,
    Response,
    RoutingReason,
    Subject,
    VictimCount,
)

__all__ = [
    "SYNTH_NOW",
    "synthetic_allegation",
    "synthetic_allegation_event",
    "synthetic_dead_letter",
    "synthetic_delivery_attempt",
    "synthetic_escalation",
    "synthetic_notification",
    "synthetic_response",
    "synthetic_uuid",
]

_M = TypeVar("_M", bound=BaseModel)

SYNTH_NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
"""The 'now' at which every synthetic message is valid."""


def _built(model: type[_M], defaults: dict[str, Any], overrides: dict[str, Any]) -> _M:
    """Every builder: its defaults, with the caller's top-level overrides on top."""
    return model(**{**defaults, **overrides})


def _pak_side(n: int) -> dict[str, Any]:
    """What PAK's reply, escalation and delivery attempt share: allegation ``n``, recipient PAK."""
    return {"allegation_id": f"SYNTH-ALLEG-{n:04d}", "recipient": "PAK"}


def synthetic_uuid(n: int) -> str:
    """A deterministic UUID for synthetic message ``n``."""
    return str(uuid.UUID(int=(0x5EAB05 << 96) | n, version=4))


def synthetic_allegation(n: int = 1, **overrides: Any) -> Allegation:
    """A typical allegation: two subjects of two states, one child victim, confidential text."""
    return _built(
        Allegation,
        {
            "reported_at": SYNTH_NOW - timedelta(days=2),
            "incident_date": date(2024, 4, 1),
            "incident_date_precision": IncidentDatePrecision.MONTH,
            "location_country": "CAF",
            "source_stream": SourceStream.UN_PERSONNEL,
            "subjects": (
                Subject(
                    subject_ref=f"SYNTH-SUBJ-{n:04d}",
                    personnel_category=PersonnelCategory.MILITARY_CONTINGENT,
                    nationality="PAK",
                    contributing_state="PAK",
                    gender=Gender.MALE,
                ),
                Subject(
                    subject_ref=f"SYNTH-SUBJ-{n + 1:04d}",
                    personnel_category=PersonnelCategory.STAFF_MEMBER,
                    nationality="FRA",
                    gender=Gender.UNKNOWN,
                ),
            ),
            "allegation_type": AllegationType.SEXUAL_ABUSE,
            "sub_types": (AllegationSubType.SEXUAL_ACTIVITY_WITH_MINOR,),
            "victims": (VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.UNDER_18, count=1),),
            "victim_assistance_referred": True,
            "paternity_claim": False,
            "status": AllegationStatus.UNDER_PRELIMINARY_ASSESSMENT,
            "investigating_entity": None,
            "interim_actions": (
                InterimAction(
                    kind=InterimActionKind.PAYMENTS_SUSPENDED,
                    subject_ref=f"SYNTH-SUBJ-{n:04d}",
                    taken_on=date(2024, 4, 29),
                ),
            ),
            "outcome": None,
            "confidential": Confidential(narrative=f"Synthetic narrative {n} for tests; no real case."),
        },
        overrides,
    )


def synthetic_allegation_event(n: int = 1, **overrides: Any) -> AllegationEvent:
    """A REPORTED event from MINUSCA about :func:`synthetic_allegation`."""
    return _built(
        AllegationEvent,
        {
            "event_id": synthetic_uuid(n),
            "event_type": AllegationEventType.REPORTED,
            "allegation_id": f"SYNTH-ALLEG-{n:04d}",
            "sequence": 1,
            "reporting_entity": "MINUSCA",
            "published_at": SYNTH_NOW - timedelta(hours=1),
            "changes": (),
            "allegation": synthetic_allegation(n),
        },
        overrides,
    )


def synthetic_notification(n: int = 1, **overrides: Any) -> Notification:
    """The notification PAK would get for :func:`synthetic_allegation_event`."""
    event = synthetic_allegation_event(n)
    return _built(
        Notification,
        {
            "notification_id": f"SYNTH-NOTIF-{n:04d}-PAK",
            "recipient": "PAK",
            "recipient_class": RecipientClass.MEMBER_STATE,
            "reasons": (RoutingReason(rule="subject-nationality", explanation="A subject is a national."),),
            "source_event_id": event.event_id,
            "source_published_at": event.published_at,
            "event_type": event.event_type,
            "changes": (),
            "allegation_id": event.allegation_id,
            "sequence": event.sequence,
            "routed_at": SYNTH_NOW - timedelta(minutes=59),
            "allegation": event.allegation.model_copy(
                update={"subjects": event.allegation.subjects[:1], "confidential": None}
            ),
            "obligations": (
                Obligation(kind=ObligationKind.ACKNOWLEDGE, due_at=SYNTH_NOW + timedelta(days=7)),
            ),
        },
        overrides,
    )


def synthetic_response(n: int = 1, **overrides: Any) -> Response:
    """PAK acknowledging :func:`synthetic_notification`."""
    return _built(
        Response,
        {
            "response_id": synthetic_uuid(10_000 + n),
            **_pak_side(n),
            "kind": ResponseKind.ACKNOWLEDGED,
            "responded_at": SYNTH_NOW - timedelta(minutes=5),
            "responder": "SYNTH-DESK-PAK",
            "note": None,
            "national_investigation_officer_appointed": None,
            "outcome": None,
            "in_reply_to": f"SYNTH-NOTIF-{n:04d}-PAK",
        },
        overrides,
    )


def synthetic_escalation(n: int = 1, **overrides: Any) -> Escalation:
    """An overdue acknowledgement by PAK."""
    return _built(
        Escalation,
        {
            "escalation_id": f"SYNTH-ESC-{n:04d}",
            **_pak_side(n),
            "obligation": ObligationKind.ACKNOWLEDGE,
            "level": EscalationLevel.OVERDUE,
            "repeat": 0,
            "due_at": SYNTH_NOW - timedelta(hours=1),
            "fired_at": SYNTH_NOW,
            "reason": "Acknowledgement from PAK is overdue; contact the permanent mission.",
        },
        overrides,
    )


def synthetic_dead_letter(n: int = 1, **overrides: Any) -> DeadLetter:
    """A value that was not Avro at all."""
    return _built(
        DeadLetter,
        {
            "original_key": f"SYNTH-ALLEG-{n:04d}".encode(),
            "original_value": b'{"not": "avro"}',
            "original_headers": (
                KafkaHeader(key="ce_id", value=synthetic_uuid(n).encode()),
                KafkaHeader(key="x-empty", value=None),
            ),
            "source_topic": "sea.allegations",
            "source_partition": 3,
            "source_offset": 1234 + n,
            "reason": DeadLetterReason.MALFORMED_BYTES,
            "message": "value starts with 7B 22, not the Avro single-object marker C3 01",
            "dead_lettered_at": SYNTH_NOW,
        },
        overrides,
    )


def synthetic_delivery_attempt(n: int = 1, **overrides: Any) -> DeliveryAttempt:
    """A webhook delivery that will be retried."""
    return _built(
        DeliveryAttempt,
        {
            "attempt_id": f"SYNTH-ATTEMPT-{n:04d}",
            "notification_id": f"SYNTH-NOTIF-{n:04d}-PAK",
            **_pak_side(n),
            "channel": DeliveryChannel.WEBHOOK,
            "attempt": 1,
            "outcome": DeliveryOutcome.RETRYING,
            "http_status": 503,
            "error": "endpoint answered 503 Service Unavailable",
            "attempted_at": SYNTH_NOW,
        },
        overrides,
    )
