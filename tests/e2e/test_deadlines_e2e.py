"""Deadlines on the real broker, on a clock the test moves (SEABUS_TEST_CLOCK_FILE).

No response → reminder, overdue, second level, one repeat, in order, each once;
acknowledgement in time → none; late acknowledgement → escalation stops; a closing
status cancels everything; a response for an unknown allegation is dead-lettered.

The worker here reads its time from a file (schemas.clock.FileClock): each test moves
it forward instead of sleeping through windows of seconds, so nothing races the wall
clock. The real timer is still proven end to end by the real-time deadline tests
(test_demo_escalations_e2e.py, test_escalations_delivered_e2e.py,
test_deadlines_survival_e2e.py; docs/TESTING.md lists them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import unique_prefix
from support.bus import BusPool, BusProcess, producer, read_all, read_topic
from support.deadline_policies import write_fast_policies
from support.notify import notifications_among
from support.routing import event

from seabus.schemas.clock import FileClock, write_clock_file
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, AllegationStatus, DeadLetterReason, ResponseKind
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import DeadLetter, Escalation, Notification, ObligationUpdate, Response
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

SUBJECTS = [("SYNTH-SUBJ-DL-1", "KEN", "KEN", P.MILITARY_CONTINGENT)]  # KEN only: no OIOS


@dataclass
class MovableClock:
    """The worker's clock: a file this test writes, read by `seabus run` on every tick."""

    path: Path

    def now(self) -> datetime:
        return FileClock(self.path).now()

    def advance(self, seconds: float) -> datetime:
        later = self.now() + timedelta(seconds=seconds)
        write_clock_file(self.path, later)
        return later


@dataclass
class Bus:
    prefix: str
    process: BusProcess
    clock: MovableClock


# Far past every window of the fast ACKNOWLEDGE ladder (due 4 s, second level 2 s after it,
# one repeat 2 s later): one step fires the whole ladder.
PAST_THE_LADDER = 60


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    prefix = unique_prefix()
    tmp = tmp_path_factory.mktemp("deadlines")
    policies = write_fast_policies(tmp, due=4, reminder=2, second=2, repeat=2)
    clock = MovableClock(tmp / "clock")
    write_clock_file(clock.path, datetime.now(UTC))
    with BusPool() as pool:
        process = pool.start(
            kafka,
            prefix,
            tmp / "data",
            SEABUS_POLICIES_FILE=policies,
            SEABUS_TICK_INTERVAL_S=0.2,
            SEABUS_TEST_CLOCK_FILE=clock.path,
        )
        assert process.saw("TEST CLOCK IN USE")  # the worker says loudly it is not on real time
        yield Bus(prefix, process, clock)
        process.stop_cleanly()


def publish(kafka: KafkaConnection, topic: str, key: str, value: bytes) -> None:
    p = producer(kafka)
    p.send(topic, key=key.encode(), value=value).get(timeout=30)
    p.close()


def respond(bus: Bus, kafka: KafkaConnection, aid: str, recipient: str, kind: ResponseKind) -> None:
    prefix = bus.prefix
    response = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient=recipient,
        kind=kind,
        responded_at=bus.clock.now(),  # the bus's time, not the wall clock's
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


def updates_of(
    kafka: KafkaConnection, prefix: str, aid: str, kind: str, state: str
) -> list[ObligationUpdate]:
    """``aid``'s ``kind`` obligation updates in ``state``, once there is one (waiting for it):
    the worker has read what came before, so moving the clock now cannot overtake it."""

    def matching(values: list[bytes]) -> list[ObligationUpdate]:
        updates = [decode_model(v, ObligationUpdate) for v in values]
        return [
            u for u in updates if u.allegation_id == aid and u.kind.value == kind and u.state.value == state
        ]

    return matching(read_topic(kafka, f"{prefix}.obligations", until=lambda vs: bool(matching(vs))))


def ladder_later(kafka: KafkaConnection, bus: Bus, marker: str) -> None:
    """A marker reported now, and the clock moved past its whole ladder: once the marker's
    four escalations are out, the worker has ticked past everything due before them."""
    publish(
        kafka, f"{bus.prefix}.allegations", marker, encode_model(event(marker, subjects=SUBJECTS, adults=0))
    )
    wait_notified(kafka, bus.prefix, marker)
    bus.clock.advance(PAST_THE_LADDER)
    escalations(kafka, bus.prefix, marker, at_least=4)


def test_silence_escalates_in_order_each_once(kafka: KafkaConnection, bus: Bus) -> None:
    prefix = bus.prefix
    aid = "SYNTH-DL-0001"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    note = wait_notified(kafka, prefix, aid)
    assert {o.kind.value for o in note.obligations} == {"ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"}
    assert escalations_now(kafka, prefix, aid) == []  # the clock has not moved: nothing is due
    bus.clock.advance(PAST_THE_LADDER)
    escalations(kafka, prefix, aid, at_least=4)
    ladder_later(kafka, bus, "SYNTH-DL-0001-MARKER")  # room for a duplicate or an extra repeat
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


def test_acknowledgement_in_time_prevents_escalation(kafka: KafkaConnection, bus: Bus) -> None:
    prefix = bus.prefix
    aid = "SYNTH-DL-0002"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    wait_notified(kafka, prefix, aid)
    respond(bus, kafka, aid, "KEN", ResponseKind.ACKNOWLEDGED)
    (update, *_) = updates_of(kafka, prefix, aid, "ACKNOWLEDGE", "SATISFIED")
    assert update.answered_by == "SYNTH-OFFICE-KEN"
    assert update.answered_kind is ResponseKind.ACKNOWLEDGED
    ladder_later(kafka, bus, "SYNTH-DL-0002-MARKER")  # the acknowledged one would have escalated too
    assert escalations_now(kafka, prefix, aid) == []


def test_late_acknowledgement_stops_escalation(kafka: KafkaConnection, bus: Bus) -> None:
    prefix = bus.prefix
    aid = "SYNTH-DL-0003"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    wait_notified(kafka, prefix, aid)
    bus.clock.advance(5)  # past due (4 s), before the second level (6 s)
    escalations(kafka, prefix, aid, at_least=2)  # reminder and overdue are out
    respond(bus, kafka, aid, "KEN", ResponseKind.ACKNOWLEDGED)
    updates_of(kafka, prefix, aid, "ACKNOWLEDGE", "SATISFIED")
    ladder_later(kafka, bus, "SYNTH-DL-0003-MARKER")  # a full ladder later
    got = escalations_now(kafka, prefix, aid)
    assert levels(got) == [("ACKNOWLEDGE", "REMINDER", 0), ("ACKNOWLEDGE", "OVERDUE", 0)]


def test_closing_status_cancels_everything(kafka: KafkaConnection, bus: Bus) -> None:
    prefix = bus.prefix
    aid = "SYNTH-DL-0004"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    wait_notified(kafka, prefix, aid)
    closing = event(aid, sequence=2, event_type=AllegationEventType.UPDATED, subjects=SUBJECTS, adults=0)
    closing = closing.model_copy(
        update={
            "allegation": closing.allegation.model_copy(update={"status": AllegationStatus.NOT_SUBSTANTIATED})
        }
    )
    publish(kafka, f"{prefix}.allegations", aid, encode_model(closing))

    def cancelled(values: list[bytes]) -> set[str]:
        updates = [decode_model(v, ObligationUpdate) for v in values]
        return {u.kind.value for u in updates if u.allegation_id == aid and u.state.value == "CANCELLED"}

    got = cancelled(read_topic(kafka, f"{prefix}.obligations", until=lambda vs: len(cancelled(vs)) == 3))
    assert got == {"ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"}
    ladder_later(kafka, bus, "SYNTH-DL-0004-MARKER")
    assert escalations_now(kafka, prefix, aid) == []


def test_response_for_unknown_allegation_is_dead_lettered(kafka: KafkaConnection, bus: Bus) -> None:
    prefix = bus.prefix
    aid = "SYNTH-DL-NEVER-REPORTED"
    respond(bus, kafka, aid, "KEN", ResponseKind.ACKNOWLEDGED)

    def letters(values: list[bytes]) -> list[DeadLetter]:
        return [d for d in (decode_model(v, DeadLetter) for v in values) if d.original_key == aid.encode()]

    (letter,) = letters(read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: bool(letters(vs))))
    assert letter.reason is DeadLetterReason.UNKNOWN_ALLEGATION
    assert "never notified" in letter.message


def test_response_from_a_recipient_never_notified_is_dead_lettered(kafka: KafkaConnection, bus: Bus) -> None:
    prefix = bus.prefix
    aid = "SYNTH-DL-0006"
    publish(kafka, f"{prefix}.allegations", aid, encode_model(event(aid, subjects=SUBJECTS, adults=0)))
    wait_notified(kafka, prefix, aid)
    respond(bus, kafka, aid, "FRA", ResponseKind.ACKNOWLEDGED)

    def letters(values: list[bytes]) -> list[DeadLetter]:
        return [d for d in (decode_model(v, DeadLetter) for v in values) if d.original_key == aid.encode()]

    (letter,) = letters(read_topic(kafka, f"{prefix}.deadletter", until=lambda vs: bool(letters(vs))))
    assert letter.reason is DeadLetterReason.UNKNOWN_RECIPIENT
