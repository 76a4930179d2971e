"""Deadlines on the real broker, with windows of seconds.

No response → reminder, overdue, second level, one repeat, in order, each once;
acknowledgement in time → none; late acknowledgement → escalation stops; a closing
status cancels everything; a response for an unknown allegation is dead-lettered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support import unique_prefix
from support.bus import BusPool, BusProcess, producer, read_all, read_topic
from support.deadline_policies import write_fast_policies
from support.notify import notifications_among
from support.routing import event

from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, AllegationStatus, DeadLetterReason, ResponseKind
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import DeadLetter, Escalation, Notification, ObligationUpdate, Response
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

SUBJECTS = [("SYNTH-SUBJ-DL-1", "KEN", "KEN", P.MILITARY_CONTINGENT)]  # KEN only: no OIOS


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, BusProcess]]:
    prefix = unique_prefix()
    tmp = tmp_path_factory.mktemp("deadlines")
    policies = write_fast_policies(tmp, due=4, reminder=2, second=2, repeat=2)
    with BusPool() as pool:
        process = pool.start(
            kafka, prefix, tmp / "data", SEABUS_POLICIES_FILE=policies, SEABUS_TICK_INTERVAL_S=0.2
        )
        yield prefix, process
        process.stop_cleanly()


def publish(kafka: KafkaConnection, topic: str, key: str, value: bytes) -> None:
    p = producer(kafka)
    p.send(topic, key=key.encode(), value=value).get(timeout=30)
    p.close()


def respond(kafka: KafkaConnection, prefix: str, aid: str, recipient: str, kind: ResponseKind) -> None:
    response = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient=recipient,
        kind=kind,
        responded_at=datetime.now(UTC),
        responder=f"SYNTH-OFFICE-{recipient}",
    )
    publish(kafka, f"{prefix}.responses", aid, encode_model(response))


def _of(aid: str, values: list[bytes]) -> list[Escalation]:
    return [e for e in (decode_model(v, Escalation) for v in values) if e.allegation_id == aid]


def escalations(
    kafka: KafkaConnection, prefix: str, aid: str, *, at_least: int, timeout: float = 60
) -> list[Escalation]:
    """``aid``'s escalations, once there are at least ``at_least`` (waiting for them)."""
    assert at_least > 0, "to show there are none, use escalations_now"
    return _of(
        aid,
        read_topic(
            kafka,
            f"{prefix}.escalations",
            until=lambda vs: len(_of(aid, vs)) >= at_least,
            timeout=timeout,
        ),
    )


def escalations_now(kafka: KafkaConnection, prefix: str, aid: str) -> list[Escalation]:
    """Every escalation of ``aid`` on the topic now: read to its end offsets, not waited for."""
    return _of(aid, read_all(kafka, f"{prefix}.escalations"))


def levels(items: list[Escalation]) -> list[tuple[str, str, int]]:
    return [(e.obligation.value if e.obligation else "-", e.level.value, e.repeat) for e in items]


def wait_notified(kafka: KafkaConnection, prefix: str, aid: str) -> Notification:
    def mine(values: list[bytes]) -> list[Notification]:
        return [n for n in notifications_among(values) if n.allegation_id == aid]

    return mine(read_topic(kafka, f"{prefix}.notify.KEN", until=lambda vs: bool(mine(vs))))[0]


def test_silence_escalates_in_order_each_once(kafka: KafkaConnection, bus: tuple[str, BusProcess]) -> None:
    prefix, _ = bus
    aid = "SYNTH-DL-0001"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    note = wait_notified(kafka, prefix, aid)
    assert {o.kind.value for o in note.obligations} == {"ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"}
    escalations(kafka, prefix, aid, at_least=4)
    # Room for a duplicate or an extra repeat (due 2 s after the last one) to show up, measured
    # by the bus's own progress: a marker published now is overdue 4 s later.
    marker = "SYNTH-DL-0001-MARKER"
    publish(
        kafka,
        f"{prefix}.allegations",
        marker,
        encode_model(event(marker, subjects=SUBJECTS, adults=0)),
    )
    escalations(kafka, prefix, marker, at_least=2)
    got = escalations_now(kafka, prefix, aid)
    assert levels(got) == [
        ("ACKNOWLEDGE", "REMINDER", 0),
        ("ACKNOWLEDGE", "OVERDUE", 0),
        ("ACKNOWLEDGE", "SECOND_LEVEL", 0),
        ("ACKNOWLEDGE", "SECOND_LEVEL", 1),
    ]
    assert len({e.escalation_id for e in got}) == 4
    ack_due = next(o.due_at for o in note.obligations if o.kind.value == "ACKNOWLEDGE")
    overdue = next(e for e in got if e.level.value == "OVERDUE")
    assert overdue.due_at == ack_due
    assert overdue.fired_at >= ack_due
    assert all(e.recipient == "KEN" for e in got)


def test_acknowledgement_in_time_prevents_escalation(
    kafka: KafkaConnection, bus: tuple[str, BusProcess]
) -> None:
    prefix, _ = bus
    aid = "SYNTH-DL-0002"
    marker = "SYNTH-DL-0002-MARKER"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    wait_notified(kafka, prefix, aid)
    respond(kafka, prefix, aid, "KEN", ResponseKind.ACKNOWLEDGED)
    # A second allegation published now escalates on the same schedule; once its
    # second level is out, the acknowledged one would have escalated too.
    publish(
        kafka,
        f"{prefix}.allegations",
        marker,
        encode_model(event(marker, subjects=SUBJECTS, adults=0)),
    )
    escalations(kafka, prefix, marker, at_least=3)
    assert escalations_now(kafka, prefix, aid) == []

    def satisfied(values: list[bytes]) -> list[ObligationUpdate]:
        updates = [decode_model(v, ObligationUpdate) for v in values]
        return [
            u
            for u in updates
            if u.allegation_id == aid and u.kind.value == "ACKNOWLEDGE" and u.state.value == "SATISFIED"
        ]

    (update,) = satisfied(read_topic(kafka, f"{prefix}.obligations", until=lambda vs: bool(satisfied(vs))))[
        :1
    ]
    assert update.answered_by == "SYNTH-OFFICE-KEN"
    assert update.answered_kind is ResponseKind.ACKNOWLEDGED


def test_late_acknowledgement_stops_escalation(kafka: KafkaConnection, bus: tuple[str, BusProcess]) -> None:
    prefix, _ = bus
    aid = "SYNTH-DL-0003"
    marker = "SYNTH-DL-0003-MARKER"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    escalations(kafka, prefix, aid, at_least=2)  # reminder and overdue are out
    respond(kafka, prefix, aid, "KEN", ResponseKind.ACKNOWLEDGED)
    publish(
        kafka,
        f"{prefix}.allegations",
        marker,
        encode_model(event(marker, subjects=SUBJECTS, adults=0)),
    )
    escalations(kafka, prefix, marker, at_least=4)  # a full ladder later
    got = escalations_now(kafka, prefix, aid)
    assert levels(got) == [("ACKNOWLEDGE", "REMINDER", 0), ("ACKNOWLEDGE", "OVERDUE", 0)]


def test_closing_status_cancels_everything(kafka: KafkaConnection, bus: tuple[str, BusProcess]) -> None:
    prefix, _ = bus
    aid = "SYNTH-DL-0004"
    marker = "SYNTH-DL-0004-MARKER"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    wait_notified(kafka, prefix, aid)
    closing = event(aid, sequence=2, event_type=AllegationEventType.UPDATED, subjects=SUBJECTS, adults=0)
    closing = closing.model_copy(
        update={
            "allegation": closing.allegation.model_copy(update={"status": AllegationStatus.NOT_SUBSTANTIATED})
        }
    )
    publish(kafka, f"{prefix}.allegations", aid, encode_model(closing))
    publish(
        kafka,
        f"{prefix}.allegations",
        marker,
        encode_model(event(marker, subjects=SUBJECTS, adults=0)),
    )
    escalations(kafka, prefix, marker, at_least=3)
    assert escalations_now(kafka, prefix, aid) == []

    def cancelled(values: list[bytes]) -> set[str]:
        updates = [decode_model(v, ObligationUpdate) for v in values]
        return {u.kind.value for u in updates if u.allegation_id == aid and u.state.value == "CANCELLED"}

    got = cancelled(read_topic(kafka, f"{prefix}.obligations", until=lambda vs: len(cancelled(vs)) == 3))
    assert got == {"ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"}


def test_response_for_unknown_allegation_is_dead_lettered(
    kafka: KafkaConnection, bus: tuple[str, BusProcess]
) -> None:
    prefix, _ = bus
    aid = "SYNTH-DL-NEVER-REPORTED"
    respond(kafka, prefix, aid, "KEN", ResponseKind.ACKNOWLEDGED)

    def letters(values: list[bytes]) -> list[DeadLetter]:
        return [d for d in (decode_model(v, DeadLetter) for v in values) if d.original_key == aid.encode()]

    (letter,) = letters(read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: bool(letters(vs))))
    assert letter.reason is DeadLetterReason.UNKNOWN_ALLEGATION
    assert "never notified" in letter.message


def test_response_from_a_recipient_never_notified_is_dead_lettered(
    kafka: KafkaConnection, bus: tuple[str, BusProcess]
) -> None:
    prefix, _ = bus
    aid = "SYNTH-DL-0006"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    wait_notified(kafka, prefix, aid)
    respond(kafka, prefix, aid, "FRA", ResponseKind.ACKNOWLEDGED)

    def letters(values: list[bytes]) -> list[DeadLetter]:
        return [d for d in (decode_model(v, DeadLetter) for v in values) if d.original_key == aid.encode()]

    (letter,) = letters(read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: bool(letters(vs))))
    assert letter.reason is DeadLetterReason.UNKNOWN_RECIPIENT
