"""Issue 16: Faust's co-partitioning check reads "no metadata yet" as "not ready", never a crash loop.

The check is called with simulated metadata answers (what the consumer's snapshot says
for each topic, read by read), the way the worker calls it on every table write.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from faust.exceptions import PartitionsMismatch
from faust.tables.base import Collection
from kafka.admin import NewTopic

from seabus.streams import faust_compat
from seabus.streams.kafka_connection import KafkaConnection

SOURCE = "SYNTH.allegations"
CHANGELOG = "SYNTH-allegation-state-changelog"


@dataclass
class Client:
    refreshes: int = 0

    def force_metadata_update(self) -> None:
        self.refreshes += 1


@dataclass
class Consumer:
    """Faust's consumer as the check sees it: answers per topic, one per read (the last repeats)."""

    answers: dict[str, list[int | None]]
    reads: list[str] = field(default_factory=list)
    client: Client = field(default_factory=Client)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def __post_init__(self) -> None:
        # the shape faust_compat.request_metadata_refresh reaches: consumer._thread._consumer._client
        self._thread = SimpleNamespace(_consumer=SimpleNamespace(_client=self.client), thread_loop=self.loop)

    def topic_partitions(self, topic: str) -> int | None:
        self.reads.append(topic)
        queue = self.answers[topic]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def run_thread_loop(self) -> None:
        """Run what was handed to the consumer thread's loop."""
        self.loop.run_until_complete(asyncio.sleep(0))


@dataclass
class FakeApp:
    consumer: Consumer
    crashes: list[BaseException] = field(default_factory=list)

    async def crash(self, exc: BaseException) -> None:
        self.crashes.append(exc)


def table(consumer: Consumer) -> Any:
    return SimpleNamespace(
        app=FakeApp(consumer),
        name="allegation-state",
        changelog_topic_name=CHANGELOG,
        _verified_source_topics_for_partitions=set(),
    )


@pytest.fixture(autouse=True)
def _patched() -> Iterator[None]:
    faust_compat.install_patches()
    faust_compat._last_refresh[0] = 0.0
    yield
    faust_compat._last_refresh[0] = 0.0


def verify(t: Any, source: str = SOURCE) -> None:
    Collection._verify_source_topic_partitions(t, source)


def test_the_patch_replaces_fausts_check() -> None:
    assert Collection._verify_source_topic_partitions is faust_compat._verify_source_topic_partitions


def test_a_changelog_not_in_metadata_yet_defers_the_check_and_asks_for_metadata() -> None:
    consumer = Consumer({SOURCE: [6], CHANGELOG: [0]})
    t = table(consumer)
    verify(t)  # no PartitionsMismatch: the write goes on
    assert t._verified_source_topics_for_partitions == set()  # checked again on the next write
    consumer.run_thread_loop()
    assert consumer.client.refreshes == 1
    consumer.answers[CHANGELOG] = [6]
    verify(t)
    assert t._verified_source_topics_for_partitions == {SOURCE}


def test_a_source_topic_not_in_metadata_yet_is_not_a_mismatch() -> None:
    """Faust raised "source topic has 0 partitions, but the changelog has 6" here."""
    consumer = Consumer({SOURCE: [0], CHANGELOG: [6]})
    t = table(consumer)
    verify(t)
    assert t._verified_source_topics_for_partitions == set()
    consumer.run_thread_loop()
    assert consumer.client.refreshes == 1


def test_metadata_that_drops_a_topic_between_two_reads_is_not_a_mismatch() -> None:
    """The issue's message: the snapshot said 6, then 0 (a metadata answer from a broker that
    did not know the changelog replaced it), between the two reads of one check."""
    consumer = Consumer({SOURCE: [6], CHANGELOG: [6, 0]})
    t = table(consumer)
    verify(t)
    assert consumer.reads.count(CHANGELOG) == 1  # one read per topic and check
    assert t._verified_source_topics_for_partitions == {SOURCE}


def test_a_member_that_is_not_the_leader_tracks_no_counts_and_skips_the_check() -> None:
    """aiokafka keeps partition counts on the group leader only; elsewhere they read None."""
    consumer = Consumer({SOURCE: [None], CHANGELOG: [None]})
    t = table(consumer)
    verify(t)
    assert t._verified_source_topics_for_partitions == {SOURCE}  # as Faust's own check does
    consumer.run_thread_loop()
    assert consumer.client.refreshes == 0  # no refresh asked on every write of every follower


def test_refreshes_are_asked_at_most_once_a_second() -> None:
    consumer = Consumer({SOURCE: [6], CHANGELOG: [0]})
    asked = [faust_compat.request_metadata_refresh(consumer, now=100.0 + i / 10) for i in range(5)]
    assert asked == [True, False, False, False, False]
    assert faust_compat.request_metadata_refresh(consumer, now=101.5) is True


def test_a_stopped_consumer_is_not_asked() -> None:
    assert faust_compat.request_metadata_refresh(SimpleNamespace(), now=100.0) is False


def test_two_known_different_counts_stop_the_worker_with_a_clear_message() -> None:
    consumer = Consumer({SOURCE: [6], CHANGELOG: [3]})
    t = table(consumer)

    async def write() -> None:
        with pytest.raises(faust_compat.PartitionCountMismatch) as raised:
            verify(t)
        await asyncio.sleep(0)  # the crash was handed to the loop
        assert t.app.crashes == [raised.value]
        text = str(raised.value)
        assert "has 6 partitions" in text
        assert f"{CHANGELOG!r} has 3" in text
        assert not isinstance(raised.value, PartitionsMismatch)  # not a FaustError: never waited on

    asyncio.run(write())
    assert t._verified_source_topics_for_partitions == set()


@pytest.mark.kafka
def test_on_the_real_broker_the_asked_refresh_brings_a_late_changelog_into_the_assignment(
    kafka: KafkaConnection, prefix: str
) -> None:
    """The mechanism of issue 16, on a real broker: a consumer subscribed before the changelog
    existed holds it at 0 partitions and unassigned (aiokafka refreshes every 5 minutes); the
    refresh the check asks for brings its metadata and its partitions at once."""
    source, changelog = f"{prefix}.allegations", f"{prefix}-allegation-state-changelog"
    admin = kafka.kafka_admin()

    def create(name: str) -> None:
        admin.create_topics([NewTopic(name=name, num_partitions=6, replication_factor=1)])
        admin.wait_for_topics([name], timeout_ms=30000)

    async def scenario() -> dict[str, int]:
        consumer = kafka.aio_consumer(group_id=f"{prefix}-late", enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.subscribe(topics=[source, changelog])
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=200)
            await asyncio.to_thread(create, changelog)
            # Faust's consumer as the check reaches it: the aiokafka consumer on its thread's loop
            faust_consumer = SimpleNamespace(
                _thread=SimpleNamespace(_consumer=consumer, thread_loop=asyncio.get_running_loop())
            )
            assert faust_compat.request_metadata_refresh(faust_consumer, now=1e9) is True
            while changelog not in {tp.topic for tp in consumer.assignment()}:
                await consumer.getmany(timeout_ms=200)
            return dict(Counter(tp.topic for tp in consumer.assignment()))
        finally:
            await consumer.stop()

    try:
        create(source)
        assigned = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    finally:
        admin.close()
    assert assigned == {source: 6, changelog: 6}
