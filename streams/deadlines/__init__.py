"""Deadlines: obligations created by notifications, answered by responses, escalated by time.

Pure logic with no Kafka and no clock reads: the Faust agents pass in the
stores, the events and the current time (see :mod:`seabus.streams.deadlines.engine`).
"""

from seabus.schemas.ids import escalation_id
from seabus.streams.deadlines.calendar import HolidaySet, WorkingCalendar, add_working_days
from seabus.streams.deadlines.clock import Clock, ManualClock, SystemClock
from seabus.streams.deadlines.codec import ValueFormat
from seabus.streams.deadlines.due_index import DueIndex
from seabus.streams.deadlines.durations import IsoDuration
from seabus.streams.deadlines.engine import (
    AllegationRecord,
    DeadlineEngine,
    ResponseOutcome,
    ResponseResult,
    Store,
)
from seabus.streams.deadlines.obligations import (
    EscalationDraft,
    Obligation,
    PendingResponse,
    Step,
    apply_pending,
    apply_response,
    cancel,
    fire_due,
    merge_planned,
    next_step,
    obligation_key,
    plan_obligations,
    schedule,
)
from seabus.streams.deadlines.policy import CaseFacts, Policy, PolicySet, Window, load_policies
from seabus.streams.deadlines.vocabulary import (
    AllegationStatus,
    EscalationLevel,
    EventType,
    ObligationKind,
    ObligationState,
    RecipientClass,
    ResponseKind,
)

__all__ = [
    "AllegationRecord",
    "AllegationStatus",
    "CaseFacts",
    "Clock",
    "DeadlineEngine",
    "DueIndex",
    "EscalationDraft",
    "EscalationLevel",
    "EventType",
    "HolidaySet",
    "IsoDuration",
    "ManualClock",
    "Obligation",
    "ObligationKind",
    "ObligationState",
    "PendingResponse",
    "Policy",
    "PolicySet",
    "RecipientClass",
    "ResponseKind",
    "ResponseOutcome",
    "ResponseResult",
    "Step",
    "Store",
    "SystemClock",
    "ValueFormat",
    "Window",
    "WorkingCalendar",
    "add_working_days",
    "apply_pending",
    "apply_response",
    "cancel",
    "escalation_id",
    "fire_due",
    "load_policies",
    "merge_planned",
    "next_step",
    "obligation_key",
    "plan_obligations",
    "schedule",
]
