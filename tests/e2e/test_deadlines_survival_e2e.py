"""Deadlines survive the worker: a kill before the due time, a restart after it,
and a rebalance between two workers — what fell due fires once, nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import bus_env, unique_prefix, wait_for
from support.bus import BusPool, producer, read_topic
from support.deadline_policies import write_fast_policies
from support.notify import notifications_among
from support.routing import event

from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import Escalation, Notification
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

SUBJECTS = [("SYNTH-SUBJ-SV-1", "KEN", "KEN", P.MILITARY_CONTINGENT)]
LADDER = [("REMINDER", 0), ("OVERDUE", 0), ("SECOND_LEVEL", 0), ("SECOND_LEVEL", 1)]


def publish_allegations(kafka: KafkaConnection, prefix: str, ids: list[str]) -> None:
    p = producer(kafka)
    for aid in ids:
        p.send(
            f"{prefix}.allegations",
            key=aid.encode(),
            value=encode_model(event(aid, subjects=SUBJECTS, adults=0)),
        )
    p.flush()
    p.close()


def notified(kafka: KafkaConnection, prefix: str, ids: list[str]) -> list[Notification]:
    def mine(values: list[bytes]) -> list[Notification]:
        return [n for n in notifications_among(values) if n.allegation_id in ids]

    return mine(
        read_topic(
            kafka,
            f"{prefix}.notify.KEN",
            until=lambda vs: {n.allegation_id for n in mine(vs)} == set(ids),
            timeout=120,
        )
    )


def last_step_at(notes: list[Notification], *, second: int, repeat: int) -> datetime:
    """When the last step of the ACKNOWLEDGE ladder (the one repeat of the second level) is due."""
    due = max(o.due_at for n in notes for o in n.obligations if o.kind.value == "ACKNOWLEDGE")
    return due + timedelta(seconds=second + repeat)


def quiet_after(kafka: KafkaConnection, prefix: str, marker: str) -> None:
    """Room for anything fired twice to show up, measured by the bus's own progress: a marker
    allegation published now, and its first escalation (its reminder) out."""
    publish_allegations(kafka, prefix, [marker])

    def marker_escalated(values: list[bytes]) -> bool:
        return any(decode_model(v, Escalation).allegation_id == marker for v in values)

    read_topic(kafka, f"{prefix}.escalations", until=marker_escalated, timeout=60)


def ladders(
    kafka: KafkaConnection, prefix: str, ids: list[str], timeout: float = 120
) -> dict[str, list[Escalation]]:
    def group(values: list[bytes]) -> dict[str, list[Escalation]]:
        out: dict[str, list[Escalation]] = {aid: [] for aid in ids}
        for v in values:
            e = decode_model(v, Escalation)
            if e.allegation_id in out:
                out[e.allegation_id].append(e)
        return out

    def complete(values: list[bytes]) -> bool:
        return all(len(v) >= len(LADDER) for v in group(values).values())

    return group(read_topic(kafka, f"{prefix}.escalations", until=complete, timeout=timeout))


def assert_each_once(found: dict[str, list[Escalation]]) -> None:
    for aid, items in found.items():
        assert [(e.level.value, e.repeat) for e in items] == LADDER, aid
        assert len({e.escalation_id for e in items}) == len(items), aid


@pytest.mark.parametrize(
    ("store", "restart_dir", "bulk_from"),
    [
        ("rocksdb", "data", 10_000),  # the local databases survive: only what changed is read back
        ("rocksdb", "new-disk", 10_000),  # the disk is lost: Faust replays the changelogs
        ("rocksdb", "new-disk", 0),  # ... or seabus restores them in bulk before the worker joins
        ("memory", "data", 10_000),
    ],
)
def test_killed_before_due_restarted_after_fires_once(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool, store: str, restart_dir: str, bulk_from: int
) -> None:
    prefix = unique_prefix()
    policies = write_fast_policies(tmp_path, due=6, reminder=3, second=3, repeat=3)
    extra = {
        "SEABUS_POLICIES_FILE": policies,
        "SEABUS_TICK_INTERVAL_S": 0.2,
        "SEABUS_TABLE_STORE": store,
        "SEABUS_BULK_RESTORE_MIN_RECORDS": bulk_from,
    }
    bus = buses.start(kafka, prefix, tmp_path / "data", **extra)
    ids = [f"SYNTH-SV-{i:03d}" for i in range(5)]
    publish_allegations(kafka, prefix, ids)
    notes = notified(kafka, prefix, ids)
    bus.kill()  # SIGKILL: no clean shutdown, nothing flushed on the way out
    # reminder, due time, second level and the repeat all pass while it is down
    last = last_step_at(notes, second=3, repeat=3) + timedelta(seconds=1)
    wait_for(lambda: datetime.now(UTC) > last, timeout=60, what="the whole ladder to fall due")
    restarted = buses.start(kafka, prefix, tmp_path / restart_dir, **extra)
    try:
        ladders(kafka, prefix, ids)
        quiet_after(kafka, prefix, "SYNTH-SV-MARKER")
        found = ladders(kafka, prefix, ids)
    finally:
        restarted.stop_cleanly()
    assert_each_once(found)
    bulk = store == "rocksdb" and restart_dir == "new-disk" and bulk_from == 0
    assert restarted.saw("tables restored in bulk") == bulk


def test_rebalance_between_two_workers_keeps_the_promise(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool
) -> None:
    prefix = unique_prefix()
    policies = write_fast_policies(tmp_path, due=10, reminder=5, second=3, repeat=3)
    extra = {"SEABUS_POLICIES_FILE": policies, "SEABUS_TICK_INTERVAL_S": 0.2}
    first = buses.start(kafka, prefix, tmp_path / "a", **extra)
    second = buses.spawn(bus_env(kafka=kafka, prefix=prefix, data_dir=tmp_path / "b", **extra))
    second.wait_ready()
    ids = [f"SYNTH-RB-{i:03d}" for i in range(12)]  # spread over the partitions of both workers
    publish_allegations(kafka, prefix, ids)
    notified(kafka, prefix, ids)
    second.kill()  # its partitions move to the first worker before anything is due
    try:
        ladders(kafka, prefix, ids, timeout=180)
        quiet_after(kafka, prefix, "SYNTH-RB-MARKER")
        found = ladders(kafka, prefix, ids)
    finally:
        first.stop_cleanly()
    assert_each_once(found)
