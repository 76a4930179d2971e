"""The e-mail of an escalation: to the recipient who owes (or OSC), and the on-call page.

Like a notification's notice it crosses systems the bus does not control, so
it is built from the escalation's structured fields alone — ids, who owes,
what, the step and the due time — never from its free-text ``reason`` and
never from the allegation (an escalation holds nothing confidential to begin
with; this keeps it so if the record ever grows).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from seabus.connectors.email.notice import default_reply_instructions
from seabus.connectors.errors import EmailConfigError
from seabus.schemas.enums import EscalationLevel
from seabus.schemas.models import Escalation

__all__ = ["escalation_lines", "render_escalation_email"]

_STEP = {
    EscalationLevel.REMINDER: "Reminder: a reply is due soon",
    EscalationLevel.OVERDUE: "Overdue: the reply was due and has not arrived",
    EscalationLevel.SECOND_LEVEL: "Second level: raised to the Special Coordinator",
    EscalationLevel.OVERDUE_SUMMARY: "Overdue at import: replies were already due when the bus learnt of the cases",
    EscalationLevel.UNROUTABLE: "Unroutable: no Member State could be determined",
    EscalationLevel.DELIVERY_FAILED: "Delivery failed: a recipient was not told",
    EscalationLevel.ENDPOINT_DISABLED: "Webhook endpoint disabled (410 Gone)",
}


def _when(at: datetime, zone: str | None) -> str:
    utc = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not zone or zone == "UTC":
        return utc
    return f"{utc} ({at.astimezone(ZoneInfo(zone)).strftime('%Y-%m-%d %H:%M')} {zone} time)"


def escalation_lines(e: Escalation, *, time_zone: str | None = None) -> list[str]:
    """The facts of one escalation, one per line: what every channel may say about it."""
    step = _STEP.get(e.level, e.level.value)
    lines = [
        f"Allegation reference: {e.allegation_id}",
        f"Escalation:           {e.level.value}{f' (repeat {e.repeat})' if e.repeat else ''} - {step}",
    ]
    if e.recipient:
        lines.append(f"Concerns recipient:   {e.recipient}")
    if e.obligation is not None:
        lines.append(f"Obligation:           {e.obligation.value}")
    if e.due_at is not None:
        lines.append(f"Due:                  {_when(e.due_at, time_zone)}")
    if e.obligation_keys:  # an OVERDUE_SUMMARY: what it stands for (ids only)
        shown = ", ".join(e.obligation_keys[:20])
        more = f" and {len(e.obligation_keys) - 20} more" if len(e.obligation_keys) > 20 else ""
        lines.append(f"Covers:               {len(e.obligation_keys)} obligation(s): {shown}{more}")
    lines += [
        f"Raised:               {_when(e.fired_at, time_zone)}",
        f"Escalation id:        {e.escalation_id}",
    ]
    return lines


def render_escalation_email(
    e: Escalation,
    *,
    to: tuple[str, ...],
    addressee: str,
    message_id: str,
    date: datetime,
    time_zone: str | None = None,
    gateway_url: str | None = None,
    page: bool = False,
) -> EmailMessage:
    """Plain text: the facts, and for a recipient how to reply; ``page`` words it for on-call."""
    if not to:
        raise EmailConfigError(f"no address to send escalation {e.escalation_id} to; configure one")
    owed = f", {e.obligation.value} owed by {e.recipient}" if e.obligation is not None and e.recipient else ""
    tag = "[seabus page]" if page else "[seabus]"
    body = [
        f"To {addressee},",
        "",
        "The United Nations notification bus on sexual exploitation and abuse raises an",
        "escalation. For confidentiality no allegation content is sent by e-mail.",
        "",
        *escalation_lines(e, time_zone=time_zone),
        "",
    ]
    if gateway_url and not page:
        body += [
            "To reply:",
            default_reply_instructions(gateway_url=gateway_url, allegation_ref=e.allegation_id),
            "",
        ]
    if page:
        body += ["The dashboard's timeline of this allegation shows who was told what, and when.", ""]
    body.append("This message is generated automatically; do not reply to it by e-mail.")
    message = EmailMessage()
    try:
        message["Subject"] = f"{tag} Allegation {e.allegation_id}: {e.level.value}{owed}"
        message["To"] = ", ".join(to)
        message["Date"] = format_datetime(date)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
    except ValueError as exc:  # a line break in a header value
        raise EmailConfigError(f"cannot build the e-mail of escalation {e.escalation_id}: {exc}") from exc
    message.set_content("\n".join(body) + "\n")
    return message
