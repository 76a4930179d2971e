"""One consumer for every notify topic, a lane per recipient: a dead endpoint holds up only its own lane.

Real broker, real receivers, the delivery service `seabus run` starts. "Does
not delay" is shown by the order of events, not by a stopwatch: the healthy
recipient's notifications are delivered while the dead endpoint's request is
still being held open by its receiver. These are the scenarios the former
``WebhookDispatcher`` tests covered, on the production path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import pytest
from support.bus import producer

from seabus.connectors.delivery import (
    Delivery,
    DeliveryConfig,
    DeliveryConsumer,
    Incoming,
    RecipientPlan,
    RetrySettings,
    Route,
    build_delivery,
)
from seabus.connectors.webhooks import generate_secret
from seabus.connectors.webhooks.testing import WebhookReceiver
from seabus.deploy import topics
from seabus.schemas.codec import default_codec, encode_model
from seabus.schemas.testing import synthetic_notification
from seabus.streams.config import Settings
from seabus.streams.config.recipients import RecipientsDirectory
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

SECRET = generate_secret()
SECRET_ENV = "WEBHOOK_SECRET_ISOLATION"


def directory(urls: Mapping[str, str]) -> RecipientsDirectory:
    offices = [{"id": o, "name": o} for o in ("OSC", "OIOS", "VRA")]
    states = [
        {
            "id": rid,
            "name": f"{rid} (test)",
            "channels": {"webhook": {"url": url, "secrets_env": [SECRET_ENV], "allow_private": True}},
        }
        for rid, url in urls.items()
    ]
    return RecipientsDirectory.model_validate({"recipients": [*offices, *states]})


def delivery(
    settings: Settings, kafka: KafkaConnection, urls: Mapping[str, str], config: DeliveryConfig | None = None
) -> Delivery:
    made = build_delivery(
        settings=settings,
        kafka=kafka,
        directory=directory(urls),
        codec=default_codec(),
        clock=lambda: datetime.now(UTC),
        config=config
        or DeliveryConfig(
            retry=RetrySettings(base_delay_s=0.1, max_delay_s=0.2, jitter=False), shutdown_grace_s=0
        ),
    )
    assert made is not None
    return made


def note_id(rid: str, n: int) -> str:
    return f"SYNTH-NOTIF-ISO-{rid}-{n}"


def publish(kafka: KafkaConnection, settings: Settings, rid: str, numbers: range) -> list[str]:
    """Notifications ``numbers`` for ``rid``, all about one allegation (one partition, one order)."""
    p = producer(kafka)
    aid = f"SYNTH-ISO-{rid}"
    for n in numbers:
        value = encode_model(
            synthetic_notification(n, recipient=rid, notification_id=note_id(rid, n), allegation_id=aid)
        )
        p.send(settings.notify_topic(rid), key=aid.encode(), value=value).get(timeout=30)
    p.close()
    return [note_id(rid, n) for n in numbers]


async def until(predicate: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(60):
            while True:
                if predicate():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def committed(kafka: KafkaConnection, group: str, topic: str) -> int:
    """How many of ``topic``'s records the group has committed, over all partitions (all start at 0)."""
    from kafka import TopicPartition

    consumer = kafka.kafka_consumer(group_id=group, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions)
    finally:
        consumer.close()


@pytest.fixture
def recipients(settings: Settings, kafka: KafkaConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    topics.apply(settings, ["NPL", "KEN", "URY", "FRA"], kafka=kafka)
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest.mark.usefixtures("recipients")
def test_a_dead_endpoint_delays_no_other_recipient_and_its_backlog_follows_in_order(
    settings: Settings, kafka: KafkaConnection
) -> None:
    """Healthy KEN is served while NPL's endpoint hangs; NPL's backlog is delivered in order once it answers."""

    async def scenario() -> tuple[list[str], int, int, int, list[str], list[str]]:
        async with (
            WebhookReceiver(secrets=[SECRET], stall=True) as dead,
            WebhookReceiver(secrets=[SECRET]) as ken,
        ):
            npl_ids = publish(kafka, settings, "NPL", range(1, 4))
            running = delivery(settings, kafka, {"NPL": dead.url, "KEN": ken.url})
            await running.start()
            assert len(running.consumers) == 1  # one consumer for both notify topics
            try:
                await dead.wait_for_arrivals(1)  # NPL's first request is now hanging
                ken_ids = publish(kafka, settings, "KEN", range(1, 4))
                await until(lambda: len(ken.delivered_ids()) == 3, "KEN's notifications")
                seen_by_ken = ken.delivered_ids()
                held_open, answered = dead.arrived, len(dead.requests)
                npl = next(lane for lane in running.lanes if lane.plan.recipient == "NPL")
                npl_done = npl.processed
                dead.release()  # the endpoint recovers
                await until(lambda: npl.processed == 3, "NPL's backlog")
            finally:
                await running.stop()
            assert seen_by_ken == ken_ids
            return seen_by_ken, held_open, answered, npl_done, dead.delivered_ids(), npl_ids

    seen_by_ken, held_open, answered, npl_done, npl_delivered, npl_ids = asyncio.run(scenario())
    assert len(seen_by_ken) == 3
    assert (held_open, answered, npl_done) == (1, 0, 0)  # nothing of NPL's was delivered meanwhile
    assert npl_delivered == npl_ids  # then all of it, in order, nothing skipped


@pytest.mark.usefixtures("recipients")
def test_a_worker_stopped_while_an_endpoint_is_dead_resumes_its_backlog_where_it_stopped(
    settings: Settings, kafka: KafkaConnection
) -> None:
    """The commit never passes NPL's undelivered notifications; KEN's delivered ones are not re-read."""
    group = f"{settings.app_id}-delivery"

    async def scenario() -> tuple[int, int, list[str], int, list[str]]:
        async with (
            WebhookReceiver(secrets=[SECRET], stall=True) as dead,
            WebhookReceiver(secrets=[SECRET]) as ken,
        ):
            npl_ids = publish(kafka, settings, "NPL", range(1, 4))
            ken_ids = publish(kafka, settings, "KEN", range(1, 3))
            first = delivery(settings, kafka, {"NPL": dead.url, "KEN": ken.url})
            await first.start()
            try:
                await dead.wait_for_arrivals(1)
                await until(lambda: len(ken.delivered_ids()) == 2, "KEN's notifications")
                ken_lane = next(lane for lane in first.lanes if lane.plan.recipient == "KEN")
                await until(lambda: ken_lane.processed == 2, "KEN's lane to commit")
            finally:
                await first.stop()  # grace 0: NPL's request in hand is cut, its offset not committed
            npl_committed = await asyncio.to_thread(committed, kafka, group, settings.notify_topic("NPL"))
            ken_committed = await asyncio.to_thread(committed, kafka, group, settings.notify_topic("KEN"))
            async with WebhookReceiver(secrets=[SECRET]) as recovered:
                second = delivery(settings, kafka, {"NPL": recovered.url, "KEN": ken.url})
                await second.start()
                try:
                    await until(
                        lambda: len(recovered.delivered_ids()) == 3, "NPL's backlog after the restart"
                    )
                finally:
                    await second.stop()
                assert recovered.delivered_ids() == npl_ids
                return npl_committed, ken_committed, ken.delivered_ids(), ken.arrived, ken_ids

    npl_committed, ken_committed, ken_seen, ken_arrived, ken_ids = asyncio.run(scenario())
    assert npl_committed == 0  # nothing of NPL's was delivered, so nothing committed
    assert ken_committed == 2
    assert (ken_seen, ken_arrived) == (ken_ids, 2)  # the restart did not send KEN's again


@pytest.mark.usefixtures("recipients")
def test_a_recipient_in_backoff_holds_no_request_slot(settings: Settings, kafka: KafkaConnection) -> None:
    """With a single request slot, URY waiting out a retry delay does not keep KEN's requests out."""
    config = DeliveryConfig(
        max_in_flight=1,
        retry=RetrySettings(base_delay_s=600, max_delay_s=600, jitter=False),
        shutdown_grace_s=0,
    )

    async def scenario() -> tuple[list[str], list[str], int, int]:
        async with (
            WebhookReceiver(secrets=[SECRET], default=503) as failing,
            WebhookReceiver(secrets=[SECRET]) as ken,
        ):
            publish(kafka, settings, "URY", range(1, 2))
            running = delivery(settings, kafka, {"URY": failing.url, "KEN": ken.url}, config)
            await running.start()
            try:
                await failing.wait_for_arrivals(1)  # answered 503: URY's lane now waits 600 s
                ken_ids = publish(kafka, settings, "KEN", range(1, 4))
                await until(lambda: len(ken.delivered_ids()) == 3, "KEN's notifications")
                ury = next(lane for lane in running.lanes if lane.plan.recipient == "URY")
                return ken.delivered_ids(), ken_ids, failing.arrived, ury.processed
            finally:
                await running.stop()

    delivered, ken_ids, ury_requests, ury_done = asyncio.run(scenario())
    assert delivered == ken_ids
    assert (ury_requests, ury_done) == (1, 0)  # still in its backoff, not given up


@pytest.mark.usefixtures("recipients")
def test_one_recipient_is_served_in_order_through_retries(settings: Settings, kafka: KafkaConnection) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with WebhookReceiver(secrets=[SECRET], replies=[500, 502]) as receiver:
            ids = publish(kafka, settings, "FRA", range(6))
            running = delivery(settings, kafka, {"FRA": receiver.url})
            await running.start()
            try:
                await until(lambda: len(receiver.delivered_ids()) == 6, "all six")
            finally:
                await running.stop()
            return receiver.delivered_ids(), [r.webhook_id or "" for r in receiver.requests], ids

    delivered, arrivals, ids = asyncio.run(scenario())
    assert delivered == ids
    # The first notification was retried twice before the second was sent at all.
    assert arrivals[:4] == [ids[0]] * 3 + [ids[1]]


@pytest.mark.usefixtures("recipients")
def test_stop_finishes_the_notification_in_hand_and_leaves_the_rest_for_the_next_start(
    settings: Settings, kafka: KafkaConnection
) -> None:
    config = DeliveryConfig(
        retry=RetrySettings(base_delay_s=0.1, max_delay_s=0.2, jitter=False), shutdown_grace_s=60
    )

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with WebhookReceiver(secrets=[SECRET], stall=True) as slow:
            ids = publish(kafka, settings, "FRA", range(1, 4))
            first = delivery(settings, kafka, {"FRA": slow.url}, config)
            await first.start()
            await slow.wait_for_arrivals(1)
            stopping = asyncio.create_task(first.stop())  # waits up to 60 s for the one in hand
            await until(lambda: first.consumers == [], "the stop to begin")
            slow.release()
            await stopping
            before = slow.delivered_ids()
            second = delivery(settings, kafka, {"FRA": slow.url}, config)
            await second.start()
            try:
                await until(lambda: len(slow.delivered_ids()) == 3, "the rest after the restart")
            finally:
                await second.stop()
            return before, slow.delivered_ids(), ids

    before, after, ids = asyncio.run(scenario())
    assert before == ids[:1]  # the one in hand finished; the queued ones were not started
    assert after == ids  # and followed after the restart, the first not sent again


@pytest.mark.usefixtures("recipients")
def test_a_failing_step_is_retried_on_the_same_record_before_the_offset_moves(
    settings: Settings, kafka: KafkaConnection
) -> None:
    """An error in the pipeline (say the audit topic not acknowledging) never skips the record."""
    seen: list[int] = []

    class Flaky:
        async def process(self, plan: RecipientPlan, incoming: Incoming) -> object:
            seen.append(incoming.offset)
            if len(seen) == 1:
                raise RuntimeError("audit topic unavailable")
            return None

    async def no_catch_up() -> int:
        return 0

    group = f"{settings.app_id}-flaky"
    plan = RecipientPlan(recipient="VRA", webhook=None, email=None)

    async def scenario() -> int:
        publish(kafka, settings, "FRA", range(1, 3))
        consumer = DeliveryConsumer(
            routes=[Route(topic=settings.notify_topic("FRA"), plan=plan, processor=Flaky())],
            kafka=kafka,
            group_id=group,
            catch_up=no_catch_up,
            retry_delay_s=0.05,
        )
        await consumer.start()
        try:
            await until(lambda: consumer.lanes[0].processed == 2, "both records")
        finally:
            await consumer.stop(grace_s=0)
        return await asyncio.to_thread(committed, kafka, group, settings.notify_topic("FRA"))

    assert asyncio.run(scenario()) == 2
    assert seen == [0, 0, 1]


@pytest.mark.usefixtures("recipients")
def test_an_upgrade_takes_over_where_the_former_per_recipient_group_stopped(
    settings: Settings, kafka: KafkaConnection
) -> None:
    """The former layout committed FRA's first two; the single consumer starts at the third."""
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    ids = publish(kafka, settings, "FRA", range(1, 4))
    topic = settings.notify_topic("FRA")
    legacy = kafka.kafka_consumer(group_id=f"{settings.app_id}-delivery-FRA", enable_auto_commit=False)
    try:
        ends = legacy.end_offsets(
            [TopicPartition(topic, p) for p in legacy.partitions_for_topic(topic) or ()]
        )
        [tp] = [tp for tp, end in ends.items() if end]  # one allegation: one partition
        legacy.assign([tp])
        legacy.commit({tp: OffsetAndMetadata(2, "", -1)})
    finally:
        legacy.close()

    async def scenario() -> list[str]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver:
            running = delivery(settings, kafka, {"FRA": receiver.url})
            await running.start()
            try:
                await until(lambda: running.lanes[0].processed == 1, "the third notification")
            finally:
                await running.stop()
            return receiver.delivered_ids()

    assert asyncio.run(scenario()) == ids[2:]
    assert committed(kafka, f"{settings.app_id}-delivery", topic) == 3


@pytest.mark.usefixtures("recipients")
def test_a_consumer_that_skips_records_is_sought_back_and_never_commits_past_them(
    settings: Settings, kafka: KafkaConnection
) -> None:
    """The consumer is moved past FRA's first two records on assignment; they are delivered first all the same."""
    from kafka import TopicPartition as KafkaTopicPartition

    seen: list[int] = []

    class Recording:
        async def process(self, plan: RecipientPlan, incoming: Incoming) -> object:
            seen.append(incoming.offset)
            return None

    publish(kafka, settings, "FRA", range(1, 4))
    topic = settings.notify_topic("FRA")
    probe = kafka.kafka_consumer(group_id=None, enable_auto_commit=False)
    try:
        ends = probe.end_offsets(
            [KafkaTopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        )
    finally:
        probe.close()
    [partition] = [tp.partition for tp, end in ends.items() if end]
    group = f"{settings.app_id}-skipping"
    plan = RecipientPlan(recipient="FRA", webhook=None, email=None)
    holder: list[DeliveryConsumer] = []

    async def skip_ahead() -> int:
        """Runs in the assignment callback: the consumer's position jumps over two records."""
        if not seen:
            from aiokafka import TopicPartition

            holder[0]._consumer.seek(TopicPartition(topic, partition), 2)
        return 0

    async def scenario() -> int:
        consumer = DeliveryConsumer(
            routes=[Route(topic=topic, plan=plan, processor=Recording())],
            kafka=kafka,
            group_id=group,
            catch_up=skip_ahead,
        )
        holder.append(consumer)
        await consumer.start()
        try:
            await until(lambda: consumer.lanes[0].processed == 3, "all three records")
        finally:
            await consumer.stop(grace_s=0)
        return await asyncio.to_thread(committed, kafka, group, topic)

    assert asyncio.run(scenario()) == 3
    assert seen == [0, 1, 2]
