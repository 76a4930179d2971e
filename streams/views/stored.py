"""What the read model keeps of an obligation update: the fields the views show, in slots.

A decoded ``ObligationUpdate`` model costs ~1.9 kB per obligation in the index;
this keeps the same fields (repeated strings interned) in about a quarter of
that, which matters at hundreds of thousands of open obligations.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

from seabus.schemas.enums import (
    EscalationLevel,
    ObligationKind,
    ObligationState,
    RecipientClass,
    ResponseKind,
)
from seabus.schemas.models import ObligationUpdate

__all__ = ["StoredObligation"]


def _intern(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredObligation:
    obligation_key: str
    allegation_id: str
    recipient: str
    recipient_class: RecipientClass
    kind: ObligationKind
    policy: str
    reporting_entity: str | None
    created_at: datetime
    due_at: datetime
    state: ObligationState
    last_level: EscalationLevel | None
    escalations_fired: int
    updated_at: datetime
    answered_at: datetime | None
    answered_kind: ResponseKind | None
    cancel_reason: str | None

    @classmethod
    def of(cls, u: ObligationUpdate) -> StoredObligation:
        return cls(
            obligation_key=u.obligation_key,
            allegation_id=u.allegation_id,
            recipient=sys.intern(u.recipient),
            recipient_class=u.recipient_class,
            kind=u.kind,
            policy=sys.intern(u.policy),
            reporting_entity=_intern(u.reporting_entity),
            created_at=u.created_at,
            due_at=u.due_at,
            state=u.state,
            last_level=u.last_level,
            escalations_fired=u.escalations_fired,
            updated_at=u.updated_at,
            answered_at=u.answered_at,
            answered_kind=u.answered_kind,
            cancel_reason=u.cancel_reason,
        )
