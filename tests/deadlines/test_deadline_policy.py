"""Policy files: the shipped defaults, selection, and start-up errors a person can act on."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from deadlines.deadline_support import SECONDS_POLICIES

from seabus.schemas.enums import (
    AgeGroup,
    AllegationStatus,
    AllegationSubType,
    AllegationType,
    PersonnelCategory,
    Sex,
    SourceStream,
)
from seabus.schemas.errors import ConfigError
from seabus.schemas.models import Allegation, Subject, VictimCount
from seabus.streams.deadlines.policy import (
    CaseFacts,
    PolicySet,
    Trigger,
    Urgency,
    load_policies,
    parse_policies,
)
from seabus.streams.deadlines.vocabulary import ObligationKind, RecipientClass

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config"
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CHILD = CaseFacts(victim_under_18=True)
ADULT = CaseFacts()
# A contingent member deployed by KEN, as KEN's facts say (the shipped defaults
# ask the contributing state for the decision and the outcome).
CONTINGENT = CaseFacts(
    source_stream="UN_PERSONNEL",
    personnel_categories=frozenset({"MILITARY_CONTINGENT"}),
    relations=frozenset(
        {("contributing_state", "MILITARY_CONTINGENT"), ("nationality", "MILITARY_CONTINGENT")}
    ),
)


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(CONFIG / "policies.yaml")


def _due(policies: PolicySet, kind: ObligationKind, case: CaseFacts) -> datetime:
    policy = policies.select(kind, RecipientClass.MEMBER_STATE, case)
    assert policy is not None
    return policy.window.due(MONDAY, policies.calendar())


def test_shipped_defaults_follow_the_design(shipped: PolicySet) -> None:
    # Acknowledge: 5 working days for every Member State; Monday -> next Monday.
    assert _due(shipped, ObligationKind.ACKNOWLEDGE, ADULT) == MONDAY + timedelta(days=7)
    # Decide (contributing state): 10 working days (two weeks), 5 when urgent.
    urgent_contingent = CaseFacts(
        urgent=True,
        source_stream=CONTINGENT.source_stream,
        personnel_categories=CONTINGENT.personnel_categories,
        relations=CONTINGENT.relations,
    )
    assert _due(shipped, ObligationKind.DECIDE, CONTINGENT) == MONDAY + timedelta(days=14)
    assert _due(shipped, ObligationKind.DECIDE, urgent_contingent) == MONDAY + timedelta(days=7)
    # Outcome: 6 calendar months, 3 when urgent.
    assert _due(shipped, ObligationKind.REPORT_OUTCOME, CONTINGENT) == datetime(2026, 9, 2, 10, tzinfo=UTC)
    assert _due(shipped, ObligationKind.REPORT_OUTCOME, urgent_contingent) == datetime(
        2026, 6, 2, 10, tzinfo=UTC
    )


def _kinds(policies: PolicySet, rclass: RecipientClass, case: CaseFacts, **kw: Any) -> list[str]:
    return [str(p.obligation) for p in policies.plan(rclass, case, **kw)]


P = PersonnelCategory
MS, OIOS, VRA, OSC = (
    RecipientClass.MEMBER_STATE,
    RecipientClass.OIOS,
    RecipientClass.VRA,
    RecipientClass.OSC,
)


@pytest.mark.parametrize(
    ("category", "nationality", "contributing", "stream", "status", "recipient", "rclass", "owed"),
    [
        # Staff member, expert, individual police, military staff officer: the state
        # of nationality only acknowledges; OIOS owes the outcome.
        (P.STAFF_MEMBER, "FRA", None, "UN_PERSONNEL", "UNDER_INVESTIGATION", "FRA", MS, ["ACKNOWLEDGE"]),
        (
            P.STAFF_MEMBER,
            "FRA",
            None,
            "UN_PERSONNEL",
            "UNDER_INVESTIGATION",
            "OIOS",
            OIOS,
            ["REPORT_OUTCOME"],
        ),
        (P.EXPERT_ON_MISSION, "FRA", None, "UN_PERSONNEL", "UNDER_INVESTIGATION", "FRA", MS, ["ACKNOWLEDGE"]),
        (P.UN_POLICE_OFFICER, "FRA", None, "UN_PERSONNEL", "UNDER_INVESTIGATION", "FRA", MS, ["ACKNOWLEDGE"]),
        (
            P.MILITARY_STAFF_OFFICER,
            "FRA",
            None,
            "UN_PERSONNEL",
            "UNDER_INVESTIGATION",
            "FRA",
            MS,
            ["ACKNOWLEDGE"],
        ),
        (
            P.MILITARY_STAFF_OFFICER,
            "FRA",
            None,
            "UN_PERSONNEL",
            "UNDER_INVESTIGATION",
            "OIOS",
            OIOS,
            ["REPORT_OUTCOME"],
        ),
        # ... and is asked about referral once the allegation is substantiated.
        (
            P.STAFF_MEMBER,
            "FRA",
            None,
            "UN_PERSONNEL",
            "SUBSTANTIATED",
            "FRA",
            MS,
            ["ACKNOWLEDGE", "DECIDE_REFERRAL"],
        ),
        # Contingent and formed police unit: the contributing state owes the decision,
        # the outcome, and once substantiated the action taken; OIOS owes nothing.
        (
            P.MILITARY_CONTINGENT,
            "KEN",
            "KEN",
            "UN_PERSONNEL",
            "PENDING_MEMBER_STATE_INVESTIGATION",
            "KEN",
            MS,
            ["ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"],
        ),
        (
            P.FORMED_POLICE_UNIT,
            "SEN",
            "SEN",
            "UN_PERSONNEL",
            "PENDING_MEMBER_STATE_INVESTIGATION",
            "SEN",
            MS,
            ["ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"],
        ),
        (P.MILITARY_CONTINGENT, "KEN", "KEN", "UN_PERSONNEL", "UNDER_INVESTIGATION", "OIOS", OIOS, []),
        (
            P.MILITARY_CONTINGENT,
            "KEN",
            "KEN",
            "UN_PERSONNEL",
            "SUBSTANTIATED",
            "KEN",
            MS,
            ["ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME", "REPORT_ACTION_TAKEN"],
        ),
        # A contingent member of one nationality deployed by another state: the
        # state of nationality only acknowledges.
        (
            P.MILITARY_CONTINGENT,
            "FRA",
            "KEN",
            "UN_PERSONNEL",
            "UNDER_INVESTIGATION",
            "FRA",
            MS,
            ["ACKNOWLEDGE"],
        ),
        # Non-UN forces: the deploying state.
        (
            P.NON_UN_FORCE_MEMBER,
            "FRA",
            "FRA",
            "NON_UN_FORCE",
            "PENDING_MEMBER_STATE_INVESTIGATION",
            "FRA",
            MS,
            ["ACKNOWLEDGE", "DECIDE", "REPORT_OUTCOME"],
        ),
        # The Victims' Rights Advocate acknowledges; OSC owes nothing.
        (P.STAFF_MEMBER, "FRA", None, "UN_PERSONNEL", "UNDER_INVESTIGATION", "VRA", VRA, ["ACKNOWLEDGE"]),
        (P.STAFF_MEMBER, "FRA", None, "UN_PERSONNEL", "UNDER_INVESTIGATION", "OSC", OSC, []),
    ],
)
def test_who_owes_what_follows_the_facts(
    shipped: PolicySet,
    category: PersonnelCategory,
    nationality: str,
    contributing: str | None,
    stream: str,
    status: str,
    recipient: str,
    rclass: RecipientClass,
    owed: list[str],
) -> None:
    allegation = _allegation(
        source_stream=SourceStream(stream),
        status=AllegationStatus(status),
        subjects=(
            Subject(
                subject_ref="SYNTH-SUBJ-1",
                personnel_category=category,
                nationality=nationality,
                contributing_state=contributing,
            ),
        ),
    )
    case = CaseFacts.of(allegation, recipient=recipient, recipient_class=rclass, urgency=shipped.urgency)
    assert _kinds(shipped, rclass, case) == owed


def test_a_decline_or_an_unanswered_request_opens_a_un_investigation(shipped: PolicySet) -> None:
    contingent = CaseFacts.of(_allegation(), urgency=shipped.urgency)  # as OIOS sees it
    declined = Trigger(response="INVESTIGATION_DECLINED", answering="DECIDE")
    assert shipped.plan(OIOS, contingent, trigger=Trigger(response="INVESTIGATION_DECLINED")) == []
    for trigger in (declined, Trigger(overdue="DECIDE")):
        assert _kinds(shipped, OIOS, contingent, trigger=trigger) == ["INVESTIGATE"]
        assert shipped.plan(MS, contingent, trigger=trigger) == []
    # The UN does not investigate non-UN forces.
    foreign = CaseFacts.of(_allegation(source_stream=SourceStream.NON_UN_FORCE), urgency=shipped.urgency)
    assert shipped.plan(OIOS, foreign, trigger=declined) == []
    # A joint investigation: OIOS owes the outcome too.
    joint = Trigger(response="INVESTIGATION_JOINT_OIOS", answering="DECIDE")
    assert _kinds(shipped, OIOS, contingent, trigger=joint) == ["REPORT_OUTCOME"]
    # Triggered policies are never planned at notification.
    assert "INVESTIGATE" not in _kinds(shipped, OIOS, contingent)


def test_urgent_windows_come_from_the_data(shipped: PolicySet) -> None:
    child = VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.UNDER_18, count=1)
    case = CaseFacts.of(_allegation(victims=(child,)), urgency=shipped.urgency)
    assert case.urgent
    oios_child = CaseFacts.of(
        _allegation(
            victims=(child,),
            subjects=(
                Subject(subject_ref="SYNTH-SUBJ-1", personnel_category=P.STAFF_MEMBER, nationality="FRA"),
            ),
        ),
        recipient="OIOS",
        recipient_class=OIOS,
        urgency=shipped.urgency,
    )
    outcome = shipped.select(ObligationKind.REPORT_OUTCOME, OIOS, oios_child)
    assert outcome is not None
    assert outcome.name == "oios-outcome-urgent"
    # What the policy names: a sub-type can make a case urgent, a child victim need not.
    rape = _allegation(sub_types=(AllegationSubType.RAPE,))
    assert not CaseFacts.of(rape, urgency=shipped.urgency).urgent
    assert CaseFacts.of(rape, urgency=Urgency(sub_types=frozenset({"RAPE"}))).urgent
    assert not CaseFacts.of(_allegation(victims=(child,)), urgency=Urgency(victim_under_18=False)).urgent


def test_demo_file_uses_seconds() -> None:
    demo = load_policies(CONFIG / "policies.demo.yaml")
    ack = demo.select(ObligationKind.ACKNOWLEDGE, RecipientClass.MEMBER_STATE, ADULT)
    assert ack is not None
    assert ack.window.due(MONDAY, demo.calendar()) == MONDAY + timedelta(seconds=20)
    assert [r.text for r in ack.reminders] == ["PT10S"]
    assert ack.second_level_after is not None
    assert ack.second_level_after.text == "PT15S"
    assert ack.repeat_every is not None
    assert ack.repeat_every.text == "PT30S"


def test_first_matching_policy_wins() -> None:
    policies = parse_policies(SECONDS_POLICIES, source="t")
    child = policies.select(ObligationKind.DECIDE, RecipientClass.MEMBER_STATE, CHILD)
    adult = policies.select(ObligationKind.DECIDE, RecipientClass.MEMBER_STATE, ADULT)
    assert child is not None
    assert child.name == "decide-child"
    assert adult is not None
    assert adult.name == "decide"


def test_closing_set_is_configurable(shipped: PolicySet) -> None:
    assert shipped.is_closing(status="NOT_SUBSTANTIATED")
    assert shipped.is_closing(event_type="WITHDRAWN")
    assert not shipped.is_closing(event_type="UPDATED", status="UNDER_INVESTIGATION")
    data = copy.deepcopy(SECONDS_POLICIES)
    data["closing"] = {"statuses": ["SUBSTANTIATED"], "events": ["CLOSED"]}
    narrow = parse_policies(data, source="t")
    assert narrow.is_closing(status="SUBSTANTIATED")
    assert not narrow.is_closing(status="NOT_SUBSTANTIATED")
    assert not narrow.is_closing(event_type="WITHDRAWN")


def test_calendar_time_zone_comes_from_the_recipient_unless_the_calendar_names_one(
    shipped: PolicySet,
) -> None:
    assert shipped.calendar(time_zone="Europe/Paris").tz == ZoneInfo("Europe/Paris")
    assert shipped.calendar().tz == ZoneInfo("UTC")
    assert shipped.calendar("kenya", time_zone="Europe/Paris").tz == ZoneInfo("Africa/Nairobi")
    with pytest.raises(ConfigError, match=r"calendar 'atlantis' is not defined.*default, kenya"):
        shipped.calendar("atlantis")


# --------------------------------------------------------------------------- errors


def _policy(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "ack-fast",
        "obligation": "ACKNOWLEDGE",
        "recipient_classes": ["MEMBER_STATE"],
        "window": {"working_days": 5},
        "reminders": ["P2D"],
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def _load(tmp_path: Path, data: Any) -> PolicySet:
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_policies(path)


def _error(tmp_path: Path, data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    message = str(info.value)
    assert str(tmp_path / "policies.yaml") in message, "the message names the file"
    return message


BAD_POLICIES = [
    pytest.param(
        {"obligation": "APOLOGISE"}, ["'ack-fast'", "obligation", "APOLOGISE", "Use one of"], id="kind"
    ),
    pytest.param(
        {"obligation": "UNKNOWN"},
        ["'ack-fast'", "cannot be planned", "Use one of ACKNOWLEDGE"],
        id="unknown-kind",
    ),
    pytest.param(
        {"window": {"duration": "five days"}},
        ["'ack-fast'", "five days", "ISO-8601 duration"],
        id="unparsable",
    ),
    pytest.param(
        {"window": {"duration": "P5D", "working_days": 5}},
        ["'ack-fast'", "exactly one of", "Keep one"],
        id="both",
    ),
    pytest.param({"window": {}}, ["'ack-fast'", "exactly one of"], id="neither"),
    pytest.param(
        {"window": {"working_days": 0}}, ["'ack-fast'", "working_days", "greater than 0"], id="zero-days"
    ),
    pytest.param(
        {"reminders": ["P10D"]},
        ["'ack-fast'", "P10D is not before the due time", "shorter than"],
        id="late-reminder",
    ),
    pytest.param(
        {"reminders": ["-P1D"]}, ["'ack-fast'", "not positive", "greater than zero"], id="negative-reminder"
    ),
    pytest.param({"reminders": ["P1D", "P1D"]}, ["'ack-fast'", "twice"], id="duplicate-reminder"),
    pytest.param({"repeat_every": "PT0S"}, ["'ack-fast'", "repeat_every", "not positive"], id="zero-repeat"),
    pytest.param(
        {"second_level_after": "soon"}, ["'ack-fast'", "second_level_after", "ISO-8601"], id="bad-second"
    ),
    pytest.param(
        {"max_repeats": 3}, ["'ack-fast'", "max_repeats is set but repeat_every is not"], id="max-alone"
    ),
    pytest.param({"recipient_classes": ["PRESS"]}, ["'ack-fast'", "recipient_classes", "PRESS"], id="class"),
    pytest.param({"recipient_classes": []}, ["'ack-fast'", "recipient_classes"], id="no-class"),
    pytest.param(
        {"when": {"victim_over_60": True}}, ["'ack-fast'", "unknown field 'when.victim_over_60'"], id="when"
    ),
    pytest.param(
        {"windw": {"working_days": 5}}, ["'ack-fast'", "unknown field 'windw'", "spelling"], id="typo"
    ),
    pytest.param({"window": None}, ["'ack-fast'", "field 'window' is missing", "Add it"], id="missing"),
    pytest.param(
        {"when": {"as": "employer"}}, ["'ack-fast'", "'employer' is not a relation", "nationality"], id="as"
    ),
    pytest.param(
        {"when": {"personnel_category": ["GENERAL"]}},
        ["'ack-fast'", "'GENERAL' is not a known PersonnelCategory", "MILITARY_STAFF_OFFICER"],
        id="category",
    ),
    pytest.param(
        {"when": {"status": ["DONE"]}}, ["'ack-fast'", "'DONE' is not a known AllegationStatus"], id="status"
    ),
    pytest.param(
        {"opened_by": [{"response": "SHRUGGED"}]},
        ["'ack-fast'", "'SHRUGGED' is not a known ResponseKind", "INVESTIGATION_DECLINED"],
        id="trigger-kind",
    ),
    pytest.param(
        {"opened_by": [{"response": "INVESTIGATION_DECLINED", "overdue": "DECIDE"}]},
        ["'ack-fast'", "exactly one of 'response' or 'overdue'"],
        id="trigger-both",
    ),
    pytest.param(
        {"opened_by": [{"overdue": "DECIDE", "answering": "DECIDE"}]},
        ["'ack-fast'", "'answering' narrows a response trigger"],
        id="answering-alone",
    ),
]


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ({"count_from": "yesterday"}, ["count_from 'yesterday' is not known", "reported_at, received"]),
        ({"urgent": {"sub_types": ["BAD"]}}, ["urgent:", "'BAD' is not a known AllegationSubType"]),
        ({"overdue_at_import": {"summary_every": "P1M"}}, ["overdue_at_import:", "uses months"]),
    ],
)
def test_invalid_top_level_settings_name_file_entry_and_fix(
    tmp_path: Path, top: dict[str, Any], expected: list[str]
) -> None:
    message = _error(tmp_path, {**top, "policies": [_policy()]})
    for fragment in expected:
        assert fragment in message


def test_count_from_and_summary_interval_load(tmp_path: Path) -> None:
    defaults = _load(tmp_path, {"policies": [_policy()]})
    assert (defaults.count_from, defaults.summary_every) == ("reported_at", timedelta(minutes=1))
    policies = _load(
        tmp_path,
        {"count_from": "received", "overdue_at_import": {"summary_every": "PT5S"}, "policies": [_policy()]},
    )
    assert (policies.count_from, policies.summary_every) == ("received", timedelta(seconds=5))


@pytest.mark.parametrize(("overrides", "expected"), BAD_POLICIES)
def test_invalid_policy_names_file_policy_problem_and_fix(
    tmp_path: Path, overrides: dict[str, Any], expected: list[str]
) -> None:
    message = _error(tmp_path, {"policies": [_policy(**overrides)]})
    assert "policy 'ack-fast'" in message
    for fragment in expected:
        assert fragment in message


def test_unnamed_policy_is_named_by_position(tmp_path: Path) -> None:
    message = _error(tmp_path, {"policies": [_policy(), _policy(name=None)]})
    assert "policy #2 (unnamed)" in message
    assert "field 'name' is missing" in message


def test_duplicate_policy_names_are_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, {"policies": [_policy(), _policy(when={"urgent": True})]})
    assert "policy 'ack-fast': the name is used twice" in message


def test_a_policy_shadowed_by_a_broader_one_above_is_refused(tmp_path: Path) -> None:
    broad = _policy(name="decide", obligation="DECIDE")
    narrow = _policy(name="decide-child", obligation="DECIDE", when={"victim_under_18": True})
    message = _error(tmp_path, {"policies": [broad, narrow]})
    assert "policy 'decide-child': it can never match, because 'decide' above it" in message
    assert "Move 'decide-child' above it" in message
    # The right order loads.
    assert [p.name for p in _load(tmp_path, {"policies": [narrow, broad]}).policies] == [
        "decide-child",
        "decide",
    ]


@pytest.mark.parametrize(
    ("calendar", "expected"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"weekend": ["SAT", "FUNDAY"]}, "'FUNDAY' is not a weekday"),
        ({"weekend": list(range(7))}, "weekend covers every day"),
        ({"country": "ATL"}, "no calendar for country 'ATL'"),
        ({"holidays": ["someday"]}, "holidays.0"),
        ({"subdivision": "75"}, "subdivision is set without country"),
    ],
)
def test_invalid_calendar_names_it(tmp_path: Path, calendar: dict[str, Any], expected: str) -> None:
    message = _error(tmp_path, {"calendars": {"paris": calendar}, "policies": [_policy()]})
    assert "calendar 'paris'" in message
    assert expected in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1, 2], "top level must be a mapping"),
        ({"policy": []}, "unknown top-level entry 'policy'"),
        ({"policies": []}, "'policies' must be a non-empty list"),
        ({"version": 2, "policies": [_policy()]}, "version 2 is not supported"),
        ({"closing": {"statuses": ["FORGOTTEN"]}, "policies": [_policy()]}, "closing: field 'statuses.0'"),
    ],
)
def test_invalid_file_shape(tmp_path: Path, data: Any, expected: str) -> None:
    assert expected in _error(tmp_path, data)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: policy file not found"):
        load_policies(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("policies: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_policies(broken)


def test_weekday_names_and_numbers_are_accepted(tmp_path: Path) -> None:
    policies = _load(
        tmp_path,
        {"calendars": {"gulf": {"weekend": ["fri", 5], "time_zone": "Asia/Dubai"}}, "policies": [_policy()]},
    )
    assert policies.calendar("gulf").weekend == frozenset({4, 5})


def _allegation(**changes: Any) -> Allegation:
    base = Allegation(
        reported_at=MONDAY,
        source_stream=SourceStream.UN_PERSONNEL,
        subjects=(
            Subject(subject_ref="SYNTH-SUBJ-1", personnel_category=PersonnelCategory.MILITARY_CONTINGENT),
        ),
        allegation_type=AllegationType.SEXUAL_EXPLOITATION,
        status=AllegationStatus.UNDER_PRELIMINARY_ASSESSMENT,
    )
    return base.model_copy(update=changes)


def test_case_facts_from_the_contract_record() -> None:
    adult = VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.ADULT, count=2)
    child = VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.UNDER_18, count=1)
    none_under_18 = VictimCount(sex=Sex.MALE, age_group=AgeGroup.UNDER_18, count=0)
    assert not CaseFacts.of(_allegation(victims=(adult,))).victim_under_18
    assert not CaseFacts.of(_allegation(victims=(adult, none_under_18))).victim_under_18
    with_child = CaseFacts.of(_allegation(victims=(adult, child)))
    assert (with_child.victim_under_18, with_child.urgent, with_child.has_victims) == (True, True, True)
    minor = _allegation(sub_types=(AllegationSubType.SEXUAL_ACTIVITY_WITH_MINOR,))
    assert CaseFacts.of(minor).victim_under_18
    assert CaseFacts.of(_allegation(), urgent=True).urgent
    assert not CaseFacts.of(_allegation()).has_victims
    # A paternity claim with no victim counted is still a paternity claim.
    assert CaseFacts.of(_allegation(paternity_claim=True)).paternity_claim
    # How a state relates to the subjects: only its own subjects count.
    subjects = (
        Subject(
            subject_ref="S1",
            personnel_category=P.MILITARY_CONTINGENT,
            nationality="FRA",
            contributing_state="KEN",
        ),
        Subject(subject_ref="S2", personnel_category=P.STAFF_MEMBER, nationality="KEN"),
    )
    ken = CaseFacts.of(_allegation(subjects=subjects), recipient="KEN", recipient_class=MS)
    assert ken.relations == {("contributing_state", "MILITARY_CONTINGENT"), ("nationality", "STAFF_MEMBER")}
    fra = CaseFacts.of(_allegation(subjects=subjects), recipient="FRA", recipient_class=MS)
    assert fra.relations == {("nationality", "MILITARY_CONTINGENT")}
    oios = CaseFacts.of(_allegation(subjects=subjects), recipient="OIOS", recipient_class=OIOS)
    assert (oios.relations, oios.personnel_categories) == (
        frozenset(),
        {"MILITARY_CONTINGENT", "STAFF_MEMBER"},
    )


def test_a_remembered_plan_is_the_plan_and_a_callers_copy(shipped: PolicySet) -> None:
    """plan() remembers its answer per (class, facts, trigger); what it hands out is a copy."""
    contingent = CaseFacts(relations=frozenset({("CONTRIBUTING", "MILITARY_CONTINGENT")}))
    first = shipped.plan(MS, contingent)
    assert first  # the shipped policies owe something here
    first.clear()  # a caller's list is its own
    second = shipped.plan(MS, contingent)
    assert second == [
        p
        for p in (shipped.select(k, MS, contingent) for k in ObligationKind if k != ObligationKind.UNKNOWN)
        if p is not None
    ]
