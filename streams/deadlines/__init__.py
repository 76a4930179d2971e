"""Deadlines: obligations created by notifications, answered by responses, escalated by time.

Pure logic with no Kafka and no clock reads: the Faust agents pass in the
stores, the events and the current time (see :mod:`streams.deadlines.engine`).
"""

from streams.deadlines.calendar import HolidaySet, WorkingCalendar, add_working_days
from streams.deadlines.clock import Clock, ManualClock, SystemClock
from streams.deadlines.codec import ValueFormat
from streams.deadlines.due_index import DueIndex
from streams.deadlines.durations import IsoDuration
from streams.deadlines.engine import (
    AllegationRecord,
    DeadlineEngine,
    ResponseOutcome,
    ResponseResult,
    Store,
)
from streams.deadlines.obligations import (
    EscalationDraft,
    Obligation,
    PendingResponse,
    Step,
    apply_pending,
    apply_response,
    cancel,
    escalation_id,
    fire_due,
    merge_planned,
    next_step,
    obligation_key,
    plan_obligations,
    schedule,
)
from streams.deadlines.policy import CaseFacts, Policy, PolicySet, Window, load_policies
from streams.deadlines.vocabulary import (
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
