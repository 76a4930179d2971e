"""``/dashboard/stats`` (the statistics as a page with charts) and ``GET /v1/stats`` (JSON or CSV).

Both answer from the :class:`seabus.streams.stats.StatsIndex` the bus's read model
feeds, with the same suppression as ``seabus stats`` (docs/STATISTICS.md): a
withheld count is shown as "withheld", never as a number or a bar. The page
uses the dashboard's sign-in and stylesheet; charts are inline SVG drawn here
(bar lengths are SVG attributes, so the page's Content-Security-Policy, which
forbids inline styles and scripts, holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from seabus.connectors.dashboard import render
from seabus.connectors.dashboard.pages import PAGE_HEADERS, _signed_in
from seabus.connectors.dashboard.state import DASHBOARD, NO_STORE
from seabus.connectors.gateway.openapi import problem_responses, query_parameter
from seabus.connectors.gateway.problems import HttpProblem, ProblemType
from seabus.connectors.gateway.state import GatewayState, RouteModule
from seabus.streams.stats import PeriodError, StatsIndex, StatsReport, build_report, parse_period
from seabus.streams.stats.export import to_csv, to_json
from seabus.streams.stats.periods import year_of
from seabus.streams.stats.tables import MEDIANS

__all__ = ["STATS", "STATS_API_PATH", "STATS_PAGE_PATH", "StatsState", "stats_module", "stats_page"]

STATS_PAGE_PATH = "/dashboard/stats"
STATS_API_PATH = "/v1/stats"
STATS_CSS_PATH = "/dashboard/stats.css"

TITLES = {
    "allegations": "Allegations",
    "by_entity": "By reporting entity",
    "by_personnel_category": "By category of personnel",
    "by_nationality": "By nationality of uniformed personnel",
    "by_type": "By type of allegation",
    "by_sub_type": "By sub-type",
    "victims": "Victims by sex and age group",
    "by_status": "Investigations: where each allegation stands",
    "by_investigating_entity": "By investigating entity",
    "by_outcome": "Outcomes",
    "by_action_taken": "Action taken",
    "by_interim_action": "Interim actions",
    "paternity_claims": "Paternity claims",
    "referrals": "Referrals for criminal accountability",
}
NOTES = {
    "by_personnel_category": "An allegation with subjects of several categories counts once in each.",
    "by_nationality": "Military contingents, formed police units, UN police, military staff officers and "
    "government-provided personnel; an allegation counts once per nationality.",
    "victims": "Counts of victims, not of allegations.",
    "referrals": "Allegations for which a decision on referral was reported (REFERRAL_DECIDED).",
}


@dataclass(frozen=True, kw_only=True)
class StatsState:
    index: StatsIndex
    min_cell: int


STATS: web.AppKey[StatsState] = web.AppKey("seabus_stats", StatsState)


def stats_module(*, index: StatsIndex, min_cell: int) -> RouteModule:
    """The route module serving the page and the API over ``index``."""
    state = StatsState(index=index, min_cell=min_cell)

    def register(app: web.Application, gw: GatewayState) -> None:
        app[STATS] = state
        app.router.add_get(STATS_PAGE_PATH, page)
        app.router.add_get(STATS_CSS_PATH, stylesheet)
        app.router.add_get(STATS_API_PATH, api)
        for path, operation in _operations():
            gw.openapi.add_operation(path, "get", operation)

    return register


def _report(request: web.Request) -> StatsReport:
    state = request.app[STATS]
    now = request.app[DASHBOARD].clock()
    try:
        choice = parse_period(request.query.get("period"), now=now)
    except PeriodError as exc:
        raise HttpProblem(
            400, type_=ProblemType.MALFORMED_REQUEST, title="Invalid Period", detail=str(exc)
        ) from exc
    return build_report(state.index, choice=choice, min_cell=state.min_cell, now=now)


async def api(request: web.Request) -> web.Response:
    request.app[DASHBOARD].auth.api_user(request)
    report = _report(request)
    fmt = request.query.get("format", "json").lower()
    if fmt == "csv":
        return web.Response(text=to_csv(report), content_type="text/csv", headers=NO_STORE)
    if fmt != "json":
        raise HttpProblem(
            400, type_=ProblemType.MALFORMED_REQUEST, title="Invalid Format", detail="format is json or csv"
        )
    return web.Response(text=to_json(report, indent=None), content_type="application/json", headers=NO_STORE)


async def page(request: web.Request) -> web.Response:
    dashboard = request.app[DASHBOARD]
    user = _signed_in(request, dashboard)
    report = _report(request)
    state = request.app[STATS]
    html = stats_page(
        report,
        user=user,
        periods=_known_periods(state.index, dashboard.clock()),
        caught_up=dashboard.read_model.status().caught_up,
    )
    return web.Response(text=html, content_type="text/html", headers=PAGE_HEADERS)


async def stylesheet(_request: web.Request) -> web.Response:
    return web.Response(
        text=render.asset("stats.css"),
        content_type="text/css",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _known_periods(index: StatsIndex, now: datetime) -> list[str]:
    years = {year_of(f.reported_at) for f in index.allegations.values()} | {year_of(now)}
    quarters = {
        f"{f.reported_at.year:04d}-Q{(f.reported_at.month - 1) // 3 + 1}" for f in index.allegations.values()
    }
    return ["all", *sorted(years | quarters, reverse=True)]


# -- HTML --------------------------------------------------------------------------


CODES = frozenset({"period", "reporting_entity", "nationality", "member_state", "investigating_entity"})
"""Columns whose values are codes (entities, ISO 3166 states, periods), shown as they are."""
HEADERS = {
    "count": "Count",
    "median_hours_to_notification": "Notified (median h)",
    "median_hours_to_acknowledgement": "Acknowledged (median h)",
    "median_hours_to_decision": "Decided (median h)",
    "median_hours_to_outcome": "Outcome (median h)",
    "answered_late_share": "Answered late",
}


def _label(value: Any, column: str = "") -> str:
    """An enum symbol as words (``UNDER_INVESTIGATION``: "Under investigation"); codes unchanged."""
    text = str(value)
    if column in CODES and text != "NONE":
        return text
    if text == "NONE":
        return "None recorded"
    return text.replace("_", " ").capitalize()


def _header(column: str) -> str:
    return HEADERS.get(column) or _label(column.upper())


def _headline(report: StatsReport, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows a chart draws: the chosen year or quarter; for ``all``, every year."""
    if report.period == "all":
        return [r for r in rows if "-Q" not in r["period"]]
    return [r for r in rows if r["period"] == report.period]


Row = render.Row


def _bars(
    title: str, bars: list[tuple[str, int | None]], *, unit: str = "", scale: int | None = None
) -> Row | None:
    """A horizontal bar chart (inline SVG, ``parts.html``); withheld values get no bar, only the word."""
    if not bars:
        return None
    top = scale or max((v for _, v in bars if v is not None), default=0) or 1  # shares: out of 100
    row_h, label_w, chart_w, pad = 28, 230, 300, 70
    drawn: list[Row] = []
    for i, (label, value) in enumerate(bars):
        y = 4 + i * row_h
        bar: Row = {"label": label, "text_y": y + 18, "rect_y": y + 4, "value": None}
        if value is not None:
            width = max(2, round(chart_w * value / top))
            bar |= {"value": _number(value), "width": width, "value_x": label_w + width + 6}
        drawn.append(bar)
    return {
        "title": title,
        "width": label_w + chart_w + pad,
        "height": row_h * len(bars) + 8,
        "label_x": label_w - 8,
        "withheld_x": label_w + 4,
        "bar_x": label_w,
        "bar_h": row_h - 8,
        "unit": unit,
        "bars": drawn,
    }


def _number(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cell(value: Any, column: str = "") -> Row:
    if value is None:
        return {"kind": "withheld"}
    if isinstance(value, float):
        return {"kind": "text", "text": _number(value)}
    return {"kind": "text", "text": _label(value, column) if isinstance(value, str) else str(value)}


def _table(name: str, rows: list[dict[str, Any]], columns: list[str]) -> Row:
    return {
        "name": name,
        "title": TITLES.get(name, _label(name)),
        "headers": [_header(c) for c in columns],
        "rows": [{"period": row["period"], "cells": [_display(row, c) for c in columns]} for row in rows],
    }


def _display(row: dict[str, Any], column: str) -> Row:
    value = row.get(column)
    if value is None and column not in row.get("suppressed", []):
        return {"kind": "none"}
    if column == "answered_late_share" and value is not None:
        return {"kind": "text", "text": f"{value * 100:.0f} %"}
    return _cell(value, column)


def _empty_section(name: str, title: str, note: str | None) -> Row:
    return {"name": name, "title": title, "note": note, "table": None}


def _section(report: StatsReport, name: str) -> Row:
    rows = report.tables[name]
    title = TITLES.get(name, _label(name))
    keys = [c for c in (rows[0] if rows else {}) if c not in ("period", "count", "suppressed")]
    note = NOTES.get(name)
    if not rows:
        return _empty_section(name, title, note)
    if name == "allegations":
        shown = [r for r in rows if "-Q" in r["period"]] or rows
        bars = [(r["period"], r["count"]) for r in shown]
        chart_title = f"{title} by quarter"
    else:
        shown = _headline(report, rows)
        bars = [
            (
                " · ".join(_label(r[k], k) for k in keys)
                + (f" ({r['period']})" if report.period == "all" else ""),
                r["count"],
            )
            for r in shown
        ]
        chart_title = f"{title}, {report.period if report.period != 'all' else 'each year'}"
    return {
        "name": name,
        "title": title,
        "note": note,
        "chart": _bars(chart_title, bars),
        "table": _table(name, rows, ["period", *keys, "count"]),
        "details": True,
    }


TIMELINESS_NOTE = (
    "Per Member State and period: allegations it was notified of, the median hours from "
    "the report to its notification, acknowledgement, decision on investigation and outcome, and the "
    "share of what it owed that was answered after the due time or is still open past it."
)


def _timeliness(report: StatsReport) -> Row:
    rows = report.tables["timeliness"]
    title = "Timeliness of Member States"
    if not rows:
        return _empty_section("timeliness", title, TIMELINESS_NOTE)
    shown = _headline(report, rows)
    bars = [
        (
            f"{r['member_state']}" + (f" ({r['period']})" if report.period == "all" else ""),
            None if r["answered_late_share"] is None else round(r["answered_late_share"] * 100),
        )
        for r in shown
    ]
    columns = ["period", "member_state", "count", *(c for c, _ in MEDIANS), "answered_late_share"]
    return {
        "name": "timeliness",
        "title": title,
        "note": TIMELINESS_NOTE,
        "chart": _bars("Share answered late, per cent", bars, unit=" %", scale=100),
        "table": _table("timeliness", rows, columns),
        "details": False,
    }


def stats_page(report: StatsReport, *, user: str, periods: list[str], caught_up: bool = True) -> str:
    options = [
        {"value": p, "label": "All periods" if p == "all" else p, "selected": p == report.period}
        for p in (periods if report.period in periods else [*periods, report.period])
    ]
    partial = "" if caught_up else " The bus is still reading its history: the counts may be incomplete."
    summary = (
        f"Period {'all' if report.period == 'all' else report.period}: "
        f"{report.suppressed_cells} value{'s' if report.suppressed_cells != 1 else ''} withheld "
        f"(counts below {report.min_cell}, and the cells that would let them be recomputed).{partial}"
    )
    main = render.template(
        "stats.html",
        period_options=options,
        summary=summary,
        period=report.period,
        nav=[{"name": n, "title": t} for n, t in [*TITLES.items(), ("timeliness", "Timeliness")]],
        sections=[_section(report, name) for name in TITLES] + [_timeliness(report)],
    )
    return render.page(title="Statistics", main=main, user=user)


def _operations() -> list[tuple[str, dict[str, Any]]]:
    period = query_parameter(
        "period",
        "A year (2025), a quarter (2025-Q3) or `all`; default: the current year (UTC).",
        {"type": "string"},
    )
    return [
        (
            STATS_API_PATH,
            {
                "summary": "Statistics (docs/STATISTICS.md)",
                "description": "The tables of `seabus stats`: {period, tables, suppressed_cells}; small cells withheld.",
                "operationId": "getStats",
                "tags": ["on-call"],
                "security": [{"dashboardToken": []}, {"dashboardSession": []}],
                "parameters": [
                    period,
                    query_parameter("format", None, {"type": "string", "enum": ["json", "csv"]}),
                ],
                "responses": {
                    "200": {
                        "description": "The report.",
                        "content": {"application/json": {}, "text/csv": {}},
                    },
                    **problem_responses(400, 401),
                },
            },
        ),
        (
            STATS_PAGE_PATH,
            {
                "summary": "Statistics page",
                "description": "The tables of /v1/stats with charts.",
                "operationId": "statsPage",
                "tags": ["on-call pages"],
                "security": [{"dashboardSession": []}],
                "parameters": [period],
                "responses": {
                    "200": {"description": "An HTML page.", "content": {"text/html": {}}},
                    "303": {"description": "Not signed in: to the sign-in form."},
                },
            },
        ),
    ]
