"""One step writes an allegation's deadline record once, however many recipients it notified,
and only after Kafka acknowledged the step's outputs and obligation updates."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

import pytest
from support.routing import event

from seabus.schemas.codec import decode_model
from seabus.schemas.enums import ObligationState, RecipientClass
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.envelopes import Outbound
from seabus.schemas.models import ObligationUpdate
from seabus.streams.agents.deadlines import Deadlines, Queue
from seabus.streams.config import Settings
from seabus.streams.context import load_context
from seabus.streams.deadlines import DeadlineEngine, ValueFormat
from seabus.streams.tables import DeferredWrites, UnknownPartition


class WriteLog(dict[str, Any]):
    """A store that records every write, as a table's changelog would."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)


def _deadlines() -> tuple[Deadlines, WriteLog, WriteLog]:
    """Deadlines over two write-logging stores: (deadlines, obligations, allegation records)."""
    ctx = load_context(Settings())
    obligations, records = WriteLog(), WriteLog()
    deferred, records_deferred = DeferredWrites(obligations), DeferredWrites(records)
    engine = DeadlineEngine(
        policies=ctx.policies,
        obligations=deferred,
        allegations=records_deferred,
        value_format=ValueFormat.JSON_BYTES,
    )
    deadlines = Deadlines(
        ctx=ctx,
        engine=engine,
        obligations=cast(Any, obligations),
        records=cast(Any, records),
        deferred=deferred,
        records_deferred=records_deferred,
    )
    return deadlines, obligations, records


def test_the_record_is_written_once_per_step_and_reads_see_it_before() -> None:
    deadlines, obligations, records = _deadlines()
    engine = deadlines.engine
    e = event(
        "SYNTH-2026-0700",
        subjects=[
            ("SYNTH-SUBJ-C1", "KEN", "KEN", P.MILITARY_CONTINGENT),
            ("SYNTH-SUBJ-C2", "FRA", "FRA", P.MILITARY_CONTINGENT),
        ],
    )
    recipients = {
        "KEN": RecipientClass.MEMBER_STATE,
        "FRA": RecipientClass.MEMBER_STATE,
        "OSC": RecipientClass.OSC,
    }
    opened = deadlines.on_event(e, recipients, datetime.now(UTC))
    assert set(opened) == set(recipients)
    assert records.writes == []  # nothing reaches the table before the step commits
    assert deadlines.pending
    assert engine.reporting_entity(e.allegation_id) == e.reporting_entity  # reads see pending writes
    changed = deadlines.commit()
    assert records.writes == [e.allegation_id]  # one changelog record for three recipients
    assert sorted(changed) == sorted(obligations.writes)
    assert {k.split("|")[1] for k in changed} >= {"KEN", "FRA"}
    assert not deadlines.pending


class MovedPartition(WriteLog):
    """A table whose partition for one key was revoked (a rebalance during the tick's await)."""

    def __init__(self, moved: str) -> None:
        super().__init__()
        self.moved = moved

    def __setitem__(self, key: str, value: Any) -> None:
        if key == self.moved:
            raise UnknownPartition(f"table obligations: key {key!r} has no known partition")
        super().__setitem__(key, value)


def test_a_key_whose_partition_moved_is_left_to_its_new_owner_not_a_crash() -> None:
    table = MovedPartition("SYNTH-A|FRA|ACKNOWLEDGE")
    deferred = DeferredWrites(table)
    deferred["SYNTH-A|FRA|ACKNOWLEDGE"] = b"moved"
    deferred["SYNTH-B|KEN|ACKNOWLEDGE"] = b"kept"
    assert deferred.commit() == ["SYNTH-B|KEN|ACKNOWLEDGE"]
    assert table == {"SYNTH-B|KEN|ACKNOWLEDGE": b"kept"}
    assert not deferred.pending  # nothing left to be written twice by the next commit


class Refused(Exception):
    """What a producer future raises when Kafka did not acknowledge a record."""


def test_a_failed_send_writes_nothing_so_the_retry_sends_the_obligation_updates_again() -> None:
    deadlines, obligations, _records = _deadlines()
    e = event("SYNTH-2026-0701", subjects=[("SYNTH-SUBJ-C3", "KEN", "KEN", P.MILITARY_CONTINGENT)])
    recipients = {"KEN": RecipientClass.MEMBER_STATE, "OSC": RecipientClass.OSC}
    now = datetime(2026, 3, 2, 12, 5, tzinfo=UTC)  # whole milliseconds, as on the wire
    sent: list[list[Outbound]] = []

    async def ack(value: Any) -> Any:
        return value

    async def refuse() -> Any:
        raise Refused("NOT_ENOUGH_REPLICAS")

    def queue_with(outcome: Callable[[], Awaitable[Any]]) -> Queue:
        async def queue(records: list[Outbound]) -> list[Awaitable[Any]]:
            sent.append(records)
            return [outcome() for _ in records]

        return queue

    async def attempt(outcome: Callable[[], Awaitable[Any]]) -> list[str]:
        deadlines.on_event(e, recipients, now)  # what the step (and its retry) does
        routed = ack("notification")  # the step's own output, acknowledged
        return await deadlines.settle([routed], queue_with(outcome), now)

    with pytest.raises(Refused):
        asyncio.run(attempt(refuse))
    assert obligations.writes == []  # nothing written: the retry finds the obligations new again
    assert not deadlines.pending
    first = sorted(r.key for r in sent[0] if r.route == "obligations")
    assert len(first) >= 2  # KEN's and OSC's obligations

    written = asyncio.run(attempt(partial(ack, None)))
    assert sorted(r.key for r in sent[1] if r.route == "obligations") == first
    assert sorted(k.encode() for k in written) == first == sorted(k.encode() for k in obligations.writes)
    updates = [decode_model(r.value, ObligationUpdate) for r in sent[1]]
    assert {u.obligation_key for u in updates} == set(written)
    assert all(u.state is ObligationState.OPEN and u.updated_at == now for u in updates)
