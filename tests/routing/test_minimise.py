"""Per-recipient minimisation: a state sees only its own subjects; the narrative stays home."""

from __future__ import annotations

from support.routing import NOW, default_rules, event

from seabus.schemas.enums import InterimActionKind
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.ids import notification_id
from seabus.schemas.models import InterimAction
from seabus.streams.routing.notifications import build_notifications


def _two_state_event():  # type: ignore[no-untyped-def]
    e = event(
        subjects=[
            ("SYNTH-SUBJ-FRA-1", "FRA", None, P.STAFF_MEMBER),
            ("SYNTH-SUBJ-URY-1", "URY", "URY", P.MILITARY_CONTINGENT),
        ],
        minors=1,
    )
    actions = (
        InterimAction(kind=InterimActionKind.REPATRIATED, subject_ref="SYNTH-SUBJ-URY-1"),
        InterimAction(kind=InterimActionKind.PLACED_ON_ADMINISTRATIVE_LEAVE, subject_ref="SYNTH-SUBJ-FRA-1"),
    )
    return e.model_copy(update={"allegation": e.allegation.model_copy(update={"interim_actions": actions})})


def test_neither_state_sees_the_other_states_subject() -> None:
    e = _two_state_event()
    rules = default_rules()
    notes = {
        n.recipient: n
        for n in build_notifications(e, recipients=rules.decide(e).recipients, rules=rules, routed_at=NOW)
    }
    fra = notes["FRA"].model_dump_json()
    ury = notes["URY"].model_dump_json()
    assert "SYNTH-SUBJ-FRA-1" in fra
    assert "SYNTH-SUBJ-URY-1" not in fra
    assert "SYNTH-SUBJ-URY-1" in ury
    assert "SYNTH-SUBJ-FRA-1" not in ury
    # The interim action about the other state's subject stays, without its reference.
    assert [a.subject_ref for a in notes["FRA"].allegation.interim_actions] == [None, "SYNTH-SUBJ-FRA-1"]
    for n in (notes["FRA"], notes["URY"], notes["VRA"]):
        assert n.allegation.confidential is None
        assert "SYNTHETIC NARRATIVE" not in n.model_dump_json()


def test_offices_see_what_their_profile_allows() -> None:
    e = _two_state_event()
    rules = default_rules()
    notes = {
        n.recipient: n
        for n in build_notifications(e, recipients=rules.decide(e).recipients, rules=rules, routed_at=NOW)
    }
    assert len(notes["OSC"].allegation.subjects) == 2
    assert notes["OSC"].allegation.confidential is not None
    assert notes["VRA"].allegation.subjects == ()
    assert notes["VRA"].allegation.interim_actions == ()
    assert sum(v.count for v in notes["VRA"].allegation.victims) == 2


def test_notification_ids_are_deterministic_per_event_and_recipient() -> None:
    e = _two_state_event()
    rules = default_rules()
    first = build_notifications(e, recipients=rules.decide(e).recipients, rules=rules, routed_at=NOW)
    again = build_notifications(e, recipients=rules.decide(e).recipients, rules=rules, routed_at=NOW)
    assert [n.notification_id for n in first] == [n.notification_id for n in again]
    assert len({n.notification_id for n in first}) == len(first)
    assert first[0].notification_id == notification_id(e.event_id, first[0].recipient)
