"""Push delivery of notifications to Member States and offices: webhook and e-mail.

``seabus run`` starts a :class:`DeliveryService` (see ``deploy/services.py``):
one Kafka consumer for every notify topic with a push channel (its
notifications and the escalations addressed to it) and the escalations topic,
an in-order lane per recipient and one paging on-call for every escalation
(:mod:`seabus.connectors.delivery.pager`, :mod:`seabus.connectors.delivery.consumer`), every attempt recorded on the audit topic,
permanent failures dead-lettered and escalated. Recipients that read Kafka
themselves use :mod:`seabus.connectors.subscriber` instead.
"""

from seabus.connectors.delivery.audit import ENDPOINT_HEADER, AuditIndex, ChannelDelivered
from seabus.connectors.delivery.config import delivery_config_path, load_delivery_config
from seabus.connectors.delivery.consumer import DeliveryConsumer, Lane, Processor, Route
from seabus.connectors.delivery.email_channel import EmailDelivery
from seabus.connectors.delivery.pager import ONCALL, OncallPlan, Pager, plan_oncall
from seabus.connectors.delivery.pagerduty import pagerduty_event
from seabus.connectors.delivery.pipeline import DeliveryPipeline, Incoming
from seabus.connectors.delivery.plan import EmailTarget, RecipientPlan, plan_delivery
from seabus.connectors.delivery.pushed import Pushed
from seabus.connectors.delivery.records import ChannelOutcome
from seabus.connectors.delivery.service import Delivery, DeliveryService, build_delivery
from seabus.connectors.delivery.sink import InMemorySink, RecordSink, Sink
from seabus.streams.config.sections import (
    DeliveryConfig,
    EmailSettings,
    OncallSettings,
    OncallWebhook,
    RetrySettings,
    SmtpSettings,
)

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
