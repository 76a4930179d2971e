"""Reading a topic back in a test: always up to its end offsets, never "one empty poll and done".

Two forms, both from the beginning of every partition:

- :func:`read_all` — everything that is on the topic *now*: the end offset of each
  partition is taken first, and the read goes on until the consumer's position on
  every partition has reached it. Use it for "nothing arrived" and "exactly N".
- :func:`read_topic` — the same, and then further records until ``until(values)``
  holds. Use it to wait for something the bus is about to write.

Neither returns partial data: if the end offsets are not reached, or ``until`` does
not hold, before ``timeout`` seconds, an ``AssertionError`` says how far the read got.
A topic that does not exist is waited for (and is an error at the timeout); only
``read_all(..., missing_ok=True)`` takes a missing topic as empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.retry import poll_until

_POLL_MS = 200


class _Deadline:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._at = time.monotonic() + timeout

    def remaining_s(self) -> float:
        return max(0.0, self._at - time.monotonic())

    def remaining_ms(self) -> int:
        return max(1, int((self._at - time.monotonic()) * 1000))

    @property
    def passed(self) -> bool:
        return time.monotonic() > self._at


def _partitions(
    consumer: KafkaConsumer, topic: str, deadline: _Deadline, *, missing_ok: bool
) -> list[TopicPartition]:
    partitions = poll_until(
        lambda: consumer.partitions_for_topic(topic),
        until=lambda found: bool(found) or missing_ok,
        timeout_s=deadline.remaining_s(),
        interval_s=0.2,
        timed_out=lambda _: AssertionError(f"topic {topic} did not exist within {deadline.timeout}s"),
    )
    return [TopicPartition(topic, p) for p in sorted(partitions or ())]


def _offsets(
    consumer: KafkaConsumer, tps: list[TopicPartition], deadline: _Deadline, which: str
) -> dict[TopicPartition, int]:
    """Beginning or end offsets of ``tps``; retried while leaders are still being elected."""
    last: Exception | None = None

    def offsets() -> dict[TopicPartition, int] | None:
        nonlocal last
        try:
            if which == "end":
                found = consumer.end_offsets(tps, timeout_ms=min(5000, deadline.remaining_ms()))
            else:
                found = consumer.beginning_offsets(tps, timeout_ms=min(5000, deadline.remaining_ms()))
        except KafkaError as exc:
            last = exc
            return None
        if found and all(found.get(tp) is not None for tp in tps):
            return {tp: int(found[tp]) for tp in tps}
        return None

    result = poll_until(
        offsets,
        timeout_s=deadline.remaining_s(),
        interval_s=0.2,
        timed_out=lambda _: AssertionError(
            f"no {which} offsets for {tps[0].topic} within {deadline.timeout}s: {last!r}"
        ),
    )
    assert result is not None  # poll_until returns only a truthy value
    return result


def read_records(
    kafka: KafkaConnection,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord]], bool] | None = None,
    timeout: float = 60.0,
    missing_ok: bool = False,
) -> list[ConsumerRecord]:
    """Every record of ``topic`` (with key, headers, partition, offset), read to the end offsets.

    The end offsets of every partition are fetched first; the read stops only once the
    position on each partition has reached them and, if ``until`` is given, ``until``
    holds for the records read so far (reading newer records as they arrive).
    """
    if missing_ok and until is not None:
        raise TypeError("missing_ok is for read_all: a condition can only hold on a topic that exists")
    deadline = _Deadline(timeout)
    consumer = kafka.kafka_consumer(
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    try:
        tps = _partitions(consumer, topic, deadline, missing_ok=missing_ok)
        if not tps:
            return []
        consumer.assign(tps)
        end = _offsets(consumer, tps, deadline, "end")  # what is on the topic at call time
        start = _offsets(consumer, tps, deadline, "beginning")
        for tp in tps:
            consumer.seek(tp, start[tp])
        records: list[ConsumerRecord] = []

        def short() -> dict[int, tuple[int, int]]:
            positions = {tp: consumer.position(tp, timeout_ms=deadline.remaining_ms()) for tp in tps}
            return {
                tp.partition: (pos or 0, end[tp])
                for tp, pos in positions.items()
                if pos is None or pos < end[tp]
            }

        while True:
            behind = short()
            held = until is None or until(records)
            if not behind and held:
                return records
            if deadline.passed:
                where = ", ".join(f"p{p} at {pos} of {e}" for p, (pos, e) in sorted(behind.items()))
                raise AssertionError(
                    f"timed out after {timeout}s on {topic} with {len(records)} record(s): "
                    + (f"not read to its end offsets ({where})" if behind else "the condition never held")
                )
            for batch in consumer.poll(timeout_ms=min(_POLL_MS, deadline.remaining_ms())).values():
                records.extend(batch)
    finally:
        consumer.close()


def read_all(
    kafka: KafkaConnection, topic: str, *, timeout: float = 60.0, missing_ok: bool = False
) -> list[bytes]:
    """Every value on ``topic`` up to the end offsets it has now: the honest "what is there"."""
    return [r.value for r in read_records(kafka, topic, timeout=timeout, missing_ok=missing_ok)]


def read_topic(
    kafka: KafkaConnection,
    topic: str,
    *,
    until: Callable[[list[bytes]], bool],
    timeout: float = 60.0,
) -> list[bytes]:
    """Every value on ``topic`` up to its end offsets, and on until ``until(values)`` holds.

    Fails (``AssertionError``) rather than return what it has when ``timeout`` passes first.
    """
    values: list[bytes] = []

    def holds(records: list[ConsumerRecord]) -> bool:
        values[len(values) :] = [r.value for r in records[len(values) :]]
        return until(values)

    read_records(kafka, topic, until=holds, timeout=timeout)
    return values
