"""Push delivery of notifications to Member States and offices: webhook and e-mail.

``seabus run`` starts a :class:`DeliveryService` (see ``deploy/services.py``):
one Kafka consumer per recipient with a push channel, every attempt recorded on
the audit topic, permanent failures dead-lettered and escalated. Recipients
that read Kafka themselves use :mod:`connectors.subscriber` instead.
"""

from connectors.delivery.audit import ENDPOINT_HEADER, AuditIndex, ChannelDelivered
from connectors.delivery.config import (
    DeliveryConfig,
    EmailSettings,
    RetrySettings,
    SmtpSettings,
    delivery_config_path,
    load_delivery_config,
)
from connectors.delivery.email_channel import EmailDelivery
from connectors.delivery.lane import RecipientLane
from connectors.delivery.pipeline import DeliveryPipeline, Incoming
from connectors.delivery.plan import EmailTarget, RecipientPlan, plan_delivery
from connectors.delivery.records import ChannelOutcome
from connectors.delivery.service import Delivery, DeliveryService, build_delivery
from connectors.delivery.sink import RecordSink

__all__ = [
    "ENDPOINT_HEADER",
    "AuditIndex",
    "ChannelDelivered",
    "ChannelOutcome",
    "Delivery",
    "DeliveryConfig",
    "DeliveryPipeline",
    "DeliveryService",
    "EmailDelivery",
    "EmailSettings",
    "EmailTarget",
    "Incoming",
    "RecipientLane",
    "RecipientPlan",
    "RecordSink",
    "RetrySettings",
    "SmtpSettings",
    "build_delivery",
    "delivery_config_path",
    "load_delivery_config",
    "plan_delivery",
]
