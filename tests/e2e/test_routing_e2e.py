"""End to end on the real broker: `seabus run` routes, dead-letters, and keeps routing."""

from __future__ import annotations

import hashlib

import pytest
from support.bus import BusProcess, producer, read_topic
from support.notify import notifications_among
from support.routing import event

from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, DeadLetterReason
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.ids import synthetic_event_id
from seabus.schemas.models import DeadLetter, Notification, ObligationUpdate
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def bus(default_bus: tuple[str, BusProcess]) -> tuple[str, BusProcess]:
    """The session's shared default bus (tests/conftest.py): this module's ids are its own."""
    return default_bus


def notes(kafka: KafkaConnection, topic: str, allegation_id: str, count: int) -> list[Notification]:
    def mine(values: list[bytes]) -> list[Notification]:
        # Notify topics carry escalations too (these events are dated March 2026, so
        # what they owe is overdue at once and summarised): only notifications count here.
        return [n for n in notifications_among(values) if n.allegation_id == allegation_id]

    values = read_topic(kafka, topic, until=lambda vs: len(first_seen(mine(vs))) >= count)
    return first_seen(mine(values))


def first_seen(notifications: list[Notification]) -> list[Notification]:
    seen: set[str] = set()
    out = []
    for n in notifications:
        if n.notification_id not in seen:
            seen.add(n.notification_id)
            out.append(n)
    return out


def test_report_update_and_duplicate(kafka: KafkaConnection, bus: tuple[str, BusProcess]) -> None:
    prefix, _ = bus
    aid = "SYNTH-E2E-0001"
    subjects = [
        ("SYNTH-SUBJ-E2E-FRA", "FRA", None, P.STAFF_MEMBER),
        ("SYNTH-SUBJ-E2E-URY", "URY", "URY", P.MILITARY_CONTINGENT),
    ]
    report = event(aid, subjects=subjects, minors=1)
    update = event(aid, sequence=2, event_type=AllegationEventType.UPDATED, subjects=subjects, minors=1)
    p = producer(kafka)
    topic = f"{prefix}.allegations"
    for e in (report, report, update):  # the second report is an exact duplicate
        p.send(topic, key=aid.encode(), value=encode_model(e)).get(timeout=30)
    p.close()

    for recipient in ("FRA", "URY", "OSC", "OIOS", "VRA"):
        got = notes(kafka, f"{prefix}.notify.{recipient}", aid, 2)
        # The duplicate report added no notification id; a redelivery (at-least-once) would
        # repeat an id, never add one.
        assert [n.sequence for n in got] == [1, 2], recipient
        assert [n.source_event_id for n in got] == [report.event_id, update.event_id]
    fra = notes(kafka, f"{prefix}.notify.FRA", aid, 2)
    ury = notes(kafka, f"{prefix}.notify.URY", aid, 2)
    assert all(b"SYNTH-SUBJ-E2E-URY" not in n.model_dump_json().encode() for n in fra)
    assert all(b"SYNTH-SUBJ-E2E-FRA" not in n.model_dump_json().encode() for n in ury)
    assert all(n.allegation.confidential is None for n in fra + ury)
    osc = notes(kafka, f"{prefix}.notify.OSC", aid, 2)
    assert osc[0].allegation.confidential is not None


def test_bad_input_is_dead_lettered_and_routing_continues(
    kafka: KafkaConnection, bus: tuple[str, BusProcess]
) -> None:
    prefix, process = bus
    aid = "SYNTH-E2E-0002"
    bad_country = event(aid, subjects=[("SYNTH-SUBJ-X", "XXY", None, P.STAFF_MEMBER)])
    future = event(aid, published_at=None)
    from datetime import UTC, datetime, timedelta

    future = future.model_copy(
        update={
            "event_id": synthetic_event_id(aid, 99),
            "allegation": future.allegation.model_copy(
                update={"incident_date": (datetime.now(UTC) + timedelta(days=10)).date()}
            ),
        }
    )
    good = event(aid, sequence=1)
    p = producer(kafka)
    topic = f"{prefix}.allegations"
    cases = [
        (b"definitely not avro", DeadLetterReason.MALFORMED_BYTES),
        (b"\xc3\x01" + bytes(8) + b"\x00", DeadLetterReason.UNKNOWN_FINGERPRINT),
        (encode_model(bad_country), DeadLetterReason.VALIDATION_FAILED),
        (encode_model(future), DeadLetterReason.VALIDATION_FAILED),
    ]
    for value, _ in cases:
        p.send(topic, key=aid.encode(), value=value).get(timeout=30)
    p.send(topic, key=aid.encode(), value=encode_model(good)).get(timeout=30)
    p.close()

    got = notes(kafka, f"{prefix}.notify.FRA", aid, 1)
    assert got[0].source_event_id == good.event_id

    def letters(values: list[bytes]) -> list[DeadLetter]:
        return [d for d in (decode_model(v, DeadLetter) for v in values) if d.original_key == aid.encode()]

    dead = letters(read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: len(letters(vs)) >= 4))
    assert [d.reason for d in dead] == [reason for _, reason in cases]
    # The bytes stay on the bus's own topic; the dead letter carries their digest.
    assert [(d.original_value, d.original_value_sha256) for d in dead] == [
        (b"", hashlib.sha256(value).hexdigest()) for value, _ in cases
    ]
    assert "nationality" in dead[2].message
    assert "incident_date" in dead[3].message
    assert process.proc.poll() is None


def test_a_burst_over_every_partition_keeps_each_allegations_state_and_obligations(
    kafka: KafkaConnection, bus: tuple[str, BusProcess]
) -> None:
    """Issue 16: the intake routes what is buffered as one batch, across partitions, and writes
    and reads back each allegation's state and obligations in its own partition: every report
    and its update are routed (the update finds its report), every obligation is published."""
    prefix, _ = bus
    aids = [f"SYNTH-E2E-BATCH-{i:03d}" for i in range(150)]
    subjects = [("SYNTH-SUBJ-E2E-BATCH", "FRA", None, P.STAFF_MEMBER)]
    p = producer(kafka)
    topic = f"{prefix}.allegations"
    pending = []
    for sequence, kind in ((1, AllegationEventType.REPORTED), (2, AllegationEventType.UPDATED)):
        for aid in aids:
            e = event(aid, sequence=sequence, event_type=kind, subjects=subjects)
            pending.append(p.send(topic, key=aid.encode(), value=encode_model(e)))
    p.flush(timeout=30)
    assert {f.get(timeout=30).partition for f in pending} == set(range(6)), "the ids span every partition"
    p.close()

    def fra(values: list[bytes]) -> dict[str, list[Notification]]:
        got: dict[str, list[Notification]] = {}
        for n in first_seen([n for n in notifications_among(values) if n.allegation_id in aids]):
            got.setdefault(n.allegation_id, []).append(n)
        return got

    notified = fra(
        read_topic(
            kafka,
            f"{prefix}.notify.FRA",
            until=lambda vs: sum(len(ns) for ns in fra(vs).values()) >= 2 * len(aids),
        )
    )
    assert {aid: [n.sequence for n in notified[aid]] for aid in aids} == {aid: [1, 2] for aid in aids}
    owed = {(aid, o.kind.value) for aid in aids for o in notified[aid][0].obligations}
    assert owed, "a Member State owes something for a report"

    def published(values: list[bytes]) -> set[tuple[str, str]]:
        updates = [decode_model(v, ObligationUpdate) for v in values]
        # the intake's own update of each new obligation (a deadline tick's later ones have fired steps)
        return {
            (u.allegation_id, u.kind.value)
            for u in updates
            if u.allegation_id in aids and u.recipient == "FRA" and u.escalations_fired == 0
        }

    got = published(read_topic(kafka, f"{prefix}.obligations", until=lambda vs: published(vs) >= owed))
    assert got >= owed
