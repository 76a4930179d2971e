"""The load: the project's publisher SDK at acks=all, recording only what Kafka acknowledged.

A send that is not acknowledged (a broker was just killed, a leader moved) is
sent again, unchanged, later: the SDK says that is safe (same event_id, the bus
drops duplicates). The receipt's partition and offset are kept, so a missing
notification can be traced to the record the bus should have routed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from faults.events import Planned
from seabus.connectors.publisher import Publisher
from seabus.connectors.publisher.sdk import EventFailure, PublishReceipt
from seabus.schemas.errors import ValidationFailed
from seabus.streams.kafka_connection import KafkaConnection


@dataclass(frozen=True, slots=True)
class Acked:
    """One event as the broker acknowledged it."""

    allegation_id: str
    event_id: str
    event_type: str
    sequence: int
    partition: int
    offset: int
    acked_at: float  # time.monotonic()
    attempts: int


class LoadPublisher(threading.Thread):
    """Publishes ``planned`` in order at about ``rate`` events/s, never beyond ``allowance()`` acknowledged events."""

    def __init__(
        self,
        *,
        kafka: KafkaConnection,
        topic: str,
        planned: list[Planned],
        inbound_prefix: str | None = None,
        rate: float,
        allowance: Callable[[], int],
        batch: int = 10,
        delivery_timeout_s: float = 15.0,
        give_up_after_s: float = 3600.0,
    ) -> None:
        super().__init__(name="fault-publisher", daemon=True)
        self.kafka = kafka
        self.topic = topic
        self.inbound_prefix = inbound_prefix  # set: each agency writes its <prefix>.inbound.<ENTITY>
        self.planned = planned
        self.rate = rate
        self.allowance = allowance
        self.batch = batch
        self.delivery_timeout_s = delivery_timeout_s
        self.give_up_after_s = give_up_after_s
        self.acked: list[Acked] = []
        self.failed_sends = 0
        self.invalid: list[str] = []
        self.error: BaseException | None = None
        self.finished_at: float | None = None
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._halt.set()

    @property
    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def snapshot(self) -> list[Acked]:
        with self._lock:
            return list(self.acked)

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the orchestrator
            self.error = exc
        finally:
            self.finished_at = time.monotonic()

    def _run(self) -> None:
        todo: deque[Planned] = deque(self.planned)
        retry: deque[Planned] = deque()
        waiting: dict[str, list[Planned]] = {}  # report event_id -> updates waiting for its ack
        done_ids: set[str] = set()
        attempts: dict[str, int] = {}
        started = time.monotonic()
        interval = self.batch / self.rate
        publishers: dict[str, Publisher] = {}

        def publisher_for(entity: str) -> Publisher:
            """One publisher per agency's inbound topic, or one for the allegations topic."""
            name = entity if self.inbound_prefix is not None else ""
            if name not in publishers:
                publishers[name] = Publisher(
                    kafka=self.kafka,
                    **(
                        {"entity": entity, "prefix": self.inbound_prefix}
                        if self.inbound_prefix is not None
                        else {"topic": self.topic}
                    ),
                    delivery_timeout_s=self.delivery_timeout_s,
                    client_id="seabus-fault-publisher",
                )
            return publishers[name]

        try:
            while (todo or retry or waiting) and not self._halt.is_set():
                if time.monotonic() - started > self.give_up_after_s:
                    raise RuntimeError(f"publisher gave up after {self.give_up_after_s:.0f}s")
                tick = time.monotonic()
                room = self.allowance() - self.acked_count
                batch: list[Planned] = []
                while retry and len(batch) < self.batch:
                    batch.append(retry.popleft())
                while todo and len(batch) < min(self.batch, max(0, room)):
                    item = todo.popleft()
                    if item.after is not None and item.after not in done_ids:
                        waiting.setdefault(item.after, []).append(item)
                        continue
                    batch.append(item)
                if not batch:
                    if not todo and not retry and waiting:
                        # Every remaining update waits for a report that is itself in flight: cannot happen.
                        raise RuntimeError(
                            f"{sum(map(len, waiting.values()))} update(s) wait for unsent reports"
                        )
                    self._halt.wait(0.2)  # allowance exhausted: wait for the next fault to begin
                    continue
                for item in batch:
                    attempts[item.event_id] = attempts.get(item.event_id, 0) + 1
                outcomes = _publish_grouped(publisher_for, batch, by_entity=self.inbound_prefix is not None)
                failures = 0
                for item, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, PublishReceipt):
                        ack = Acked(
                            allegation_id=outcome.allegation_id,
                            event_id=outcome.event_id,
                            event_type=item.event.event_type.value,
                            sequence=item.event.sequence,
                            partition=outcome.partition,
                            offset=outcome.offset,
                            acked_at=time.monotonic(),
                            attempts=attempts[item.event_id],
                        )
                        with self._lock:
                            self.acked.append(ack)
                        done_ids.add(item.event_id)
                        retry.extend(waiting.pop(item.event_id, []))
                    elif isinstance(outcome, EventFailure) and isinstance(outcome.error, ValidationFailed):
                        self.invalid.append(f"{item.event_id}: {outcome.error}")
                    else:
                        failures += 1
                        retry.append(item)
                self.failed_sends += failures
                if self.invalid:
                    raise RuntimeError("the harness built invalid events:\n" + "\n".join(self.invalid[:5]))
                pause = interval - (time.monotonic() - tick)
                if failures:
                    pause = max(pause, 1.0)  # let the cluster elect new leaders before resending
                if pause > 0:
                    self._halt.wait(pause)
        finally:
            for publisher in publishers.values():
                publisher.close(timeout_s=5)


def _publish_grouped(
    publisher_for: Callable[[str], Publisher], batch: list[Planned], *, by_entity: bool
) -> list[PublishReceipt | EventFailure]:
    """Outcomes in ``batch`` order; with ``by_entity`` each agency's events go through its own topic.

    An allegation's events all come from one agency, so their order is kept.
    """
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(batch):
        groups.setdefault(item.event.reporting_entity if by_entity else "", []).append(i)
    out: list[PublishReceipt | EventFailure | None] = [None] * len(batch)
    for entity, indexes in groups.items():
        result = publisher_for(entity).publish_many([batch[i].event for i in indexes])
        for i, outcome in zip(indexes, result.outcomes, strict=True):
            out[i] = outcome
    return [o for o in out if o is not None]
