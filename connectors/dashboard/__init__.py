"""The on-call dashboard on the gateway: overdue list, allegation timelines, metrics, readiness.

``GET /v1/overdue`` and ``GET /v1/allegations/{id}/timeline`` answer JSON from
the read model (:mod:`seabus.streams.views`); ``/dashboard`` and ``/allegations/{id}``
are the same as pages behind a token sign-in; ``/metrics`` and ``/readyz`` are
for Prometheus and orchestrators. Add them to a gateway with
:func:`dashboard_routes`.
"""

from seabus.connectors.dashboard.auth import COOKIE, DashboardAuth, SessionStore, new_dashboard_token
from seabus.connectors.dashboard.config import (
    DashboardConfig,
    DashboardUser,
    LocalToken,
    TokenBook,
    dashboard_config_path,
    load_dashboard_config,
    local_tokens_path,
    read_local_tokens,
    write_local_tokens,
)
from seabus.connectors.dashboard.errors import DashboardConfigError
from seabus.connectors.dashboard.ops import readiness
from seabus.connectors.dashboard.routes import dashboard_routes
from seabus.connectors.dashboard.state import DASHBOARD, DashboardState, DashboardView
from seabus.connectors.dashboard.tokens import issue_local_token

__all__ = [
    "COOKIE",
    "DASHBOARD",
    "DashboardAuth",
    "DashboardConfig",
    "DashboardConfigError",
    "DashboardState",
    "DashboardUser",
    "DashboardView",
    "LocalToken",
    "SessionStore",
    "TokenBook",
    "dashboard_config_path",
    "dashboard_routes",
    "issue_local_token",
    "load_dashboard_config",
    "local_tokens_path",
    "new_dashboard_token",
    "read_local_tokens",
    "readiness",
    "write_local_tokens",
]
