"""Identifiers have length and character limits; every identifier in use today is within them."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seabus.connectors.publisher import check_event, read_file
from seabus.deploy.cli.demo_cmd import make_case
from seabus.schemas import testing
from seabus.schemas.codec import decode_model, default_codec
from seabus.schemas.entities import load_reporting_entities
from seabus.schemas.enums import InterimActionKind
from seabus.schemas.errors import Problem, ValidationFailed
from seabus.schemas.limits import ALLEGATION_ID, ENTITY_CODE, REFERENCE, RESPONDER, clip_text, preview
from seabus.schemas.models import AllegationEvent, DeadLetter, InterimAction
from seabus.schemas.validation import allegation_event_problems, response_problems
from seabus.streams.synthetic import example_allegation_event, random_event

NOW = testing.SYNTH_NOW
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
HUGE = 400_000


def problems(event: AllegationEvent, entities: frozenset[str] | None = None) -> list[Problem]:
    return allegation_event_problems(event, known_entities=entities, now=NOW)


def with_id(**fields: object) -> AllegationEvent:
    return testing.synthetic_allegation_event().model_copy(update=fields)


# --- what is in use stays valid ---------------------------------------------------


@pytest.mark.parametrize("name", ["allegations.json", "allegations.ndjson", "allegations.csv"])
def test_the_documented_examples_are_valid(name: str) -> None:
    rows = read_file(EXAMPLES / name, known_entities=load_reporting_entities(), now=datetime.now(UTC))
    assert rows
    assert all(row.ok for row in rows), [row.report() for row in rows]


def test_the_synthetic_and_demo_events_are_valid() -> None:
    now = datetime.now(UTC)
    rng = random.Random(7)
    events = [
        testing.synthetic_allegation_event(),
        example_allegation_event(),
        *(random_event(rng, index=i, now=now) for i in (0, 999_999)),
        make_case(rng, index=999, run_id="235959FF", now=now, answer_ratio=0.5).event,
    ]
    for e in events:
        assert allegation_event_problems(e, known_entities=load_reporting_entities(), now=now) == []
    assert response_problems(testing.synthetic_response(), now=NOW) == []


@pytest.mark.parametrize(
    ("rule", "good"),
    [
        (ALLEGATION_ID, ["SYNTH-CSV-2025-0001", "MINUSCA/2025/001", "a.b_c:d", "0" * 64]),
        (REFERENCE, ["SYNTH-SUBJ-0001", "SYNTH-NOTIF-0001-PAK", "6f0c2a9e-7d41-4b6a-8e3c-1a2b3c4d5e6f"]),
        (ENTITY_CODE, ["MINUSCA", "UN-WOMEN", "UN_HABITAT", "OIOS", "FRA", "SYNTH-INVESTIGATOR-TEAM-9"]),
        (
            RESPONDER,
            ["Permanent Mission, SEA focal point", "focal-point@fra.example", "Ministère, bureau NIO"],
        ),
    ],
)
def test_identifiers_in_use_pass_their_rule(rule: object, good: list[str]) -> None:
    assert all(rule.problem(value) is None for value in good)  # type: ignore[attr-defined]


def test_every_configured_reporting_entity_is_a_valid_code() -> None:
    assert [e for e in load_reporting_entities() if ENTITY_CODE.problem(e)] == []


# --- what breaks the limits is refused, saying the limit and the fix --------------


def test_a_400_kb_allegation_id_is_refused_with_the_limit_and_without_the_value() -> None:
    found = problems(with_id(allegation_id="SYNTH-" + "7" * HUGE))
    assert [p.path for p in found] == ["allegation_id"]
    message = found[0].message
    assert message.startswith(f"is {HUGE + 6} characters long, more than the limit of 64; use at most 64")
    assert "letters, digits and . _ : / -" in message
    assert "7777" not in message
    assert len(message) < 300


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A" * 65, "is 65 characters long, more than the limit of 64"),
        ("SYNTH 0001", "contains a character that is not allowed (position 6)"),
        ("SYNTH|0001", "contains a character that is not allowed (position 6)"),
        ("SYNTH-é", "contains a character that is not allowed (position 7)"),
        ("-SYNTH-0001", "does not start with a letter or digit"),
        ("", "is empty"),
        ("   ", "is empty"),
    ],
)
def test_allegation_id_rules(value: str, expected: str) -> None:
    [problem] = problems(with_id(allegation_id=value))
    assert (problem.path, problem.message[: len(expected)]) == ("allegation_id", expected)


def test_reporting_entity_is_a_bounded_code_even_without_a_configured_list() -> None:
    for value in ("minusca", "MINUSCA MISSION", "M" * 33):
        [problem] = problems(with_id(reporting_entity=value))
        assert problem.path == "reporting_entity"
        assert "upper-case letters, digits, _ and -" in problem.message
    # With the configured list, a malformed code is one problem, and it is not quoted back.
    [problem] = problems(with_id(reporting_entity="X" * HUGE), frozenset({"MINUSCA"}))
    assert problem.message.startswith(f"is {HUGE} characters long, more than the limit of 32")
    assert "XXXX" not in problem.message


def test_event_id_must_be_a_36_character_uuid() -> None:
    padded = "-" * HUGE + "0b6c2d9e4f1a4c1e9a572f0e7c3b8d41"  # uuid.UUID() accepts this
    for value in (
        padded,
        "{0b6c2d9e-4f1a-4c1e-9a57-2f0e7c3b8d41}",
        "urn:uuid:0b6c2d9e-4f1a-4c1e-9a57-2f0e7c3b8d41",
    ):
        [problem] = problems(with_id(event_id=value))
        assert problem.path == "event_id"
        assert "36-character" in problem.message
    assert problems(with_id(event_id="0B6C2D9E-4F1A-4C1E-9A57-2F0E7C3B8D41")) == []


def test_allegation_identifiers_inside_the_snapshot() -> None:
    base = testing.synthetic_allegation_event()
    subjects = (
        base.allegation.subjects[0].model_copy(update={"subject_ref": "S" * 65}),
        *base.allegation.subjects[1:],
    )
    allegation = base.allegation.model_copy(
        update={
            "subjects": subjects,
            "investigating_entity": "national authorities",
            "interim_actions": (InterimAction(kind=InterimActionKind.OTHER, subject_ref="x" * HUGE),),
        }
    )
    found = {p.path: p.message for p in problems(base.model_copy(update={"allegation": allegation}))}
    assert set(found) == {
        "allegation.investigating_entity",
        "allegation.subjects[0].subject_ref",
        "allegation.interim_actions[0].subject_ref",
    }
    assert found["allegation.subjects[0].subject_ref"].startswith(
        "is 65 characters long, more than the limit of 64"
    )
    assert "never a name" in found["allegation.subjects[0].subject_ref"]
    assert found["allegation.investigating_entity"].startswith("contains a character that is not allowed")
    assert found["allegation.interim_actions[0].subject_ref"] == "names no subject of this allegation"


def test_response_identifiers() -> None:
    response = testing.synthetic_response().model_copy(
        update={
            "response_id": "-" * 1000 + "0" * 32,
            "allegation_id": "A" * HUGE,
            "responder": "Desk\nsecond line",
            "in_reply_to": "n" * 65,
        }
    )
    found = {p.path: p.message for p in response_problems(response, now=NOW)}
    assert set(found) == {"response_id", "allegation_id", "responder", "in_reply_to"}
    assert "line breaks" in found["responder"]
    long = testing.synthetic_response().model_copy(update={"responder": "R" * 129})
    [problem] = response_problems(long, now=NOW)
    assert problem.message.startswith("is 129 characters long, more than the limit of 128")


def test_the_sdk_path_refuses_an_oversized_id_before_encoding() -> None:
    data = testing.synthetic_allegation_event().model_dump(mode="json")
    data["allegation_id"] = "SYNTH-" + "1" * HUGE
    with pytest.raises(ValidationFailed) as err:
        check_event(data, known_entities=None, now=NOW)
    assert [p.path for p in err.value.problems] == ["allegation_id"]
    assert len(str(err.value)) < 1000


# --- helpers -----------------------------------------------------------------------


def test_clip_text_stays_within_its_budget_on_character_boundaries() -> None:
    assert clip_text("short", 100) == "short"
    for text in ("a" * 10_000, "é" * 10_000, "🧜" * 10_000):
        cut = clip_text(text, 1000)
        assert len(cut.encode()) <= 1000
        assert cut.endswith(f"[cut: {len(text.encode())} bytes in all]")
    assert len(clip_text("é" * 100, 5).encode()) <= 5


def test_preview_quotes_at_most_a_prefix() -> None:
    assert preview("SYNTH-1") == "'SYNTH-1'"
    assert preview(None) == "None"
    assert preview("k" * HUGE) == f"{'k' * 80!r}… ({HUGE} characters)"


def test_a_v1_dead_letter_reads_as_v2_with_nothing_truncated() -> None:
    v1 = testing.synthetic_dead_letter()
    data = default_codec().encode(
        "DeadLetter", v1.model_dump(exclude=set(DeadLetter.model_fields) - _V1_FIELDS), version=1
    )
    read = decode_model(data, DeadLetter)
    assert read == v1
    assert (read.original_value_size, read.original_value_sha256, read.original_value_truncated) == (
        None,
        None,
        False,
    )
    assert (read.original_headers_count, read.original_headers_truncated) == (None, False)


_V1_FIELDS = {
    "original_key",
    "original_value",
    "original_headers",
    "source_topic",
    "source_partition",
    "source_offset",
    "reason",
    "message",
    "dead_lettered_at",
}
