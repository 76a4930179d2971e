"""``GET /metrics`` (Prometheus) and ``GET /readyz`` (readiness) on the gateway.

``/metrics`` is open by default, as Prometheus scrapers expect; set
``metrics_public: false`` in dashboard.yaml to require a dashboard token.
``/readyz`` answers 503 until the worker has started and checks itself
regularly, and until the read model has read the topics' history; either
losing Kafka makes it 503 again. ``/healthz`` (liveness) is the gateway's own.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from seabus.connectors.dashboard.state import DASHBOARD, NO_STORE
from seabus.connectors.gateway.openapi import problem_responses
from seabus.connectors.gateway.state import GatewayState
from seabus.streams import metrics
from seabus.streams.metrics import WorkerHealth
from seabus.streams.views import ReaderStatus

__all__ = ["STALE_AFTER_S", "Check", "readiness", "register"]

STALE_AFTER_S = 15.0
"""A self-check older than this means the worker or the read model is stuck or cut off."""


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str


def readiness(
    *,
    worker: WorkerHealth | None,
    view: ReaderStatus | None,
    now: float,
    stale_after_s: float = STALE_AFTER_S,
    worker_expected: bool = True,
) -> dict[str, Check]:
    """Each part's verdict (``now`` on the monotonic clock); ready when every one is ok.

    ``worker_expected=False``: a gateway without a worker in its process (``seabus
    gateway``) answers for its read model only; the worker's own gateway says the rest.
    """
    checks: dict[str, Check] = {}
    if not worker_expected:
        pass
    elif worker is None:
        checks["worker"] = Check(False, "the worker has not finished starting")
    elif now - worker.checked_at > stale_after_s:
        checks["worker"] = Check(
            False, f"the worker's last self-check was {now - worker.checked_at:.0f}s ago"
        )
    else:
        checks["worker"] = Check(worker.ready, worker.reason)
    if view is not None:
        age = view.last_contact_age_s
        if age is None or age > stale_after_s:
            heard = "never" if age is None else f"{age:.0f}s ago"
            checks["view"] = Check(False, f"Kafka last answered the read model {heard}")
        elif not view.caught_up:
            checks["view"] = Check(False, f"reading the topics' history ({view.lag} records to go)")
        else:
            checks["view"] = Check(True, f"following {view.partitions} partitions")
    return checks


def register(app: web.Application, gw: GatewayState) -> None:
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/readyz", get_readyz)
    gw.openapi.add_operation(
        "/metrics", "get", _metrics_operation(public=app[DASHBOARD].config.metrics_public)
    )
    gw.openapi.add_operation("/readyz", "get", _readyz_operation())


async def get_metrics(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    if not state.config.metrics_public:
        state.auth.api_user(request)
    body, content_type = metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type, **NO_STORE})


async def get_readyz(request: web.Request) -> web.Response:
    state = request.app[DASHBOARD]
    view = state.reader_status()
    checks = readiness(
        worker=metrics.worker_health(), view=view, now=time.monotonic(), worker_expected=state.worker_here
    )
    ready = all(c.ok for c in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": {k: asdict(c) for k, c in checks.items()}}
    return web.json_response(body, status=200 if ready else 503, headers=NO_STORE)


def _metrics_operation(*, public: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": "Prometheus metrics",
        "description": (
            "Text exposition format 0.0.4: events received, routed and dead-lettered (by reason), "
            "notifications by recipient class, deliveries by channel and outcome, open and overdue "
            "obligations by level, publish-to-notification latency, consumer lag, readiness. "
            + ("No token needed." if public else "Needs a dashboard token.")
        ),
        "operationId": "metrics",
        "tags": ["operations"],
        "responses": {"200": {"description": "The metrics.", "content": {"text/plain": {}}}},
    }
    if not public:
        operation["security"] = [{"dashboardToken": []}]
        operation["responses"].update(problem_responses(401))
    return operation


def _readyz_operation() -> dict[str, Any]:
    check = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "detail": {"type": "string"}},
        "required": ["ok", "detail"],
    }
    schema = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "checks": {"type": "object", "additionalProperties": check},
        },
        "required": ["status", "checks"],
    }
    return {
        "summary": "Readiness",
        "description": (
            "200 when the worker runs and checks itself, and the read model has read the history and "
            "Kafka answers it; 503 otherwise, with each check's detail."
        ),
        "operationId": "readyz",
        "tags": ["operations"],
        "responses": {
            "200": {"description": "Ready.", "content": {"application/json": {"schema": schema}}},
            "503": {"description": "Not ready (yet).", "content": {"application/json": {"schema": schema}}},
        },
    }
