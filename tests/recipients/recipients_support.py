"""A gateway serving a state's own view over an in-memory read model, on a real local socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiohttp import web
from dashboard.dashboard_support import MemoryView, NoProducer
from replies.replies_support import AGENCY_TOKEN, FRA_TOKEN, KEN_TOKEN, bearer
from support import free_port

from seabus.connectors.gateway import AgencyAuth, GatewayConfig, build_gateway_app
from seabus.connectors.gateway.recipient_auth import RecipientAuth
from seabus.connectors.gateway.recipients import recipient_routes
from seabus.connectors.gateway.state import RouteModule
from seabus.connectors.publisher.outgoing import utc_now
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

__all__ = ["AGENCY_TOKEN", "FRA_TOKEN", "KEN_TOKEN", "MemoryView", "bearer", "directory", "get", "serve"]


def directory() -> RecipientsDirectory:
    ids = ("OSC", "OIOS", "VRA", "FRA", "KEN", "URY")
    return RecipientsDirectory.model_validate({"recipients": [{"id": i, "name": f"{i} (test)"} for i in ids]})


@asynccontextmanager
async def serve(
    settings: Settings,
    view: MemoryView,
    *,
    kafka: KafkaConnection | None = None,
    clock: datetime | None = None,
    config: GatewayConfig | None = None,
    extra_routes: tuple[RouteModule, ...] = (),
) -> AsyncIterator[str]:
    """Only the recipients' routes (FRA's and KEN's reply tokens, MINUSCA's agency token); yields the base URL."""
    routes = recipient_routes(
        view=view,
        auth=RecipientAuth.from_tokens({FRA_TOKEN: "FRA", KEN_TOKEN: "KEN"}),
        directory=directory(),
        kafka=kafka,
    )
    app = build_gateway_app(
        settings=settings,
        producer=NoProducer(),
        auth=AgencyAuth.from_tokens({AGENCY_TOKEN: "MINUSCA"}),
        config=config,
        routes=(),
        extra_routes=(routes, *extra_routes),
        clock=(lambda: clock) if clock is not None else utc_now,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str], bytes]:
    """GET and return (status, JSON body or None, headers, raw body), problems included."""
    request = urllib.request.Request(url, headers=headers or {}, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            raw = answer.read()
            status, head = answer.status, dict(answer.headers)
    except urllib.error.HTTPError as error:
        raw, status, head = error.read(), error.code, dict(error.headers)
    kind = head.get("Content-Type", "")
    body = json.loads(raw) if "json" in kind else None
    return status, body, head, raw
