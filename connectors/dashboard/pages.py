"""The pages: ``/dashboard`` (overdue list), ``/allegations/{id}`` (timeline) and signing in.

Pages need a session cookie; without one they redirect to the sign-in form,
which exchanges a dashboard token for an HttpOnly, SameSite=Strict cookie.
Scripts and styles are separate files from this package, so the pages can
forbid every inline script (Content-Security-Policy).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from seabus.connectors.dashboard import render
from seabus.connectors.dashboard.auth import COOKIE
from seabus.connectors.dashboard.state import DASHBOARD, NO_STORE, DashboardState
from seabus.connectors.gateway.openapi import problem_responses
from seabus.connectors.gateway.problems import HttpProblem, ProblemType
from seabus.connectors.gateway.state import GatewayState

__all__ = ["register", "safe_next"]

DASHBOARD_PATH = "/dashboard"
LOGIN_PATH = "/dashboard/login"
LOGOUT_PATH = "/dashboard/logout"
STATIC_PATH = "/dashboard/static/{name}"
ALLEGATION_PATH = "/allegations/{allegation_id}"
STATIC_FILES = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}

PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def register(app: web.Application, gw: GatewayState) -> None:
    app.router.add_get(DASHBOARD_PATH, dashboard)
    app.router.add_get(LOGIN_PATH, login_form)
    app.router.add_post(LOGIN_PATH, login)
    app.router.add_post(LOGOUT_PATH, logout)
    app.router.add_get(ALLEGATION_PATH, allegation)
    app.router.add_get(STATIC_PATH, static)
    for path, method, operation in _operations():
        gw.openapi.add_operation(path, method, operation)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DASHBOARD_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DASHBOARD_PATH
    return value


def _html(body: str, *, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", headers=PAGE_HEADERS)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **NO_STORE})


def _signed_in(request: web.Request, state: DashboardState) -> str:
    user = state.auth.session_user(request)
    if user is None:
        raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={quote(request.path_qs, safe='')}", headers=NO_STORE)
    return user


async def dashboard(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    user = _signed_in(request, state)
    from seabus.connectors.dashboard.api import (  # the page takes the API's filters
        DEFAULT_LIMIT,
        parse_filter,
    )

    where = parse_filter(request.query)
    now = state.clock()
    report = state.read_model.index.overdue(now, where, limit=DEFAULT_LIMIT)
    return _html(
        render.dashboard_page(
            report,
            summary_band=state.read_model.index.summary(now),
            user=user,
            recipient=request.query.get("recipient", "").upper(),
            entity=request.query.get("reporting_entity", "").upper(),
            level=request.query.get("level", "").upper(),
            status=request.query.get("status", "").upper(),
            poll_s=state.config.poll_interval_s,
        )
    )


async def allegation(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    user = _signed_in(request, state)
    allegation_id = request.match_info["allegation_id"]
    timeline = state.read_model.index.timeline(allegation_id)
    if timeline is None:
        return _html(render.not_found_page(allegation_id, user=user), status=404)
    return _html(render.timeline_page(timeline, user=user))


async def login_form(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    next_path = safe_next(request.query.get("next"))
    if state.auth.session_user(request) is not None:
        raise web.HTTPSeeOther(next_path, headers=NO_STORE)
    return _html(render.login_page(next_path=next_path))


def _same_origin(request: web.Request) -> bool:
    """False for a cross-site form post (login CSRF); requests without Origin are not from such a form."""
    origin = request.headers.get("Origin")
    hosts = {request.host, request.headers.get("X-Forwarded-Host", request.host)}
    return origin is None or urlsplit(origin).netloc in hosts


async def login(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    if not _same_origin(request):
        raise HttpProblem(
            403,
            type_=ProblemType.GENERIC,
            title="Forbidden",
            detail="sign in from this server's own page (/dashboard/login)",
        )
    form = await request.post()
    token = form.get("token")
    next_path = safe_next(str(form.get("next") or ""))
    signed = state.auth.sign_in(token) if isinstance(token, str) else None
    if signed is None:
        return _html(
            render.login_page(
                next_path=next_path,
                error="That token is not valid for this dashboard. Check it, or ask the operators for one.",
            ),
            status=401,
        )
    sid, _user = signed
    response = _see_other(next_path)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=state.config.session_ttl_s,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=state.config.secure_cookie or request.secure,
    )
    return response


async def logout(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    sid = request.cookies.get(COOKIE)
    if sid:
        state.auth.sessions.close(sid)
    response = _see_other(LOGIN_PATH)
    response.del_cookie(COOKIE, path="/")
    return response


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    return web.Response(
        text=render.asset(name),
        content_type=content_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _page_operation(summary: str, description: str, operation_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": description,
        "operationId": operation_id,
        "tags": ["on-call pages"],
        "security": [{"dashboardSession": []}],
        "responses": {
            "200": {"description": "An HTML page.", "content": {"text/html": {}}},
            "303": {"description": "Not signed in: to the sign-in form."},
        },
        **extra,
    }


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (
            DASHBOARD_PATH,
            "get",
            _page_operation(
                "On-call dashboard",
                "The summary band and the overdue list as a page that refreshes itself from /v1/overdue/summary "
                "and /v1/overdue; takes the same filters.",
                "dashboardPage",
            ),
        ),
        (
            ALLEGATION_PATH,
            "get",
            _page_operation(
                "Allegation timeline page",
                "The timeline of /v1/allegations/{allegation_id}/timeline as a page.",
                "allegationPage",
                parameters=[
                    {"name": "allegation_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
            ),
        ),
        (
            LOGIN_PATH,
            "get",
            {
                "summary": "Sign-in form",
                "operationId": "dashboardLoginForm",
                "tags": ["on-call pages"],
                "responses": {"200": {"description": "An HTML form.", "content": {"text/html": {}}}},
            },
        ),
        (
            LOGIN_PATH,
            "post",
            {
                "summary": "Sign in with a dashboard token",
                "description": "Sets the HttpOnly session cookie `seabus_session` and redirects to `next`.",
                "operationId": "dashboardLogin",
                "tags": ["on-call pages"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"token": {"type": "string"}, "next": {"type": "string"}},
                                "required": ["token"],
                            }
                        }
                    },
                },
                "responses": {
                    "303": {"description": "Signed in; the cookie is set."},
                    "401": {
                        "description": "Unknown token: the form again, with the error.",
                        "content": {"text/html": {}},
                    },
                    **problem_responses(403),
                },
            },
        ),
        (
            LOGOUT_PATH,
            "post",
            {
                "summary": "Sign out",
                "operationId": "dashboardLogout",
                "tags": ["on-call pages"],
                "responses": {"303": {"description": "Signed out; to the sign-in form."}},
            },
        ),
        (
            STATIC_PATH,
            "get",
            {
                "summary": "The dashboard's stylesheet and script",
                "operationId": "dashboardStatic",
                "tags": ["on-call pages"],
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": sorted(STATIC_FILES)},
                    }
                ],
                "responses": {"200": {"description": "The file."}, "404": {"description": "No such file."}},
            },
        ),
    ]
