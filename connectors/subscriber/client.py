"""A Member State's own consumer of ``<prefix>.notify.<RECIPIENT>``.

What it promises:

* the handler gets each notification as a typed :class:`~seabus.schemas.models.Notification`;
* the same topic carries escalations addressed to this recipient (a reminder or
  OVERDUE step of something it owes; on OSC's topic, second-level steps), each a
  typed :class:`~seabus.schemas.models.Escalation` handed to ``on_escalation``; without
  one they are skipped (committed, counted in ``escalations_skipped``), so a
  subscriber written before escalations came does not stop on them;
* on OSC's topic and on a reporting entity's own feed, what recipients answered
  arrives as typed :class:`~seabus.schemas.models.ReplyNotice` records handed to
  ``on_reply``; without one they are skipped the same way (``replies_skipped``);
* an offset is committed only after the handler returned, so a handler that
  raises (or a process that dies) leaves the notification to be offered again;
* a notification already handled (same ``notification_id``: a redelivery after
  a crash, or a re-publication by the bus) is skipped, using a seen-store; so is
  an escalation already handled (same ``escalation_id``);
* notifications of one allegation arrive in order (they share a partition key),
  and a failing notification holds back only the ones behind it on its partition.

When the handler raises, the subscriber seeks back to that notification and
offers it again after a pause that doubles up to ``max_retry_delay_s``, for as
long as ``on_error`` says so (by default: forever for handler failures; a
record the client cannot decode stops it, since that usually means this copy
of seabus is older than the bus and must be upgraded).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from seabus.connectors.errors import HandlerFailed, NotificationUndecodable, SubscriberError
from seabus.connectors.subscriber.seen import InMemorySeenStore, SeenStore
from seabus.schemas.codec import Codec, decode_model, default_codec
from seabus.schemas.errors import CodecError, CodecReason, ValidationFailed
from seabus.schemas.models import Escalation, Notification, ReplyNotice
from seabus.streams.kafka_connection import KafkaConnection

__all__ = [
    "ErrorPolicy",
    "EscalationHandler",
    "Handler",
    "ReplyHandler",
    "Subscriber",
    "retry_handler_failures",
]

log = structlog.get_logger(__name__)

Handler = Callable[[Notification], Awaitable[None] | None]
"""Called once per new notification; may be a plain function or a coroutine function."""

EscalationHandler = Callable[[Escalation], Awaitable[None] | None]
ReplyHandler = Callable[[ReplyNotice], Awaitable[None] | None]
"""Called once per new escalation (``escalation_id``) on the recipient's topic."""

ErrorPolicy = Callable[[SubscriberError], bool]
"""True: leave the notification uncommitted and offer it again later; False: stop and raise."""


def retry_handler_failures(error: SubscriberError) -> bool:
    """The default policy: retry what the handler failed on; stop on records that cannot be read."""
    return isinstance(error, HandlerFailed)


class Subscriber:
    """Consume one recipient's notification topic with manual commits and duplicate skipping.

    ``kafka`` says where the cluster is and how to authenticate (TLS, SASL: a
    :class:`~seabus.streams.kafka_connection.KafkaConnection`, re-exported here). ``group_id``
    is the recipient's own consumer group; it starts with ``<recipient>.`` because the
    recipient's principal may use only groups with that prefix (``seabus access apply``),
    and defaults to ``<recipient>.subscriber``. ``consumer_options`` go to ``AIOKafkaConsumer`` as they are (fetch sizes,
    timeouts). Without ``seen_store`` an in-memory one is
    used; pass a :class:`~seabus.connectors.subscriber.SqliteSeenStore` to skip
    duplicates across restarts too.

    A plain-function handler runs on the event loop: keep it short, or make it
    a coroutine function (or hand blocking work to ``asyncio.to_thread``).
    """

    def __init__(
        self,
        *,
        kafka: KafkaConnection,
        recipient: str,
        group_id: str | None = None,
        handler: Handler,
        on_escalation: EscalationHandler | None = None,
        on_reply: ReplyHandler | None = None,
        topic_prefix: str = "sea",
        seen_store: SeenStore | None = None,
        on_error: ErrorPolicy = retry_handler_failures,
        retry_delay_s: float = 1.0,
        max_retry_delay_s: float = 60.0,
        consumer_options: Mapping[str, Any] | None = None,
        codec: Codec | None = None,
    ) -> None:
        if retry_delay_s < 0 or max_retry_delay_s < retry_delay_s:
            raise ValueError("retry delays must be non-negative and max_retry_delay_s >= retry_delay_s")
        self.kafka = kafka
        self.recipient = recipient
        self.group_id = group_id if group_id is not None else f"{recipient}.subscriber"
        self.topic = f"{topic_prefix}.notify.{recipient}"
        self.seen: SeenStore = seen_store if seen_store is not None else InMemorySeenStore()
        self.handled = 0
        """Notifications handed to the handler successfully since this client started."""
        self.skipped = 0
        """Notifications and escalations skipped as already handled."""
        self.escalations_handled = 0
        """Escalations handed to ``on_escalation`` successfully since this client started."""
        self.escalations_skipped = 0
        """Escalations passed over because no ``on_escalation`` was given."""
        self.replies_handled = 0
        """Reply notices handed to ``on_reply`` successfully since this client started."""
        self.replies_skipped = 0
        """Reply notices passed over because no ``on_reply`` was given."""
        self._handler = handler
        self._on_escalation = on_escalation
        self._on_reply = on_reply
        self._on_error = on_error
        self._retry_delay_s = retry_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        self._options = dict(consumer_options or {})
        self._codec = codec or default_codec()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failures: dict[TopicPartition, int] = {}

    def stop(self) -> None:
        """Ask :meth:`run` to return after the notification in hand (safe from any thread)."""
        loop, event = self._loop, self._stop
        if loop is None or event is None:
            return
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    def run_forever(self) -> None:
        """Run until SIGINT or SIGTERM (a script's main loop)."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
            await self.run()

        asyncio.run(main())

    async def run(self) -> None:
        """Consume until :meth:`stop`; raises the :class:`SubscriberError` ``on_error`` refused."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        consumer = self.kafka.aio_consumer(
            self.topic,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self._options,
        )
        await consumer.start()
        log.info("subscriber started", recipient=self.recipient, topic=self.topic, group=self.group_id)
        try:
            while not self._stop.is_set():
                batch = await consumer.getmany(timeout_ms=500)
                pause = 0.0
                for tp, records in batch.items():
                    for record in records:
                        if self._stop.is_set():
                            consumer.seek(tp, record.offset)  # not handled: offer it again after a restart
                            break
                        if not await self._process(consumer, tp, record):
                            consumer.seek(tp, record.offset)
                            pause = max(pause, self._delay(tp))
                            break
                if pause:
                    await self._sleep(pause)
        finally:
            await consumer.stop()
            log.info("subscriber stopped", recipient=self.recipient, handled=self.handled)

    def _delay(self, tp: TopicPartition) -> float:
        failures = self._failures.get(tp, 1)
        return float(min(self._max_retry_delay_s, self._retry_delay_s * 2 ** (failures - 1)))

    async def _sleep(self, seconds: float) -> None:
        assert self._stop is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _process(self, consumer: AIOKafkaConsumer, tp: TopicPartition, record: ConsumerRecord) -> bool:
        """True when the record is finished with (handled, or skipped); False to offer it again."""
        try:
            item = decode_model(record.value, codec=self._codec, headers=record.headers)
            if not isinstance(item, Notification | Escalation | ReplyNotice):
                raise CodecError(
                    CodecReason.SCHEMA_INVALID,
                    f"a {item.avro_name} is neither a notification, an escalation nor a reply notice",
                )
        except (CodecError, ValidationFailed) as exc:
            remedy = (
                "report it to the bus's operators with these coordinates"
                if isinstance(exc, CodecError) and exc.reason is CodecReason.MALFORMED_HEADERS
                else "upgrade seabus on this side, then start the subscriber again"
            )
            error: SubscriberError = NotificationUndecodable(
                f"the record at {tp.topic}[{tp.partition}]@{record.offset} is not a notification this "
                f"client can read ({exc}); {remedy}",
                notification_id=None,
                partition=tp.partition,
                offset=record.offset,
            )
            error.__cause__ = exc
            return self._failed(tp, error)
        item_id, kind, call = self._handling(item)
        if call is None:  # nobody here takes this kind: skipped, as if handled
            if kind == "escalation":
                self.escalations_skipped += 1
            else:
                self.replies_skipped += 1
            await self._commit(consumer, tp, record)
            return True
        if self.seen.is_seen(self.recipient, item_id):
            self.skipped += 1
            log.info(f"{kind} already handled; skipped", id=item_id, allegation_id=item.allegation_id)
            await self._commit(consumer, tp, record)
            return True
        try:
            result = call()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            error = HandlerFailed(
                f"the handler raised {type(exc).__name__} on {kind} {item_id}; it was "
                "not committed and will be offered again",
                notification_id=item_id,
                partition=tp.partition,
                offset=record.offset,
            )
            error.__cause__ = exc
            return self._failed(tp, error)
        self.seen.mark_seen(self.recipient, item_id)
        if kind == "escalation":
            self.escalations_handled += 1
        elif kind == "reply notice":
            self.replies_handled += 1
        else:
            self.handled += 1
        self._failures.pop(tp, None)
        log.info(f"{kind} handled", id=item_id, allegation_id=item.allegation_id)
        await self._commit(consumer, tp, record)
        return True

    def _handling(
        self, item: Notification | Escalation | ReplyNotice
    ) -> tuple[str, str, Callable[[], Awaitable[None] | None] | None]:
        """The id, the kind and the handler call of one record; no call when no handler takes its kind."""
        if isinstance(item, Escalation):
            on_escalation = self._on_escalation
            return item.escalation_id, "escalation", on_escalation and functools.partial(on_escalation, item)
        if isinstance(item, ReplyNotice):
            on_reply = self._on_reply
            return item.notice_id, "reply notice", on_reply and functools.partial(on_reply, item)
        return item.notification_id, "notification", functools.partial(self._handler, item)

    def _failed(self, tp: TopicPartition, error: SubscriberError) -> bool:
        if not self._on_error(error):
            raise error
        self._failures[tp] = self._failures.get(tp, 0) + 1
        log.warning(
            "notification not handled; it will be offered again",
            notification_id=error.notification_id,
            partition=error.partition,
            offset=error.offset,
            error=type(error.__cause__).__name__ if error.__cause__ else None,
        )
        return False

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, record: ConsumerRecord) -> None:
        try:
            await consumer.commit({tp: record.offset + 1})
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved to another member (rebalance): it will offer the record again,
            # and the seen-store (if shared, e.g. SQLite) keeps it from being handled twice.
            log.warning("offset commit failed", partition=tp.partition, offset=record.offset, error=str(exc))
