"""The HTTP intake gateway: agencies publish allegation events with a bearer token.

``POST /v1/allegations`` answers 202 only after Kafka acknowledged every event;
errors are RFC 9457 problem details; ``/openapi.json`` describes every route.
Build the app with :func:`build_gateway_app` (tests, embedding) or run it with
:func:`start_gateway` / :func:`serve_gateway`. New route groups plug in as a
:data:`RouteModule` that also adds its operations to the OpenAPI document.
"""

from seabus.connectors.gateway.app import DEFAULT_ROUTES, build_gateway_app
from seabus.connectors.gateway.auth import AgencyAuth, bearer_token, new_token, token_sha256
from seabus.connectors.gateway.bodies import idempotency_key, read_json_body
from seabus.connectors.gateway.config import (
    AgencyToken,
    GatewayConfig,
    gateway_config_path,
    load_gateway_config,
)
from seabus.connectors.gateway.idempotency import IdempotencyStore
from seabus.connectors.gateway.openapi import OpenApiDocument, problem_responses
from seabus.connectors.gateway.problems import HttpProblem, ProblemType, problem_response
from seabus.connectors.gateway.producer import GatewayProducer, KafkaGatewayProducer
from seabus.connectors.gateway.server import GatewayHandle, serve_gateway, start_gateway
from seabus.connectors.gateway.state import GATEWAY, GatewayState, RouteModule

__all__ = [
    "DEFAULT_ROUTES",
    "GATEWAY",
    "AgencyAuth",
    "AgencyToken",
    "GatewayConfig",
    "GatewayHandle",
    "GatewayProducer",
    "GatewayState",
    "HttpProblem",
    "IdempotencyStore",
    "KafkaGatewayProducer",
    "OpenApiDocument",
    "ProblemType",
    "RouteModule",
    "bearer_token",
    "build_gateway_app",
    "gateway_config_path",
    "idempotency_key",
    "load_gateway_config",
    "new_token",
    "problem_response",
    "problem_responses",
    "read_json_body",
    "serve_gateway",
    "start_gateway",
    "token_sha256",
]
