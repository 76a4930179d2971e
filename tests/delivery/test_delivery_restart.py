"""What delivery remembers across restarts, rebuilt from the audit topic (real broker, real receiver).

A restart under another consumer group reads the topic from the beginning again,
exactly as after a crash between a 2xx and the offset commit: the rebuilt index
must keep the delivered notification from being sent a second time.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from delivery.delivery_support import attempts, dead_letters, escalations
from support.bus import producer

from seabus.connectors.delivery import Delivery, DeliveryConfig, RetrySettings, build_delivery
from seabus.connectors.webhooks import generate_secret
from seabus.connectors.webhooks.testing import WebhookReceiver
from seabus.deploy import topics
from seabus.schemas.codec import default_codec, encode_model
from seabus.schemas.enums import DeadLetterReason, DeliveryOutcome, EscalationLevel
from seabus.schemas.testing import synthetic_notification
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

SECRET = generate_secret()
AID = "SYNTH-RST-0001"


def directory(url: str) -> RecipientsDirectory:
    offices = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA")]
    fra = {
        "id": "FRA",
        "name": "France (test)",
        "channels": {"webhook": {"url": url, "secrets_env": ["WEBHOOK_SECRET_FRA"], "allow_private": True}},
    }
    return RecipientsDirectory.model_validate({"recipients": [*offices, fra]})


def delivery(settings: Settings, kafka: KafkaConnection, url: str, *, app_id: str | None = None) -> Delivery:
    made = build_delivery(
        settings=settings if app_id is None else settings.model_copy(update={"app_id": app_id}),
        kafka=kafka,
        directory=directory(url),
        codec=default_codec(),
        clock=lambda: datetime.now(UTC),
        config=DeliveryConfig(retry=RetrySettings(base_delay_s=0.1, max_delay_s=0.2, jitter=False)),
    )
    assert made is not None
    return made


def publish(kafka: KafkaConnection, topic: str, *values: bytes) -> None:
    p = producer(kafka)
    for value in values:
        p.send(topic, key=AID.encode(), value=value).get(timeout=30)
    p.close()


def note(n: int) -> bytes:
    return encode_model(
        synthetic_notification(n, recipient="FRA", notification_id=f"SYNTH-NOTIF-RST-{n}", allegation_id=AID)
    )


async def until(predicate: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(60):
            while True:
                if predicate():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@pytest.fixture
def fra_topic(settings: Settings, kafka: KafkaConnection, monkeypatch: pytest.MonkeyPatch) -> str:
    topics.apply(settings, ["FRA"], kafka=kafka)
    monkeypatch.setenv("WEBHOOK_SECRET_FRA", SECRET)
    return settings.notify_topic("FRA")


def test_a_notification_delivered_before_a_crash_is_not_sent_again(
    settings: Settings, kafka: KafkaConnection, fra_topic: str
) -> None:
    async def scenario() -> tuple[list[str | None], int, int]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver:
            publish(kafka, fra_topic, note(1))
            first = delivery(settings, kafka, receiver.url)
            await first.start()
            await until(lambda: first.lanes[0].processed == 1, "the first run to deliver")
            await first.stop()

            publish(kafka, fra_topic, note(2))
            second = delivery(settings, kafka, receiver.url, app_id=f"{settings.app_id}-after-crash")
            await second.start()
            try:
                await until(lambda: second.lanes[0].processed == 2, "the second run to go through both")
            finally:
                await second.stop()
            return [r.webhook_id for r in receiver.requests], receiver.arrived, second.index.records_read

    seen, arrived, audit_read = asyncio.run(scenario())
    assert seen == ["SYNTH-NOTIF-RST-1", "SYNTH-NOTIF-RST-2"]  # the first one once, before the "crash"
    assert arrived == 2
    assert audit_read >= 1


def test_a_410_keeps_the_endpoint_disabled_after_a_restart(
    settings: Settings, kafka: KafkaConnection, fra_topic: str
) -> None:
    async def scenario() -> int:
        async with WebhookReceiver(secrets=[SECRET], default=410) as receiver:
            publish(kafka, fra_topic, note(1))
            first = delivery(settings, kafka, receiver.url)
            await first.start()
            await until(lambda: first.lanes[0].processed == 1, "the 410")
            await first.stop()

            publish(kafka, fra_topic, note(2))
            second = delivery(settings, kafka, receiver.url)
            await second.start()
            try:
                await until(lambda: second.lanes[0].processed == 1, "the second notification")
            finally:
                await second.stop()
            return receiver.arrived

    assert asyncio.run(scenario()) == 1
    prefix = settings.topic_prefix
    audit = attempts(kafka, prefix, until=lambda items: len(items) >= 2)
    assert [(a.notification_id, a.outcome, a.http_status) for a in audit] == [
        ("SYNTH-NOTIF-RST-1", DeliveryOutcome.DISABLED, 410),
        ("SYNTH-NOTIF-RST-2", DeliveryOutcome.DISABLED, None),  # decided without a request
    ]
    raised = escalations(kafka, prefix, until=lambda es: len(es) >= 2)
    assert [e.level for e in raised] == [EscalationLevel.ENDPOINT_DISABLED, EscalationLevel.DELIVERY_FAILED]
    letters = dead_letters(kafka, prefix, until=lambda ds: len(ds) >= 2)
    assert [d.reason for d in letters] == [DeadLetterReason.DELIVERY_FAILED] * 2


def test_an_unreadable_record_is_dead_lettered_and_the_lane_goes_on(
    settings: Settings, kafka: KafkaConnection, fra_topic: str
) -> None:
    async def scenario() -> list[str]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver:
            publish(kafka, fra_topic, b'{"not": "avro"}', note(3))
            running = delivery(settings, kafka, receiver.url)
            await running.start()
            try:
                await until(lambda: running.lanes[0].processed == 2, "both records")
            finally:
                await running.stop()
            return receiver.delivered_ids()

    assert asyncio.run(scenario()) == ["SYNTH-NOTIF-RST-3"]
    prefix = settings.topic_prefix
    [letter] = dead_letters(kafka, prefix, until=lambda ds: len(ds) >= 1)
    assert (letter.reason, letter.original_value) == (DeadLetterReason.MALFORMED_BYTES, b"")
    assert letter.original_value_sha256 == hashlib.sha256(b'{"not": "avro"}').hexdigest()
    [raised] = escalations(kafka, prefix, until=lambda es: len(es) >= 1)
    assert (raised.level, raised.recipient, raised.allegation_id) == (
        EscalationLevel.DELIVERY_FAILED,
        "FRA",
        AID,
    )
