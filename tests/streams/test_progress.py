"""The progress guard's decisions, with an in-memory table and a fake Kafka."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from aiokafka.structs import TopicPartition

from seabus.streams.progress import Admission, SourceProgress, progress_key

TP0 = TopicPartition("sea.allegations", 0)


class FakeKafka:
    """What Kafka holds: the offsets that have records, and where the log starts."""

    def __init__(self, offsets: Iterable[int], start: int = 0) -> None:
        self.offsets = sorted(offsets)
        self.start = start
        self.seeks: list[tuple[TopicPartition, int]] = []

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))

    async def first_offset(
        self, tp: TopicPartition, start: int, *, timeout_s: float | None = None
    ) -> int | None:
        return next((o for o in self.offsets if o >= max(start, self.start)), None)

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: (self.offsets[-1] + 1 if self.offsets else self.start) for tp in tps}

    async def start_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.start for tp in tps}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def guard(
    kafka: FakeKafka, table: dict[str, int] | None = None, clock: Clock | None = None
) -> SourceProgress:
    return SourceProgress(
        table={} if table is None else table,
        seeker=kafka,
        reader=kafka,
        stall_after_s=5.0,
        reseek_after_s=10.0,
        clock=clock or Clock(),
    )


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_in_order_records_are_processed_and_recorded() -> None:
    kafka = FakeKafka(range(3))
    table: dict[str, int] = {}
    g = guard(kafka, table)
    for offset in range(3):
        assert run(g.admit(TP0, offset)) is Admission.PROCESS
        g.done(TP0, offset)
    assert table[progress_key(TP0)] == 3
    assert kafka.seeks == []


def test_redelivered_records_are_skipped_as_done() -> None:
    g = guard(FakeKafka(range(10)), {progress_key(TP0): 5})
    assert run(g.admit(TP0, 3)) is Admission.DONE
    assert run(g.admit(TP0, 4)) is Admission.DONE
    assert run(g.admit(TP0, 5)) is Admission.PROCESS


def test_a_skipped_record_seeks_back_and_everything_after_waits() -> None:
    kafka = FakeKafka(range(10))
    g = guard(kafka, {progress_key(TP0): 4})
    assert run(g.admit(TP0, 7)) is Admission.GAP
    assert kafka.seeks == [(TP0, 4)]
    # records still buffered beyond the gap are ignored without another seek
    assert run(g.admit(TP0, 8)) is Admission.GAP
    assert kafka.seeks == [(TP0, 4)]
    # the sought-back record arrives and the partition goes on in order
    assert run(g.admit(TP0, 4)) is Admission.PROCESS


def test_a_gap_still_open_after_the_reseek_time_seeks_again() -> None:
    kafka, clock = FakeKafka(range(10)), Clock()
    g = guard(kafka, {progress_key(TP0): 4}, clock)
    run(g.admit(TP0, 7))
    clock.t += 11
    run(g.admit(TP0, 8))
    assert kafka.seeks == [(TP0, 4), (TP0, 4)]


def test_offsets_without_records_are_a_hole_not_a_loss() -> None:
    # offsets 4-6 are transaction markers: Kafka's first record at or after 4 is 7
    kafka = FakeKafka([0, 1, 2, 3, 7, 8])
    table = {progress_key(TP0): 4}
    g = guard(kafka, table)
    assert run(g.admit(TP0, 7)) is Admission.PROCESS
    g.done(TP0, 7)
    assert table[progress_key(TP0)] == 8
    assert kafka.seeks == []


def test_a_partial_hole_seeks_to_the_first_real_record() -> None:
    kafka = FakeKafka([0, 1, 2, 3, 6, 7, 8])
    table = {progress_key(TP0): 4}
    g = guard(kafka, table)
    assert run(g.admit(TP0, 8)) is Admission.GAP
    assert kafka.seeks == [(TP0, 6)]
    assert table[progress_key(TP0)] == 6


def test_a_partition_never_seen_starts_at_the_log_start() -> None:
    kafka = FakeKafka(range(20, 30), start=20)
    table: dict[str, int] = {}
    g = guard(kafka, table)
    assert run(g.admit(TP0, 25)) is Admission.GAP
    assert kafka.seeks == [(TP0, 20)]
    assert table[progress_key(TP0)] == 20


def test_when_kafka_cannot_say_the_guard_seeks_back_rather_than_skip() -> None:
    class Silent(FakeKafka):
        async def first_offset(
            self, tp: TopicPartition, start: int, *, timeout_s: float | None = None
        ) -> int | None:
            return None

    kafka = Silent(range(10))
    g = guard(kafka, {progress_key(TP0): 2})
    assert run(g.admit(TP0, 5)) is Admission.GAP
    assert kafka.seeks == [(TP0, 2)]


def test_a_partition_with_records_and_no_progress_is_sought_back_and_reported() -> None:
    kafka, clock = FakeKafka(range(10)), Clock()
    g = guard(kafka, {progress_key(TP0): 6}, clock)
    first = run(g.check({TP0}))
    assert first.stalls == []
    assert first.lags == {("sea.allegations", 0): 4}
    clock.t += 6
    second = run(g.check({TP0}))
    assert [s.tp for s in second.stalls] == [TP0]
    assert kafka.seeks == [(TP0, 6)]
    # no new seek before the backoff has passed
    clock.t += 2
    run(g.check({TP0}))
    assert kafka.seeks == [(TP0, 6)]


def test_a_caught_up_or_moving_partition_is_left_alone() -> None:
    kafka, clock = FakeKafka(range(10)), Clock()
    table = {progress_key(TP0): 10}
    g = guard(kafka, table, clock)
    run(g.check({TP0}))
    clock.t += 60
    assert run(g.check({TP0})).stalls == []
    table[progress_key(TP0)] = 3
    kafka.offsets = list(range(20))
    for step in range(5):
        table[progress_key(TP0)] = 3 + step
        clock.t += 4
        assert run(g.check({TP0})).stalls == []
    assert kafka.seeks == []


def test_no_stall_seek_while_the_agent_is_on_a_record() -> None:
    kafka, clock = FakeKafka(range(10)), Clock()
    g = guard(kafka, {progress_key(TP0): 6}, clock)
    assert run(g.admit(TP0, 6)) is Admission.PROCESS
    run(g.check({TP0}))
    clock.t += 30
    checked = run(g.check({TP0}))
    assert [s.tp for s in checked.stalls] == [TP0]  # reported (readiness) ...
    assert kafka.seeks == []  # ... but not sought back under the agent's feet


def test_a_transaction_marker_at_the_end_is_not_a_stall() -> None:
    # the end offset is 10, but offset 9 is a commit marker: no record will ever come
    kafka, clock = FakeKafka(range(9)), Clock()
    kafka.end = 10

    async def ends(tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 10 for tp in tps}

    kafka.end_offsets = ends  # type: ignore[method-assign]
    g = guard(kafka, {progress_key(TP0): 9}, clock)
    for _ in range(5):
        clock.t += 10
        assert run(g.check({TP0})).stalls == []
    assert kafka.seeks == []


@pytest.mark.parametrize("offsets", [[0, 1, 2, 5, 6, 9], list(range(12))])
def test_simulated_consumer_that_drops_records_still_processes_every_one(offsets: list[int]) -> None:
    """A consumer that loses every third delivery and re-reads from wherever it is sought;
    the progress timer runs whenever it has nothing left to deliver."""
    kafka, clock = FakeKafka(offsets), Clock()
    table: dict[str, int] = {}
    g = guard(kafka, table, clock)
    processed: list[int] = []
    position, deliveries = 0, 0
    while len(processed) < len(offsets) and deliveries < 1000:
        clock.t += 1
        seeks = len(kafka.seeks)
        if position >= len(offsets):
            run(g.check({TP0}))  # the timer: records in Kafka, no progress
        else:
            offset = offsets[position]
            deliveries += 1
            position += 1
            if deliveries % 3 == 0:
                continue  # lost on the way to the agent
            admission = run(g.admit(TP0, offset))
            if admission is Admission.PROCESS:
                processed.append(offset)
                g.done(TP0, offset)
        if len(kafka.seeks) > seeks:
            target = kafka.seeks[-1][1]
            position = next(i for i, o in enumerate(offsets) if o >= target)
    assert processed == offsets
