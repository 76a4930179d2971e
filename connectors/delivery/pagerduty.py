"""The on-call webhook's body: a PagerDuty Events API v2 ``trigger`` event.

Why this format (docs/ONCALL.md says the same): it is a documented *inbound*
event API with a deduplication key, so a step the bus sends twice (a retry, a
restart) collapses into one alert at the receiver with ``dedup_key`` =
``escalation_id``; PagerDuty, and the incident tools that offer a
PagerDuty-compatible inbound integration, route it without an adapter.
Alertmanager's webhook is outbound only (feeding alerts in means its own
alerts API, deduplicated by label set), and Atlassian has announced the end
of Opsgenie as a stand-alone product.

Only ids, the recipient, the step and the times go into the event: never the
escalation's free-text reason, never anything about victims, witnesses or
subjects.
"""

from __future__ import annotations

from typing import Any

from seabus.schemas.enums import EscalationLevel
from seabus.schemas.models import Escalation

__all__ = ["SEVERITY", "page_summary", "pagerduty_event"]

SEVERITY: dict[EscalationLevel, str] = {
    EscalationLevel.REMINDER: "info",
    EscalationLevel.OVERDUE: "warning",
    EscalationLevel.SECOND_LEVEL: "critical",
    EscalationLevel.OVERDUE_SUMMARY: "warning",
    EscalationLevel.UNROUTABLE: "error",
    EscalationLevel.DELIVERY_FAILED: "error",
    EscalationLevel.ENDPOINT_DISABLED: "error",
}
"""Events v2 severities (critical, error, warning, info) by escalation level."""

_SUMMARY_MAX = 1024  # Events v2 truncates longer summaries


def _iso(e: Escalation, name: str) -> str | None:
    value = getattr(e, name)
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def page_summary(e: Escalation) -> str:
    """One line from the structured fields: level, who owes what on which allegation, due when."""
    repeat = f" (repeat {e.repeat})" if e.repeat else ""
    owed = f": {e.obligation.value} owed by {e.recipient}" if e.obligation is not None else ""
    if not owed and e.recipient:
        owed = f": recipient {e.recipient}"
    due = f", due {_iso(e, 'due_at')}" if e.due_at is not None else ""
    return f"seabus {e.level.value}{repeat} on allegation {e.allegation_id}{owed}{due}"[:_SUMMARY_MAX]


def pagerduty_event(e: Escalation, *, routing_key: str, source: str) -> dict[str, Any]:
    """``POST /v2/enqueue`` body triggering one alert per escalation step."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": e.escalation_id,
        "payload": {
            "summary": page_summary(e),
            "severity": SEVERITY.get(e.level, "warning"),
            "source": source,
            "timestamp": _iso(e, "fired_at"),
            "component": e.recipient or "seabus",
            "group": "seabus-escalations",
            "class": e.level.value,
            "custom_details": {
                "escalation_id": e.escalation_id,
                "allegation_id": e.allegation_id,
                "recipient": e.recipient,
                "obligation": None if e.obligation is None else e.obligation.value,
                "level": e.level.value,
                "repeat": e.repeat,
                "due_at": _iso(e, "due_at"),
                "fired_at": _iso(e, "fired_at"),
            },
        },
    }
