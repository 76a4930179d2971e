"""The subscriber client on the real broker: commit after the handler, skip what was handled.

Every notification of a test shares one allegation id, hence one partition, so
"the marker was handled last" proves nothing earlier was handled again: the
marker is behind everything else in the partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.bus import producer

from seabus.connectors.errors import HandlerFailed, NotificationUndecodable
from seabus.connectors.subscriber import (
    EscalationHandler,
    Handler,
    InMemorySeenStore,
    ReplyHandler,
    SeenStore,
    SqliteSeenStore,
    Subscriber,
)
from seabus.deploy import topics
from seabus.schemas.codec import decode_model, default_codec, encode_model
from seabus.schemas.models import Escalation, Notification, ReplyNotice
from seabus.schemas.testing import synthetic_escalation, synthetic_notification, synthetic_response
from seabus.streams.config import Settings
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.replies import reply_notices

pytestmark = pytest.mark.kafka

AID = "SYNTH-SUB-0001"


@pytest.fixture
def topic(settings: Settings, kafka: KafkaConnection) -> str:
    topics.apply(settings, ["FRA"], kafka=kafka)
    return settings.notify_topic("FRA")


def publish(kafka: KafkaConnection, topic: str, *notification_ids: str) -> None:
    p = producer(kafka)
    for nid in notification_ids:
        note = synthetic_notification(1, recipient="FRA", notification_id=nid, allegation_id=AID)
        p.send(topic, key=AID.encode(), value=encode_model(note)).get(timeout=30)
    p.close()


def run_until(
    settings: Settings,
    kafka: KafkaConnection,
    *,
    group: str,
    handler: Handler,
    done: Callable[[], bool],
    seen_store: SeenStore | None = None,
    on_escalation: EscalationHandler | None = None,
    on_reply: ReplyHandler | None = None,
) -> Subscriber:
    """Run a subscriber until ``done()``, then stop it; returns it for its counters."""
    subscriber = Subscriber(
        kafka=kafka,
        recipient="FRA",
        topic_prefix=settings.topic_prefix,
        group_id=group,
        handler=handler,
        on_escalation=on_escalation,
        on_reply=on_reply,
        seen_store=seen_store,
        retry_delay_s=0.05,
        max_retry_delay_s=0.2,
    )

    async def scenario() -> None:
        running = asyncio.create_task(subscriber.run())
        async with asyncio.timeout(60):
            while not done():
                if running.done():
                    await running  # raises what stopped it
                await asyncio.sleep(0.05)
        subscriber.stop()
        await running

    asyncio.run(scenario())
    return subscriber


def test_a_failing_handler_gets_the_notification_again_and_it_is_handled_once(
    settings: Settings, kafka: KafkaConnection, topic: str
) -> None:
    publish(kafka, topic, "SYNTH-N-1", "SYNTH-N-2")
    calls: list[str] = []
    handled: list[str] = []

    def flaky(note: Notification) -> None:
        calls.append(note.notification_id)
        if calls.count(note.notification_id) == 1 and note.notification_id == "SYNTH-N-1":
            raise RuntimeError("the national case system is down (synthetic)")
        handled.append(note.notification_id)

    group = f"{settings.app_id}-fra"
    first = run_until(settings, kafka, group=group, handler=flaky, done=lambda: len(handled) == 2)
    assert calls == ["SYNTH-N-1", "SYNTH-N-1", "SYNTH-N-2"]  # N-2 waited behind the failed N-1
    assert handled == ["SYNTH-N-1", "SYNTH-N-2"]
    assert first.handled == 2

    # Same group after a restart: the committed offsets are past both, only the marker comes.
    publish(kafka, topic, "SYNTH-N-MARKER")
    after: list[str] = []
    run_until(
        settings,
        kafka,
        group=group,
        handler=lambda n: after.append(n.notification_id),
        done=lambda: bool(after),
    )
    assert after == ["SYNTH-N-MARKER"]


def test_a_republished_notification_reaches_the_handler_once(
    settings: Settings, kafka: KafkaConnection, topic: str
) -> None:
    publish(kafka, topic, "SYNTH-N-1", "SYNTH-N-1", "SYNTH-N-MARKER")
    handled: list[str] = []

    async def handler(note: Notification) -> None:  # coroutine handlers work the same way
        handled.append(note.notification_id)

    subscriber = run_until(
        settings,
        kafka,
        group=f"{settings.app_id}-fra",
        handler=handler,
        done=lambda: "SYNTH-N-MARKER" in handled,
        seen_store=InMemorySeenStore(),
    )
    assert handled == ["SYNTH-N-1", "SYNTH-N-MARKER"]
    assert subscriber.skipped == 1


def test_the_sqlite_store_keeps_handled_ids_across_restarts(
    settings: Settings, kafka: KafkaConnection, topic: str, tmp_path: Path
) -> None:
    publish(kafka, topic, "SYNTH-N-1", "SYNTH-N-2")
    path = tmp_path / "seen.sqlite3"
    before: list[str] = []
    with SqliteSeenStore(path) as store:
        run_until(
            settings,
            kafka,
            group=f"{settings.app_id}-first",
            handler=lambda n: before.append(n.notification_id),
            done=lambda: len(before) == 2,
            seen_store=store,
        )
    publish(kafka, topic, "SYNTH-N-MARKER")
    after: list[str] = []
    with SqliteSeenStore(path) as store:
        # A new group reads the topic from the beginning, as after lost offsets or a group reset.
        restarted = run_until(
            settings,
            kafka,
            group=f"{settings.app_id}-second",
            handler=lambda n: after.append(n.notification_id),
            done=lambda: bool(after),
            seen_store=store,
        )
        assert len(store) == 3
    assert before == ["SYNTH-N-1", "SYNTH-N-2"]
    assert after == ["SYNTH-N-MARKER"]
    assert restarted.skipped == 2


def test_an_unreadable_record_stops_the_subscriber_unless_told_otherwise(
    settings: Settings, kafka: KafkaConnection, topic: str
) -> None:
    p = producer(kafka)
    p.send(topic, key=AID.encode(), value=b'{"not": "a notification"}').get(timeout=30)
    p.close()
    with pytest.raises(NotificationUndecodable, match="upgrade seabus"):
        run_until(
            settings,
            kafka,
            group=f"{settings.app_id}-fra",
            handler=lambda n: None,
            done=lambda: False,
        )


def test_the_error_policy_can_stop_on_handler_failures(
    settings: Settings, kafka: KafkaConnection, topic: str
) -> None:
    publish(kafka, topic, "SYNTH-N-1")

    def broken(note: Notification) -> None:
        raise ValueError("synthetic failure")

    subscriber = Subscriber(
        kafka=kafka,
        recipient="FRA",
        topic_prefix=settings.topic_prefix,
        group_id=f"{settings.app_id}-fra",
        handler=broken,
        on_error=lambda error: False,
    )
    with pytest.raises(HandlerFailed) as caught:
        asyncio.run(subscriber.run())
    assert caught.value.notification_id == "SYNTH-N-1"
    assert isinstance(caught.value.__cause__, ValueError)


def publish_escalation(kafka: KafkaConnection, topic: str, escalation_id: str) -> None:
    e = synthetic_escalation(1, escalation_id=escalation_id, allegation_id=AID, recipient="FRA")
    p = producer(kafka)
    p.send(topic, key=AID.encode(), value=encode_model(e)).get(timeout=30)
    p.close()


def test_escalations_go_to_on_escalation_typed_once_and_a_handler_alone_never_sees_them(
    settings: Settings, kafka: KafkaConnection, topic: str
) -> None:
    publish(kafka, topic, "SYNTH-N-E1")
    publish_escalation(kafka, topic, "SYNTH-E-1")
    publish_escalation(kafka, topic, "SYNTH-E-1")  # a step the bus sent again
    publish(kafka, topic, "SYNTH-N-E2")

    # A subscriber written before escalations: its handler gets notifications only, and it goes on.
    notes: list[str] = []
    old = run_until(
        settings,
        kafka,
        group=f"{settings.app_id}-fra-old",
        handler=lambda n: notes.append(n.notification_id),
        done=lambda: len(notes) == 2,
    )
    assert notes == ["SYNTH-N-E1", "SYNTH-N-E2"]
    assert old.escalations_skipped == 2

    # With on_escalation: each escalation handed over typed, once per escalation_id, in topic order.
    order: list[str] = []
    seen: list[Escalation] = []

    def chased(e: Escalation) -> None:
        seen.append(e)
        order.append(e.escalation_id)

    new = run_until(
        settings,
        kafka,
        group=f"{settings.app_id}-fra-new",
        handler=lambda n: order.append(n.notification_id),
        on_escalation=chased,
        done=lambda: len(order) == 3,
    )
    assert order == ["SYNTH-N-E1", "SYNTH-E-1", "SYNTH-N-E2"]
    assert all(isinstance(e, Escalation) for e in seen)
    assert (new.escalations_handled, new.skipped) == (1, 1)


def publish_reply_notice(kafka: KafkaConnection, topic: str, response_id: str) -> str:
    """What the bus writes to a feed when a state answered; returns its notice_id."""
    response = synthetic_response(1, response_id=response_id, allegation_id=AID, recipient="KEN")
    [out] = reply_notices(response, reporting_entity="FRA", now=datetime.now(UTC), codec=default_codec())[1:]
    p = producer(kafka)
    p.send(topic, key=out.key, value=out.value, headers=list(out.headers)).get(timeout=30)
    p.close()
    return decode_model(out.value, ReplyNotice).notice_id


def test_reply_notices_go_to_on_reply_typed_once_and_are_skipped_without_it(
    settings: Settings, kafka: KafkaConnection, topic: str
) -> None:
    publish(kafka, topic, "SYNTH-N-R1")
    first = publish_reply_notice(kafka, topic, "00000000-0000-4000-8000-0000000000a1")
    assert publish_reply_notice(kafka, topic, "00000000-0000-4000-8000-0000000000a1") == first  # sent again
    publish(kafka, topic, "SYNTH-N-R2")

    notes: list[str] = []
    plain = run_until(
        settings,
        kafka,
        group=f"{settings.app_id}-fra-noreply",
        handler=lambda n: notes.append(n.notification_id),
        done=lambda: len(notes) == 2,
    )
    assert notes == ["SYNTH-N-R1", "SYNTH-N-R2"]
    assert plain.replies_skipped == 2

    order: list[str] = []
    heard: list[ReplyNotice] = []

    def on_reply(notice: ReplyNotice) -> None:
        heard.append(notice)
        order.append(notice.notice_id)

    new = run_until(
        settings,
        kafka,
        group=f"{settings.app_id}-fra-reply",
        handler=lambda n: order.append(n.notification_id),
        on_reply=on_reply,
        done=lambda: len(order) == 3,
    )
    assert order == ["SYNTH-N-R1", first, "SYNTH-N-R2"]
    assert [(n.answered_by, n.recipient, n.note, n.investigator) for n in heard] == [
        ("KEN", "FRA", None, None)
    ]
    assert (new.replies_handled, new.skipped) == (1, 1)
