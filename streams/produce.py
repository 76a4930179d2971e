"""Send and wait for Kafka's acknowledgement: the one way seabus produces outside Faust.

Every producer of the bus (the publisher SDK, the gateway, the reply routes, the
delivery pipeline's records, the CLI's single records) has the same need: send
a batch in order, wait until Kafka acknowledged each record or a deadline
passed, and say per record whether it is on the log. Two helpers do that, one
for kafka-python (:func:`send_and_wait`) and one for aiokafka
(:func:`send_and_wait_async`); each returns, in order, the record's metadata
or the exception that kept it off the log, and never raises for Kafka. A
caller that needs one record or nothing uses :func:`send_one` /
:func:`send_one_async`, which raise :class:`KafkaUnavailable` saying what was
not recorded (:func:`not_recorded`, the one translation).

Once a send fails before it was queued (metadata did not come, the buffer is
full), the rest of the batch is not sent: it would wait for the same thing,
and a later record must not overtake an earlier one of the same key.
The Faust agents produce through ``streams/agents/outbound.py`` (Faust's own
producer, inside the agent's transaction-like commit), not through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka.errors import KafkaError as AIOKafkaError
from kafka.errors import KafkaError

from seabus.schemas.errors import KafkaUnavailable

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer
    from kafka import KafkaProducer

__all__ = [
    "Acked",
    "ToSend",
    "not_recorded",
    "send_and_wait",
    "send_and_wait_async",
    "send_one",
    "send_one_async",
    "start_producer",
]


@dataclass(frozen=True, slots=True)
class ToSend:
    """One record for one topic, as Kafka takes it."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()


Acked = Any
"""kafka-python's or aiokafka's ``RecordMetadata`` (``partition``, ``offset``)."""


def not_recorded(what: str, cause: BaseException, timeout_s: float | None = None) -> KafkaUnavailable:
    """The one wording of "Kafka did not take it": what was not recorded, why, and that a retry is safe."""
    within = "" if timeout_s is None else f" within {timeout_s:g}s"
    text = str(cause)
    name = type(cause).__name__
    why = name if not text or text.startswith(name) else f"{name}: {text}"
    error = KafkaUnavailable(f"Kafka did not acknowledge the {what}{within} ({why}); nothing was recorded")
    error.__cause__ = cause
    return error


# -- kafka-python -----------------------------------------------------------------------


def send_and_wait(
    producer: KafkaProducer, records: Sequence[ToSend], *, timeout_s: float
) -> list[Acked | BaseException]:
    """Send ``records`` in order and wait up to ``timeout_s`` for each acknowledgement."""
    pending: list[Any] = []
    broken: BaseException | None = None
    for r in records:
        if broken is not None:  # metadata did not come: do not block once per record
            pending.append(broken)
            continue
        try:
            pending.append(producer.send(r.topic, key=r.key, value=r.value, headers=list(r.headers)))
        except KafkaError as exc:
            broken = exc
            pending.append(exc)
    deadline = time.monotonic() + timeout_s
    if len(records) > 1:
        with contextlib.suppress(KafkaError):  # each future below reports its own outcome
            producer.flush(timeout=timeout_s)
    outcomes: list[Acked | BaseException] = []
    for future in pending:
        if isinstance(future, BaseException):
            outcomes.append(future)
            continue
        try:
            outcomes.append(future.get(timeout=max(0.0, deadline - time.monotonic())))
        except KafkaError as exc:
            outcomes.append(exc)
    return outcomes


def send_one(producer: KafkaProducer, record: ToSend, *, timeout_s: float, what: str) -> Acked:
    """Send one record and return once Kafka has it; else :class:`KafkaUnavailable` naming ``what``."""
    (outcome,) = send_and_wait(producer, [record], timeout_s=timeout_s)
    if isinstance(outcome, BaseException):
        raise not_recorded(what, outcome, timeout_s)
    return outcome


# -- aiokafka ---------------------------------------------------------------------------


async def send_and_wait_async(
    producer: AIOKafkaProducer, records: Sequence[ToSend], *, timeout_s: float | None
) -> list[Acked | BaseException]:
    """Send ``records`` in order and wait up to ``timeout_s`` (None: as long as it takes) for each ack.

    A record still unacknowledged at the deadline is reported as a TimeoutError; its
    future is not cancelled (aiokafka may still deliver it, which is why ids are stable).
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    futures: list[asyncio.Future[Any] | BaseException] = []
    broken: BaseException | None = None
    for r in records:
        if broken is not None:
            futures.append(broken)
            continue
        try:
            async with asyncio.timeout_at(deadline):  # send() waits for metadata and buffer space
                futures.append(
                    await producer.send(r.topic, key=r.key, value=r.value, headers=list(r.headers))
                )
        except (AIOKafkaError, TimeoutError) as exc:
            broken = exc
            futures.append(exc)
    waiting = [f for f in futures if isinstance(f, asyncio.Future)]
    for f in waiting:
        f.add_done_callback(_retrieve)  # a failure after the deadline must not be logged as unhandled
    if waiting:
        # asyncio.wait does not cancel what is still pending: a late ack is simply not reported.
        await asyncio.wait(waiting, timeout=None if deadline is None else max(0.0, deadline - loop.time()))
    outcomes: list[Acked | BaseException] = []
    for future in futures:
        if isinstance(future, BaseException):
            outcomes.append(future)
        elif not future.done():
            outcomes.append(TimeoutError(f"no acknowledgement within {timeout_s:g}s"))
        else:
            outcomes.append(future.exception() or future.result())
    return outcomes


async def send_one_async(producer: AIOKafkaProducer, record: ToSend, *, timeout_s: float, what: str) -> Acked:
    """Send one record and return once Kafka has it; else :class:`KafkaUnavailable` naming ``what``."""
    (outcome,) = await send_and_wait_async(producer, [record], timeout_s=timeout_s)
    if isinstance(outcome, BaseException):
        raise not_recorded(what, outcome, timeout_s)
    return outcome


async def start_producer(producer: AIOKafkaProducer, *, bootstrap: str, who: str, then: str) -> None:
    """Start an aiokafka producer, or stop it and raise :class:`KafkaUnavailable` saying what to do.

    ``who`` is what cannot reach Kafka ("the gateway"), ``then`` what to start again.
    """
    try:
        await producer.start()
    except AIOKafkaError as exc:
        await producer.stop()
        raise KafkaUnavailable(
            f"{who} cannot reach Kafka at {bootstrap} ({exc}); start the broker (`seabus kafka up`) or fix "
            f"SEABUS_BOOTSTRAP, then start {then} again."
        ) from exc


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
