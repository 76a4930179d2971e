"""Webhook delivery to recipients' systems (Standard Webhooks), and its verifier.

The bus calls :class:`WebhookDispatcher` (per-recipient lanes) over one
:class:`WebhookDeliverer`; recipients and the reply gateway call
:func:`verify_webhook`.
"""

from seabus.connectors.webhooks.delivery import Clock, OnAttempt, Sleep, WebhookDeliverer
from seabus.connectors.webhooks.dispatcher import WebhookDispatcher
from seabus.connectors.webhooks.endpoint import WebhookEndpoint
from seabus.connectors.webhooks.records import (
    AttemptOutcome,
    AttemptRecord,
    DeliveryChannel,
    DeliveryResult,
    attempt_id,
)
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
    "AttemptOutcome",
    "AttemptRecord",
    "Clock",
    "DeliveredStore",
    "DeliveryChannel",
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
    "WebhookDispatcher",
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
