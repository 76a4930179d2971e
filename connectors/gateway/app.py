"""The gateway's aiohttp application, assembled from route modules.

Building the app is separate from running it (see :mod:`seabus.connectors.gateway.server`):
tests and ``seabus run`` build it with their own producer, and later routes
(replies on ``POST /v1/responses``, dashboard views) plug in as one more
:data:`RouteModule` that registers its handlers and its OpenAPI operations on
the same :class:`GatewayState`.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from seabus.connectors.gateway import allegations
from seabus.connectors.gateway.auth import AgencyAuth
from seabus.connectors.gateway.config import GatewayConfig
from seabus.connectors.gateway.idempotency import IdempotencyStore
from seabus.connectors.gateway.openapi import OpenApiDocument
from seabus.connectors.gateway.problems import problem_middleware
from seabus.connectors.gateway.producer import GatewayProducer
from seabus.connectors.gateway.ratelimit import RateLimiter, rate_limit_middleware
from seabus.connectors.gateway.state import GATEWAY, GatewayState, RouteModule
from seabus.connectors.publisher.outgoing import Clock, utc_now
from seabus.schemas.codec import Codec
from seabus.streams.config import Settings
from seabus.streams.origin import reporting_entities

__all__ = ["DEFAULT_ROUTES", "GATEWAY", "GatewayState", "RouteModule", "build_gateway_app"]

API_VERSION = "1.0.0"


def _system_routes(app: web.Application, gw: GatewayState) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", gw.openapi.handle)
    gw.openapi.add_operation(
        "/healthz",
        "get",
        {
            "summary": "Liveness",
            "operationId": "healthz",
            "responses": {
                "200": {
                    "description": "The gateway is serving.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        },
    )
    gw.openapi.add_operation(
        "/openapi.json",
        "get",
        {
            "summary": "This document",
            "operationId": "openapi",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        },
    )


DEFAULT_ROUTES: tuple[RouteModule, ...] = (allegations.register,)
"""The route modules every gateway serves (besides /healthz and /openapi.json)."""


def build_gateway_app(
    *,
    settings: Settings,
    producer: GatewayProducer,
    auth: AgencyAuth,
    config: GatewayConfig | None = None,
    max_body_bytes: int | None = None,
    clock: Clock = utc_now,
    known_entities: frozenset[str] | None = None,
    routes: Sequence[RouteModule] | None = None,
    extra_routes: Sequence[RouteModule] = (),
) -> web.Application:
    """The application; ``routes`` replaces the default route modules, ``extra_routes`` adds to them.

    ``known_entities`` defaults to the configured reporting entities.
    """
    config = config or GatewayConfig()
    if max_body_bytes is not None:
        config = config.model_copy(update={"max_body_bytes": max_body_bytes})
    if known_entities is None:
        known_entities = reporting_entities(settings)
    state = GatewayState(
        settings=settings,
        config=config,
        producer=producer,
        auth=auth,
        known_entities=known_entities,
        clock=clock,
        codec=Codec(max_bytes=settings.max_message_bytes),
        idempotency=IdempotencyStore(max_keys=config.idempotency.max_keys, ttl_s=config.idempotency.ttl_s),
        openapi=OpenApiDocument(
            title="seabus intake gateway",
            version=API_VERSION,
            description=(
                "Agencies publish allegation events of sexual exploitation and abuse to the seabus "
                "notification bus. A 202 answer means Kafka acknowledged every listed event."
            ),
        ),
    )
    # Slack above the limit so an oversized body reaches our own 413 check with its clear message.
    limiter = RateLimiter(config.rate_limit) if config.rate_limit.enabled else None
    app = web.Application(
        client_max_size=config.max_body_bytes + 1,
        middlewares=[problem_middleware, rate_limit_middleware(limiter)],
    )
    app[GATEWAY] = state
    _system_routes(app, state)
    for register in (*(DEFAULT_ROUTES if routes is None else routes), *extra_routes):
        register(app, state)
    return app
