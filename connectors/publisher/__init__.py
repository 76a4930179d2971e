"""The agency side of the bus: publish allegation events and know that Kafka took them.

:class:`Publisher` validates, encodes and sends with ``acks=all`` and the
idempotent producer, returning a :class:`PublishReceipt` only after the broker
acknowledged. :mod:`seabus.connectors.publisher.importer` reads JSON, NDJSON and CSV
files for ``seabus publish``. A :class:`KafkaConnection` (re-exported from
:mod:`seabus.streams.kafka_connection`) says where the cluster is and how to authenticate
(TLS, SASL): ``Publisher(kafka=KafkaConnection(bootstrap=..., security=KafkaSecurity(...)),
entity="MINUSCA")`` writes the agency's own ``sea.inbound.MINUSCA``. Recipients verifying the bus's webhooks use
:func:`verify_webhook` (re-exported from :mod:`seabus.connectors.webhooks`).
"""

from seabus.connectors.publisher.errors import (
    GatewayConfigError,
    ImportFileError,
    PublisherClosed,
    PublishFailed,
)
from seabus.connectors.publisher.ids import IMPORT_NAMESPACE, new_event_id, stable_event_id
from seabus.connectors.publisher.importer import FileFormat, ImportRow, detect_format, parse_text, read_file
from seabus.connectors.publisher.outgoing import OutgoingEvent, check_event, event_problems, prepare_event
from seabus.connectors.publisher.sdk import (
    BatchResult,
    EventFailure,
    Publisher,
    PublishReceipt,
    inbound_topic,
)
from seabus.connectors.webhooks import verify_webhook
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity

__all__ = [
    "IMPORT_NAMESPACE",
    "BatchResult",
    "EventFailure",
    "FileFormat",
    "GatewayConfigError",
    "ImportFileError",
    "ImportRow",
    "KafkaConnection",
    "KafkaSecurity",
    "OutgoingEvent",
    "PublishFailed",
    "PublishReceipt",
    "Publisher",
    "PublisherClosed",
    "check_event",
    "detect_format",
    "event_problems",
    "inbound_topic",
    "new_event_id",
    "parse_text",
    "prepare_event",
    "read_file",
    "stable_event_id",
    "verify_webhook",
]
