"""The dashboard's route modules for the gateway: JSON API, pages, metrics and readiness.

``seabus run`` adds them through :func:`seabus.deploy.services.gateway_routes`; tests
add them to their own gateway the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aiohttp import web

from seabus.connectors.dashboard import api, ops, pages
from seabus.connectors.dashboard.auth import COOKIE, DashboardAuth, SessionStore
from seabus.connectors.dashboard.config import TokenBook
from seabus.connectors.dashboard.state import DASHBOARD, DashboardState, DashboardView
from seabus.connectors.dashboard.stats_page import stats_module
from seabus.connectors.gateway.openapi import OpenApiDocument
from seabus.connectors.gateway.state import GatewayState, RouteModule
from seabus.streams.config import Settings
from seabus.streams.stats import StatsIndex
from seabus.streams.views import ReaderStatus

__all__ = ["dashboard_routes"]


def dashboard_routes(
    *,
    view: DashboardView | None,
    settings: Settings,
    config_path: Path | None = None,
    clock: Callable[[], datetime] | None = None,
    stats: StatsIndex | None = None,
    worker_here: bool = True,
    view_status: Callable[[], ReaderStatus] | None = None,
) -> tuple[RouteModule, ...]:
    """Route modules over ``view``; reads dashboard.yaml now (a bad file stops start-up).

    With ``enabled: false``, or without a ``view`` (it runs in another process,
    ``view.in_worker: false``), only ``/metrics`` and ``/readyz`` are served. With ``stats``,
    ``/dashboard/stats`` and ``/v1/stats`` are served from it too (docs/STATISTICS.md).
    ``worker_here=False`` (``seabus gateway``): /readyz checks the read model only.
    ``view_status`` (no ``view``: it runs in ``seabus run``'s child process): /readyz checks it too.
    """
    book = TokenBook(settings=settings, config_path=config_path)
    state = DashboardState(
        view=view,
        auth=DashboardAuth(book=book, sessions=SessionStore(ttl_s=book.config.session_ttl_s)),
        worker_here=worker_here,
        view_status=view_status,
    )
    if clock is not None:
        state.clock = clock

    def install(app: web.Application, gw: GatewayState) -> None:
        app[DASHBOARD] = state
        _describe_security(gw.openapi)

    if view is None or not book.config.enabled:
        return (install, ops.register)
    extra = () if stats is None else (stats_module(index=stats, min_cell=settings.statistics.min_cell),)
    return (install, api.register, pages.register, *extra, ops.register)


def _describe_security(doc: OpenApiDocument) -> None:
    # OpenApiDocument has no call for security schemes yet; add_security_scheme() would replace this.
    schemes = doc._doc["components"]["securitySchemes"]
    schemes["dashboardToken"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A dashboard token (sbd_…); its SHA-256 is listed in dashboard.yaml. See docs/ONCALL.md.",
    }
    schemes["dashboardSession"] = {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "Set by POST /dashboard/login; HttpOnly, SameSite=Strict.",
    }
