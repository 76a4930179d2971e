"""What the read model answers: overdue obligations and allegation timelines.

These are the JSON shapes of ``GET /v1/overdue`` and
``GET /v1/allegations/{id}/timeline`` (their OpenAPI schemas are generated from
these classes) and what ``seabus overdue --json`` prints. By construction they
hold references, recipients, kinds and times only: no subject, narrative or
victim field exists here, so none can reach a page or a log.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from seabus.schemas.enums import (
    AllegationEventType,
    AllegationStatus,
    DeadLetterReason,
    DeliveryChannel,
    DeliveryOutcome,
    EscalationLevel,
    ObligationKind,
    ObligationState,
    RecipientClass,
    ResponseKind,
    UpdateKind,
)

__all__ = [
    "NO_LEVEL",
    "DeadLetterEntry",
    "DeliveryEntry",
    "DueStatus",
    "EscalationEntry",
    "EventEntry",
    "LevelCount",
    "NotificationEntry",
    "ObligationSummary",
    "OverdueItem",
    "OverdueReport",
    "OverdueSummary",
    "OwedItem",
    "RecipientCount",
    "RecipientObligations",
    "ResponseEntry",
    "Timeline",
    "TimelineEntry",
    "TrendDay",
]

NO_LEVEL = "NONE"
"""The level filter value for obligations nothing has been escalated for yet."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DueStatus(StrEnum):
    """Whether an open obligation's due time has passed."""

    OVERDUE = "OVERDUE"
    DUE = "DUE"


class OverdueItem(_Out):
    """One open obligation: who owes what on which allegation, by when, and how far it escalated."""

    allegation_id: str
    recipient: str
    recipient_class: RecipientClass
    obligation: ObligationKind
    reporting_entity: str | None = None
    policy: str
    created_at: datetime
    due_at: datetime
    status: DueStatus
    overdue_by_s: float = Field(description="seconds past the due time; negative: seconds until it")
    level: EscalationLevel | None = Field(
        default=None, description="the latest escalation of this obligation; null: none yet"
    )
    repeat: int = 0
    last_escalated_at: datetime | None = None
    escalations_fired: int = 0
    obligation_key: str


class OverdueReport(_Out):
    """The overdue view at ``as_of``: overdue first (longest overdue first), then by due time."""

    as_of: datetime
    caught_up: bool = Field(description="false while the view is still reading history: counts may be low")
    overdue: int
    due: int
    items: list[OverdueItem]
    truncated: bool = Field(
        default=False, description="true when items holds only the first `limit`; overdue and due count all"
    )
    recipients: list[str] = Field(
        default=[], description="every recipient with an open obligation, whatever the filters"
    )
    reporting_entities: list[str] = Field(
        default=[], description="every reporting entity with an open obligation, whatever the filters"
    )


class RecipientCount(_Out):
    """How many obligations one recipient has overdue."""

    recipient: str
    overdue: int


class LevelCount(_Out):
    """How many overdue obligations are at one escalation level (``NONE``: not escalated yet)."""

    level: str
    overdue: int


class TrendDay(_Out):
    """One UTC day of the trend: what was overdue at its end (for today: at ``as_of``)."""

    day: date
    at: datetime = Field(description="the instant counted: the end of the day, or as_of for today")
    overdue: int = Field(
        description="obligations overdue at `at`: due by then, neither answered nor cancelled"
    )
    newly_overdue: int = Field(
        description="obligations that fell overdue during this day (due in it, up to `at`, and neither "
        "answered nor cancelled by their due time), whatever became of them later"
    )
    closed_late: int = Field(description="overdue obligations answered or cancelled during this day")


class OverdueSummary(_Out):
    """The summary band of the dashboard: overdue by recipient and by level, and the trend."""

    as_of: datetime
    caught_up: bool = Field(description="false while the view is still reading history: counts may be low")
    overdue: int = Field(description="open obligations past their due time")
    due: int = Field(description="open obligations not yet due")
    by_recipient: list[RecipientCount] = Field(
        description="the recipients with the most overdue obligations, most first (ties by name)"
    )
    others: int = Field(description="overdue obligations of the recipients not in by_recipient")
    other_recipients: int = Field(description="how many recipients `others` covers")
    by_level: list[LevelCount] = Field(description="overdue obligations by their current escalation level")
    trend: list[TrendDay] = Field(description="the last days, oldest first; the last one is today")


class EventEntry(_Out):
    """An allegation event as published (its type and position, never its content)."""

    kind: Literal["event"] = "event"
    at: datetime
    event_id: str
    event_type: AllegationEventType
    sequence: int
    reporting_entity: str
    status: AllegationStatus
    changes: list[UpdateKind] = []


class NotificationEntry(_Out):
    """The bus told a recipient, and why (the routing rules that matched)."""

    kind: Literal["notification"] = "notification"
    at: datetime
    notification_id: str
    recipient: str
    recipient_class: RecipientClass
    event_type: AllegationEventType
    sequence: int
    rules: list[str]


class DeliveryEntry(_Out):
    """One attempt to push a notification over a channel (webhook, e-mail)."""

    kind: Literal["delivery"] = "delivery"
    at: datetime
    attempt_id: str
    notification_id: str
    recipient: str
    channel: DeliveryChannel
    outcome: DeliveryOutcome
    attempt: int
    http_status: int | None = None


class ResponseEntry(_Out):
    """A recipient's reply (its kind and the responding office, never its note)."""

    kind: Literal["response"] = "response"
    at: datetime
    response_id: str
    recipient: str
    response_kind: ResponseKind
    responder: str


class EscalationEntry(_Out):
    """Something was raised to a person: a reminder, an overdue obligation, an unroutable allegation."""

    kind: Literal["escalation"] = "escalation"
    at: datetime
    escalation_id: str
    level: EscalationLevel
    recipient: str | None = None
    obligation: ObligationKind | None = None
    repeat: int = 0
    due_at: datetime | None = None
    reason: str


class DeadLetterEntry(_Out):
    """A message about this allegation the bus could not process (kept on the dead-letter topic)."""

    kind: Literal["deadletter"] = "deadletter"
    at: datetime
    reason: DeadLetterReason
    source_topic: str


TimelineEntry = Annotated[
    EventEntry | NotificationEntry | DeliveryEntry | ResponseEntry | EscalationEntry | DeadLetterEntry,
    Field(discriminator="kind"),
]


class ObligationSummary(_Out):
    """The current state of one obligation of the allegation."""

    recipient: str
    obligation: ObligationKind
    state: ObligationState
    due_at: datetime
    level: EscalationLevel | None = None
    answered_at: datetime | None = None
    answered_kind: ResponseKind | None = None
    cancel_reason: str | None = None


class Timeline(_Out):
    """Everything the bus did about one allegation, oldest first."""

    allegation_id: str
    reporting_entity: str | None = None
    caught_up: bool
    entries: list[TimelineEntry]
    obligations: list[ObligationSummary]


class OwedItem(_Out):
    """One obligation of the recipient asking: what, on which allegation, by when, and whether answered."""

    allegation_id: str
    obligation: ObligationKind
    state: ObligationState = Field(description="OPEN; SATISFIED: answered; CANCELLED: a closing status")
    answered: bool = Field(description="true once a reply satisfied it (state SATISFIED)")
    created_at: datetime
    due_at: datetime
    overdue: bool = Field(description="open and past its due time")
    overdue_by_s: float | None = Field(
        default=None, description="open only: seconds past the due time; negative: seconds until it"
    )
    answered_at: datetime | None = None
    answered_kind: ResponseKind | None = Field(
        default=None, description="the kind of reply that satisfied it"
    )
    cancel_reason: str | None = None
    level: EscalationLevel | None = Field(
        default=None, description="the latest escalation of this obligation; null: none yet"
    )
    repeat: int = 0
    last_escalated_at: datetime | None = None
    policy: str
    obligation_key: str


class RecipientObligations(_Out):
    """A recipient's own obligations at ``as_of``: open first (soonest due first), then answered or cancelled."""

    recipient: str
    as_of: datetime
    caught_up: bool = Field(description="false while the view is still reading history: items may be missing")
    open: int = Field(description="how many are open")
    overdue: int = Field(description="how many are open and past their due time")
    items: list[OwedItem]
