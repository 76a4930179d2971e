"""The words the deadline logic shares with the contract.

Recipient classes, response kinds, obligation kinds, escalation levels,
statuses and event types come from :mod:`seabus.schemas.enums` (the Avro symbols), so
what is stored and what travels use one spelling. Only the obligation state is
the deadline logic's own.
"""

from __future__ import annotations

from enum import StrEnum

from seabus.schemas.enums import AllegationEventType as EventType
from seabus.schemas.enums import (
    AllegationStatus,
    EscalationLevel,
    ObligationKind,
    RecipientClass,
    ResponseKind,
)

__all__ = [
    "AllegationStatus",
    "EscalationLevel",
    "EventType",
    "ObligationKind",
    "ObligationState",
    "RecipientClass",
    "ResponseKind",
]


class ObligationState(StrEnum):
    """An obligation is open until answered (satisfied) or made moot (cancelled)."""

    OPEN = "OPEN"
    SATISFIED = "SATISFIED"
    CANCELLED = "CANCELLED"
