"""The publisher SDK: an agency system hands over an event and learns whether Kafka took it.

Why it is shaped like this: an allegation must never be *believed* sent when it
was not. So :meth:`Publisher.publish` validates before anything leaves the
process (every problem at once), sends with the idempotent producer and
``acks=all``, and returns only after the broker acknowledged; any other ending
is a typed error. Retrying is always safe with the same ``event_id``: the bus
drops duplicate event ids of an allegation.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from kafka import KafkaProducer
from kafka.errors import KafkaError

from seabus.connectors.closing import ClosesOnExit
from seabus.connectors.publisher.errors import PublisherClosed, PublishFailed
from seabus.connectors.publisher.outgoing import (
    Clock,
    EventInput,
    OutgoingEvent,
    check_event,
    prepare_event,
    utc_now,
)
from seabus.schemas.codec import Codec
from seabus.schemas.errors import Problem, ValidationFailed
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.produce import ToSend, send_and_wait

__all__ = ["BatchResult", "EventFailure", "PublishReceipt", "Publisher", "inbound_topic", "producer_config"]

log = structlog.get_logger(__name__)

_WAIT_MARGIN_S = 5.0
"""Extra time granted beyond the delivery timeout before giving up on a future."""


@dataclass(frozen=True, slots=True)
class PublishReceipt:
    """The broker acknowledged this event at this position of the allegations topic."""

    event_id: str
    allegation_id: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class EventFailure:
    """One event of a batch that was not accepted, and why.

    ``error`` is :class:`ValidationFailed` (fix the event; nothing was sent) or
    :class:`PublishFailed` (Kafka did not acknowledge; resend it unchanged).
    """

    index: int
    event_id: str | None
    allegation_id: str | None
    error: ValidationFailed | PublishFailed


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What happened to each event of :meth:`Publisher.publish_many`, in input order."""

    outcomes: tuple[PublishReceipt | EventFailure, ...]

    @property
    def receipts(self) -> tuple[PublishReceipt, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, PublishReceipt))

    @property
    def failures(self) -> tuple[EventFailure, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, EventFailure))

    @property
    def ok(self) -> bool:
        return not self.failures


def producer_config(*, delivery_timeout_s: float, client_id: str) -> dict[str, Any]:
    """kafka-python settings that make "acknowledged" mean durable, and failure come in time.

    Idempotence with at most 5 requests in flight keeps per-partition order
    across retries; every timeout is bounded by ``delivery_timeout_s`` so a dead
    broker yields an error rather than a hang. Where and how to connect (TLS, SASL) is
    the :class:`~seabus.streams.kafka_connection.KafkaConnection`'s part, added when the producer is made.
    """
    timeout_ms = max(1000, int(delivery_timeout_s * 1000))
    return {
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "delivery_timeout_ms": timeout_ms,
        "request_timeout_ms": min(timeout_ms, 30_000),
        "max_block_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
        "allow_auto_create_topics": False,
        "linger_ms": 0,
    }


def inbound_topic(entity: str, *, prefix: str = "sea") -> str:
    """The topic an agency writes: ``<prefix>.inbound.<ENTITY>``, which only its principal may write.

    The bus forwards what arrives there with the entity stamped as the record's origin,
    and refuses an event that claims another ``reporting_entity`` (docs/SECURITY.md).
    """
    return f"{prefix}.inbound.{entity}"


class Publisher(ClosesOnExit):
    """Publishes allegation events of one agency (``entity``) or to an explicit ``topic``.

    An agency passes ``entity`` (and the topic ``prefix`` if not ``sea``): events go to
    :func:`inbound_topic` and an event of another entity fails validation here, before
    Kafka's authoriser or the bus would refuse it. ``topic`` alone is for the bus's own
    tools holding the bus's credentials (``<prefix>.allegations``, a trusted writer).

    Thread-safe. The Kafka connection is made on first use and remade after a
    failure, so one publisher can outlive a broker outage (an outbox relay).
    ``known_entities`` (the configured reporting entity codes) adds that check
    to validation; ``None`` leaves it to the bus.
    """

    def __init__(
        self,
        *,
        kafka: KafkaConnection,
        topic: str | None = None,
        entity: str | None = None,
        prefix: str = "sea",
        known_entities: frozenset[str] | None = None,
        source: str = "seabus-sdk",
        delivery_timeout_s: float = 30.0,
        clock: Clock = utc_now,
        codec: Codec | None = None,
        client_id: str = "seabus-publisher",
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        if delivery_timeout_s <= 0:
            raise ValueError("delivery_timeout_s must be positive")
        if topic is None and entity is None:
            raise ValueError("pass entity (an agency's inbound topic) or topic")
        self.kafka = kafka
        self.entity = entity
        self.topic = topic if topic is not None else inbound_topic(str(entity), prefix=prefix)
        self.known_entities = known_entities
        self.source = source
        self.delivery_timeout_s = delivery_timeout_s
        self.clock = clock
        self.codec = codec
        self._config = producer_config(delivery_timeout_s=delivery_timeout_s, client_id=client_id) | dict(
            extra_config or {}
        )
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = None
        self._closed = False

    # --- the public surface --------------------------------------------------

    def prepare(self, event: EventInput) -> OutgoingEvent:
        """Validate and encode without sending; raises :class:`ValidationFailed`."""
        checked = check_event(event, known_entities=self.known_entities, now=self.clock())
        if self.entity is not None and checked.reporting_entity != self.entity:
            problem = Problem(
                "reporting_entity",
                f"{checked.reporting_entity} is not this publisher's entity {self.entity}; "
                f"publish only your own allegations (the bus refuses another entity's as ORIGIN_MISMATCH)",
            )
            raise ValidationFailed([problem], subject="AllegationEvent")
        return prepare_event(checked, source=self.source, codec=self.codec)

    def publish(self, event: EventInput) -> PublishReceipt:
        """Send one event and wait for the broker's acknowledgement.

        Raises :class:`ValidationFailed` (nothing was sent) or :class:`PublishFailed`.
        """
        outgoing = self.prepare(event)
        outcome = self.send_prepared([outgoing])[0]
        if isinstance(outcome, PublishFailed):
            raise outcome
        return outcome

    def publish_many(self, events: Iterable[EventInput]) -> BatchResult:
        """Validate every event first, send the valid ones together, wait for every ack.

        Invalid events are reported (and never sent); one failure does not hide
        or stop the others. Events of one allegation keep their order.
        """
        outcomes: list[PublishReceipt | EventFailure | None] = []
        ready: list[tuple[int, OutgoingEvent]] = []
        for index, event in enumerate(events):
            try:
                ready.append((index, self.prepare(event)))
                outcomes.append(None)
            except ValidationFailed as exc:
                outcomes.append(EventFailure(index=index, **_ids_of(event), error=exc))
        sent = self.send_prepared([o for _, o in ready])
        for (index, outgoing), result in zip(ready, sent, strict=True):
            if isinstance(result, PublishFailed):
                outcomes[index] = EventFailure(
                    index=index,
                    event_id=outgoing.event_id,
                    allegation_id=outgoing.allegation_id,
                    error=result,
                )
            else:
                outcomes[index] = result
        return BatchResult(outcomes=tuple(o for o in outcomes if o is not None))

    def send_prepared(self, batch: Sequence[OutgoingEvent]) -> list[PublishReceipt | PublishFailed]:
        """Send already validated events; one outcome per event, in order (never raises for Kafka)."""
        if not batch:
            return []
        try:
            producer = self._ensure_producer()
        except PublishFailed as exc:
            log.warning("cannot connect to kafka", bootstrap=self.kafka.bootstrap, error=str(exc))
            return [self._failure(o, exc.__cause__ or exc) for o in batch]
        acked = send_and_wait(
            producer,
            [ToSend(topic=self.topic, key=o.key, value=o.value, headers=o.headers) for o in batch],
            timeout_s=self.delivery_timeout_s + _WAIT_MARGIN_S,
        )
        outcomes = receipts_of(batch, acked, self._failure, topic=self.topic)
        if any(isinstance(o, PublishFailed) for o in outcomes):
            self._reset()
        return outcomes

    def close(self, timeout_s: float | None = None) -> None:
        """Flush what is pending and disconnect; the publisher cannot be used again."""
        with self._lock:
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=self.delivery_timeout_s if timeout_s is None else timeout_s)

    # --- internals -------------------------------------------------------------

    def _ensure_producer(self) -> KafkaProducer:
        with self._lock:
            if self._closed:
                raise PublisherClosed("this publisher was closed; create a new Publisher to publish again")
            if self._producer is None:
                try:
                    self._producer = self.kafka.kafka_producer(**self._config)
                except KafkaError as exc:
                    raise PublishFailed(str(exc)) from exc
            return self._producer

    def _reset(self) -> None:
        """Drop the producer after a failure; the next publish connects afresh."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError):
                producer.close(timeout=0)

    def _failure(self, outgoing: OutgoingEvent, cause: BaseException) -> PublishFailed:
        error = PublishFailed(
            f"Kafka at {self.kafka.bootstrap} did not acknowledge event {outgoing.event_id} "
            f"(allegation {outgoing.allegation_id}) on {self.topic} within "
            f"{self.delivery_timeout_s:g}s ({_describe(cause)}). The event was NOT "
            f"accepted: publish it again later with the same event_id, which is safe because the "
            f"bus drops duplicate event ids. If this persists, check that the broker is running "
            f"and that the topic exists (`seabus topics apply`)."
        )
        error.__cause__ = cause
        return error


def receipts_of(
    batch: Sequence[OutgoingEvent],
    acked: Sequence[Any],
    failure: Callable[[OutgoingEvent, BaseException], PublishFailed],
    *,
    topic: str,
) -> list[PublishReceipt | PublishFailed]:
    """Per event, in order, its receipt or why Kafka did not take it (``failure`` words it)."""
    outcomes: list[PublishReceipt | PublishFailed] = [
        failure(outgoing, meta)
        if isinstance(meta, BaseException)
        else PublishReceipt(
            event_id=outgoing.event_id,
            allegation_id=outgoing.allegation_id,
            partition=meta.partition,
            offset=meta.offset,
        )
        for outgoing, meta in zip(batch, acked, strict=True)
    ]
    failed = sum(isinstance(o, PublishFailed) for o in outcomes)
    if failed:
        log.warning("kafka did not acknowledge events", topic=topic, failed=failed, sent=len(batch))
    return outcomes


def _describe(cause: BaseException) -> str:
    name = type(cause).__name__
    text = str(cause)
    return text if text.startswith(name) else f"{name}: {text}" if text else name


def _ids_of(event: EventInput) -> dict[str, str | None]:
    def text(value: object) -> str | None:
        return value if isinstance(value, str) else None

    if isinstance(event, Mapping):
        return {"event_id": text(event.get("event_id")), "allegation_id": text(event.get("allegation_id"))}
    return {"event_id": event.event_id, "allegation_id": event.allegation_id}
