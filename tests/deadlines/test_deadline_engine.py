"""The engine over plain dict stores: flow, early responses, closing, restart, tick cost."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from deadlines.deadline_support import T0, CountingDict, seconds_policies
from hypothesis import given, settings
from hypothesis import strategies as st

from seabus.streams.deadlines.codec import ValueFormat
from seabus.streams.deadlines.engine import AllegationRecord, DeadlineEngine, ResponseOutcome
from seabus.streams.deadlines.obligations import EscalationDraft, Obligation
from seabus.streams.deadlines.policy import CaseFacts, PolicySet
from seabus.streams.deadlines.vocabulary import (
    EscalationLevel,
    ObligationKind,
    ObligationState,
    RecipientClass,
    ResponseKind,
)

REM, OVD, SEC = EscalationLevel.REMINDER, EscalationLevel.OVERDUE, EscalationLevel.SECOND_LEVEL
MS = RecipientClass.MEMBER_STATE
ZONES = {"FRA": "Europe/Paris", "KEN": "Africa/Nairobi"}
A1 = "SYNTH-2026-0001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_engine(
    policies: PolicySet,
    obligations: dict[str, Any] | None = None,
    allegations: dict[str, Any] | None = None,
    value_format: ValueFormat = ValueFormat.JSON_BYTES,
) -> DeadlineEngine:
    return DeadlineEngine(
        policies=policies,
        obligations={} if obligations is None else obligations,
        allegations={} if allegations is None else allegations,
        calendar_for=lambda r: policies.calendar(time_zone=ZONES.get(r)),
        value_format=value_format,
    )


def notify(
    engine: DeadlineEngine, recipient: str, *, when: float = 0, allegation: str = A1
) -> list[Obligation]:
    cls = RecipientClass(recipient) if recipient in ("OSC", "OIOS", "VRA") else MS
    return engine.on_notification(
        allegation_id=allegation,
        recipient=recipient,
        recipient_class=cls,
        case=CaseFacts(),
        notified_at=at(when),
    )


def tick_through(engine: DeadlineEngine, seconds: Iterable[int]) -> list[EscalationDraft]:
    emitted: list[EscalationDraft] = []
    for second in seconds:
        emitted += engine.tick(at(second))
    return emitted


def ladder(
    drafts: list[EscalationDraft],
) -> dict[tuple[str, str], list[tuple[EscalationLevel, int, datetime]]]:
    by_obligation: dict[tuple[str, str], list[tuple[EscalationLevel, int, datetime]]] = defaultdict(list)
    for d in drafts:
        by_obligation[(d.recipient, d.obligation)].append((d.level, d.repeat, d.fired_at))
    return dict(by_obligation)


@pytest.mark.parametrize("value_format", list(ValueFormat))
def test_silence_escalates_each_level_once_and_an_acknowledgement_stops_it(
    seconds_policies: PolicySet, value_format: ValueFormat
) -> None:
    engine = make_engine(seconds_policies, value_format=value_format)
    engine.on_routed(allegation_id=A1, recipients={"FRA": MS, "KEN": MS, "OSC": RecipientClass.OSC})
    for recipient in ("FRA", "KEN", "OSC"):
        notify(engine, recipient)
    result = engine.on_response(
        allegation_id=A1, recipient="KEN", kind=ResponseKind.ACKNOWLEDGED, responded_at=at(5)
    )
    assert result.outcome == ResponseOutcome.APPLIED
    assert [o.kind for o in result.changed] == [ObligationKind.ACKNOWLEDGE]

    emitted = tick_through(engine, range(0, 130))
    assert len({d.escalation_id for d in emitted}) == len(emitted)
    got = ladder(emitted)
    assert got[("FRA", ObligationKind.ACKNOWLEDGE)] == [
        (REM, 0, at(10)),
        (OVD, 0, at(20)),
        (SEC, 0, at(35)),
        (SEC, 1, at(65)),
        (SEC, 2, at(95)),
        (SEC, 3, at(125)),
    ]
    decide = [(REM, 0, at(30)), (OVD, 0, at(40)), (SEC, 0, at(55)), (SEC, 1, at(85)), (SEC, 2, at(115))]
    assert got[("FRA", ObligationKind.DECIDE)] == decide
    # KEN acknowledged in time: only its decision is chased. OSC owes nothing.
    assert got[("KEN", ObligationKind.DECIDE)] == decide
    assert set(got) == {("FRA", "ACKNOWLEDGE"), ("FRA", "DECIDE"), ("KEN", "DECIDE")}


def test_late_acknowledgement_stops_further_escalation(seconds_policies: PolicySet) -> None:
    engine = make_engine(seconds_policies)
    notify(engine, "FRA")
    early = tick_through(engine, range(0, 40))
    assert [(d.level, d.obligation) for d in early if d.obligation == ObligationKind.ACKNOWLEDGE] == [
        (REM, "ACKNOWLEDGE"),
        (OVD, "ACKNOWLEDGE"),
        (SEC, "ACKNOWLEDGE"),
    ]
    engine.on_response(allegation_id=A1, recipient="FRA", kind=ResponseKind.ACKNOWLEDGED, responded_at=at(40))
    later = tick_through(engine, range(40, 400))
    assert [d for d in later if d.obligation == ObligationKind.ACKNOWLEDGE] == []
    ack = engine.obligation(f"{A1}|FRA|ACKNOWLEDGE")
    assert ack is not None
    assert ack.answered_late is True


def test_response_before_notification_is_kept_then_applied(seconds_policies: PolicySet) -> None:
    allegations: dict[str, Any] = {}
    engine = make_engine(seconds_policies, allegations=allegations)
    engine.on_routed(allegation_id=A1, recipients={"FRA": MS})
    kept = engine.on_response(
        allegation_id=A1,
        recipient="FRA",
        kind=ResponseKind.ACKNOWLEDGED,
        responded_at=at(-1),
        response_id="SYNTH-R1",
    )
    assert kept.outcome == ResponseOutcome.KEPT_PENDING
    born = {o.kind: o for o in notify(engine, "FRA")}
    assert born[ObligationKind.ACKNOWLEDGE].state == ObligationState.SATISFIED
    assert born[ObligationKind.ACKNOWLEDGE].answered_at == at(-1)
    assert born[ObligationKind.ACKNOWLEDGE].answered_response_id == "SYNTH-R1"
    assert born[ObligationKind.DECIDE].state == ObligationState.OPEN
    assert AllegationRecord.model_validate_json(allegations[A1]).pending == ()
    # Only the decision is chased: its reminder falls at 30 s.
    assert [d.obligation for d in tick_through(engine, range(0, 31))] == [ObligationKind.DECIDE]


def test_unknown_allegation_and_unknown_recipient_are_reported(seconds_policies: PolicySet) -> None:
    engine = make_engine(seconds_policies)
    ack = ResponseKind.ACKNOWLEDGED
    result = engine.on_response(
        allegation_id="SYNTH-2026-9999", recipient="FRA", kind=ack, responded_at=at(1)
    )
    assert result.outcome == ResponseOutcome.UNKNOWN_ALLEGATION
    notify(engine, "FRA")
    result = engine.on_response(allegation_id=A1, recipient="ITA", kind=ack, responded_at=at(1))
    assert result.outcome == ResponseOutcome.UNKNOWN_RECIPIENT
    progress = engine.on_response(
        allegation_id=A1, recipient="FRA", kind=ResponseKind.UNKNOWN, responded_at=at(1)
    )
    assert (progress.outcome, progress.changed) == (ResponseOutcome.APPLIED, ())


def test_closing_status_cancels_everything_open(seconds_policies: PolicySet) -> None:
    engine = make_engine(seconds_policies)
    notify(engine, "FRA")
    notify(engine, "KEN")
    engine.on_response(allegation_id=A1, recipient="KEN", kind=ResponseKind.ACKNOWLEDGED, responded_at=at(1))
    not_closing = engine.on_allegation_event(
        allegation_id=A1, event_type="UPDATED", status="UNDER_INVESTIGATION", at=at(2)
    )
    assert not_closing == []
    cancelled = engine.on_allegation_event(
        allegation_id=A1, event_type="UPDATED", status="NOT_SUBSTANTIATED", at=at(3)
    )
    assert sorted((o.recipient, o.kind) for o in cancelled) == [
        ("FRA", "ACKNOWLEDGE"),
        ("FRA", "DECIDE"),
        ("KEN", "DECIDE"),
    ]
    assert all(o.cancel_reason == "allegation UPDATED with status NOT_SUBSTANTIATED" for o in cancelled)
    states = {(o.recipient, str(o.kind)): o.state for o in engine.obligations_of(A1)}
    assert states[("KEN", "ACKNOWLEDGE")] == ObligationState.SATISFIED
    assert tick_through(engine, range(0, 300)) == []
    assert len(engine.index) == 0
    # The closing event is itself notified to a new state: no obligation is born.
    assert notify(engine, "ITA", when=4) == []


def test_a_later_notification_does_not_reset_due_times(seconds_policies: PolicySet) -> None:
    engine = make_engine(seconds_policies)
    first = {o.kind: o.due_at for o in notify(engine, "FRA")}
    again = {o.kind: o.due_at for o in notify(engine, "FRA", when=15)}
    assert again == first == {ObligationKind.ACKNOWLEDGE: at(20), ObligationKind.DECIDE: at(40)}


def test_working_days_follow_the_recipients_time_zone(shipped_like: PolicySet) -> None:
    engine = make_engine(shipped_like)
    # Friday 2026-03-06 22:30 UTC is already Saturday in Nairobi (UTC+3) but Friday in Paris.
    friday_night = datetime.fromisoformat("2026-03-06T22:30:00+00:00")
    due = {}
    for recipient in ("FRA", "KEN"):
        (ack,) = engine.on_notification(
            allegation_id=A1,
            recipient=recipient,
            recipient_class=MS,
            case=CaseFacts(),
            notified_at=friday_night,
        )
        due[recipient] = ack.due_at
    assert due["FRA"] == datetime.fromisoformat("2026-03-09T23:30:00+01:00")  # Monday, same wall time
    assert due["KEN"] == datetime.fromisoformat("2026-03-10T00:00:00+03:00")  # Monday counted from 00:00


@pytest.fixture
def shipped_like() -> PolicySet:
    from seabus.streams.deadlines.policy import parse_policies

    entry = {
        "name": "ack",
        "obligation": "ACKNOWLEDGE",
        "recipient_classes": ["MEMBER_STATE"],
        "window": {"working_days": 1},
    }
    return parse_policies({"policies": [entry]}, source="t")


# --------------------------------------------------------------------------- the index


def test_tick_reads_only_the_obligations_that_are_due(seconds_policies: PolicySet) -> None:
    obligations, allegations = CountingDict(), CountingDict()
    engine = make_engine(seconds_policies, obligations, allegations)
    for i in range(500):  # 1000 obligations, notified one second apart
        notify(engine, "FRA", when=i, allegation=f"SYNTH-2026-{i:04d}")
    assert len(obligations) == 1000
    obligations.reads.clear()
    allegations.reads.clear()

    assert engine.tick(at(9.5)) == []
    assert obligations.reads == []
    # Acknowledgement reminders fall at i + 10: at 10 only allegation 0 is due ...
    assert [d.allegation_id for d in engine.tick(at(10))] == ["SYNTH-2026-0000"]
    assert obligations.reads == ["SYNTH-2026-0000|FRA|ACKNOWLEDGE"]
    # ... and by 19 the next nine.
    obligations.reads.clear()
    assert len(engine.tick(at(19))) == 9
    assert obligations.reads == [f"SYNTH-2026-{i:04d}|FRA|ACKNOWLEDGE" for i in range(1, 10)]
    assert allegations.reads == []


def test_a_tick_with_a_limit_leaves_the_rest_due_and_fires_the_same_in_chunks(
    seconds_policies: PolicySet,
) -> None:
    """A backlog worked off in chunks (the agent's tick) fires what one unbounded tick would."""
    whole = make_engine(seconds_policies)
    reads = CountingDict()
    chunked = make_engine(seconds_policies, reads)
    for engine in (whole, chunked):
        for i in range(40):
            notify(engine, "FRA", when=0, allegation=f"SYNTH-2026-{i:04d}")
    expected = whole.tick(at(60))
    fired: list[EscalationDraft] = []
    chunks = 0
    due = len(reads)  # every obligation of the 40 allegations is due by 60 s
    reads.reads.clear()
    while chunked.due(at(60)):
        fired += chunked.tick(at(60), limit=7)
        assert len(reads.reads) <= 7  # the chunk read at most its limit
        reads.reads.clear()
        chunks += 1
    assert chunks == -(-due // 7)
    assert sorted(d.escalation_id for d in fired) == sorted(d.escalation_id for d in expected)
    assert len(expected) >= 40
    assert not whole.due(at(60))
    assert chunked.tick(at(60)) == []


def test_next_due_tells_the_caller_how_long_to_sleep(seconds_policies: PolicySet) -> None:
    engine = make_engine(seconds_policies)
    assert engine.next_due() is None
    notify(engine, "FRA", when=3)
    assert engine.next_due() == at(13)
    engine.tick(at(13))
    assert engine.next_due() == at(23)


def test_rebuilt_index_matches_the_live_one(seconds_policies: PolicySet) -> None:
    obligations: dict[str, Any] = {}
    live = make_engine(seconds_policies, obligations)
    for i in range(40):
        notify(live, "FRA", when=i, allegation=f"SYNTH-2026-{i:04d}")
        notify(live, "KEN", when=i, allegation=f"SYNTH-2026-{i:04d}")
    for i in range(0, 40, 3):
        live.on_response(
            allegation_id=f"SYNTH-2026-{i:04d}",
            recipient="KEN",
            kind=ResponseKind.INVESTIGATION_ACCEPTED_NIO,
            responded_at=at(i + 1),
        )
    tick_through(live, range(0, 50))
    expected = {k: live.index.fire_at(k) for k in obligations}
    assert len([k for k in expected if expected[k] is not None]) < len(obligations)  # some closed
    from_values = make_engine(seconds_policies, obligations)
    assert from_values.rebuild_index(obligations.values()) == len(live.index)
    assert {k: from_values.index.fire_at(k) for k in obligations} == expected
    from_items = make_engine(seconds_policies, obligations)
    assert from_items.rebuild_index_from_items(obligations.items()) == len(live.index)
    assert {k: from_items.index.fire_at(k) for k in obligations} == expected


# --------------------------------------------------------------------------- survival


def test_restart_fires_what_fell_due_while_down_exactly_once(seconds_policies: PolicySet) -> None:
    uninterrupted = make_engine(seconds_policies)
    notify(uninterrupted, "FRA")
    reference = tick_through(uninterrupted, range(0, 200))

    obligations: dict[str, Any] = {}
    allegations: dict[str, Any] = {}
    before = make_engine(seconds_policies, obligations, allegations)
    notify(before, "FRA")
    first = tick_through(before, range(0, 13))  # killed at 13 s, after the first reminder
    assert [(d.obligation, d.level) for d in first] == [("ACKNOWLEDGE", REM)]

    after = make_engine(seconds_policies, obligations, allegations)  # a new process: empty index
    after.rebuild_index(obligations.values())
    on_start = after.tick(at(50))  # back at 50 s
    assert [(d.obligation, d.level) for d in on_start] == [
        ("ACKNOWLEDGE", OVD),
        ("ACKNOWLEDGE", SEC),
        ("DECIDE", REM),
        ("DECIDE", OVD),
    ]
    assert after.tick(at(50)) == []
    rest = tick_through(after, range(50, 200))
    ids = [d.escalation_id for d in first + on_start + rest]
    assert len(ids) == len(set(ids))
    assert set(ids) == {d.escalation_id for d in reference}


def test_replaying_a_tick_whose_state_was_lost_gives_the_same_escalation_ids(
    seconds_policies: PolicySet,
) -> None:
    obligations: dict[str, Any] = {}
    engine = make_engine(seconds_policies, obligations)
    notify(engine, "FRA")
    snapshot = dict(obligations)  # what the changelog held before the crash
    emitted = engine.tick(at(21))
    replay = make_engine(seconds_policies, dict(snapshot))
    replay.rebuild_index(snapshot.values())
    assert [d.escalation_id for d in replay.tick(at(21))] == [d.escalation_id for d in emitted]


# --------------------------------------------------------------------------- property

RECIPIENTS = ("FRA", "KEN", "ITA")
OPERATIONS = st.one_of(
    st.tuples(st.just("advance"), st.integers(0, 45)),
    st.tuples(st.just("respond"), st.sampled_from(RECIPIENTS), st.sampled_from(list(ResponseKind))),
    st.tuples(st.just("notify"), st.sampled_from(RECIPIENTS)),
    st.tuples(st.just("close")),
    st.tuples(st.just("restart")),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(OPERATIONS, max_size=40))
def test_property_no_escalation_twice_and_none_after_an_answer(ops: list[tuple[Any, ...]]) -> None:
    policies = seconds_policies()
    obligations: dict[str, Any] = {}
    allegations: dict[str, Any] = {}
    engine = make_engine(policies, obligations, allegations)
    engine.on_routed(allegation_id=A1, recipients=dict.fromkeys(RECIPIENTS, MS))
    now = 0
    seen: set[str] = set()
    closed: set[str] = set()
    closed_all = False

    def check(drafts: list[EscalationDraft]) -> None:
        for draft in drafts:
            assert draft.escalation_id not in seen
            assert draft.obligation_key not in closed
            assert not closed_all
            assert draft.fire_at <= at(now)
            seen.add(draft.escalation_id)

    for op in ops:
        if op[0] == "advance":
            for second in range(now + 1, now + op[1] + 1):
                now = second
                check(engine.tick(at(now)))
        elif op[0] == "respond":
            result = engine.on_response(allegation_id=A1, recipient=op[1], kind=op[2], responded_at=at(now))
            closed.update(o.key for o in result.changed)
        elif op[0] == "notify":
            notify(engine, op[1], when=now)
        elif op[0] == "close":
            engine.on_closing(allegation_id=A1, at=at(now))
            closed_all = True
        else:
            engine = make_engine(policies, obligations, allegations)
            engine.rebuild_index(obligations.values())
            check(engine.tick(at(now)))
    # Exactly the open obligations with steps left are indexed (acknowledge repeats forever).
    stored = [Obligation.model_validate_json(v) for v in obligations.values()]
    indexed = {k for k in obligations if k in engine.index}
    assert {o.key for o in stored if o.is_open and o.kind == ObligationKind.ACKNOWLEDGE} <= indexed
    assert not {o.key for o in stored if not o.is_open} & indexed


def test_reporting_entity_is_kept_with_the_allegation_and_survives_a_restart() -> None:
    policies = seconds_policies()
    obligations: dict[str, Any] = {}
    allegations: dict[str, Any] = {}
    engine = make_engine(policies, obligations, allegations)
    engine.on_routed(allegation_id=A1, recipients={"FRA": MS}, reporting_entity="MINUSCA")
    notify(engine, "FRA")
    engine.on_routed(allegation_id=A1, recipients={"KEN": MS})  # a later event without it keeps it
    restarted = make_engine(policies, obligations, allegations)
    assert restarted.reporting_entity(A1) == "MINUSCA"
    assert restarted.reporting_entity("SYNTH-2026-9999") is None
    assert set(AllegationRecord.model_validate_json(allegations[A1]).routed) == {"FRA", "KEN"}
