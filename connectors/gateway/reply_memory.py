"""Which signed webhook replies the gateway already accepted, remembered across restarts.

A Standard Webhooks request is refused once its ``webhook-timestamp`` is more
than five minutes off the gateway's clock, so a captured reply can be resent
only within ten minutes of when it was first accepted. The de-duplication
memory therefore needs to cover only that window, and the record of it already
exists: every accepted signed reply is on ``<prefix>.responses`` with its
``webhook-id`` and body digest in headers (:data:`WEBHOOK_ID_HEADER`,
:data:`BODY_SHA256_HEADER`). At start the gateway reads the last
:data:`RECALL_WINDOW` of that topic (``offsets_for_times``, so the read is
bounded by the window, not by the topic's size) and seeds its idempotency
store with the answers it gave. No extra topic, no extra ACL, and the Kafka
record the bus acted on is the memory itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from aiokafka.structs import TopicPartition

from seabus.connectors.gateway.idempotency import IdempotencyStore, StoredResponse
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import ORIGIN_HEADER

__all__ = [
    "BODY_SHA256_HEADER",
    "RECALL_WINDOW",
    "WEBHOOK_ID_HEADER",
    "RecalledReply",
    "recall_webhook_replies",
    "reply_answer",
    "webhook_scope",
]

log = structlog.get_logger(__name__)

WEBHOOK_ID_HEADER = "seabus-webhook-id"
BODY_SHA256_HEADER = "seabus-webhook-body-sha256"
RECALL_WINDOW = timedelta(minutes=15)
"""Ten minutes of replayability (five either side of the timestamp) plus five of clock skew."""


def webhook_scope(recipient: str) -> str:
    """The idempotency scope of a recipient's signed replies (ids are the sender's to choose)."""
    return f"webhook-reply:{recipient}"


def reply_answer(
    *, response_id: str, allegation_id: str, recipient: str, partition: int, offset: int
) -> bytes:
    """The 202 body of an accepted reply, byte for byte what ``web.json_response`` sends."""
    return json.dumps(
        {
            "response_id": response_id,
            "allegation_id": allegation_id,
            "recipient": recipient,
            "partition": partition,
            "offset": offset,
        }
    ).encode()


@dataclass(frozen=True, slots=True)
class RecalledReply:
    recipient: str
    webhook_id: str
    body_sha256: str
    answer: bytes


def _recalled(record: object) -> RecalledReply | None:
    headers = {k: bytes(v) for k, v in (getattr(record, "headers", None) or ()) if v is not None}
    try:
        webhook_id = headers[WEBHOOK_ID_HEADER].decode()
        digest = headers[BODY_SHA256_HEADER].decode()
        recipient = headers[ORIGIN_HEADER].decode()
        response_id = headers["ce_id"].decode()
        key = getattr(record, "key", None)
        allegation_id = bytes(key).decode() if key is not None else ""
    except (KeyError, UnicodeDecodeError):
        return None
    answer = reply_answer(
        response_id=response_id,
        allegation_id=allegation_id,
        recipient=recipient,
        partition=int(getattr(record, "partition")),  # noqa: B009 - aiokafka's ConsumerRecord
        offset=int(getattr(record, "offset")),  # noqa: B009
    )
    return RecalledReply(recipient=recipient, webhook_id=webhook_id, body_sha256=digest, answer=answer)


async def recall_webhook_replies(
    kafka: KafkaConnection,
    topic: str,
    store: IdempotencyStore,
    *,
    now: datetime,
    window: timedelta = RECALL_WINDOW,
) -> int:
    """Seed ``store`` with the signed replies accepted in the last ``window``; returns how many."""
    # Subscribed at first so that start() fetches the topic's metadata; then assigned by hand.
    consumer = kafka.aio_reader(topic)
    recalled = 0
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.unsubscribe()
        if not tps:
            log.warning("signed replies not recalled: the topic has no partitions yet", topic=topic)
            return 0
        consumer.assign(tps)
        since = int((now - window).timestamp() * 1000)
        starts = await consumer.offsets_for_times(dict.fromkeys(tps, since))
        ends = await consumer.end_offsets(tps)
        pending = {}
        for tp in tps:
            found = starts.get(tp)
            if found is None or found.offset >= ends[tp]:
                continue  # nothing written in the window
            consumer.seek(tp, found.offset)
            pending[tp] = ends[tp]
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= pending.get(tp, 0):
                        continue
                    reply = _recalled(record)
                    if reply is not None:
                        store.remember(
                            webhook_scope(reply.recipient),
                            reply.webhook_id,
                            reply.body_sha256,
                            StoredResponse(202, reply.answer, "application/json"),
                        )
                        recalled += 1
            for tp in list(pending):
                if await consumer.position(tp) >= pending[tp]:
                    del pending[tp]
    finally:
        await consumer.stop()
    log.info("signed replies recalled", topic=topic, replies=recalled, window_s=int(window.total_seconds()))
    return recalled
