"""Routing rules as data: the shipped defaults, matchers, continue, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.routing import NOW, default_rules, event, write

from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.errors import ConfigError
from seabus.streams.routing import load_rules

PROFILES = """
profiles:
  MEMBER_STATE: {subjects: own, confidential: false}
  OSC: {subjects: all, confidential: true}
  OIOS: {subjects: all, confidential: true}
  VRA: {subjects: none, confidential: false}
"""


def test_defaults_route_nationality_contributing_state_osc_oios_vra() -> None:
    e = event(
        subjects=[
            ("SYNTH-SUBJ-1", "FRA", None, P.STAFF_MEMBER),
            ("SYNTH-SUBJ-2", "NPL", "URY", P.MILITARY_CONTINGENT),
        ],
        minors=1,
    )
    decision = default_rules().decide(e)
    assert list(decision.recipients) == ["FRA", "NPL", "URY", "OSC", "OIOS", "VRA"]
    assert [c.rule for c in decision.recipients["URY"]] == ["contributing-state"]
    assert "SYNTH-SUBJ-2" in decision.recipients["URY"][0].explanation
    assert not decision.unroutable


def test_military_only_allegation_without_victims_skips_oios_and_vra() -> None:
    e = event(subjects=[("SYNTH-SUBJ-1", "KEN", "KEN", P.MILITARY_CONTINGENT)], adults=0)
    decision = default_rules().decide(e)
    assert list(decision.recipients) == ["KEN", "OSC"]
    assert [c.rule for c in decision.recipients["KEN"]] == ["state-of-nationality", "contributing-state"]


def test_unknown_nationality_is_unroutable_but_still_reaches_osc() -> None:
    e = event(subjects=[("SYNTH-SUBJ-1", None, None, P.CONTRACTOR_CONSULTANT)])
    decision = default_rules().decide(e)
    assert decision.unroutable
    assert "OSC" in decision.recipients
    assert not decision.member_states()


def test_continue_false_stops_evaluation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
rules:
  - name: minors-to-osc-only
    match: {allegation.victims.age_group: UNDER_18}
    recipients: [OSC]
  - name: everyone-else
    recipients_from: allegation.subjects.nationality
"""
        + PROFILES,
    )
    rules = load_rules(path)
    with_minor = rules.decide(event(minors=1))
    assert list(with_minor.recipients) == ["OSC"]  # stopped at the first rule: unroutable, OSC
    assert with_minor.unroutable
    assert list(rules.decide(event(minors=0)).recipients) == ["FRA"]


def test_operators(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
rules:
  - name: regex
    match: {reporting_entity: {regex: "MINU.*"}}
    recipients: [OSC]
    continue: true
  - name: not-in
    match: {allegation.subjects.nationality: {not_in: [KEN]}}
    recipients: [VRA]
    continue: true
  - name: exists
    match: {allegation.subjects.contributing_state: {exists: true}}
    recipients: [OIOS]
    continue: true
"""
        + PROFILES,
    )
    rules = load_rules(path)
    fra = rules.decide(event(subjects=[("SYNTH-SUBJ-1", "FRA", None, P.STAFF_MEMBER)]))
    assert set(fra.recipients) == {"OSC", "VRA"}
    ken = rules.decide(event(subjects=[("SYNTH-SUBJ-1", "KEN", "KEN", P.MILITARY_CONTINGENT)]))
    assert set(ken.recipients) == {"OSC", "OIOS"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("- name: x\n    recipients: [XXX]\n", r"rule 'x'.*'XXX' is neither an ISO 3166-1 alpha-3 code"),
        (
            "- name: y\n    match: {a.b: {near: 3}}\n    recipients: [OSC]\n",
            r"rule 'y'.*unknown operator 'near'",
        ),
        ("- name: z\n", r"rule 'z'.*needs 'recipients'"),
        (
            "- name: w\n    match: {allegation.nope: 1}\n    recipients: [OSC]\n",
            r"rule 'w': field path 'allegation.nope'",
        ),
        (
            "- name: v\n    match: {reporting_entity: {regex: '('}}\n    recipients: [OSC]\n",
            r"rule 'v'.*invalid regular expression",
        ),
    ],
)
def test_bad_rules_name_the_file_the_rule_and_the_problem(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, "rules:\n  " + body + PROFILES)
    with pytest.raises(ConfigError, match="(?s)" + expected) as err:
        load_rules(path)
    assert str(path) in str(err.value)


def test_missing_profile_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n  - name: a\n    recipients: [OSC]\nprofiles:\n  OSC: {subjects: all, confidential: true}\n",
    )
    with pytest.raises(ConfigError, match="profiles lacks MEMBER_STATE, OIOS, VRA"):
        load_rules(path)


def test_now_is_used_by_fixture() -> None:
    assert event().published_at < NOW
