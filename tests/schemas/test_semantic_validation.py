"""What the contract means: every problem reported at once, with field paths."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pycountry
import pytest

from seabus.schemas import testing
from seabus.schemas.entities import load_reporting_entities
from seabus.schemas.enums import (
    AgeGroup,
    IncidentDatePrecision,
    OutcomeResult,
    RecipientClass,
    ResponseKind,
    Sex,
)
from seabus.schemas.errors import ConfigError, Problem, ValidationFailed
from seabus.schemas.models import AllegationEvent, InterimAction, Subject, VictimCount
from seabus.schemas.validation import (
    allegation_event_problems,
    is_alpha3,
    notification_problems,
    parse_allegation_event,
    parse_model,
    parse_response,
    recipient_class_of,
    response_problems,
    validate_allegation_event,
    validate_response,
)
from seabus.streams.config import load_settings

NOW = testing.SYNTH_NOW
ENTITIES = frozenset({"MINUSCA", "MONUSCO"})


def _paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


def test_synthetic_messages_are_valid() -> None:
    validate_allegation_event(
        testing.synthetic_allegation_event(), known_entities=load_reporting_entities(), now=NOW
    )
    validate_response(testing.synthetic_response(), now=NOW)
    assert notification_problems(testing.synthetic_notification(), now=NOW) == []


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    base = testing.synthetic_allegation_event()
    allegation = base.allegation.model_copy(
        update={
            "incident_date": (NOW + timedelta(days=3)).date(),
            "incident_date_precision": IncidentDatePrecision.DAY,
            "subjects": (
                base.allegation.subjects[0],
                base.allegation.subjects[1].model_copy(update={"nationality": "XYZ"}),
            ),
            "victims": (VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.ADULT, count=-2),),
        }
    )
    event = base.model_copy(
        update={
            "event_id": "not-a-uuid",
            "reporting_entity": "SYNTH-UNKNOWN",
            "sequence": 4,
            "published_at": NOW + timedelta(hours=2),
            "allegation": allegation,
        }
    )
    with pytest.raises(ValidationFailed) as err:
        validate_allegation_event(event, known_entities=ENTITIES, now=NOW, previous_sequence=4)
    assert _paths(list(err.value.problems)) == [
        "event_id",
        "sequence",
        "reporting_entity",
        "published_at",
        "allegation.incident_date",  # in the future
        "allegation.incident_date",  # and after reported_at
        "allegation.subjects[1].nationality",
        "allegation.victims[0].count",
    ]
    text = str(err.value)
    assert text.startswith("AllegationEvent is invalid (8 problems); correct the fields listed")
    assert "  - allegation.subjects[1].nationality: is not an ISO 3166-1 alpha-3 country code" in text
    assert "  - sequence: does not rise: 4 after 4" in text
    assert "  - reporting_entity: 'SYNTH-UNKNOWN' is not a configured reporting entity" in text
    assert "  - allegation.victims[0].count: is negative" in text
    assert "  - published_at: is in the future" in text


def test_incident_date_and_its_precision_must_agree() -> None:
    def problems(**update: object) -> list[str]:
        event = testing.synthetic_allegation_event()
        allegation = event.allegation.model_copy(update=update)
        return [
            str(p)
            for p in allegation_event_problems(
                event.model_copy(update={"allegation": allegation}), known_entities=None, now=NOW
            )
        ]

    assert problems(incident_date=date(2024, 4, 5)) == [
        "allegation.incident_date: must be the first day of the month for MONTH precision"
    ]
    assert problems(incident_date=None) == [
        "allegation.incident_date_precision: must be UNKNOWN exactly when incident_date is null"
    ]
    assert problems(incident_date=None, incident_date_precision=IncidentDatePrecision.UNKNOWN) == []
    assert problems(incident_date=date(2024, 2, 1), incident_date_precision=IncidentDatePrecision.YEAR) == [
        "allegation.incident_date: must be 1 January for YEAR precision"
    ]
    assert problems(incident_date=date(2024, 4, 30), incident_date_precision="DAY") == [
        "allegation.incident_date: is after reported_at"
    ]


def test_subjects_victims_and_interim_actions_are_consistent() -> None:
    event = testing.synthetic_allegation_event()
    twin = event.allegation.subjects[0]
    allegation = event.allegation.model_copy(
        update={
            "subjects": (twin, twin, Subject(subject_ref=" ", personnel_category="UNKNOWN")),
            "victims": (
                VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.UNDER_18, count=1),
                VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.UNDER_18, count=2),
            ),
            "interim_actions": (
                InterimAction(kind="REPATRIATED", subject_ref="SYNTH-SUBJ-9999"),
                InterimAction(kind="OTHER", taken_on=date(2030, 1, 1)),
            ),
            "location_country": "caf",
        }
    )
    problems = allegation_event_problems(
        event.model_copy(update={"allegation": allegation}), known_entities=None, now=NOW
    )
    assert [str(p) for p in problems] == [
        "allegation.location_country: is not an ISO 3166-1 alpha-3 country code (e.g. FRA); "
        "use null if unknown",
        "allegation.subjects[1].subject_ref: repeats another subject's reference",
        "allegation.subjects[2].subject_ref: is empty",
        "allegation.victims[1]: repeats a sex and age group already counted; merge the counts",
        "allegation.interim_actions[0].subject_ref: names no subject of this allegation",
        "allegation.interim_actions[1].taken_on: is in the future",
    ]
    no_subjects = event.allegation.model_copy(update={"subjects": (), "interim_actions": ()})
    assert _paths(
        allegation_event_problems(
            event.model_copy(update={"allegation": no_subjects}), known_entities=None, now=NOW
        )
    ) == ["allegation.subjects"]


def test_sequence_must_be_non_negative_and_rise() -> None:
    event = testing.synthetic_allegation_event(sequence=-1)
    assert _paths(allegation_event_problems(event, known_entities=None, now=NOW)) == ["sequence"]
    event = testing.synthetic_allegation_event(sequence=5)
    assert allegation_event_problems(event, known_entities=None, now=NOW, previous_sequence=4) == []


def test_clock_skew_is_tolerated_up_to_the_limit() -> None:
    slightly_ahead = testing.synthetic_allegation_event(published_at=NOW + timedelta(minutes=4))
    assert allegation_event_problems(slightly_ahead, known_entities=None, now=NOW) == []
    assert _paths(
        allegation_event_problems(slightly_ahead, known_entities=None, now=NOW, max_clock_skew=timedelta(0))
    ) == ["published_at"]


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        validate_allegation_event(
            testing.synthetic_allegation_event(), known_entities=None, now=datetime(2024, 5, 1)
        )


def test_responses_are_checked_for_meaning() -> None:
    response = testing.synthetic_response(
        response_id="r-1",
        recipient="ZZZ",
        kind=ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        national_investigation_officer_appointed=False,
        outcome=OutcomeResult.SUBSTANTIATED,
        responded_at=NOW + timedelta(days=1),
        responder="",
    )
    assert _paths(response_problems(response, now=NOW)) == [
        "response_id",
        "recipient",
        "responder",
        "responded_at",
        "national_investigation_officer_appointed",
        "outcome",
    ]
    outcome_without = testing.synthetic_response(kind=ResponseKind.OUTCOME_REPORTED)
    assert [str(p) for p in response_problems(outcome_without, now=NOW)] == [
        "outcome: is required when kind is OUTCOME_REPORTED"
    ]
    for recipient in ("OSC", "OIOS", "VRA", "COD"):
        assert response_problems(testing.synthetic_response(recipient=recipient), now=NOW) == []


def test_notifications_are_checked_for_their_recipient_class() -> None:
    wrong = testing.synthetic_notification(recipient="OSC")
    assert [str(p) for p in notification_problems(wrong, now=NOW)] == [
        "recipient_class: is MEMBER_STATE, the recipient is OSC"
    ]


def test_country_codes_come_from_iso_3166_via_pycountry() -> None:
    codes = {c.alpha_3 for c in pycountry.countries}
    assert len(codes) > 240
    assert all(is_alpha3(code) for code in codes)
    for not_a_code in ("UNK", "fra", "XXX", "FR", "", "OSC"):
        assert not is_alpha3(not_a_code)
    assert recipient_class_of("FRA") is RecipientClass.MEMBER_STATE
    assert recipient_class_of("OIOS") is RecipientClass.OIOS
    assert recipient_class_of("UNK") is None


def test_parsing_a_json_ish_mapping_lists_every_type_problem() -> None:
    data = testing.synthetic_allegation_event().model_dump(mode="json")
    data["sequence"] = "three"
    data["published_at"] = "2024-05-01T10:00:00"  # no time zone
    data["allegation"]["subjects"][1]["personnel_category"] = "ASTRONAUT"
    data["allegation"]["victims"][0]["count"] = 1.5
    data["allegation"]["confidential"]["narrative"] = None
    del data["allegation"]["status"]
    data["colour"] = "blue"
    with pytest.raises(ValidationFailed) as err:
        parse_model(AllegationEvent, data)
    assert _paths(list(err.value.problems)) == [
        "sequence",
        "published_at",
        "allegation.subjects[1].personnel_category",
        "allegation.victims[0].count",
        "allegation.status",
        "allegation.confidential.narrative",
        "colour",
    ]
    assert "timestamp has no time zone; send UTC" in str(err.value)


def test_parse_helpers_check_types_then_meaning() -> None:
    event = testing.synthetic_allegation_event()
    text = event.model_dump_json()
    assert parse_allegation_event(text, known_entities=ENTITIES, now=NOW) == event
    with pytest.raises(ValidationFailed, match="reporting_entity"):
        parse_allegation_event(text, known_entities=frozenset({"UNICEF"}), now=NOW)
    with pytest.raises(ValidationFailed) as err:
        parse_response("{not json", now=NOW)
    assert err.value.problems[0].path == ""
    assert parse_response(testing.synthetic_response().model_dump(mode="json"), now=NOW) == (
        testing.synthetic_response()
    )


def test_confidential_text_never_appears_in_errors_or_reprs() -> None:
    marker = "SYNTH-CONFIDENTIAL-MARKER"
    data = testing.synthetic_allegation_event().model_dump(mode="json")
    data["allegation"]["confidential"]["narrative"] = marker
    data["allegation"]["subjects"][0]["nationality"] = "XXX"
    data["sequence"] = -1
    event = parse_model(AllegationEvent, data)
    with pytest.raises(ValidationFailed) as err:
        validate_allegation_event(event, known_entities=ENTITIES, now=NOW)
    assert marker not in str(err.value)
    assert marker not in repr(event)
    assert marker not in str(event)
    data["allegation"]["status"] = 7
    with pytest.raises(ValidationFailed) as err2:
        parse_model(AllegationEvent, data)
    assert marker not in str(err2.value)


def test_timestamps_are_normalised_to_utc_milliseconds() -> None:
    event = testing.synthetic_allegation_event(
        published_at=datetime(2024, 5, 1, 13, 0, 0, 999999, tzinfo=UTC).astimezone()
    )
    assert event.published_at == datetime(2024, 5, 1, 13, 0, 0, 999000, tzinfo=UTC)
    assert event.published_at.tzinfo is UTC


def test_reporting_entities_come_from_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = load_reporting_entities()
    assert {"MINUSCA", "MONUSCO", "UNICEF", "UN-WOMEN"} <= default
    custom = tmp_path / "entities.yaml"
    custom.write_text("reporting_entities: [SYNTHMISSION, UNICEF]\n")
    assert load_reporting_entities(custom) == {"SYNTHMISSION", "UNICEF"}
    monkeypatch.setenv("SEABUS_REPORTING_ENTITIES_FILE", str(custom))
    assert load_reporting_entities(load_settings().reporting_entities_path) == {"SYNTHMISSION", "UNICEF"}
    custom.write_text("reporting_entities: [minusca, 42]\n")
    with pytest.raises(ConfigError, match=r"invalid codes \['minusca', '42'\]"):
        load_reporting_entities(custom)
    custom.write_text(json.dumps({"entities": []}))
    with pytest.raises(ConfigError, match="non-empty list under 'reporting_entities:'"):
        load_reporting_entities(custom)
    with pytest.raises(ConfigError, match="cannot read"):
        load_reporting_entities(tmp_path / "missing.yaml")
