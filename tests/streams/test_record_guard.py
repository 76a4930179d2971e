"""The record guard: waits out Kafka, dead-letters what cannot be processed, never stops."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, NotLeaderForPartitionError
from aiokafka.structs import TopicPartition
from faust.exceptions import PartitionsMismatch, ProducerSendError
from kafka.errors import KafkaConnectionError as KafkaPythonConnectionError

from seabus.schemas.codec import decode_model
from seabus.schemas.enums import DeadLetterReason
from seabus.schemas.envelopes import Outbound
from seabus.schemas.models import DeadLetter
from seabus.streams import metrics
from seabus.streams.agents.guard import RecordGuard, agent_lifecycle, is_transient
from seabus.streams.config import load_settings
from seabus.streams.context import BusContext, load_context
from seabus.streams.progress import Admission, SourceProgress, progress_key

TOPIC = "sea.allegations"


@dataclass
class Message:
    offset: int
    topic: str = TOPIC
    partition: int = 0
    key: bytes | None = b"SYNTH-GUARD-1"
    value: bytes | None = b"\x00poison"
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


class Kafka:
    async def seek(self, tp: TopicPartition, offset: int) -> None:
        raise AssertionError("no seek expected")

    async def first_offset(self, tp: TopicPartition, start: int, *, timeout_s: float | None = None) -> int:
        return start

    async def end_offsets(self, tps: object) -> dict[TopicPartition, int]:
        return {}

    async def start_offsets(self, tps: object) -> dict[TopicPartition, int]:
        return {TopicPartition(TOPIC, 0): 0}


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BusContext:
    for key in [k for k in __import__("os").environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    return load_context(load_settings(data_dir=tmp_path, not_ready_after_s=0.05))


def make_guard(
    ctx: BusContext, sent: list[Outbound], *, refuse: int = 0
) -> tuple[RecordGuard, dict[str, int]]:
    table: dict[str, int] = {}
    refusals = {"left": refuse}

    async def send(records: list[Outbound]) -> None:
        if refusals["left"]:
            refusals["left"] -= 1
            raise ProducerSendError("refused") from MessageSizeTooLargeError()
        sent.extend(records)

    progress = SourceProgress(table=table, seeker=Kafka(), reader=Kafka())
    guard = RecordGuard(
        agent="intake",
        ctx=ctx,
        progress=progress,
        send=send,
        producer="seabus/test",
        should_stop=lambda: False,
    )
    guard.max_delay_s = 0.01
    return guard, table


def test_the_clusters_errors_are_transient_and_the_records_are_not() -> None:
    assert is_transient(ProducerSendError("x")) is True
    assert is_transient(KafkaTimeoutError()) is True
    assert is_transient(NotLeaderForPartitionError()) is True
    wrapped = ProducerSendError("x")
    wrapped.__cause__ = MessageSizeTooLargeError()
    assert is_transient(wrapped) is False
    assert is_transient(ValueError("bad record")) is False
    # Faust's first-start metadata race: the record is fine, it must wait, not be dead-lettered
    assert is_transient(PartitionsMismatch("changelog topic has 0 partitions")) is True
    # kafka-python's admin (a new recipient's topic created during a broker outage)
    assert is_transient(KafkaPythonConnectionError("Connection reset by peer")) is True


def test_a_failing_step_is_dead_lettered_and_the_offset_recorded(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    guard, table = make_guard(ctx, sent)

    async def step(message: Message) -> None:
        raise ValueError("narrative text that must not leak")

    assert asyncio.run(guard.handle(Message(0), step)) is Admission.PROCESS
    assert table[progress_key(TopicPartition(TOPIC, 0))] == 1
    [letter] = sent
    record = decode_model(letter.value, DeadLetter)
    assert record.reason is DeadLetterReason.PROCESSING_FAILED
    assert "ValueError" in record.message
    assert "narrative" not in record.message
    # The bytes stay at their source coordinates (deadletter v4); the digest identifies them.
    assert (record.original_value, record.original_value_withheld) == (b"", True)
    assert record.original_value_sha256 == hashlib.sha256(b"\x00poison").hexdigest()


def test_kafka_away_is_waited_out_and_reported_then_cleared(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    guard, table = make_guard(ctx, sent)
    attempts = {"n": 0}
    seen_problems: list[dict[str, str]] = []

    async def step(message: Message) -> None:
        attempts["n"] += 1
        seen_problems.append(metrics.problems())
        if attempts["n"] < 4:
            await asyncio.sleep(0.03)
            raise KafkaTimeoutError()

    asyncio.run(guard.handle(Message(0), step))
    assert attempts["n"] == 4
    assert sent == []  # nothing dead-lettered: the record was processed
    assert table[progress_key(TopicPartition(TOPIC, 0))] == 1
    assert any("intake-waiting" in p for p in seen_problems)
    assert "intake-waiting" not in metrics.problems()


def test_a_refused_dead_letter_is_sent_again_without_the_original(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    guard, _ = make_guard(ctx, sent, refuse=1)

    async def step(message: Message) -> None:
        raise ProducerSendError("too big") from MessageSizeTooLargeError()

    asyncio.run(guard.handle(Message(0), step))
    [letter] = sent
    record = decode_model(letter.value, DeadLetter)
    assert record.reason is DeadLetterReason.OVERSIZED
    assert record.original_value == b""


def test_redelivered_records_do_not_run_the_step(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    guard, table = make_guard(ctx, sent)
    table[progress_key(TopicPartition(TOPIC, 0))] = 5
    ran: list[int] = []

    async def step(message: Message) -> None:
        ran.append(message.offset)

    assert asyncio.run(guard.handle(Message(3), step)) is Admission.DONE
    assert asyncio.run(guard.handle(Message(5), step)) is Admission.PROCESS
    assert ran == [5]


def test_a_crash_is_counted_and_makes_the_worker_not_ready_for_a_while() -> None:
    before = metrics.AGENT_RESTARTS.labels("probe-agent", "crash")._value.get()

    async def crash_once() -> None:
        with pytest.raises(RuntimeError):
            async with agent_lifecycle("probe-agent", not_ready_s=0.2):
                raise RuntimeError("boom")
        assert "probe-agent-crashed" in metrics.problems()
        async with agent_lifecycle("probe-agent", not_ready_s=0.2):
            pass
        await asyncio.sleep(0.25)
        assert "probe-agent-crashed" not in metrics.problems()

    asyncio.run(crash_once())
    assert metrics.AGENT_RESTARTS.labels("probe-agent", "crash")._value.get() == before + 1


def test_the_wait_doubles_to_its_cap_and_ends_when_the_worker_stops(ctx: BusContext) -> None:
    """With sleep and clock injected: 0.5 s doubling to max_delay_s; on stop the error itself."""
    sent: list[Outbound] = []
    guard, table = make_guard(ctx, sent)
    now = {"t": 0.0}
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now["t"] += seconds

    guard.sleep, guard.clock, guard.max_delay_s = sleep, lambda: now["t"], 4.0
    guard.should_stop = lambda: len(pauses) == 6

    async def step(message: Message) -> None:
        raise KafkaTimeoutError()

    with pytest.raises(KafkaTimeoutError):
        asyncio.run(guard.handle(Message(0), step))
    assert pauses == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert sent == []  # a record that waits for Kafka is never dead-lettered
    assert table.get(progress_key(TopicPartition(TOPIC, 0)), 0) == 0  # not done: it comes again
    assert guard.progress.in_flight == {}  # abandoned, not left in flight
    assert "intake-waiting" not in metrics.problems()


# -- batches (issue 16): outputs awaited together, progress after them, one by one on failure --


@dataclass
class Event:
    message: Message


def batch_of(*coordinates: tuple[int, int]) -> list[Event]:
    return [Event(Message(offset, partition=partition)) for partition, offset in coordinates]


class TwoPartitions(Kafka):
    async def start_offsets(self, tps: object) -> dict[TopicPartition, int]:
        return {TopicPartition(TOPIC, 0): 0, TopicPartition(TOPIC, 1): 0}


def batch_guard(ctx: BusContext, sent: list[Outbound]) -> tuple[RecordGuard, dict[str, int]]:
    guard, table = make_guard(ctx, sent)
    guard.progress.reader = TwoPartitions()
    return guard, table


def test_a_batch_records_each_partitions_progress_once_after_its_run(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    guard, table = batch_guard(ctx, sent)
    p0, p1 = progress_key(TopicPartition(TOPIC, 0)), progress_key(TopicPartition(TOPIC, 1))
    runs: list[list[tuple[int, int]]] = []
    seen_during_run: list[tuple[int | None, int | None]] = []

    async def run(events: list[Event]) -> int:
        seen_during_run.append((table.get(p0), table.get(p1)))  # nothing recorded before the acks
        runs.append([(e.message.partition, e.message.offset) for e in events])
        return len(events)

    async def step(message: Message) -> None:
        raise AssertionError("a batch that runs needs no record on its own")

    asyncio.run(guard.handle_batch(batch_of((0, 0), (1, 0), (0, 1), (0, 2), (1, 1)), run, step))
    assert runs == [[(0, 0), (1, 0), (0, 1), (0, 2), (1, 1)]]
    assert seen_during_run == [(0, 0)]
    assert (table[p0], table[p1]) == (3, 2)

    # A redelivery of what the table already holds is skipped; the batch runs the rest.
    runs.clear()
    asyncio.run(guard.handle_batch(batch_of((0, 1), (0, 2), (0, 3)), run, step))
    assert runs == [[(0, 3)]]
    assert table[p0] == 4


def test_a_failed_batch_goes_one_by_one_and_only_the_bad_record_is_dead_lettered(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    guard, table = batch_guard(ctx, sent)
    stepped: list[int] = []

    async def run(events: list[Event]) -> int:
        raise ValueError("one record of the batch breaks the bus")

    async def step(message: Message) -> None:
        if message.offset == 1:
            raise ValueError("narrative text that must not leak")
        stepped.append(message.offset)

    asyncio.run(guard.handle_batch(batch_of((0, 0), (0, 1), (0, 2)), run, step))
    assert stepped == [0, 2]
    [letter] = sent
    record = decode_model(letter.value, DeadLetter)
    assert (record.reason, record.source_offset) == (DeadLetterReason.PROCESSING_FAILED, 1)
    assert table[progress_key(TopicPartition(TOPIC, 0))] == 3


def test_a_gap_after_records_the_batch_took_ends_the_batch_there(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    guard, table = batch_guard(ctx, sent)
    runs: list[list[int]] = []
    stepped: list[int] = []

    async def run(events: list[Event]) -> int:
        runs.append([e.message.offset for e in events])
        return len(events)

    async def step(message: Message) -> None:
        stepped.append(message.offset)

    # offset 2 is missing: 0 and 1 run as a batch and are recorded; 3 waits for 2 (a seek back)
    asyncio.run(guard.handle_batch(batch_of((0, 0), (0, 1), (0, 3)), run, step))
    assert runs == [[0, 1]]
    assert stepped == []
    assert table[progress_key(TopicPartition(TOPIC, 0))] == 2


def test_a_batch_that_finished_its_first_records_leaves_only_the_rest_to_go_one_by_one(
    ctx: BusContext,
) -> None:
    sent: list[Outbound] = []
    guard, table = batch_guard(ctx, sent)
    progress_at_step: list[int] = []
    stepped: list[int] = []

    async def run(events: list[Event]) -> int:
        return 2  # offsets 0 and 1 done (their outputs acknowledged); 2 failed

    async def step(message: Message) -> None:
        progress_at_step.append(table[progress_key(TopicPartition(TOPIC, 0))])
        stepped.append(message.offset)

    asyncio.run(guard.handle_batch(batch_of((0, 0), (0, 1), (0, 2), (0, 3)), run, step))
    assert stepped == [2, 3]  # 0 and 1 are not processed (nor their outputs sent) again
    assert progress_at_step == [2, 3]
    assert table[progress_key(TopicPartition(TOPIC, 0))] == 4
