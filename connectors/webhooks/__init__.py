"""Webhook delivery to recipients' systems (Standard Webhooks), and its verifier.

The bus's delivery service (:mod:`seabus.connectors.delivery`) calls one shared
:class:`WebhookDeliverer`, each recipient's notifications in order; recipients
and the reply gateway call :func:`verify_webhook`. Outcomes are the contract's
:class:`seabus.schemas.enums.DeliveryOutcome`.
"""

from seabus.connectors.webhooks.delivery import Clock, OnAttempt, Sleep, WebhookDeliverer
from seabus.connectors.webhooks.endpoint import WebhookEndpoint
from seabus.connectors.webhooks.records import AttemptRecord, DeliveryResult, attempt_id
from seabus.connectors.webhooks.retry import RetryPolicy, Verdict, classify_status, parse_retry_after
from seabus.connectors.webhooks.signing import generate_secret, sign_headers, verify_webhook
from seabus.connectors.webhooks.ssrf import VettingResolver, check_host, forbidden_reason
from seabus.connectors.webhooks.stores import (
    DeliveredStore,
    DisabledEndpoint,
    EndpointStateStore,
    InMemoryDeliveredStore,
    InMemoryEndpointStates,
)

__all__ = [
    "AttemptRecord",
    "Clock",
    "DeliveredStore",
    "DeliveryResult",
    "DisabledEndpoint",
    "EndpointStateStore",
    "InMemoryDeliveredStore",
    "InMemoryEndpointStates",
    "OnAttempt",
    "RetryPolicy",
    "Sleep",
    "Verdict",
    "VettingResolver",
    "WebhookDeliverer",
    "WebhookEndpoint",
    "attempt_id",
    "check_host",
    "classify_status",
    "forbidden_reason",
    "generate_secret",
    "parse_retry_after",
    "sign_headers",
    "verify_webhook",
]
