"""HTML of the dashboard pages, as pure functions of the read model's answers.

The markup is in Jinja2 templates beside this module (``*.html``, macros in
``parts.html``) with autoescape on: the functions here compute plain text and
numbers, and no value reaches a page unescaped, by construction. The row shapes
match what ``dashboard.js`` builds when it refreshes the table, so a page looks
the same before and after its first refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from seabus.schemas.enums import EscalationLevel
from seabus.streams.views.models import (
    NO_LEVEL,
    DeadLetterEntry,
    DeliveryEntry,
    DueStatus,
    EscalationEntry,
    EventEntry,
    NotificationEntry,
    ObligationSummary,
    OverdueItem,
    OverdueReport,
    OverdueSummary,
    ResponseEntry,
    Timeline,
    TimelineEntry,
)

__all__ = [
    "LEVEL_CHOICES",
    "STATUS_CHOICES",
    "asset",
    "band",
    "dashboard_page",
    "duration",
    "login_page",
    "template",
    "timeline_page",
]

LEVELS = {
    NO_LEVEL: "Not escalated",
    "REMINDER": "Reminder sent",
    "OVERDUE": "Overdue",
    "SECOND_LEVEL": "Second level",
}
OBLIGATIONS = {
    "ACKNOWLEDGE": "Acknowledge receipt",
    "DECIDE": "Decide on investigation",
    "REPORT_OUTCOME": "Report the outcome",
}
LEVEL_CHOICES: tuple[str, ...] = (NO_LEVEL, "REMINDER", "OVERDUE", "SECOND_LEVEL")
"""The escalation levels the filter offers (those an obligation can be at)."""
STATUSES = {"OVERDUE": "Overdue", "DUE": "Not yet due"}
STATUS_CHOICES: tuple[str, ...] = ("OVERDUE", "DUE")

# The trend chart's drawing box (SVG user units); CSS stretches it to the panel's width.
CHART_W, CHART_H, BAR_GAP = 300, 60, 2


@cache
def asset(name: str) -> str:
    """A static file shipped beside this module (stylesheets, dashboard.js)."""
    return resources.files("seabus.connectors.dashboard").joinpath(name).read_text(encoding="utf-8")


def _escaped(value: Any) -> Any:
    """Every ``{{ value }}`` goes through here before autoescape; markup (a macro's output) passes as is.

    html.escape's entity forms (``&quot;``, ``&#x27;``) rather than markupsafe's (``&#34;``, ``&#39;``):
    the pages stay byte for byte what they were before templates, and what the tests look for.
    """
    if hasattr(value, "__html__"):
        return value
    return Markup(escape(str(value)))


@cache
def _environment() -> jinja2.Environment:
    """The pages' templates (the same setup as the formal notices': autoescape, undefined is an error)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("seabus.connectors.dashboard", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_escaped,
    )
    env.filters["segment"] = lambda value: quote(str(value), safe="")
    return env


def template(name: str, **values: Any) -> Markup:
    """A template beside this module, rendered with every value autoescaped.

    The result is markup, to be placed in another template (a page's ``main``) unescaped.
    """
    return Markup(_environment().get_template(name).render(**values))


NBSP = "\u00a0"


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 5 min``, ``3 d 4 h`` (the same as dashboard.js)."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {(s % 3600) // 60} min"
    return f"{s // 86400} d {(s % 86400) // 3600} h"


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _unbroken(text: str) -> str:
    """No-break spaces: in a narrow column a duration stays whole and only "due in" wraps before it."""
    return text.replace(" ", NBSP)


Row = dict[str, Any]
"""What a macro in ``parts.html`` draws: plain text and numbers (and other rows), never markup."""


def _level_badge(level: EscalationLevel | str | None, repeat: int = 0) -> Row:
    name = level.value if isinstance(level, EscalationLevel) else (level or NO_LEVEL)
    label = LEVELS.get(name, name.replace("_", " ").capitalize())
    if repeat > 0:
        label += f" (repeat {repeat})"
    return {"name": name, "label": label}


def _obligation_label(value: str) -> str:
    return OBLIGATIONS.get(value, value)


def _overdue_row(item: OverdueItem) -> Row:
    early = item.status is not DueStatus.OVERDUE
    late = _unbroken(duration(item.overdue_by_s))
    return {
        "status": item.status.value,
        "key": item.obligation_key,
        "allegation_id": item.allegation_id,
        "recipient": item.recipient,
        "level": item.level.value if item.level is not None else NO_LEVEL,
        "obligation": _obligation_label(item.obligation.value),
        "due": _utc(item.due_at),
        "late_class": "early" if early else "late",
        "late": f"due in {late}" if early else late,
        "badge": _level_badge(item.level, item.repeat),
        "entity": item.reporting_entity or "unknown",
    }


def _options(
    values: Iterable[str], chosen: str, all_label: str, labels: dict[str, str] | None = None
) -> list[Row]:
    wanted = list(values)
    if chosen and chosen not in wanted:
        wanted.append(chosen)
    out: list[Row] = [{"value": "", "label": all_label, "selected": False}]
    for value in wanted:
        out.append({"value": value, "label": (labels or {}).get(value, value), "selected": value == chosen})
    return out


def summary(report: OverdueReport) -> str:
    text = f"{report.overdue} overdue, {report.due} not yet due · updated {report.as_of:%H:%M:%S} UTC"
    if report.truncated:
        text += f" · showing the first {len(report.items)}"
    if not report.caught_up:
        text += " · still reading the history, the list may be incomplete"
    return text


def page(*, title: str, main: Markup, user: str | None, scripts: Sequence[str] = ()) -> str:
    """The common frame: header (with sign-out when signed in), main content, footer."""
    return str(template("page.html", title=title, user=user, main=main, scripts=scripts))


def _filter_link(**query: str) -> str:
    return "/dashboard?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())


def _count_item(href: str | None, label: str, count: int, *, badge: Row | None = None) -> Row:
    return {"href": href, "label": label, "count": count, "badge": badge}


def _day_label(day: date) -> str:
    return f"{day:%d %b}"


def _trend_chart(summary: OverdueSummary) -> Row:
    """The trend as an inline SVG bar chart: one bar per day, a tooltip and a text alternative."""
    days = summary.trend
    peak = max(d.overdue for d in days)
    scale = (CHART_H - 4) / peak if peak else 0.0
    width = CHART_W / len(days)
    bars = [
        {
            "today": i == len(days) - 1,
            "x": f"{i * width + BAR_GAP / 2:.2f}",
            "y": f"{CHART_H - d.overdue * scale:.2f}",
            "width": f"{width - BAR_GAP:.2f}",
            "height": f"{d.overdue * scale:.2f}",
            "tip": _trend_tip(d.day, d.overdue, d.newly_overdue, d.closed_late),
        }
        for i, d in enumerate(days)
    ]
    return {
        "width": CHART_W,
        "height": CHART_H,
        "axis_y": CHART_H - 0.5,
        "label": trend_text(summary),
        "bars": bars,
    }


def _trend_tip(day: date, overdue: int, newly: int, closed: int) -> str:
    return f"{day}: {overdue} overdue at the end of the day, {newly} newly overdue, {closed} closed late"


def trend_text(summary: OverdueSummary) -> str:
    """The chart in one sentence (its accessible name; dashboard.js says the same)."""
    days = summary.trend
    values = [d.overdue for d in days]
    return (
        f"Overdue at the end of each day, {days[0].day} to {days[-1].day}: "
        f"lowest {min(values)}, highest {max(values)}, now {values[-1]}"
    )


def trend_note(summary: OverdueSummary) -> str:
    """The chart's scale in words, under it (dashboard.js says the same)."""
    values = [d.overdue for d in summary.trend]
    return f"Highest {max(values)} · now {values[-1]} (the dark red bar is today, so far)"


def band(summary: OverdueSummary) -> Markup:
    """The band above the table: overdue by recipient and by level, and the trend (same as dashboard.js)."""
    recipients = [
        _count_item(_filter_link(recipient=r.recipient, status="OVERDUE"), r.recipient, r.overdue)
        for r in summary.by_recipient
    ]
    if summary.other_recipients:
        others = f"{summary.other_recipients} other recipient" + ("s" if summary.other_recipients > 1 else "")
        recipients.append(_count_item(None, others, summary.others))
    levels = [
        _count_item(
            _filter_link(level=lc.level, status="OVERDUE"),
            LEVELS.get(lc.level, lc.level),
            lc.overdue,
            badge=_level_badge(lc.level),
        )
        for lc in summary.by_level
    ]
    return template(
        "band.html",
        recipients=recipients,
        levels=levels,
        days=len(summary.trend),
        chart=_trend_chart(summary),
        note=trend_note(summary),
        first_day=_day_label(summary.trend[0].day),
        trend=list(reversed(summary.trend)),
    )


def dashboard_page(
    report: OverdueReport,
    *,
    summary_band: OverdueSummary,
    user: str,
    recipient: str,
    entity: str,
    level: str,
    status: str = "",
    poll_s: float,
) -> str:
    main = template(
        "dashboard.html",
        poll_every="second" if poll_s == 1 else f"{poll_s:g} seconds",
        poll_ms=int(poll_s * 1000),
        recipient_options=_options(report.recipients, recipient, "All recipients"),
        entity_options=_options(report.reporting_entities, entity, "All entities"),
        level_options=_options(LEVEL_CHOICES, level, "All levels", LEVELS),
        status_options=_options(STATUS_CHOICES, status, "Overdue and not yet due", STATUSES),
        band=band(summary_band),
        summary=summary(report),
        items=[_overdue_row(i) for i in report.items],
    )
    return page(title="Overdue obligations", main=main, user=user, scripts=["/dashboard/static/dashboard.js"])


def _obligation_row(o: ObligationSummary) -> Row:
    answered = "not yet"
    if o.answered_at is not None:
        kind = o.answered_kind.value if o.answered_kind else "answered"
        answered = f"{kind} at {_utc(o.answered_at)}"
    elif o.cancel_reason:
        answered = f"cancelled: {o.cancel_reason}"
    return {
        "recipient": o.recipient,
        "obligation": _obligation_label(o.obligation.value),
        "state": o.state.value,
        "due": _utc(o.due_at),
        "badge": _level_badge(o.level),
        "answered": answered,
    }


def _describe(entry: TimelineEntry) -> tuple[str, str, str]:
    """(what, who, details) of one timeline entry, as plain text."""
    if isinstance(entry, EventEntry):
        changes = f"; changes: {', '.join(c.value for c in entry.changes)}" if entry.changes else ""
        return (
            f"{entry.event_type.value} event",
            entry.reporting_entity,
            f"sequence {entry.sequence}, status {entry.status.value}{changes}",
        )
    if isinstance(entry, NotificationEntry):
        return (
            "Notified",
            entry.recipient,
            f"{entry.event_type.value} (sequence {entry.sequence}); rules: {', '.join(entry.rules) or 'none'}",
        )
    if isinstance(entry, DeliveryEntry):
        status = f", HTTP {entry.http_status}" if entry.http_status is not None else ""
        return (
            f"{entry.channel.value.capitalize()} delivery",
            entry.recipient,
            f"attempt {entry.attempt}: {entry.outcome.value}{status}",
        )
    if isinstance(entry, ResponseEntry):
        return ("Reply", entry.recipient, f"{entry.response_kind.value} from {entry.responder}")
    if isinstance(entry, EscalationEntry):
        level = LEVELS.get(entry.level.value, entry.level.value.replace("_", " ").capitalize())
        return (f"Escalation: {level}", entry.recipient or "on-call", entry.reason)
    assert isinstance(entry, DeadLetterEntry)
    return ("Dead-lettered", entry.source_topic, f"reason {entry.reason.value}")


def _timeline_row(entry: TimelineEntry) -> Row:
    what, who, details = _describe(entry)
    return {
        "kind": entry.kind,
        "iso": entry.at.isoformat(),
        "at": _utc(entry.at),
        "what": what,
        "who": who,
        "details": details,
    }


def timeline_page(timeline: Timeline, *, user: str) -> str:
    main = template(
        "timeline.html",
        allegation_id=timeline.allegation_id,
        reporting_entity=timeline.reporting_entity or "an unknown entity",
        partial=""
        if timeline.caught_up
        else " The bus is still reading its history: entries may be missing.",
        obligations=[_obligation_row(o) for o in timeline.obligations],
        entries=[_timeline_row(e) for e in timeline.entries],
    )
    return page(title=f"Allegation {timeline.allegation_id}", main=main, user=user)


def not_found_page(allegation_id: str, *, user: str) -> str:
    main = template("not_found.html", allegation_id=allegation_id)
    return page(title="Allegation not found", main=main, user=user)


def login_page(*, next_path: str, error: str | None = None) -> str:
    main = template("login.html", next=next_path, error=error or "")
    return page(title="Sign in", main=main, user=None)
