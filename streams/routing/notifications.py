"""Building the notifications of one routed event: ids, reasons, minimised snapshots.

``notification_id`` is a UUIDv5 of (event id, recipient): the same event routed
again after a crash yields the same id, so a recipient recognises a redelivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from seabus.schemas.ids import notification_id
from seabus.schemas.models import AllegationEvent, Notification, Obligation, RoutingReason
from seabus.schemas.validation import recipient_class_of
from seabus.streams.routing.minimise import minimise
from seabus.streams.routing.rules import RouteChoice, RoutingRules

EARLIER = RouteChoice("earlier-recipient", "received earlier notifications of this allegation")


def build_notifications(
    event: AllegationEvent,
    *,
    recipients: dict[str, list[RouteChoice]],
    rules: RoutingRules,
    routed_at: datetime,
    obligations: Mapping[str, Iterable[Obligation]] | None = None,
) -> list[Notification]:
    """One notification per recipient, each with only what its profile allows."""
    out = []
    for recipient, choices in recipients.items():
        rclass = recipient_class_of(recipient)
        if rclass is None:  # pragma: no cover - rules only admit valid ids
            continue
        profile = rules.profiles[rclass.value]  # type: ignore[index]
        out.append(
            Notification(
                notification_id=notification_id(event.event_id, recipient),
                recipient=recipient,
                recipient_class=rclass,
                reasons=tuple(RoutingReason(rule=c.rule, explanation=c.explanation) for c in choices),
                source_event_id=event.event_id,
                source_published_at=event.published_at,
                event_type=event.event_type,
                changes=event.changes,
                allegation_id=event.allegation_id,
                sequence=event.sequence,
                routed_at=routed_at,
                allegation=minimise(
                    event.allegation, recipient=recipient, recipient_class=rclass, profile=profile
                ),
                obligations=tuple((obligations or {}).get(recipient, ())),
            )
        )
    return out
