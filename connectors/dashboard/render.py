"""HTML of the dashboard pages, as pure functions of the read model's answers.

Every value is escaped here, in one place; the templates (``*.html`` beside
this module) hold only markup. The row shapes match what ``dashboard.js``
builds when it refreshes the table, so a page looks the same before and after
its first refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template
from urllib.parse import quote

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
    """A template or static file shipped beside this module."""
    return resources.files("seabus.connectors.dashboard").joinpath(name).read_text(encoding="utf-8")


def _fill(name: str, **values: str) -> str:
    return Template(asset(name)).substitute(values)


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


def _level_badge(level: EscalationLevel | str | None, repeat: int = 0) -> str:
    name = level.value if isinstance(level, EscalationLevel) else (level or NO_LEVEL)
    label = LEVELS.get(name, name.replace("_", " ").capitalize())
    if repeat > 0:
        label += f" (repeat {repeat})"
    return f'<span class="badge level-{escape(name)}">{escape(label)}</span>'


def _td(label: str, html: str) -> str:
    return f'<td role="cell" data-label="{escape(label)}">{html}</td>'


def _allegation_link(allegation_id: str) -> str:
    ref = escape(allegation_id)
    return f'<a class="ref" href="/allegations/{quote(allegation_id, safe="")}" title="{ref}">{ref}</a>'


def _long(text: str) -> str:
    """A value that may be long (an id): it wraps in its cell, and its title holds it whole."""
    return f'<span class="long" title="{escape(text)}">{escape(text)}</span>'


def overdue_row(item: OverdueItem) -> str:
    level = item.level.value if item.level is not None else NO_LEVEL
    if item.status is DueStatus.OVERDUE:
        late = f'<span class="late">{_unbroken(duration(item.overdue_by_s))}</span>'
    else:
        late = f'<span class="early">due in {_unbroken(duration(item.overdue_by_s))}</span>'
    attrs = " ".join(
        f'{k}="{escape(v)}"'
        for k, v in (
            ("class", f"status-{item.status.value}"),
            ("data-key", item.obligation_key),
            ("data-allegation", item.allegation_id),
            ("data-recipient", item.recipient),
            ("data-level", level),
            ("data-status", item.status.value),
        )
    )
    cells = [
        f'<th scope="row" role="rowheader">{_allegation_link(item.allegation_id)}</th>',
        _td("Recipient", _long(item.recipient)),
        _td("Obligation", escape(OBLIGATIONS.get(item.obligation.value, item.obligation.value))),
        _td("Due (UTC)", _utc(item.due_at)),
        _td("Overdue by", late),
        _td("Escalation level", _level_badge(item.level, item.repeat)),
        _td("Reporting entity", _long(item.reporting_entity or "unknown")),
    ]
    return f'<tr role="row" {attrs}>' + "".join(cells) + "</tr>"


def _empty_row(columns: int, text: str) -> str:
    return f'<tr class="empty" role="row"><td colspan="{columns}" role="cell">{escape(text)}</td></tr>'


def _options(values: Iterable[str], chosen: str, all_label: str, labels: dict[str, str] | None = None) -> str:
    wanted = list(values)
    if chosen and chosen not in wanted:
        wanted.append(chosen)
    out = [f'<option value="">{escape(all_label)}</option>']
    for value in wanted:
        selected = " selected" if value == chosen else ""
        label = (labels or {}).get(value, value)
        out.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return "".join(out)


def summary(report: OverdueReport) -> str:
    text = f"{report.overdue} overdue, {report.due} not yet due · updated {report.as_of:%H:%M:%S} UTC"
    if report.truncated:
        text += f" · showing the first {len(report.items)}"
    if not report.caught_up:
        text += " · still reading the history, the list may be incomplete"
    return text


def page(*, title: str, main: str, user: str | None, scripts: Sequence[str] = ()) -> str:
    """The common frame: header (with sign-out when signed in), main content, footer."""
    account = ""
    if user is not None:
        account = (
            '<div class="account"><a href="/dashboard/stats">Statistics</a><span class="who">Signed in as '
            f"{escape(user)}</span>"
            '<form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form></div>'
        )
    tags = "".join(f'<script src="{escape(s)}" defer></script>' for s in scripts)
    return _fill("page.html", title=escape(title), account=account, main=main, scripts=tags)


def _filter_link(**query: str) -> str:
    return "/dashboard?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())


def _count_item(href: str | None, label: str, count: int, *, badge: str = "") -> str:
    name = badge or f'<span class="name">{escape(label)}</span>'
    inner = f'{name}<span class="n">{count}<span class="visually-hidden"> overdue</span></span>'
    if href is None:
        return f'<li class="others">{inner}</li>'
    return f'<li><a href="{escape(href)}" title="{escape(label)}: {count} overdue">{inner}</a></li>'


def _day_label(day: date) -> str:
    return f"{day:%d %b}"


def trend_chart(summary: OverdueSummary) -> str:
    """The trend as an inline SVG bar chart: one bar per day, a tooltip and a text alternative."""
    days = summary.trend
    if not days:
        return ""
    peak = max(d.overdue for d in days)
    scale = (CHART_H - 4) / peak if peak else 0.0
    width = CHART_W / len(days)
    bars = []
    for i, d in enumerate(days):
        height = d.overdue * scale
        today = " today" if i == len(days) - 1 else ""
        bars.append(
            f'<rect class="bar{today}" x="{i * width + BAR_GAP / 2:.2f}" y="{CHART_H - height:.2f}" '
            f'width="{width - BAR_GAP:.2f}" height="{height:.2f}">'
            f"<title>{escape(_trend_tip(d.day, d.overdue, d.newly_overdue, d.closed_late))}</title></rect>"
        )
    label = escape(trend_text(summary))
    return (
        f'<svg class="chart" viewBox="0 0 {CHART_W} {CHART_H}" preserveAspectRatio="none" role="img" '
        f'aria-labelledby="trend-svg-title" focusable="false"><title id="trend-svg-title">{label}</title>'
        f'<line class="axis" x1="0" y1="{CHART_H - 0.5}" x2="{CHART_W}" y2="{CHART_H - 0.5}"></line>'
        + "".join(bars)
        + "</svg>"
    )


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


def _trend_rows(summary: OverdueSummary) -> str:
    return "".join(
        f'<tr role="row"><th scope="row" role="rowheader">{d.day}</th>'
        + _td("Overdue at day end", str(d.overdue))
        + _td("Newly overdue", str(d.newly_overdue))
        + _td("Closed late", str(d.closed_late))
        + "</tr>"
        for d in reversed(summary.trend)
    )


def band(summary: OverdueSummary) -> str:
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
    nothing = '<li class="none">Nothing is overdue.</li>'
    first = summary.trend[0].day
    return _fill(
        "band.html",
        recipient_items="".join(recipients) or nothing,
        level_items="".join(levels) or nothing,
        days=str(len(summary.trend)),
        chart=trend_chart(summary),
        note=escape(trend_note(summary)),
        first_day=escape(_day_label(first)),
        trend_rows=_trend_rows(summary),
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
    rows = "\n".join(overdue_row(i) for i in report.items) or _empty_row(
        7, "No open obligations match these filters."
    )
    main = _fill(
        "dashboard.html",
        poll_every="second" if poll_s == 1 else f"{poll_s:g} seconds",
        poll_ms=str(int(poll_s * 1000)),
        recipient_options=_options(report.recipients, recipient, "All recipients"),
        entity_options=_options(report.reporting_entities, entity, "All entities"),
        level_options=_options(LEVEL_CHOICES, level, "All levels", LEVELS),
        status_options=_options(STATUS_CHOICES, status, "Overdue and not yet due", STATUSES),
        band=band(summary_band),
        summary=escape(summary(report)),
        rows=rows,
    )
    return page(title="Overdue obligations", main=main, user=user, scripts=["/dashboard/static/dashboard.js"])


def _obligation_row(o: ObligationSummary) -> str:
    answered = "not yet"
    if o.answered_at is not None:
        kind = o.answered_kind.value if o.answered_kind else "answered"
        answered = f"{kind} at {_utc(o.answered_at)}"
    elif o.cancel_reason:
        answered = f"cancelled: {o.cancel_reason}"
    return (
        '<tr role="row">'
        f'<th scope="row" role="rowheader">{escape(o.recipient)}</th>'
        + _td("Obligation", escape(OBLIGATIONS.get(o.obligation.value, o.obligation.value)))
        + _td("State", escape(o.state.value))
        + _td("Due (UTC)", _utc(o.due_at))
        + _td("Escalation level", _level_badge(o.level))
        + _td("Answered", escape(answered))
        + "</tr>"
    )


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


def _timeline_row(entry: TimelineEntry) -> str:
    what, who, details = _describe(entry)
    return (
        f'<tr role="row" class="entry-{entry.kind}" data-kind="{entry.kind}">'
        f'<th scope="row" role="rowheader"><time datetime="{entry.at.isoformat()}">{_utc(entry.at)}</time></th>'
        + _td("What", escape(what))
        + _td("Who", escape(who))
        + _td("Details", escape(details))
        + "</tr>"
    )


def timeline_page(timeline: Timeline, *, user: str) -> str:
    obligations = "\n".join(_obligation_row(o) for o in timeline.obligations) or _empty_row(
        6, "No obligations were created for this allegation."
    )
    entries = "\n".join(_timeline_row(e) for e in timeline.entries) or _empty_row(4, "Nothing recorded yet.")
    partial = "" if timeline.caught_up else " The bus is still reading its history: entries may be missing."
    main = _fill(
        "timeline.html",
        allegation_id=escape(timeline.allegation_id),
        reporting_entity=escape(timeline.reporting_entity or "an unknown entity"),
        partial=escape(partial),
        obligation_rows=obligations,
        timeline_rows=entries,
    )
    return page(title=f"Allegation {timeline.allegation_id}", main=main, user=user)


def not_found_page(allegation_id: str, *, user: str) -> str:
    main = (
        '<p class="back"><a href="/dashboard">Back to overdue obligations</a></p>'
        f"<h1>Allegation {escape(allegation_id)}</h1>"
        '<p class="error" role="alert">The bus has recorded nothing about this allegation. Check the '
        "reference; a new allegation appears once its first event was routed.</p>"
    )
    return page(title="Allegation not found", main=main, user=user)


def login_page(*, next_path: str, error: str | None = None) -> str:
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    main = _fill("login.html", next=escape(next_path), error=alert)
    return page(title="Sign in", main=main, user=None)
