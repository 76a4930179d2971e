"""Ordering and filtering the open obligations: the overdue view as a pure function.

Overdue obligations come first, the longest overdue at the top; then those not
yet due, soonest first. An obligation's level is its latest escalation, taken
from whichever is newer: the escalation record itself or the obligation update
that recorded it (the two topics are read independently, so either may be
seen first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from seabus.schemas.enums import EscalationLevel
from seabus.schemas.models import Escalation
from seabus.streams.views.models import NO_LEVEL, DueStatus, OverdueItem
from seabus.streams.views.stored import StoredObligation

__all__ = ["OverdueFilter", "current_level", "order_items", "overdue_item"]


@dataclass(frozen=True, kw_only=True)
class OverdueFilter:
    """Keep items matching every given criterion; an empty set means no restriction."""

    recipients: frozenset[str] = field(default_factory=frozenset)
    entities: frozenset[str] = field(default_factory=frozenset)
    levels: frozenset[str] = field(default_factory=frozenset)
    """Escalation level names, or ``NONE`` for not escalated yet."""
    statuses: frozenset[DueStatus] = field(default_factory=frozenset)

    def is_empty(self) -> bool:
        return not (self.recipients or self.entities or self.levels or self.statuses)

    def matches(self, item: OverdueItem) -> bool:
        return self.matches_fields(
            recipient=item.recipient, entity=item.reporting_entity, level=item.level, status=item.status
        )

    def matches_fields(
        self, *, recipient: str, entity: str | None, level: EscalationLevel | None, status: DueStatus
    ) -> bool:
        name = level.value if level is not None else NO_LEVEL
        return (
            (not self.recipients or recipient in self.recipients)
            and (not self.entities or (entity or "") in self.entities)
            and (not self.levels or name in self.levels)
            and (not self.statuses or status in self.statuses)
        )


def current_level(
    update: StoredObligation, escalation: Escalation | None
) -> tuple[EscalationLevel | None, int, datetime | None]:
    """The latest level, its repeat and when it fired (from the update or the escalation, newer wins)."""
    if escalation is not None and (update.last_level is None or escalation.fired_at >= update.updated_at):
        return escalation.level, escalation.repeat, escalation.fired_at
    if update.last_level is not None:
        return update.last_level, 0, None
    return None, 0, None


def overdue_item(
    update: StoredObligation,
    *,
    escalation: Escalation | None,
    reporting_entity: str | None,
    now: datetime,
) -> OverdueItem:
    level, repeat, fired_at = current_level(update, escalation)
    overdue_by = (now - update.due_at).total_seconds()
    return OverdueItem(
        allegation_id=update.allegation_id,
        recipient=update.recipient,
        recipient_class=update.recipient_class,
        obligation=update.kind,
        reporting_entity=update.reporting_entity or reporting_entity,
        policy=update.policy,
        created_at=update.created_at,
        due_at=update.due_at,
        status=DueStatus.OVERDUE if overdue_by >= 0 else DueStatus.DUE,
        overdue_by_s=round(overdue_by, 3),
        level=level,
        repeat=repeat,
        last_escalated_at=fired_at,
        escalations_fired=update.escalations_fired,
        obligation_key=update.obligation_key,
    )


def order_items(items: Iterable[OverdueItem]) -> list[OverdueItem]:
    """Overdue first (longest overdue first), then the rest by due time; ties by reference.

    The rule itself: ``ViewIndex`` keeps this order incrementally, and its tests check it against this.
    """

    def key(item: OverdueItem) -> tuple[int, float, str, str, str]:
        first = 0 if item.status is DueStatus.OVERDUE else 1
        return (first, -item.overdue_by_s, item.allegation_id, item.recipient, item.obligation.value)

    return sorted(items, key=key)
