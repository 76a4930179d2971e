"""Push delivery of notifications to Member States and offices: webhook and e-mail.

``seabus run`` starts a :class:`DeliveryService` (see ``deploy/services.py``):
one Kafka consumer for every notify topic with a push channel (its
notifications and the escalations addressed to it) and the escalations topic,
an in-order lane per recipient and one paging on-call for every escalation
(:mod:`connectors.delivery.pager`, :mod:`connectors.delivery.consumer`), every attempt recorded on the audit topic,
permanent failures dead-lettered and escalated. Recipients that read Kafka
themselves use :mod:`connectors.subscriber` instead.
"""

from connectors.delivery.audit import ENDPOINT_HEADER, AuditIndex, ChannelDelivered
from connectors.delivery.config import (
    DeliveryConfig,
    EmailSettings,
    OncallSettings,
    OncallWebhook,
    RetrySettings,
    SmtpSettings,
    delivery_config_path,
    load_delivery_config,
)
from connectors.delivery.consumer import DeliveryConsumer, Lane, Processor, Route
from connectors.delivery.email_channel import EmailDelivery
from connectors.delivery.pager import ONCALL, OncallPlan, Pager, plan_oncall
from connectors.delivery.pagerduty import pagerduty_event
from connectors.delivery.pipeline import DeliveryPipeline, Incoming
from connectors.delivery.plan import EmailTarget, RecipientPlan, plan_delivery
from connectors.delivery.pushed import Pushed
from connectors.delivery.records import ChannelOutcome
from connectors.delivery.service import Delivery, DeliveryService, build_delivery
from connectors.delivery.sink import InMemorySink, RecordSink, Sink

__all__ = [
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
]
