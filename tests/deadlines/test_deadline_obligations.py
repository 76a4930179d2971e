"""The obligation ladder: order, exactly-once firing, catch-up, answers and cancellation.

Times below are derived from the seconds policies in ``deadline_support``:
acknowledge is due 20 s after notification with a reminder 10 s before, the
second level 15 s after due and a repeat every 30 s after that; decide (adult)
is due at 40 s with at most 2 repeats.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from deadlines.deadline_support import T0

from seabus.schemas.ids import escalation_id
from seabus.schemas.models import Escalation
from seabus.streams.deadlines.obligations import (
    EscalationDraft,
    Obligation,
    PendingResponse,
    apply_pending,
    apply_response,
    cancel,
    fire_due,
    merge_planned,
    next_step,
    plan_obligations,
    schedule,
)
from seabus.streams.deadlines.policy import CaseFacts, Policy, PolicySet, parse_policies
from seabus.streams.deadlines.vocabulary import (
    EscalationLevel,
    ObligationKind,
    ObligationState,
    RecipientClass,
    ResponseKind,
)

REM, OVD, SEC = EscalationLevel.REMINDER, EscalationLevel.OVERDUE, EscalationLevel.SECOND_LEVEL
ALLEGATION = "SYNTH-2026-0001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def planned(
    policies: PolicySet, *, case: CaseFacts | None = None, recipient: str = "FRA"
) -> dict[str, Obligation]:
    obligations = plan_obligations(
        allegation_id=ALLEGATION,
        recipient=recipient,
        recipient_class=RecipientClass.MEMBER_STATE,
        case=case or CaseFacts(),
        notified_at=T0,
        policies=policies,
    )
    return {o.kind: o for o in obligations}


def policy_of(policies: PolicySet, obligation: Obligation) -> Policy:
    return policies.for_obligation(obligation.policy, obligation.kind, obligation.recipient_class)


def run(
    obligation: Obligation, policy: Policy, seconds: range
) -> tuple[Obligation, list[tuple[float, EscalationDraft]]]:
    """Tick once per second; returns the final value and (tick second, draft) pairs."""
    emitted: list[tuple[float, EscalationDraft]] = []
    for second in seconds:
        obligation, drafts = fire_due(obligation, policy, at(second))
        emitted += [(second, d) for d in drafts]
    return obligation, emitted


# --------------------------------------------------------------------------- planning


def test_plan_creates_one_obligation_per_kind_with_policy_windows(seconds_policies: PolicySet) -> None:
    adult = planned(seconds_policies)
    assert set(adult) == {ObligationKind.ACKNOWLEDGE, ObligationKind.DECIDE}
    assert adult[ObligationKind.ACKNOWLEDGE].due_at == at(20)
    assert adult[ObligationKind.DECIDE].due_at == at(40)
    assert adult[ObligationKind.DECIDE].key == f"{ALLEGATION}|FRA|DECIDE"
    child = planned(seconds_policies, case=CaseFacts(victim_under_18=True))
    assert child[ObligationKind.DECIDE].due_at == at(30)
    assert child[ObligationKind.DECIDE].policy == "decide-child"


def test_offices_get_no_obligations(seconds_policies: PolicySet) -> None:
    obligations = plan_obligations(
        allegation_id=ALLEGATION,
        recipient="OSC",
        recipient_class=RecipientClass.OSC,
        case=CaseFacts(victim_under_18=True),
        notified_at=T0,
        policies=seconds_policies,
    )
    assert obligations == []


def test_merge_keeps_the_existing_obligation(seconds_policies: PolicySet) -> None:
    first = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    fired, _ = fire_due(first, policy_of(seconds_policies, first), at(12))
    later = plan_obligations(
        allegation_id=ALLEGATION,
        recipient="FRA",
        recipient_class=RecipientClass.MEMBER_STATE,
        case=CaseFacts(),
        notified_at=at(100),
        policies=seconds_policies,
    )[0]
    assert merge_planned(fired, later) is fired
    assert merge_planned(None, later) is later


# --------------------------------------------------------------------------- the ladder


def test_schedule_is_in_time_order_and_ends_at_max_repeats(seconds_policies: PolicySet) -> None:
    decide = planned(seconds_policies)[ObligationKind.DECIDE]
    steps = list(schedule(decide, policy_of(seconds_policies, decide)))
    assert [(s.level, s.repeat, s.fire_at) for s in steps] == [
        (REM, 0, at(30)),
        (OVD, 0, at(40)),
        (SEC, 0, at(55)),
        (SEC, 1, at(85)),
        (SEC, 2, at(115)),
    ]
    assert len({s.step_id for s in steps}) == len(steps)


def test_unbounded_repeats_are_generated_lazily(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    steps = list(itertools.islice(schedule(ack, policy_of(seconds_policies, ack)), 1000))
    assert len(steps) == 1000
    assert all(a.fire_at < b.fire_at for a, b in itertools.pairwise(steps))
    assert steps[-1] == steps[-1].__class__(f"{SEC}:997", SEC, 997, at(35 + 30 * 997))


def test_no_response_fires_reminder_overdue_second_level_in_order_each_once(
    seconds_policies: PolicySet,
) -> None:
    decide = planned(seconds_policies)[ObligationKind.DECIDE]
    final, emitted = run(decide, policy_of(seconds_policies, decide), range(0, 300))
    assert [(second, d.level, d.repeat) for second, d in emitted] == [
        (30, REM, 0),
        (40, OVD, 0),
        (55, SEC, 0),
        (85, SEC, 1),
        (115, SEC, 2),
    ]
    assert [d.target for _, d in emitted] == ["FRA", "FRA", "OSC", "OSC", "OSC"]
    assert len({d.escalation_id for _, d in emitted}) == 5
    assert next_step(final, policy_of(seconds_policies, final)) is None


def test_each_step_fires_within_one_second_of_its_time(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    _, emitted = run(ack, policy_of(seconds_policies, ack), range(0, 100))
    for second, draft in emitted:
        assert timedelta(0) <= at(second) - draft.fire_at < timedelta(seconds=1)
        assert draft.fired_at == at(second)


def test_fire_due_is_idempotent(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    policy = policy_of(seconds_policies, ack)
    once, drafts = fire_due(ack, policy, at(21))
    assert [d.level for d in drafts] == [REM, OVD]
    again, more = fire_due(once, policy, at(21))
    assert more == []
    assert again == once


def test_acknowledged_in_time_escalates_nothing(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    answered = apply_response(ack, kind=ResponseKind.ACKNOWLEDGED, recipient="FRA", responded_at=at(5))
    assert answered.state == ObligationState.SATISFIED
    assert (answered.answered_by, answered.answered_at, answered.answered_late) == ("FRA", at(5), False)
    _, emitted = run(answered, policy_of(seconds_policies, answered), range(0, 500))
    assert emitted == []


def test_late_acknowledgement_stops_escalation(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    policy = policy_of(seconds_policies, ack)
    before, emitted = run(ack, policy, range(0, 25))
    assert [d.level for _, d in emitted] == [REM, OVD]
    late = apply_response(
        before,
        kind=ResponseKind.ACKNOWLEDGED,
        recipient="FRA",
        responded_at=at(25),
        responder="focal-point@fra.example",
        response_id="SYNTH-RESP-1",
    )
    assert late.answered_late is True
    assert late.answered_by == "focal-point@fra.example"
    assert late.answered_response_id == "SYNTH-RESP-1"
    _, after = run(late, policy, range(25, 500))
    assert after == []
    assert next_step(late, policy) is None


def test_closing_cancels_and_stops_escalation(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    cancelled = cancel(ack, reason="allegation CLOSED", at=at(3))
    assert cancelled.state == ObligationState.CANCELLED
    assert (cancelled.cancelled_at, cancelled.cancel_reason) == (at(3), "allegation CLOSED")
    _, emitted = run(cancelled, policy_of(seconds_policies, cancelled), range(0, 200))
    assert emitted == []
    # Cancelling what is already answered changes nothing.
    answered = apply_response(ack, kind=ResponseKind.ACKNOWLEDGED, recipient="FRA", responded_at=at(1))
    assert cancel(answered, reason="x", at=at(2)) is answered


def test_downtime_fires_each_pending_level_once_and_only_the_latest_repeat(
    seconds_policies: PolicySet,
) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    policy = policy_of(seconds_policies, ack)
    # Down from before the reminder until 1000 s: repeats were due at 35 + 30 r for r = 1..32.
    caught_up, drafts = fire_due(ack, policy, at(1000))
    assert [(d.level, d.repeat) for d in drafts] == [(REM, 0), (OVD, 0), (SEC, 0), (SEC, 32)]
    assert caught_up.repeats_done == 32
    assert fire_due(caught_up, policy, at(1000))[1] == []
    step = next_step(caught_up, policy)
    assert step is not None
    assert (step.repeat, step.fire_at) == (33, at(35 + 30 * 33))


def test_downtime_respects_max_repeats(seconds_policies: PolicySet) -> None:
    decide = planned(seconds_policies)[ObligationKind.DECIDE]
    policy = policy_of(seconds_policies, decide)
    done, drafts = fire_due(decide, policy, at(10_000))
    assert [(d.level, d.repeat) for d in drafts] == [(REM, 0), (OVD, 0), (SEC, 0), (SEC, 2)]
    assert next_step(done, policy) is None


def test_a_reminder_added_after_the_ladder_moved_on_is_not_sent() -> None:
    def policies(reminders: list[str]) -> PolicySet:
        entry = {
            "name": "ack",
            "obligation": "ACKNOWLEDGE",
            "recipient_classes": ["MEMBER_STATE"],
            "window": {"duration": "PT60S"},
            "reminders": reminders,
        }
        return parse_policies({"policies": [entry]}, source="t")

    old, new = policies(["PT10S"]), policies(["PT30S", "PT10S"])
    ack = planned(old)[ObligationKind.ACKNOWLEDGE]
    after_reminder, drafts = fire_due(ack, policy_of(old, ack), at(55))
    assert [d.level for d in drafts] == [REM]
    # The file now also reminds 30 s before: that point (30 s) lies before the
    # reminder already sent (50 s), so it is not sent late; OVERDUE comes next.
    step = next_step(after_reminder, policy_of(new, after_reminder))
    assert step is not None
    assert step.level == OVD


def test_a_reminder_that_would_precede_the_notification_is_dropped(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    policy = policy_of(seconds_policies, ack)
    assert [s.level for s in itertools.islice(schedule(ack, policy), 3)] == [REM, OVD, SEC]
    # Created 10 s before due, the reminder point (10 s before due) is not after creation.
    late_born = ack.model_copy(update={"created_at": ack.due_at - timedelta(seconds=10)})
    assert [s.level for s in itertools.islice(schedule(late_born, policy), 2)] == [OVD, SEC]


# --------------------------------------------------------------------------- answers


def _expected_state(obligation: ObligationKind, response: ResponseKind) -> ObligationState:
    """The rule, restated: any substantive reply acknowledges; a decision (or an outcome)
    decides; only an outcome reports one; declining releases the outcome obligation."""
    decisions = {
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        ResponseKind.INVESTIGATION_JOINT_OIOS,
        ResponseKind.INVESTIGATION_DECLINED,
    }
    if obligation == ObligationKind.ACKNOWLEDGE:
        return ObligationState.OPEN if response == ResponseKind.UNKNOWN else ObligationState.SATISFIED
    if obligation == ObligationKind.DECIDE:
        satisfied = response in decisions or response == ResponseKind.OUTCOME_REPORTED
        return ObligationState.SATISFIED if satisfied else ObligationState.OPEN
    answers = {
        ObligationKind.REPORT_OUTCOME: ResponseKind.OUTCOME_REPORTED,
        ObligationKind.INVESTIGATE: ResponseKind.OUTCOME_REPORTED,
        ObligationKind.REPORT_ACTION_TAKEN: ResponseKind.ACTION_TAKEN_REPORTED,
        ObligationKind.DECIDE_REFERRAL: ResponseKind.REFERRAL_DECIDED,
    }
    if response == answers[obligation]:
        return ObligationState.SATISFIED
    if obligation == ObligationKind.REPORT_OUTCOME and response == ResponseKind.INVESTIGATION_DECLINED:
        return ObligationState.CANCELLED
    return ObligationState.OPEN


@pytest.mark.parametrize("response", list(ResponseKind))
@pytest.mark.parametrize("kind", [k for k in ObligationKind if k != ObligationKind.UNKNOWN])
def test_which_responses_answer_which_obligation(kind: ObligationKind, response: ResponseKind) -> None:
    obligation = Obligation(
        allegation_id=ALLEGATION,
        recipient="KEN",
        recipient_class=RecipientClass.MEMBER_STATE,
        kind=kind,
        policy="p",
        created_at=T0,
        due_at=at(60),
    )
    after = apply_response(obligation, kind=response, recipient="KEN", responded_at=at(10))
    assert after.state == _expected_state(kind, response)
    if after.state != ObligationState.OPEN:
        assert (after.answered_kind, after.answered_at) == (response, at(10))


def test_only_the_obligated_recipient_can_answer_and_the_first_answer_is_kept(
    seconds_policies: PolicySet,
) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    assert apply_response(ack, kind=ResponseKind.ACKNOWLEDGED, recipient="KEN", responded_at=at(1)) is ack
    first = apply_response(ack, kind=ResponseKind.ACKNOWLEDGED, recipient="FRA", responded_at=at(2))
    second = apply_response(first, kind=ResponseKind.OUTCOME_REPORTED, recipient="FRA", responded_at=at(3))
    assert second is first


def test_pending_response_makes_the_obligation_born_satisfied(seconds_policies: PolicySet) -> None:
    decide = planned(seconds_policies)[ObligationKind.DECIDE]
    early = [
        PendingResponse(
            recipient="KEN", kind=ResponseKind.INVESTIGATION_DECLINED, responded_at=T0 - timedelta(seconds=9)
        ),
        PendingResponse(
            recipient="FRA",
            kind=ResponseKind.INVESTIGATION_JOINT_OIOS,
            responded_at=T0 - timedelta(seconds=5),
        ),
        PendingResponse(
            recipient="FRA", kind=ResponseKind.OUTCOME_REPORTED, responded_at=T0 - timedelta(seconds=1)
        ),
    ]
    born = apply_pending(decide, reversed(early))
    assert born.state == ObligationState.SATISFIED
    # The oldest answering response from FRA wins, whatever the order given.
    assert (born.answered_kind, born.answered_at) == (
        ResponseKind.INVESTIGATION_JOINT_OIOS,
        T0 - timedelta(seconds=5),
    )


# --------------------------------------------------------------------------- values


def test_escalation_ids_are_deterministic_and_distinct() -> None:
    key = f"{ALLEGATION}|FRA|ACKNOWLEDGE"
    assert escalation_id(key, "OVERDUE:0") == escalation_id(key, "OVERDUE:0")
    ids = {escalation_id(key, s) for s in ("REMINDER:PT10S", "OVERDUE:0", "SECOND_LEVEL:0", "SECOND_LEVEL:1")}
    ids.add(escalation_id(f"{ALLEGATION}|KEN|ACKNOWLEDGE", "OVERDUE:0"))
    assert len(ids) == 5


def test_obligation_round_trips_through_json(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    fired, _ = fire_due(ack, policy_of(seconds_policies, ack), at(40))
    answered = apply_response(fired, kind=ResponseKind.ACKNOWLEDGED, recipient="FRA", responded_at=at(41))
    assert Obligation.model_validate(answered.model_dump(mode="json")) == answered
    assert Obligation.model_validate_json(answered.model_dump_json(exclude_defaults=True)) == answered


def test_draft_carries_ids_and_times_only_and_maps_to_the_contract(seconds_policies: PolicySet) -> None:
    ack = planned(seconds_policies)[ObligationKind.ACKNOWLEDGE]
    _, drafts = fire_due(ack, policy_of(seconds_policies, ack), at(36))
    second = drafts[-1]
    assert second.reason == (
        f"MEMBER_STATE FRA has not acknowledged receipt of allegation {ALLEGATION}, "
        "due 2026-03-02T09:00:20Z; raised to the Special Coordinator."
    )
    record = second.to_record()
    assert isinstance(record, Escalation)
    assert (record.escalation_id, record.level, record.recipient) == (second.escalation_id, SEC, "FRA")
    assert record.obligation == ObligationKind.ACKNOWLEDGE
