"""The subscriber client: how a Member State reads its notifications from Kafka.

    from seabus.connectors.subscriber import KafkaConnection, KafkaSecurity, Subscriber, SqliteSeenStore

    def handle(notification):            # or: async def handle(notification)
        ...                              # store it in the national case system

    def chased(escalation):              # a reminder or OVERDUE step of something owed
        ...                              # (on OSC's topic also second-level steps)

    kafka = KafkaConnection(
        bootstrap="kafka.example.org:9093",
        security=KafkaSecurity(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            username="FRA",
            password_file=Path("/run/secrets/seabus-fra"),   # or password=SecretStr(os.environ[...])
            ca_file=Path("ca.pem"),                           # omit for a publicly trusted CA
        ),
    )
    Subscriber(
        kafka=kafka,
        recipient="FRA",
        group_id="FRA.case-system",       # your groups start with "FRA." (the default: FRA.subscriber)
        handler=handle,
        on_escalation=chased,            # optional: without it escalations are skipped
        # on_reply=heard,                # OSC and agencies' feeds: what states answered (ReplyNotice)
        seen_store=SqliteSeenStore("seen.sqlite3"),
    ).run_forever()

See :mod:`seabus.connectors.subscriber.client` for the guarantees and docs/MEMBER_STATES.md.
"""

from seabus.connectors.subscriber.client import (
    ErrorPolicy,
    EscalationHandler,
    Handler,
    ReplyHandler,
    Subscriber,
    retry_handler_failures,
)
from seabus.connectors.subscriber.seen import InMemorySeenStore, SeenStore, SqliteSeenStore
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity

__all__ = [
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
]
