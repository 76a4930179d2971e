"""One step writes an allegation's deadline record once, however many recipients it notified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from support.routing import event

from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.enums import RecipientClass
from seabus.streams.agents.deadlines import Deadlines
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


def test_the_record_is_written_once_per_step_and_reads_see_it_before() -> None:
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
