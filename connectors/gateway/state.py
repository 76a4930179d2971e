"""What every route of the gateway shares, reachable as ``request.app[GATEWAY]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from seabus.connectors.gateway.auth import AgencyAuth
from seabus.connectors.gateway.config import GatewayConfig
from seabus.connectors.gateway.idempotency import IdempotencyStore
from seabus.connectors.gateway.openapi import OpenApiDocument
from seabus.connectors.gateway.owners import OwnersIndex
from seabus.connectors.gateway.producer import GatewayProducer
from seabus.connectors.publisher.outgoing import Clock
from seabus.schemas.codec import Codec
from seabus.streams.config import Settings

__all__ = ["GATEWAY", "GatewayState", "RouteModule"]


@dataclass(kw_only=True)
class GatewayState:
    """Everything a route needs: configuration, Kafka, auth, the clock and the OpenAPI document."""

    settings: Settings
    config: GatewayConfig
    producer: GatewayProducer
    auth: AgencyAuth
    known_entities: frozenset[str] | None
    clock: Clock
    codec: Codec
    idempotency: IdempotencyStore
    openapi: OpenApiDocument
    source: str = "seabus-gateway"
    owners: OwnersIndex = field(default_factory=OwnersIndex)
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def max_body_bytes(self) -> int:
        return self.config.max_body_bytes


GATEWAY: web.AppKey[GatewayState] = web.AppKey("seabus_gateway", GatewayState)

RouteModule = Callable[[web.Application, GatewayState], None]
"""Registers a group of routes (and their OpenAPI operations) on the app."""
