"""One record at a time, never skipped, never able to stop its agent.

Each agent hands every message to :meth:`RecordGuard.handle`, which

1. asks :class:`seabus.streams.progress.SourceProgress` whether this offset is the next
   one to process (redeliveries are skipped, gaps sought back);
2. runs the agent's step; when Kafka does not answer (a broker down, a leader
   moving, a timeout) the step is repeated with backoff, as long as it takes:
   the record is not skipped and readiness turns false after a while;
3. on any other failure (a record that cannot be encoded, a produce refused as
   too large, a bug) rolls the step back and dead-letters the record with the
   failure's class, so the agent goes on with the next one;
4. records the offset as processed only after the outputs were acknowledged.

It also counts agent (re)starts and crashes (:func:`agent_lifecycle`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import faust
import structlog
from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)
from faust.exceptions import FaustError, ProducerSendError
from kafka.errors import KafkaError as KafkaPythonError

from seabus.schemas.enums import DeadLetterReason
from seabus.schemas.envelopes import Outbound, Source, dead_letter_out
from seabus.schemas.errors import KafkaUnavailable
from seabus.streams import faust_compat, metrics
from seabus.streams.agents.outbound import send_all
from seabus.streams.context import BusContext
from seabus.streams.progress import Admission, SourceProgress
from seabus.streams.retry import Backoff, Waiting, aretrying

log = structlog.get_logger(__name__)

#: Kafka errors that belong to the record, not to the cluster: retrying cannot help.
_PERMANENT_KAFKA = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidTopicError)

Send = Callable[[list[Outbound]], Awaitable[None]]


def root_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, ProducerSendError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def is_transient(exc: BaseException) -> bool:
    """True when the failure is the cluster's or the framework's (wait and retry: the record is
    fine), False when it is the record's (dead-letter it).

    Faust's own errors count as transient: on a first start its table writes raise
    ``PartitionsMismatch`` until the changelog's metadata arrives, and a valid record
    must never be dead-lettered for that.
    """
    cause = root_cause(exc)
    if isinstance(cause, _PERMANENT_KAFKA):
        return False
    if isinstance(cause, KafkaError | KafkaPythonError | KafkaUnavailable | FaustError):
        # kafka-python (the admin that creates a new recipient's topic) and seabus's own
        # "cannot reach Kafka" are the cluster's state just as much as aiokafka's errors
        return True  # retriable errors, timeouts, authorization and availability: the cluster's state
    return isinstance(cause, asyncio.TimeoutError | OSError | KafkaTimeoutError)


def failure_text(agent: str, exc: BaseException) -> str:
    """Why, never what: an exception's text may quote record content, so only Kafka's is kept."""
    cause = root_cause(exc)
    detail = f": {str(cause)[:300]}" if isinstance(cause, KafkaError) else ""
    return (
        f"PROCESSING_FAILED: the {agent} agent could not process this record ({cause.__class__.__name__}"
        f"{detail}). The record was not applied; fix it (or the bus, if the record is valid) and republish. "
        "The worker's error log has the details."
    )


@dataclass(kw_only=True)
class RecordGuard:
    agent: str
    ctx: BusContext
    progress: SourceProgress
    send: Send
    producer: str
    should_stop: Callable[[], bool]
    max_delay_s: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic

    async def handle(self, message: Any, step: Callable[[Any], Awaitable[None]]) -> Admission:
        """Process ``message`` with ``step`` unless it was already processed; returns the admission.

        ``step`` rolls back its own partial writes when it raises (under its own lock).
        """
        tp, offset = message.tp, message.offset
        admission: Admission = await self._retrying(lambda: self.progress.admit(tp, offset), message)
        if admission is not Admission.PROCESS:
            return admission
        try:
            await self._retrying(lambda: step(message), message)
        except _Failed as failed:
            await self._dead_letter(message, failed.exc)
        self.progress.done(tp, offset)
        return admission

    async def handle_batch(
        self,
        events: Sequence[Any],
        run: Callable[[list[Any]], Awaitable[int]],
        step: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Process the Faust ``events`` as one batch with ``run``; one by one with ``step`` when it fails.

        The admission of each record is :meth:`handle`'s, against the offsets the batch has
        taken so far. ``run`` gets the admitted events in order, awaits every output's
        acknowledgement and writes its state, and returns how many of them it finished (the
        first ones; the rest go one by one); only then is each partition's progress recorded,
        once, for its last finished offset. When ``run`` raises, it has rolled its writes back (state
        is written only after the acknowledgements) and the batch's records go through
        :meth:`handle` again one at a time: retried while Kafka is away, a failing record
        dead-lettered alone, its outputs sent again with the same ids. A record beyond a gap
        in a partition the batch already took ends the batch; it and the rest go one by one.
        """
        taken: dict[Any, tuple[int, Any]] = {}  # tp -> (next expected offset, last event taken)
        admitted: list[Any] = []
        rest: Sequence[Any] = ()
        for i, event in enumerate(events):
            message = event.message
            tp, offset = message.tp, message.offset
            if tp in taken:
                expected = taken[tp][0]
                if offset == expected:
                    admitted.append(event)
                    taken[tp] = (offset + 1, event)
                    continue
                if offset < expected:
                    continue  # redelivered within the batch
                rest = events[i:]
                break
            with faust_compat.as_current_event(event):
                admission = await self._retrying(self._admit(tp, offset), message)
            if admission is Admission.PROCESS:
                admitted.append(event)
                taken[tp] = (offset + 1, event)
        if admitted:
            try:
                finished = await run(admitted)
            except (asyncio.CancelledError, faust_compat.WorkerMustStop):
                for tp in taken:
                    self.progress.abandon(tp.topic)
                raise
            except Exception as exc:
                log.warning(
                    "batch failed; its records are processed one by one",
                    agent=self.agent,
                    records=len(admitted),
                    error=root_cause(exc).__class__.__name__,
                )
                rest = [*admitted, *rest]
            else:
                last: dict[Any, Any] = {}  # tp -> the last event done
                for event in admitted[:finished]:
                    last[event.message.tp] = event
                for tp, event in last.items():
                    with faust_compat.as_current_event(event):
                        self.progress.done(tp, event.message.offset)
                rest = [*admitted[finished:], *rest]
        for event in rest:
            with faust_compat.as_current_event(event):
                await self.handle(event.message, step)

    def _admit(self, tp: Any, offset: int) -> Callable[[], Awaitable[Admission]]:
        return lambda: self.progress.admit(tp, offset)

    async def _retrying(self, attempt: Callable[[], Awaitable[Any]], message: Any) -> Any:
        """Repeat ``attempt`` while it fails for the cluster's reasons (backoff 0.5 s doubling to
        ``max_delay_s``, as long as it takes); a failure of the record's own is ``_Failed``."""
        key = f"{self.agent}-waiting"

        async def once() -> Any:
            try:
                return await attempt()
            except (asyncio.CancelledError, faust_compat.WorkerMustStop):
                # Cancelled, or the record is fine and the worker is being stopped: no retry,
                # no dead letter; the next worker takes the record up again.
                self.progress.abandon(message.topic)
                raise

        def waiting(w: Waiting) -> None:
            metrics.AGENT_RETRIES.labels(self.agent).inc()
            log.warning(
                "record waits for Kafka",
                agent=self.agent,
                partition=message.partition,
                offset=message.offset,
                error=root_cause(w.error).__class__.__name__,
                waited_s=round(w.waited_s, 1),
            )
            if w.waited_s >= self.ctx.settings.not_ready_after_s:
                metrics.set_problem(
                    key,
                    f"the {self.agent} agent has waited {w.waited_s:.0f}s for Kafka on "
                    f"{message.topic}[{message.partition}]@{message.offset}",
                )

        try:
            return await aretrying(
                retry_on=is_transient,
                backoff=Backoff(0.5, self.max_delay_s),
                give_up=self.should_stop,
                on_retry=waiting,
                sleep=self.sleep,
                clock=self.clock,
            )(once)
        except faust_compat.WorkerMustStop:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise _Failed(exc) from exc
            self.progress.abandon(message.topic)  # still transient: the worker is stopping
            raise
        finally:
            metrics.set_problem(key, None)

    async def _dead_letter(self, message: Any, exc: BaseException) -> None:
        cause = root_cause(exc)
        metrics.AGENT_FAILURES.labels(self.agent, cause.__class__.__name__).inc()
        log.error(
            "record could not be processed; dead-lettered",
            agent=self.agent,
            partition=message.partition,
            offset=message.offset,
            error=cause.__class__.__name__,
            exc_info=cause,
        )
        source = Source(topic=message.topic, partition=message.partition, offset=message.offset)
        reason = (
            DeadLetterReason.OVERSIZED
            if isinstance(cause, _PERMANENT_KAFKA)
            else DeadLetterReason.PROCESSING_FAILED
        )
        letters = [
            self._letter(message, source, reason, failure_text(self.agent, exc), keep_original=True),
            self._letter(message, source, reason, failure_text(self.agent, exc), keep_original=False),
        ]
        for letter in letters:
            try:
                await self._retrying(lambda letter=letter: self.send([letter]), message)  # type: ignore[misc]
                return
            except _Failed as again:
                log.error(
                    "dead letter refused; trying without the original",
                    agent=self.agent,
                    error=root_cause(again.exc).__class__.__name__,
                )
        log.critical(
            "record neither processed nor dead-lettered; it stays in Kafka at this offset",
            agent=self.agent,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )

    def _letter(
        self, message: Any, source: Source, reason: DeadLetterReason, text: str, *, keep_original: bool
    ) -> Outbound:
        return dead_letter_out(
            key=message.key if keep_original else None,
            value=message.value if keep_original else None,
            headers=list(message.headers or []) if keep_original else [],
            source=source,
            reason=reason,
            message=text,
            now=self.ctx.clock.now(),
            codec=self.ctx.codec,
            producer=self.producer,
        )


class _Failed(Exception):
    """A step failed for a reason retrying cannot fix."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc


_exits: dict[str, str] = {}


@asynccontextmanager
async def agent_lifecycle(agent: str, *, not_ready_s: float) -> AsyncIterator[None]:
    """Counts (re)starts and crashes of an agent; a crash makes the worker not ready for a while."""
    cause = _exits.pop(agent, None)
    metrics.agent_running(agent)
    if cause is not None:
        metrics.AGENT_RESTARTS.labels(agent, cause).inc()
        if cause == "crash":
            log.error("agent restarted after a crash", agent=agent)
        else:
            log.info("agent restarted", agent=agent, cause=cause)
    try:
        yield
    except asyncio.CancelledError:
        _exits[agent] = "rebalance"
        raise
    except Exception as exc:
        _exits[agent] = "crash"
        metrics.agent_crashed(agent, exc.__class__.__name__)
        log.error("agent crashed", agent=agent, error=exc.__class__.__name__, exc_info=exc)
        metrics.set_problem(
            f"{agent}-crashed", f"the {agent} agent crashed ({exc.__class__.__name__})", for_s=not_ready_s
        )
        raise
    else:
        _exits[agent] = "stopped"


def agent_guard(
    app: faust.App, ctx: BusContext, progress: SourceProgress, *, agent: str, producer: str
) -> RecordGuard:
    """The guard of one of the worker's agents: it sends through Faust's producer and stops with the app."""
    return RecordGuard(
        agent=agent,
        ctx=ctx,
        progress=progress,
        send=lambda records: send_all(app, ctx, records),
        producer=producer,
        should_stop=lambda: bool(app.should_stop),
    )


def raw_topic(app: faust.App, *names: str, partitions: int | None) -> faust.TopicT:
    """Topics read as raw key and value bytes: the agents decode (and dead-letter) themselves."""
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )
