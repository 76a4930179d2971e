"""The names Member States and the bus import from the delivery side stay put."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "seabus.connectors.subscriber": [
        "ErrorPolicy",
        "EscalationHandler",
        "Handler",
        "InMemorySeenStore",
        "KafkaConnection",
        "KafkaSecurity",
        "ReplyHandler",
        "SeenStore",
        "SqliteSeenStore",
        "Subscriber",
        "retry_handler_failures",
    ],
    "seabus.connectors.delivery": [
        "ENDPOINT_HEADER",
        "ONCALL",
        "AuditIndex",
        "ChannelDelivered",
        "ChannelOutcome",
        "Delivery",
        "DeliveryConfig",
        "DeliveryConsumer",
        "DeliveryPipeline",
        "DeliveryService",
        "EmailDelivery",
        "EmailSettings",
        "EmailTarget",
        "InMemorySink",
        "Incoming",
        "Lane",
        "OncallPlan",
        "OncallSettings",
        "OncallWebhook",
        "Pager",
        "Processor",
        "Pushed",
        "RecipientPlan",
        "RecordSink",
        "RetrySettings",
        "Route",
        "Sink",
        "SmtpSettings",
        "build_delivery",
        "delivery_config_path",
        "load_delivery_config",
        "pagerduty_event",
        "plan_delivery",
        "plan_oncall",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_exported_and_sorted(module: str) -> None:
    exported = importlib.import_module(module).__all__
    assert exported == PUBLIC[module]
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
