"""``GET /v1/overdue``, its summary and ``GET /v1/allegations/{id}/timeline``: the read model as JSON.

Both need a dashboard token (``Authorization: Bearer``) or a signed-in session
cookie (the dashboard page polls with it). Filters take one value each, or
several separated by commas: ``?recipient=KEN,FRA&level=OVERDUE,SECOND_LEVEL``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiMapping

from seabus.connectors.dashboard.state import DASHBOARD, NO_STORE
from seabus.connectors.gateway.openapi import OpenApiDocument, json_answer, problem_responses, query_parameter
from seabus.connectors.gateway.problems import HttpProblem, ProblemType
from seabus.connectors.gateway.state import GatewayState
from seabus.schemas.enums import EscalationLevel
from seabus.streams.views import NO_LEVEL, DueStatus, OverdueFilter, OverdueReport, OverdueSummary, Timeline

__all__ = ["OVERDUE_PATH", "SUMMARY_PATH", "TIMELINE_PATH", "parse_filter", "parse_top", "register"]

OVERDUE_PATH = "/v1/overdue"
SUMMARY_PATH = "/v1/overdue/summary"
TIMELINE_PATH = "/v1/allegations/{allegation_id}/timeline"
SECURITY: list[dict[str, list[str]]] = [{"dashboardToken": []}, {"dashboardSession": []}]

_LEVELS = frozenset({NO_LEVEL, *(level.value for level in EscalationLevel)})
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
_STATUSES = frozenset(s.value for s in DueStatus)
DEFAULT_TOP = 8
MAX_TOP = 100


def register(app: web.Application, gw: GatewayState) -> None:
    app.router.add_get(OVERDUE_PATH, get_overdue)
    app.router.add_get(SUMMARY_PATH, get_summary)
    app.router.add_get(TIMELINE_PATH, get_timeline)
    gw.openapi.add_operation(OVERDUE_PATH, "get", _overdue_operation(gw.openapi))
    gw.openapi.add_operation(SUMMARY_PATH, "get", _summary_operation(gw.openapi))
    gw.openapi.add_operation(TIMELINE_PATH, "get", _timeline_operation(gw.openapi))


def _values(query: MultiMapping[str], *names: str) -> frozenset[str]:
    out: set[str] = set()
    for name in names:
        for raw in query.getall(name, []):
            out.update(v.strip().upper() for v in raw.split(",") if v.strip())
    return frozenset(out)


def parse_filter(query: MultiMapping[str]) -> OverdueFilter:
    """The filter of a query string; unknown level or status values are a 400 problem."""
    levels = _values(query, "level")
    statuses = _values(query, "status")
    wrong = sorted(levels - _LEVELS) + sorted(statuses - _STATUSES)
    if wrong:
        raise HttpProblem(
            400,
            type_=ProblemType.MALFORMED_REQUEST,
            title="Unknown Filter Value",
            detail=f"{', '.join(wrong)} is not a filter value; level takes {', '.join(sorted(_LEVELS))}, "
            f"status takes {', '.join(sorted(_STATUSES))}",
        )
    return OverdueFilter(
        recipients=_values(query, "recipient"),
        entities=_values(query, "reporting_entity", "entity"),
        levels=levels,
        statuses=frozenset(DueStatus(s) for s in statuses),
    )


def parse_limit(query: MultiMapping[str]) -> int:
    """``limit``: how many items (the counts cover all); a 400 problem unless 1..MAX_LIMIT."""
    raw = query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise HttpProblem(
            400,
            type_=ProblemType.MALFORMED_REQUEST,
            title="Invalid Limit",
            detail=f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw!r}",
        )
    return int(raw)


def parse_top(query: MultiMapping[str]) -> int:
    """``top``: how many recipients the summary names (the rest are summed); a 400 problem unless 1..MAX_TOP."""
    raw = query.get("top", str(DEFAULT_TOP))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
        raise HttpProblem(
            400,
            type_=ProblemType.MALFORMED_REQUEST,
            title="Invalid Top",
            detail=f"top must be a whole number from 1 to {MAX_TOP}, not {raw!r}",
        )
    return int(raw)


async def get_summary(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    state.auth.api_user(request)
    summary = state.read_model.index.summary(state.clock(), top=parse_top(request.query))
    return web.json_response(summary.model_dump(mode="json"), headers=NO_STORE)


async def get_overdue(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    state.auth.api_user(request)
    where = parse_filter(request.query)
    report = state.read_model.index.overdue(state.clock(), where, limit=parse_limit(request.query))
    return web.json_response(report.model_dump(mode="json"), headers=NO_STORE)


async def get_timeline(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    state.auth.api_user(request)
    allegation_id = request.match_info["allegation_id"]
    timeline = state.read_model.index.timeline(allegation_id)
    if timeline is None:
        raise HttpProblem(
            404,
            title="Not Found",
            detail=f"the bus has recorded nothing about allegation {allegation_id}; check the reference "
            "(an allegation appears once its first event was read)",
        )
    return web.json_response(timeline.model_dump(mode="json"), headers=NO_STORE)


def _filter_parameter(name: str, description: str, enum: list[str] | None = None) -> dict[str, Any]:
    items: dict[str, Any] = {"type": "string"}
    if enum:
        items["enum"] = enum
    return query_parameter(
        name,
        description + " Several values: separate them by commas (or repeat the parameter).",
        {"type": "array", "items": items},
        style="form",
        explode=False,
    )


def _overdue_operation(doc: OpenApiDocument) -> dict[str, Any]:
    report = doc.add_model(OverdueReport)
    return {
        "summary": "Open obligations, overdue first",
        "description": (
            "Every open obligation (acknowledge, decide, report the outcome) of every recipient: overdue "
            "first, the longest overdue first, then the rest by due time. Built from the bus's topics; "
            "`caught_up` is false while the history is still being read. No subject, victim or narrative "
            "data is included."
        ),
        "operationId": "listOverdue",
        "tags": ["on-call"],
        "security": SECURITY,
        "parameters": [
            _filter_parameter("recipient", "Only these recipients (e.g. KEN, OSC)."),
            _filter_parameter(
                "reporting_entity", "Only allegations of these reporting entities (e.g. MINUSCA)."
            ),
            _filter_parameter(
                "level",
                "Only obligations at these escalation levels; NONE: not escalated yet.",
                sorted(_LEVELS),
            ),
            _filter_parameter("status", "OVERDUE or DUE (not yet due).", sorted(_STATUSES)),
            query_parameter(
                "limit",
                "At most this many items, in order; `overdue` and `due` count every match and `truncated` says whether items were left out.",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            ),
        ],
        "responses": {
            **json_answer(200, "The overdue view.", report),
            **problem_responses(400, 401),
        },
    }


def _summary_operation(doc: OpenApiDocument) -> dict[str, Any]:
    summary = doc.add_model(OverdueSummary)
    return {
        "summary": "Overdue counts by recipient and level, and a 30-day trend",
        "description": (
            "What the dashboard's summary band shows, over every open obligation (no filters): overdue "
            "counts of the `top` recipients with the most (the rest summed in `others`), overdue counts by "
            "current escalation level, and per UTC day of the last 30 (today last, counted at `as_of`) how "
            "many obligations were overdue at the end of that day: due by then and neither answered nor "
            "cancelled. See docs/ONCALL.md. Counts only: no subject, victim or narrative data."
        ),
        "operationId": "overdueSummary",
        "tags": ["on-call"],
        "security": SECURITY,
        "parameters": [
            query_parameter(
                "top",
                "How many recipients to name, most overdue first.",
                {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "default": DEFAULT_TOP},
            ),
        ],
        "responses": {
            **json_answer(200, "The summary.", summary),
            **problem_responses(400, 401),
        },
    }


def _timeline_operation(doc: OpenApiDocument) -> dict[str, Any]:
    timeline = doc.add_model(Timeline)
    return {
        "summary": "Everything the bus did about one allegation",
        "description": (
            "Events (type, sequence, reporting entity, time), notifications (recipient, rules), delivery "
            "attempts, replies, escalations and dead letters, oldest first, and the state of every "
            "obligation. Never subjects, victims, narratives or reply notes."
        ),
        "operationId": "allegationTimeline",
        "tags": ["on-call"],
        "security": SECURITY,
        "parameters": [
            {"name": "allegation_id", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {
            **json_answer(200, "The timeline.", timeline),
            **problem_responses(401, 404),
        },
    }
