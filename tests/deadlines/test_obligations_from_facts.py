"""Who owes what follows the facts, and history raises no false alarms (engine over dicts).

The shipped policies decide the parties (working days, so only the kinds and the
policy names are checked); a policy set of seconds checks windows counted from
``reported_at``, triggers and the one summary of an import.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from deadlines.deadline_support import T0
from support import REPO
from support.routing import default_rules

from seabus.schemas.enums import AllegationEventType, AllegationStatus, PersonnelCategory
from seabus.schemas.models import AllegationEvent
from seabus.streams.deadlines.engine import DeadlineEngine, ResponseOutcome
from seabus.streams.deadlines.obligations import Obligation, summary_time
from seabus.streams.deadlines.policy import PolicySet, load_policies, parse_policies
from seabus.streams.deadlines.vocabulary import (
    EscalationLevel,
    ObligationKind,
    ObligationState,
    RecipientClass,
    ResponseKind,
)
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

P = PersonnelCategory
MS, OIOS, OSC, VRA = (
    RecipientClass.MEMBER_STATE,
    RecipientClass.OIOS,
    RecipientClass.OSC,
    RecipientClass.VRA,
)
STAFF_FRA = [("SYNTH-SUBJ-1", "FRA", None, P.STAFF_MEMBER)]
CONTINGENT_KEN = [("SYNTH-SUBJ-2", "KEN", "KEN", P.MILITARY_CONTINGENT)]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(REPO / "deploy" / "config" / "policies.yaml")


def engine_for(policies: PolicySet, adopted: list[tuple[str, str]] | None = None) -> DeadlineEngine:
    return DeadlineEngine(
        policies=policies,
        obligations={},
        allegations={},
        adopt=None if adopted is None else (lambda new, like: adopted.append((new, like))),
    )


def allegation_event(
    aid: str,
    subjects: list[tuple[str, str | None, str | None, PersonnelCategory]],
    *,
    reported: datetime,
    published: datetime | None = None,
    sequence: int = 1,
    status: AllegationStatus = AllegationStatus.UNDER_PRELIMINARY_ASSESSMENT,
    minors: int = 0,
    event_type: AllegationEventType = AllegationEventType.REPORTED,
) -> AllegationEvent:
    return synthetic_event(
        allegation_id=aid,
        sequence=sequence,
        event_type=event_type,
        allegation=synthetic_allegation(
            subjects=subjects, minors=minors, reported_at=reported, status=status
        ),
        published_at=published or reported,
    )


def route(engine: DeadlineEngine, event: AllegationEvent, now: datetime) -> dict[str, list[Obligation]]:
    """Route with the shipped rules, as the intake does, and plan."""
    recipients = default_rules().decide(event).recipients
    classes = {r: RecipientClass(r) if r in ("OSC", "OIOS", "VRA") else MS for r in recipients}
    return engine.on_event(event, classes, now)


def kinds(obligations: list[Obligation], *, state: ObligationState = ObligationState.OPEN) -> list[str]:
    return sorted(str(o.kind) for o in obligations if o.state == state)


# --------------------------------------------------------------------------- who owes what


def test_a_staff_member_state_of_nationality_only_acknowledges_and_oios_owes_the_outcome(
    shipped: PolicySet,
) -> None:
    owed = route(engine_for(shipped), allegation_event("SYNTH-F-1", STAFF_FRA, reported=at(0)), at(0))
    assert kinds(owed["FRA"]) == ["ACKNOWLEDGE"]
    assert kinds(owed["OIOS"]) == ["REPORT_OUTCOME"]
    assert kinds(owed["OSC"]) == []


def test_a_contingent_member_contributing_state_owes_decision_outcome_and_on_substantiation_action(
    shipped: PolicySet,
) -> None:
    engine = engine_for(shipped)
    owed = route(engine, allegation_event("SYNTH-F-2", CONTINGENT_KEN, reported=at(0)), at(0))
    assert kinds(owed["KEN"]) == ["ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"]
    assert "OIOS" not in owed

    substantiated = allegation_event(
        "SYNTH-F-2",
        CONTINGENT_KEN,
        reported=at(0),
        published=at(60),
        sequence=2,
        status=AllegationStatus.SUBSTANTIATED,
        event_type=AllegationEventType.UPDATED,
    )
    owed = route(engine, substantiated, at(60))
    # The status cancels what it makes moot and opens "report the action taken".
    assert kinds(owed["KEN"]) == ["REPORT_ACTION_TAKEN"]
    ken = [o for o in engine.obligations_of("SYNTH-F-2") if o.recipient == "KEN"]
    assert kinds(ken, state=ObligationState.CANCELLED) == ["ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"]
    action = next(o for o in owed["KEN"] if o.kind == ObligationKind.REPORT_ACTION_TAKEN)
    # Counted from the update that substantiated it, not from the original report.
    assert action.window_start is None
    assert action.created_at == at(60)
    # The same status again does not cancel what it opened; a CLOSED event does.
    again = substantiated.model_copy(update={"sequence": 3, "event_id": "SYNTH-EV-3"})
    assert kinds(route(engine, again, at(120))["KEN"]) == ["REPORT_ACTION_TAKEN"]
    closed = again.model_copy(
        update={"sequence": 4, "event_id": "SYNTH-EV-4", "event_type": AllegationEventType.CLOSED}
    )
    assert kinds(route(engine, closed, at(180))["KEN"]) == []
    final = engine.obligation(action.key)
    assert final is not None
    assert final.state == ObligationState.CANCELLED


def test_a_substantiated_staff_case_asks_the_state_of_nationality_about_referral(shipped: PolicySet) -> None:
    engine = engine_for(shipped)
    route(engine, allegation_event("SYNTH-F-3", STAFF_FRA, reported=at(0)), at(0))
    update = allegation_event(
        "SYNTH-F-3", STAFF_FRA, reported=at(0), sequence=2, status=AllegationStatus.SUBSTANTIATED
    )
    owed = route(engine, update, at(60))
    assert kinds(owed["FRA"]) == ["DECIDE_REFERRAL"]
    assert kinds(owed["OIOS"]) == []


def test_a_military_staff_officer_is_routed_to_oios_which_owes_the_outcome(shipped: PolicySet) -> None:
    officer = [("SYNTH-SUBJ-3", "URY", None, P.MILITARY_STAFF_OFFICER)]
    owed = route(engine_for(shipped), allegation_event("SYNTH-F-4", officer, reported=at(0)), at(0))
    assert kinds(owed["URY"]) == ["ACKNOWLEDGE"]
    assert kinds(owed["OIOS"]) == ["REPORT_OUTCOME"]


def test_a_paternity_claim_without_victim_counts_reaches_the_vra(shipped: PolicySet) -> None:
    event = allegation_event("SYNTH-F-5", STAFF_FRA, reported=at(0))
    claim = event.allegation.model_copy(update={"victims": (), "paternity_claim": True})
    owed = route(engine_for(shipped), event.model_copy(update={"allegation": claim}), at(0))
    assert kinds(owed["VRA"]) == ["ACKNOWLEDGE"]
    # Without the claim and without victims, no VRA.
    none = event.allegation.model_copy(update={"victims": ()})
    assert "VRA" not in route(engine_for(shipped), event.model_copy(update={"allegation": none}), at(0))


def test_a_child_victim_gets_the_urgent_windows(shipped: PolicySet) -> None:
    owed = route(
        engine_for(shipped), allegation_event("SYNTH-F-6", CONTINGENT_KEN, reported=at(0), minors=1), at(0)
    )
    assert {str(o.kind): o.policy for o in owed["KEN"]} == {
        "ACKNOWLEDGE": "acknowledge",
        "DECIDE": "decide-urgent",
        "REPORT_OUTCOME": "outcome-urgent",
    }


def test_a_decline_opens_a_un_investigation_that_oios_can_answer(shipped: PolicySet) -> None:
    engine = engine_for(shipped)
    route(engine, allegation_event("SYNTH-F-7", CONTINGENT_KEN, reported=at(0)), at(0))
    result = engine.on_response(
        allegation_id="SYNTH-F-7",
        recipient="KEN",
        kind=ResponseKind.INVESTIGATION_DECLINED,
        responded_at=at(30),
    )
    assert result.outcome == ResponseOutcome.APPLIED
    opened = [o for o in result.changed if o.recipient == "OIOS"]
    assert [(str(o.kind), o.policy, o.opened_by) for o in opened] == [
        ("INVESTIGATE", "un-investigation", "INVESTIGATION_DECLINED (KEN)")
    ]
    # The state is released from the outcome; OIOS, never notified, can now answer.
    assert kinds(engine.obligations_of("SYNTH-F-7"), state=ObligationState.CANCELLED) == ["REPORT_OUTCOME"]
    answer = engine.on_response(
        allegation_id="SYNTH-F-7", recipient="OIOS", kind=ResponseKind.OUTCOME_REPORTED, responded_at=at(90)
    )
    assert [(o.key, o.state) for o in answer.changed] == [(opened[0].key, ObligationState.SATISFIED)]


def test_a_decline_that_answers_no_request_to_decide_opens_nothing(shipped: PolicySet) -> None:
    engine = engine_for(shipped)
    route(engine, allegation_event("SYNTH-F-9", STAFF_FRA, reported=at(0)), at(0))
    result = engine.on_response(
        allegation_id="SYNTH-F-9",
        recipient="FRA",
        kind=ResponseKind.INVESTIGATION_DECLINED,
        responded_at=at(30),
    )
    # It acknowledges (any substantive reply does), and that is all: FRA owed no decision.
    assert [(o.recipient, str(o.kind), o.state) for o in result.changed] == [
        ("FRA", "ACKNOWLEDGE", ObligationState.SATISFIED)
    ]
    assert "INVESTIGATE" not in kinds(engine.obligations_of("SYNTH-F-9"))


def test_a_joint_investigation_obliges_oios_to_report_the_outcome(shipped: PolicySet) -> None:
    engine = engine_for(shipped)
    route(engine, allegation_event("SYNTH-F-8", CONTINGENT_KEN, reported=at(0)), at(0))
    result = engine.on_response(
        allegation_id="SYNTH-F-8",
        recipient="KEN",
        kind=ResponseKind.INVESTIGATION_JOINT_OIOS,
        responded_at=at(30),
    )
    assert [(o.recipient, str(o.kind)) for o in result.changed if o.recipient == "OIOS"] == [
        ("OIOS", "REPORT_OUTCOME")
    ]
    # The state still owes its own outcome.
    assert "REPORT_OUTCOME" in kinds([o for o in engine.obligations_of("SYNTH-F-8") if o.recipient == "KEN"])


# --------------------------------------------------------------------------- seconds

SECONDS: dict[str, Any] = {
    "version": 1,
    "count_from": "reported_at",
    "overdue_at_import": {"summary_every": "PT10S"},
    "policies": [
        {
            "name": "ack",
            "obligation": "ACKNOWLEDGE",
            "recipient_classes": ["MEMBER_STATE"],
            "window": {"duration": "PT20S"},
            "reminders": ["PT5S"],
            "second_level_after": "PT10S",
            "repeat_every": "PT30S",
        },
        {
            "name": "decide",
            "obligation": "DECIDE",
            "recipient_classes": ["MEMBER_STATE"],
            "when": {"as": "contributing_state"},
            "window": {"duration": "PT40S"},
        },
        {
            "name": "investigate",
            "obligation": "INVESTIGATE",
            "recipient_classes": ["OIOS"],
            "opened_by": [{"overdue": "DECIDE"}],
            "window": {"duration": "PT60S"},
        },
    ],
}


def seconds(**top: Any) -> PolicySet:
    return parse_policies({**SECONDS, **top}, source="seconds")


def test_windows_count_from_a_past_reported_at_or_from_receipt() -> None:
    event = allegation_event("SYNTH-F-10", STAFF_FRA, reported=at(0))
    back_dated = route(engine_for(seconds()), event, at(12))["FRA"][0]
    assert (back_dated.window_start, back_dated.created_at, back_dated.due_at) == (at(0), at(12), at(20))
    assert not back_dated.summary_pending
    received = route(engine_for(seconds(count_from="received")), event, at(12))["FRA"][0]
    assert (received.window_start, received.due_at) == (None, at(32))
    # A reported_at after receipt (a clock ahead) never lengthens the window.
    ahead = allegation_event("SYNTH-F-11", STAFF_FRA, reported=at(50))
    assert route(engine_for(seconds()), ahead, at(12))["FRA"][0].due_at == at(32)


def test_a_back_dated_reminder_is_not_sent_and_the_ladder_goes_on_from_reported_at() -> None:
    engine = engine_for(seconds())
    route(engine, allegation_event("SYNTH-F-12", STAFF_FRA, reported=at(0)), at(16))  # reminder was at 15
    drafts = [d for s in range(16, 32) for d in engine.tick(at(s))]
    assert [(d.level, d.fire_at) for d in drafts] == [
        (EscalationLevel.OVERDUE, at(20)),
        (EscalationLevel.SECOND_LEVEL, at(30)),
    ]


def test_an_import_of_overdue_cases_raises_one_summary_per_recipient() -> None:
    engine = engine_for(seconds())
    now = at(3601)  # T0 is on a 10 s boundary: everything below falls in (3600, 3610]
    for n in range(5):
        route(
            engine,
            allegation_event(f"SYNTH-F-2{n}", STAFF_FRA, reported=at(n)),
            now + timedelta(seconds=n / 10),
        )
    route(engine, allegation_event("SYNTH-F-29", CONTINGENT_KEN, reported=at(0)), now)
    due = summary_time(engine.obligations_of("SYNTH-F-20")[0], timedelta(seconds=10))
    assert engine.tick(due - timedelta(seconds=1)) == []
    drafts = engine.tick(due)
    summaries = {d.recipient: d for d in drafts if d.level == EscalationLevel.OVERDUE_SUMMARY}
    assert [d.level for d in drafts].count(EscalationLevel.OVERDUE_SUMMARY) == len(drafts) == 2
    fra = summaries["FRA"]
    assert fra.obligation_keys == tuple(f"SYNTH-F-2{n}|FRA|ACKNOWLEDGE" for n in range(5))
    assert (fra.target, fra.obligation, fra.due_at) == ("FRA", None, at(20))
    assert "5 obligation(s) on 5 allegation(s) were already overdue" in fra.reason
    assert summaries["KEN"].obligation_keys == ("SYNTH-F-29|KEN|ACKNOWLEDGE", "SYNTH-F-29|KEN|DECIDE")
    record = fra.to_record()
    assert (record.level, record.obligation_keys) == (EscalationLevel.OVERDUE_SUMMARY, fra.obligation_keys)
    assert due == at(3610)
    # KEN's overdue decision opened OIOS's investigation, itself overdue: summarised
    # in the next interval. Nothing else fires for what the summaries covered ...
    later = [d for s in range(1, 20) for d in engine.tick(due + timedelta(seconds=s))]
    assert [(d.recipient, d.level, d.obligation_keys) for d in later] == [
        ("OIOS", EscalationLevel.OVERDUE_SUMMARY, ("SYNTH-F-29|OIOS|INVESTIGATE",))
    ]
    # ... until the next repeat of a ladder falls due, which fires as usual.
    repeats = engine.tick(at(3630))
    assert sorted((d.recipient, d.level, d.repeat) for d in repeats) == [
        ("FRA", EscalationLevel.SECOND_LEVEL, 120),
        ("KEN", EscalationLevel.SECOND_LEVEL, 120),
    ]


def test_the_summary_id_is_the_same_when_the_tick_is_repeated_after_a_crash() -> None:
    def run() -> str:
        engine = engine_for(seconds())
        route(engine, allegation_event("SYNTH-F-30", STAFF_FRA, reported=at(0)), at(3600))
        (draft,) = engine.tick(at(3700))
        return draft.escalation_id

    assert run() == run()


def test_an_unanswered_decision_opens_the_un_investigation_at_its_due_time() -> None:
    adopted: list[tuple[str, str]] = []
    engine = engine_for(seconds(), adopted)
    route(engine, allegation_event("SYNTH-F-40", CONTINGENT_KEN, reported=at(0)), at(0))
    assert [o for o in engine.obligations_of("SYNTH-F-40") if o.recipient == "OIOS"] == []
    for s in range(1, 41):
        engine.tick(at(s))
    (investigate,) = [o for o in engine.obligations_of("SYNTH-F-40") if o.recipient == "OIOS"]
    assert (str(investigate.kind), investigate.opened_by) == ("INVESTIGATE", "DECIDE (KEN)")
    # Counted from the due time of the unanswered request; placed with its sibling.
    assert (investigate.window_start, investigate.due_at) == (None, at(100))
    assert adopted == [(investigate.key, "SYNTH-F-40|KEN|DECIDE")]
    # Opened once, however long the request stays unanswered.
    for s in range(41, 200):
        engine.tick(at(s))
    assert len([o for o in engine.obligations_of("SYNTH-F-40") if o.recipient == "OIOS"]) == 1
