"""Who owes what follows the facts, and history raises no false alarms: through the real worker.

One bus with the shipped defaults' shape in windows a test can tell apart
(tests/support/deadline_policies.py, FACTS): a staff member's state of nationality
only acknowledges while OIOS owes the outcome; a contingent's contributing state owes
the decision, the outcome and, once substantiated, the action taken; a decline or an
unanswered request opens OIOS's investigation; a child victim gets the urgent
windows; a back-dated import counts from ``reported_at`` and raises one summary.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support import unique_prefix
from support.bus import BusPool, producer, read_all, read_topic
from support.deadline_policies import write_facts_policies
from support.notify import notifications_among

from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import (
    AllegationEventType,
    AllegationStatus,
    EscalationLevel,
    ObligationKind,
    ObligationState,
    OutcomeResult,
    ResponseKind,
)
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import AllegationEvent, Escalation, Notification, ObligationUpdate, Response
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

pytestmark = pytest.mark.kafka

SUMMARY_EVERY = 5
URGENT_DECIDE = 4
STAFF_FRA = [("SYNTH-SUBJ-OF-1", "FRA", None, P.STAFF_MEMBER)]
CONTINGENT_KEN = [("SYNTH-SUBJ-OF-2", "KEN", "KEN", P.MILITARY_CONTINGENT)]
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def prefix(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prefix = unique_prefix()
    tmp = tmp_path_factory.mktemp("obligations-from-facts")
    policies = write_facts_policies(tmp, summary=SUMMARY_EVERY, urgent_decide=URGENT_DECIDE)
    with BusPool() as pool:
        process = pool.start(
            kafka, prefix, tmp / "data", SEABUS_POLICIES_FILE=policies, SEABUS_TICK_INTERVAL_S=0.2
        )
        yield prefix
        process.stop_cleanly()


def _millis(at: datetime) -> datetime:
    """Avro timestamps keep milliseconds: compare what survives the trip."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def allegation(
    aid: str,
    subjects: list[tuple[str, str | None, str | None, P]],
    *,
    reported_at: datetime | None = None,
    sequence: int = 1,
    status: AllegationStatus = AllegationStatus.UNDER_PRELIMINARY_ASSESSMENT,
    minors: int = 0,
    adults: int = 0,
) -> AllegationEvent:
    now = datetime.now(UTC)
    return synthetic_event(
        allegation_id=aid,
        sequence=sequence,
        event_type=AllegationEventType.REPORTED if sequence == 1 else AllegationEventType.UPDATED,
        allegation=synthetic_allegation(
            subjects=subjects,
            minors=minors,
            adults=adults,
            reported_at=_millis(reported_at or now),
            status=status,
        ),
        published_at=now,
    )


def publish(kafka: KafkaConnection, prefix: str, *events: AllegationEvent) -> None:
    p = producer(kafka)
    for e in events:
        p.send(f"{prefix}.allegations", key=e.allegation_id.encode(), value=encode_model(e))
    p.flush(timeout=30)
    p.close()


def respond(kafka: KafkaConnection, prefix: str, aid: str, recipient: str, kind: ResponseKind) -> None:
    response = Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient=recipient,
        kind=kind,
        responded_at=datetime.now(UTC),
        responder=f"SYNTH-OFFICE-{recipient}",
        outcome=OutcomeResult.NOT_SUBSTANTIATED if kind is ResponseKind.OUTCOME_REPORTED else None,
    )
    p = producer(kafka)
    p.send(f"{prefix}.responses", key=aid.encode(), value=encode_model(response)).get(timeout=30)
    p.close()


def notification(
    kafka: KafkaConnection, prefix: str, recipient: str, aid: str, sequence: int = 1
) -> Notification:
    def mine(values: list[bytes]) -> list[Notification]:
        return [n for n in notifications_among(values) if n.allegation_id == aid and n.sequence == sequence]

    return mine(read_topic(kafka, f"{prefix}.notify.{recipient}", until=lambda vs: bool(mine(vs))))[0]


def owed(note: Notification) -> set[str]:
    return {o.kind.value for o in note.obligations}


def latest_updates(values: list[bytes], aids: set[str]) -> dict[tuple[str, str, str], ObligationUpdate]:
    """The last state of each obligation of ``aids``: (allegation, recipient, kind) -> update."""
    out: dict[tuple[str, str, str], ObligationUpdate] = {}
    for value in values:
        u = decode_model(value, ObligationUpdate)
        if u.allegation_id in aids:
            out[(u.allegation_id, u.recipient, u.kind.value)] = u
    return out


def obligations_until(
    kafka: KafkaConnection, prefix: str, aids: set[str], holds: object
) -> dict[tuple[str, str, str], ObligationUpdate]:
    """Wait on ``sea.obligations`` until ``holds(latest)`` is true; return the latest states."""
    assert callable(holds)
    try:
        values = read_topic(
            kafka, f"{prefix}.obligations", until=lambda vs: bool(holds(latest_updates(vs, aids))), timeout=90
        )
    except AssertionError as exc:
        seen = latest_updates(read_all(kafka, f"{prefix}.obligations"), aids)
        shown = {k: (u.state.value, u.policy) for k, u in seen.items()}
        raise AssertionError(f"{exc}; the obligations of {sorted(aids)} are {shown}") from exc
    return latest_updates(values, aids)


def state(
    latest: dict[tuple[str, str, str], ObligationUpdate], aid: str, recipient: str, kind: ObligationKind
) -> str | None:
    u = latest.get((aid, recipient, kind.value))
    return None if u is None else u.state.value


def test_a_staff_member_state_of_nationality_only_acknowledges_and_oios_owes_the_outcome(
    kafka: KafkaConnection, prefix: str
) -> None:
    aid = "SYNTH-OF-0001"
    event = allegation(aid, STAFF_FRA)
    publish(kafka, prefix, event)
    assert owed(notification(kafka, prefix, "FRA", aid)) == {"ACKNOWLEDGE"}
    oios = notification(kafka, prefix, "OIOS", aid)
    assert owed(oios) == {"REPORT_OUTCOME"}
    (outcome,) = oios.obligations
    assert outcome.due_at == event.allegation.reported_at + 3 * HOUR


def test_a_contingent_member_contributing_state_owes_decision_and_outcome_and_a_decline_opens_oios(
    kafka: KafkaConnection, prefix: str
) -> None:
    aid = "SYNTH-OF-0002"
    event = allegation(aid, CONTINGENT_KEN)
    publish(kafka, prefix, event)
    note = notification(kafka, prefix, "KEN", aid)
    assert owed(note) == {"ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"}
    due = {o.kind.value: o.due_at - event.allegation.reported_at for o in note.obligations}
    assert due == {"ACKNOWLEDGE": HOUR, "DECIDE": HOUR, "REPORT_OUTCOME": 3 * HOUR}  # not the urgent ones

    respond(kafka, prefix, aid, "KEN", ResponseKind.INVESTIGATION_DECLINED)
    latest = obligations_until(
        kafka, prefix, {aid}, lambda got: state(got, aid, "OIOS", ObligationKind.INVESTIGATE) == "OPEN"
    )
    investigate = latest[(aid, "OIOS", "INVESTIGATE")]
    assert investigate.policy == "facts-un-investigation"
    assert state(latest, aid, "KEN", ObligationKind.DECIDE) == "SATISFIED"
    assert state(latest, aid, "KEN", ObligationKind.REPORT_OUTCOME) == "CANCELLED"
    # OIOS, which the routing never told about a contingent, can now answer it.
    respond(kafka, prefix, aid, "OIOS", ResponseKind.OUTCOME_REPORTED)
    obligations_until(
        kafka, prefix, {aid}, lambda got: state(got, aid, "OIOS", ObligationKind.INVESTIGATE) == "SATISFIED"
    )


def test_substantiated_opens_report_action_taken(kafka: KafkaConnection, prefix: str) -> None:
    aid = "SYNTH-OF-0003"
    publish(kafka, prefix, allegation(aid, CONTINGENT_KEN))
    notification(kafka, prefix, "KEN", aid)
    publish(kafka, prefix, allegation(aid, CONTINGENT_KEN, sequence=2, status=AllegationStatus.SUBSTANTIATED))
    assert owed(notification(kafka, prefix, "KEN", aid, sequence=2)) == {"REPORT_ACTION_TAKEN"}
    latest = obligations_until(
        kafka,
        prefix,
        {aid},
        lambda got: (
            state(got, aid, "KEN", ObligationKind.REPORT_ACTION_TAKEN) == "OPEN"
            and state(got, aid, "KEN", ObligationKind.DECIDE) == "CANCELLED"
        ),
    )
    assert {k[2]: u.state.value for k, u in latest.items() if k[1] == "KEN"} == {
        "ACKNOWLEDGE": "CANCELLED",
        "DECIDE": "CANCELLED",
        "REPORT_OUTCOME": "CANCELLED",
        "REPORT_ACTION_TAKEN": "OPEN",
    }


def test_a_child_victim_gets_the_urgent_windows_and_silence_opens_oios(
    kafka: KafkaConnection, prefix: str
) -> None:
    aid = "SYNTH-OF-0004"
    event = allegation(aid, CONTINGENT_KEN, minors=1)
    publish(kafka, prefix, event)
    note = notification(kafka, prefix, "KEN", aid)
    due = {o.kind.value: o.due_at - event.allegation.reported_at for o in note.obligations}
    assert due == {
        "ACKNOWLEDGE": HOUR,
        "DECIDE": timedelta(seconds=URGENT_DECIDE),
        "REPORT_OUTCOME": 2 * HOUR,
    }
    # The request for a national investigation officer goes unanswered: at its due
    # time the worker's tick raises OVERDUE and opens the UN-side investigation.
    latest = obligations_until(
        kafka, prefix, {aid}, lambda got: state(got, aid, "OIOS", ObligationKind.INVESTIGATE) == "OPEN"
    )
    assert latest[(aid, "OIOS", "INVESTIGATE")].created_at >= next(
        o.due_at for o in note.obligations if o.kind is ObligationKind.DECIDE
    )
    overdue = [
        e
        for e in (decode_model(v, Escalation) for v in read_all(kafka, f"{prefix}.escalations"))
        if e.allegation_id == aid and e.obligation is ObligationKind.DECIDE
    ]
    assert [(e.level, e.recipient) for e in overdue] == [(EscalationLevel.OVERDUE, "KEN")]


def test_a_back_dated_import_counts_from_reported_at_and_raises_one_summary(
    kafka: KafkaConnection, prefix: str
) -> None:
    reported = datetime.now(UTC) - 2 * HOUR  # the acknowledgement (1 h) is long overdue
    aids = [f"SYNTH-OF-01{n:02d}" for n in range(6)]
    events = [allegation(aid, STAFF_FRA, reported_at=reported) for aid in aids]
    publish(kafka, prefix, *events)
    keys = {f"{aid}|FRA|ACKNOWLEDGE" for aid in aids}

    def summaries(values: list[bytes]) -> list[Escalation]:
        found = [decode_model(v, Escalation) for v in values]
        return [
            e for e in found if e.level is EscalationLevel.OVERDUE_SUMMARY and keys & set(e.obligation_keys)
        ]

    def covered(values: list[bytes]) -> set[str]:
        return {k for e in summaries(values) for k in e.obligation_keys}

    values = read_topic(kafka, f"{prefix}.escalations", until=lambda vs: covered(vs) >= keys, timeout=90)
    latest = latest_updates(read_all(kafka, f"{prefix}.obligations"), set(aids))
    acks = [latest[(aid, "FRA", "ACKNOWLEDGE")] for aid in aids]
    # Windows counted from reported_at: already over when the bus received the cases ...
    assert {u.due_at for u in acks} == {_millis(reported) + HOUR}
    assert all(u.due_at < u.created_at for u in acks)
    # ... while OIOS's outcome, three hours from reported_at, is not.
    assert {latest[(aid, "OIOS", "REPORT_OUTCOME")].due_at for aid in aids} == {_millis(reported) + 3 * HOUR}
    # One summary per interval of summary_every in which the import arrived (the
    # import takes well under a second, so one, unless it straddled a boundary).
    intervals = {int(u.created_at.timestamp() // SUMMARY_EVERY) for u in acks}
    got = summaries(values)
    assert len(got) == len(intervals)
    assert len(intervals) in (1, 2)
    assert covered(values) == keys
    assert all((e.recipient, e.obligation) == ("FRA", None) for e in got)
    # No escalation one by one for what the summary covered: neither the overdue
    # nor the second level (10 s after a due time two hours ago).
    singles = [
        e
        for e in (decode_model(v, Escalation) for v in read_all(kafka, f"{prefix}.escalations"))
        if e.allegation_id in aids and e.level is not EscalationLevel.OVERDUE_SUMMARY
    ]
    assert singles == []
    # The summary reaches the owing state's topic too.
    on_topic = [
        m
        for m in (decode_model(v) for v in read_all(kafka, f"{prefix}.notify.FRA"))
        if isinstance(m, Escalation)
        and m.level is EscalationLevel.OVERDUE_SUMMARY
        and keys & set(m.obligation_keys)
    ]
    assert {e.escalation_id for e in on_topic} == {e.escalation_id for e in got}
    assert all(u.state is ObligationState.OPEN for u in acks)
