"""Python mirrors of the Avro enums, one class per Avro enum name.

Values equal the Avro symbols, so a member can be handed to the codec as is.
Every enum ends with ``UNKNOWN``, the Avro default a reader falls back to when
a newer writer uses a symbol it does not know yet. ``tests/schemas`` fails if
a class here and its ``.avsc`` enum drift apart.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AgeGroup",
    "AllegationEventType",
    "AllegationStatus",
    "AllegationSubType",
    "AllegationType",
    "DeadLetterReason",
    "DeliveryChannel",
    "DeliveryOutcome",
    "DisciplinaryAction",
    "EscalationLevel",
    "Gender",
    "IncidentDatePrecision",
    "InterimActionKind",
    "ObligationKind",
    "ObligationState",
    "OutcomeResult",
    "PersonnelCategory",
    "RecipientClass",
    "ResponseKind",
    "Sex",
    "SourceStream",
    "UpdateKind",
]


class AllegationEventType(StrEnum):
    """What an allegation event reports."""

    REPORTED = "REPORTED"
    UPDATED = "UPDATED"
    CLOSED = "CLOSED"
    WITHDRAWN = "WITHDRAWN"
    UNKNOWN = "UNKNOWN"


class UpdateKind(StrEnum):
    """Which part of the allegation an event changes."""

    STATUS_CHANGED = "STATUS_CHANGED"
    INVESTIGATION_OUTCOME = "INVESTIGATION_OUTCOME"
    INTERIM_ACTION = "INTERIM_ACTION"
    PATERNITY_CLAIM = "PATERNITY_CLAIM"
    SUBJECTS_CHANGED = "SUBJECTS_CHANGED"
    VICTIMS_CHANGED = "VICTIMS_CHANGED"
    VICTIM_ASSISTANCE = "VICTIM_ASSISTANCE"
    INVESTIGATING_ENTITY = "INVESTIGATING_ENTITY"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class IncidentDatePrecision(StrEnum):
    """How much of the incident date is known."""

    DAY = "DAY"
    MONTH = "MONTH"
    YEAR = "YEAR"
    UNKNOWN = "UNKNOWN"


class SourceStream(StrEnum):
    """Which population the allegation concerns."""

    UN_PERSONNEL = "UN_PERSONNEL"
    IMPLEMENTING_PARTNER = "IMPLEMENTING_PARTNER"
    NON_UN_FORCE = "NON_UN_FORCE"
    UNKNOWN = "UNKNOWN"


class PersonnelCategory(StrEnum):
    """Category of personnel of a subject; one standard for all (res. 71/278 para 7)."""

    STAFF_MEMBER = "STAFF_MEMBER"
    UN_VOLUNTEER = "UN_VOLUNTEER"
    EXPERT_ON_MISSION = "EXPERT_ON_MISSION"
    UN_POLICE_OFFICER = "UN_POLICE_OFFICER"
    FORMED_POLICE_UNIT = "FORMED_POLICE_UNIT"
    GOVERNMENT_PROVIDED_PERSONNEL = "GOVERNMENT_PROVIDED_PERSONNEL"
    MILITARY_STAFF_OFFICER = "MILITARY_STAFF_OFFICER"
    MILITARY_CONTINGENT = "MILITARY_CONTINGENT"
    CONTRACTOR_CONSULTANT = "CONTRACTOR_CONSULTANT"
    IMPLEMENTING_PARTNER_PERSONNEL = "IMPLEMENTING_PARTNER_PERSONNEL"
    NON_UN_FORCE_MEMBER = "NON_UN_FORCE_MEMBER"
    UNKNOWN = "UNKNOWN"


class Gender(StrEnum):
    """Gender of a subject as recorded."""

    FEMALE = "FEMALE"
    MALE = "MALE"
    UNKNOWN = "UNKNOWN"


class AllegationType(StrEnum):
    """Kind of allegation."""

    SEXUAL_EXPLOITATION = "SEXUAL_EXPLOITATION"
    SEXUAL_ABUSE = "SEXUAL_ABUSE"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class AllegationSubType(StrEnum):
    """Finer classification of an allegation."""

    RAPE = "RAPE"
    TRANSACTIONAL_SEX = "TRANSACTIONAL_SEX"
    EXPLOITATIVE_RELATIONSHIP = "EXPLOITATIVE_RELATIONSHIP"
    SEXUAL_ASSAULT = "SEXUAL_ASSAULT"
    SEXUAL_ACTIVITY_WITH_MINOR = "SEXUAL_ACTIVITY_WITH_MINOR"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class Sex(StrEnum):
    """Sex of a victim as recorded."""

    FEMALE = "FEMALE"
    MALE = "MALE"
    UNKNOWN = "UNKNOWN"


class AgeGroup(StrEnum):
    """Age group of a victim at the time of the incident."""

    UNDER_18 = "UNDER_18"
    ADULT = "ADULT"
    UNKNOWN = "UNKNOWN"


class AllegationStatus(StrEnum):
    """Where an allegation stands, as the UN reports it publicly."""

    UNDER_PRELIMINARY_ASSESSMENT = "UNDER_PRELIMINARY_ASSESSMENT"
    UNDER_REVIEW_LIMITED_INFORMATION = "UNDER_REVIEW_LIMITED_INFORMATION"
    UNDER_INVESTIGATION = "UNDER_INVESTIGATION"
    PENDING_MEMBER_STATE_INVESTIGATION = "PENDING_MEMBER_STATE_INVESTIGATION"
    REFERRED_TO_MEMBER_STATE = "REFERRED_TO_MEMBER_STATE"
    SUBSTANTIATED = "SUBSTANTIATED"
    NOT_SUBSTANTIATED = "NOT_SUBSTANTIATED"
    CLOSED_OTHER_CIRCUMSTANCES = "CLOSED_OTHER_CIRCUMSTANCES"
    UNKNOWN = "UNKNOWN"


class InterimActionKind(StrEnum):
    """Kinds of interim measures."""

    PLACED_ON_ADMINISTRATIVE_LEAVE = "PLACED_ON_ADMINISTRATIVE_LEAVE"
    PAYMENTS_SUSPENDED = "PAYMENTS_SUSPENDED"
    REPATRIATED = "REPATRIATED"
    CONFINED_TO_BARRACKS = "CONFINED_TO_BARRACKS"
    CONTRACT_SUSPENDED = "CONTRACT_SUSPENDED"
    REASSIGNED = "REASSIGNED"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class OutcomeResult(StrEnum):
    """Finding of an investigation."""

    SUBSTANTIATED = "SUBSTANTIATED"
    NOT_SUBSTANTIATED = "NOT_SUBSTANTIATED"
    CLOSED_OTHER_CIRCUMSTANCES = "CLOSED_OTHER_CIRCUMSTANCES"
    UNKNOWN = "UNKNOWN"


class DisciplinaryAction(StrEnum):
    """Action taken after a finding."""

    DISMISSAL = "DISMISSAL"
    SEPARATION_FROM_SERVICE = "SEPARATION_FROM_SERVICE"
    REPATRIATION = "REPATRIATION"
    IMPRISONMENT = "IMPRISONMENT"
    DEMOTION = "DEMOTION"
    FINE = "FINE"
    WRITTEN_CENSURE = "WRITTEN_CENSURE"
    BARRED_FROM_FUTURE_SERVICE = "BARRED_FROM_FUTURE_SERVICE"
    NO_ACTION = "NO_ACTION"
    PENDING = "PENDING"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class RecipientClass(StrEnum):
    """Kind of recipient of a notification."""

    MEMBER_STATE = "MEMBER_STATE"
    OSC = "OSC"
    OIOS = "OIOS"
    VRA = "VRA"
    UNKNOWN = "UNKNOWN"


class ObligationKind(StrEnum):
    """What a recipient owes in reply to a notification."""

    ACKNOWLEDGE = "ACKNOWLEDGE"
    DECIDE = "DECIDE"
    REPORT_OUTCOME = "REPORT_OUTCOME"
    REPORT_ACTION_TAKEN = "REPORT_ACTION_TAKEN"
    INVESTIGATE = "INVESTIGATE"
    DECIDE_REFERRAL = "DECIDE_REFERRAL"
    UNKNOWN = "UNKNOWN"


class ObligationState(StrEnum):
    """Open, answered in full, or cancelled (closing status)."""

    OPEN = "OPEN"
    SATISFIED = "SATISFIED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


class ResponseKind(StrEnum):
    """What a recipient's reply says."""

    ACKNOWLEDGED = "ACKNOWLEDGED"
    INVESTIGATION_ACCEPTED_NIO = "INVESTIGATION_ACCEPTED_NIO"
    INVESTIGATION_JOINT_OIOS = "INVESTIGATION_JOINT_OIOS"
    INVESTIGATION_DECLINED = "INVESTIGATION_DECLINED"
    INTERIM_ACTION_TAKEN = "INTERIM_ACTION_TAKEN"
    PROGRESS_REPORTED = "PROGRESS_REPORTED"
    OUTCOME_REPORTED = "OUTCOME_REPORTED"
    ACTION_TAKEN_REPORTED = "ACTION_TAKEN_REPORTED"
    REFERRAL_DECIDED = "REFERRAL_DECIDED"
    UNKNOWN = "UNKNOWN"


class EscalationLevel(StrEnum):
    """How serious an escalation is and who is told."""

    REMINDER = "REMINDER"
    OVERDUE = "OVERDUE"
    SECOND_LEVEL = "SECOND_LEVEL"
    UNROUTABLE = "UNROUTABLE"
    DELIVERY_FAILED = "DELIVERY_FAILED"
    ENDPOINT_DISABLED = "ENDPOINT_DISABLED"
    REFUSED_ORIGIN = "REFUSED_ORIGIN"
    OVERDUE_SUMMARY = "OVERDUE_SUMMARY"
    UNKNOWN = "UNKNOWN"


class DeadLetterReason(StrEnum):
    """Why a message was dead-lettered; ``errors.CodecReason`` (the codec's reasons) is this enum."""

    MALFORMED_BYTES = "MALFORMED_BYTES"
    MALFORMED_HEADERS = "MALFORMED_HEADERS"
    UNKNOWN_FINGERPRINT = "UNKNOWN_FINGERPRINT"
    TRUNCATED = "TRUNCATED"
    OVERSIZED = "OVERSIZED"
    SCHEMA_INVALID = "SCHEMA_INVALID"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    OUT_OF_SEQUENCE = "OUT_OF_SEQUENCE"
    UNKNOWN_ALLEGATION = "UNKNOWN_ALLEGATION"
    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"
    DELIVERY_FAILED = "DELIVERY_FAILED"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    ORIGIN_MISMATCH = "ORIGIN_MISMATCH"
    NOT_OWNER = "NOT_OWNER"
    UNKNOWN = "UNKNOWN"


class DeliveryChannel(StrEnum):
    """How a notification travels to its recipient."""

    KAFKA = "KAFKA"
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"
    UNKNOWN = "UNKNOWN"


class DeliveryOutcome(StrEnum):
    """What came of one delivery attempt."""

    DELIVERED = "DELIVERED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"
    DISABLED = "DISABLED"
    REFUSED = "REFUSED"
    UNKNOWN = "UNKNOWN"
