"""Typed, immutable models of the Avro records, for application code.

The ``.avsc`` files are the source of truth; these classes mirror them field
for field (same names, types, defaults and enum symbols), and
``tests/schemas/test_drift.py`` fails when the two drift apart (see
:mod:`seabus.schemas.drift`). Models check *types* only; the contract's meaning
(country codes, dates not in the future, rising sequences, ...) is checked by
:mod:`seabus.schemas.validation`, so that every problem is reported at once.

Conventions: Avro arrays are tuples, nullable unions are ``X | None`` with
default ``None``, ``timestamp-millis`` is an aware :class:`~datetime.datetime`
normalised to UTC and whole milliseconds (what the wire can carry), ``date``
is a :class:`~datetime.date`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict

from seabus.schemas.enums import (
    AgeGroup,
    AllegationEventType,
    AllegationStatus,
    AllegationSubType,
    AllegationType,
    DeadLetterReason,
    DeliveryChannel,
    DeliveryOutcome,
    DisciplinaryAction,
    EscalationLevel,
    Gender,
    IncidentDatePrecision,
    InterimActionKind,
    ObligationKind,
    ObligationState,
    OutcomeResult,
    PersonnelCategory,
    RecipientClass,
    ResponseKind,
    Sex,
    SourceStream,
    UpdateKind,
)

__all__ = [
    "RECORD_MODELS",
    "Allegation",
    "AllegationEvent",
    "Confidential",
    "DeadLetter",
    "DeliveryAttempt",
    "Escalation",
    "InterimAction",
    "InvestigationOutcome",
    "InvestigatorDetails",
    "KafkaHeader",
    "Notification",
    "Obligation",
    "ObligationUpdate",
    "OwnershipTransfer",
    "RedactedField",
    "ReplyNotice",
    "Response",
    "RoutingReason",
    "SeabusModel",
    "SeabusRecord",
    "Subject",
    "Timestamp",
    "VictimCount",
]


def _utc_millis(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp has no time zone; send UTC, e.g. 2024-05-01T10:00:00Z")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


Timestamp = Annotated[datetime, AfterValidator(_utc_millis)]
"""An aware datetime in UTC at millisecond precision (Avro ``timestamp-millis``)."""


class SeabusModel(BaseModel):
    """Base of every model: immutable, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SeabusRecord(SeabusModel):
    """A top-level record: one Kafka message value."""

    avro_name: ClassVar[str]
    """Short Avro name of the record, as the codec and ``decode`` name it."""

    def to_avro(self) -> dict[str, Any]:
        """The datum the codec writes (enum members are ``str``, arrays tuples)."""
        return self.model_dump()


# --- the allegation --------------------------------------------------------


class Subject(SeabusModel):
    """A person alleged to be involved, known only by an opaque reference."""

    subject_ref: str
    personnel_category: PersonnelCategory
    nationality: str | None = None
    contributing_state: str | None = None
    gender: Gender = Gender.UNKNOWN


class VictimCount(SeabusModel):
    """How many victims share one sex and age group; victims are only counted."""

    sex: Sex
    age_group: AgeGroup
    count: int


class InterimAction(SeabusModel):
    """A measure taken while the allegation is open."""

    kind: InterimActionKind
    subject_ref: str | None = None
    taken_on: date | None = None


class InvestigationOutcome(SeabusModel):
    """Result of a concluded investigation and the actions that followed."""

    result: OutcomeResult
    concluded_on: date | None = None
    actions: tuple[DisciplinaryAction, ...] = ()


class Confidential(SeabusModel):
    """Content that may identify victims or witnesses.

    Never logged (its ``repr`` hides the text), never copied into escalations or
    dead-letter messages, and delivered only to recipient profiles allowed to
    see it; routing drops the whole record for everyone else.
    """

    narrative: str

    def __repr__(self) -> str:
        return "Confidential(<redacted>)"

    def __str__(self) -> str:
        return "<confidential: redacted>"


class Allegation(SeabusModel):
    """Snapshot of one allegation as its reporting entity knows it now."""

    reported_at: Timestamp
    incident_date: date | None = None
    incident_date_precision: IncidentDatePrecision = IncidentDatePrecision.UNKNOWN
    location_country: str | None = None
    source_stream: SourceStream
    subjects: tuple[Subject, ...]
    allegation_type: AllegationType
    sub_types: tuple[AllegationSubType, ...] = ()
    victims: tuple[VictimCount, ...] = ()
    victim_assistance_referred: bool = False
    paternity_claim: bool = False
    status: AllegationStatus
    investigating_entity: str | None = None
    interim_actions: tuple[InterimAction, ...] = ()
    outcome: InvestigationOutcome | None = None
    confidential: Confidential | None = None


class AllegationEvent(SeabusRecord):
    """One event about one allegation, published by a UN entity on sea.allegations."""

    avro_name: ClassVar[str] = "AllegationEvent"

    event_id: str
    event_type: AllegationEventType
    allegation_id: str
    sequence: int
    reporting_entity: str
    published_at: Timestamp
    changes: tuple[UpdateKind, ...] = ()
    allegation: Allegation


# --- what the bus sends ----------------------------------------------------


class RoutingReason(SeabusModel):
    """Why a recipient is told: the rule that matched and a sentence for people."""

    rule: str
    explanation: str


class Obligation(SeabusModel):
    """Something the recipient is expected to do, and by when."""

    kind: ObligationKind
    due_at: Timestamp


class Notification(SeabusRecord):
    """What the bus sends one recipient about one allegation event."""

    avro_name: ClassVar[str] = "Notification"

    notification_id: str
    recipient: str
    recipient_class: RecipientClass
    reasons: tuple[RoutingReason, ...]
    source_event_id: str
    source_published_at: Timestamp
    event_type: AllegationEventType
    changes: tuple[UpdateKind, ...] = ()
    allegation_id: str
    sequence: int
    routed_at: Timestamp
    allegation: Allegation
    obligations: tuple[Obligation, ...] = ()


# --- what recipients send back ---------------------------------------------


class OwnershipTransfer(SeabusRecord):
    """An allegation changing hands between entities, on sea.allegations (bus credentials only)."""

    avro_name: ClassVar[str] = "OwnershipTransfer"

    transfer_id: str
    allegation_id: str
    from_entity: str
    to_entity: str
    transferred_at: Timestamp
    authorised_by: str
    reason: str


class InvestigatorDetails(SeabusModel):
    """Who investigates for the state, by office and role (official channels, no victim's details)."""

    office: str
    role: str | None = None
    contact: str | None = None
    reference: str | None = None
    appointed_at: Timestamp | None = None


class Response(SeabusRecord):
    """A recipient's reply about an allegation, on sea.responses."""

    avro_name: ClassVar[str] = "Response"

    response_id: str
    allegation_id: str
    recipient: str
    kind: ResponseKind
    responded_at: Timestamp
    responder: str
    note: str | None = None
    national_investigation_officer_appointed: bool | None = None
    outcome: OutcomeResult | None = None
    investigator: InvestigatorDetails | None = None
    actions_taken: tuple[DisciplinaryAction, ...] = ()
    in_reply_to: str | None = None


class ReplyNotice(SeabusRecord):
    """A reply forwarded to OSC (whole) or the reporting entity (minimised), on sea.notify.<ID>."""

    avro_name: ClassVar[str] = "ReplyNotice"

    notice_id: str
    recipient: str
    allegation_id: str
    response_id: str
    answered_by: str
    kind: ResponseKind
    responded_at: Timestamp
    recorded_at: Timestamp
    national_investigation_officer_appointed: bool | None = None
    investigator: InvestigatorDetails | None = None
    outcome: OutcomeResult | None = None
    actions_taken: tuple[DisciplinaryAction, ...] = ()
    note: str | None = None


# --- operations ------------------------------------------------------------


class Escalation(SeabusRecord):
    """Something needs a person's attention, on sea.escalations."""

    avro_name: ClassVar[str] = "Escalation"

    escalation_id: str
    allegation_id: str
    recipient: str | None = None
    obligation: ObligationKind | None = None
    level: EscalationLevel
    repeat: int = 0
    due_at: Timestamp | None = None
    fired_at: Timestamp
    reason: str
    obligation_keys: tuple[str, ...] = ()


class KafkaHeader(SeabusModel):
    """One Kafka record header."""

    key: str
    value: bytes | None = None


class RedactedField(SeabusModel):
    """One field of a dead letter's original that is safe to show: a type, a schema, an id or a code."""

    field: str
    value: str


class DeadLetter(SeabusRecord):
    """A message the bus could not process, with the reason, every part bounded (v2).

    Since v4 the bus never copies the original value here (it may hold a
    confidential narrative or names): ``original_value`` is empty,
    ``original_value_withheld`` set, and ``redacted`` holds what is safe to
    show (record type, schema, identifiers), next to the digest and size of the
    whole value. Older dead letters read with ``original_value_withheld`` false.

    Key, value and headers are kept whole while small (the limits are in
    :mod:`seabus.schemas.limits`); beyond that a prefix is kept and the ``*_truncated``
    flag set, with the size and SHA-256 digest of the whole, so the original can
    be fetched from its source coordinates and checked. Records written with
    schema v1 read with sizes and digests ``None`` and nothing truncated.
    """

    avro_name: ClassVar[str] = "DeadLetter"

    original_key: bytes | None = None
    original_value: bytes
    original_headers: tuple[KafkaHeader, ...] = ()
    source_topic: str
    source_partition: int
    source_offset: int
    reason: DeadLetterReason
    message: str
    dead_lettered_at: Timestamp
    original_key_size: int | None = None
    original_key_sha256: str | None = None
    original_key_truncated: bool = False
    original_value_size: int | None = None
    original_value_sha256: str | None = None
    original_value_truncated: bool = False
    original_headers_count: int | None = None
    original_headers_truncated: bool = False
    original_value_withheld: bool = False
    redacted: tuple[RedactedField, ...] = ()


class DeliveryAttempt(SeabusRecord):
    """Audit record of one attempt to deliver a notification over one channel."""

    avro_name: ClassVar[str] = "DeliveryAttempt"

    attempt_id: str
    notification_id: str
    allegation_id: str
    recipient: str
    channel: DeliveryChannel
    attempt: int
    outcome: DeliveryOutcome
    http_status: int | None = None
    error: str | None = None
    attempted_at: Timestamp


class ObligationUpdate(SeabusRecord):
    """The current state of one obligation, on sea.obligations (compacted, key: obligation_key)."""

    avro_name: ClassVar[str] = "ObligationUpdate"

    obligation_key: str
    allegation_id: str
    recipient: str
    recipient_class: RecipientClass
    kind: ObligationKind
    policy: str
    reporting_entity: str | None = None
    created_at: Timestamp
    due_at: Timestamp
    state: ObligationState
    last_level: EscalationLevel | None = None
    escalations_fired: int = 0
    answered_by: str | None = None
    answered_at: Timestamp | None = None
    answered_kind: ResponseKind | None = None
    cancel_reason: str | None = None
    updated_at: Timestamp


RECORD_MODELS: dict[str, type[SeabusRecord]] = {
    model.avro_name: model
    for model in (
        AllegationEvent,
        Notification,
        Response,
        ReplyNotice,
        OwnershipTransfer,
        Escalation,
        DeadLetter,
        DeliveryAttempt,
        ObligationUpdate,
    )
}
"""Top-level model by short Avro name."""
