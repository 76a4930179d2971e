"""Reading import files: every record valid or located by line with its problems (no broker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seabus.connectors.publisher import FileFormat, ImportFileError, parse_text, read_file, stable_event_id
from seabus.schemas.entities import load_reporting_entities
from seabus.schemas.enums import (
    AgeGroup,
    AllegationStatus,
    AllegationType,
    PersonnelCategory,
    Sex,
    UpdateKind,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ENTITIES = load_reporting_entities()

HEADER = (
    "allegation_id,sequence,reporting_entity,reported_at,incident_date,source_stream,allegation_type,"
    "sub_types,status,subject_ref_1,personnel_category_1,nationality_1,contributing_state_1,"
    "subject_ref_2,personnel_category_2,nationality_2,victims_female_adult,victims_male_under_18,"
    "paternity_claim,narrative"
)
GOOD = (
    "SYNTH-IMP-1,1,MINUSCA,2026-03-01T10:00:00Z,2026-02-20,UN_PERSONNEL,Sexual exploitation,"
    "transactional sex;exploitative-relationship,UNDER_INVESTIGATION,SYNTH-SUBJ-1,military contingent,ury,ury,"
    'SYNTH-SUBJ-2,STAFF_MEMBER,FRA,2,0,yes,"SYNTHETIC, two lines\nof narrative"'
)


def parse(text: str, fmt: FileFormat) -> list:  # type: ignore[type-arg]
    return parse_text(text, format=fmt, known_entities=ENTITIES, now=NOW)


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_shipped_examples_are_valid(fmt: FileFormat) -> None:
    rows = read_file(EXAMPLES / f"allegations.{fmt.value}", known_entities=ENTITIES, now=NOW)
    assert rows
    assert [r.report() for r in rows if not r.ok] == []


def test_the_http_example_is_one_valid_minusca_event() -> None:
    [row] = read_file(EXAMPLES / "event.json", known_entities=ENTITIES, now=NOW)
    assert row.ok
    assert row.event is not None
    assert row.event.reporting_entity == "MINUSCA"


def test_csv_row_maps_to_the_event() -> None:
    [row] = parse(f"{HEADER}\n{GOOD}\n", FileFormat.CSV)
    assert row.ok
    assert row.line == 2
    e = row.event
    assert e is not None
    assert e.event_id == stable_event_id("MINUSCA", "SYNTH-IMP-1", 1)
    assert e.published_at == NOW  # no published_at column: the import time
    a = e.allegation
    assert a.allegation_type is AllegationType.SEXUAL_EXPLOITATION
    assert [s.value for s in a.sub_types] == ["TRANSACTIONAL_SEX", "EXPLOITATIVE_RELATIONSHIP"]
    assert a.status is AllegationStatus.UNDER_INVESTIGATION
    assert [
        (s.subject_ref, s.personnel_category, s.nationality, s.contributing_state) for s in a.subjects
    ] == [
        ("SYNTH-SUBJ-1", PersonnelCategory.MILITARY_CONTINGENT, "URY", "URY"),
        ("SYNTH-SUBJ-2", PersonnelCategory.STAFF_MEMBER, "FRA", None),
    ]
    assert [(v.sex, v.age_group, v.count) for v in a.victims] == [(Sex.FEMALE, AgeGroup.ADULT, 2)]
    assert a.paternity_claim is True
    assert a.incident_date_precision.value == "DAY"
    assert a.confidential is not None
    assert a.confidential.narrative == "SYNTHETIC, two lines\nof narrative"


def test_csv_bad_rows_are_located_by_line_and_column_and_good_rows_survive() -> None:
    bad_type = GOOD.replace("SYNTH-IMP-1,1,", "SYNTH-IMP-2,1,").replace(",2,0,yes,", ",two,0,yes,")
    bad_meaning = GOOD.replace("SYNTH-IMP-1,1,MINUSCA", "SYNTH-IMP-3,1,NOPE").replace(
        ",ury,ury,", ",XXY,ury,"
    )
    later_good = GOOD.replace("SYNTH-IMP-1,1,", "SYNTH-IMP-4,1,")
    text = "\n".join([HEADER, GOOD, "", bad_type, bad_meaning, ",,,,", later_good, GOOD]) + "\n"
    rows = parse(text, FileFormat.CSV)
    # GOOD spans lines 2-3 (quoted newline); blank line 4; lines 5/6 + 7/8 (narratives), empty 9; ...
    assert [(r.line, r.ok) for r in rows] == [(2, True), (5, False), (7, False), (10, True), (12, False)]
    assert rows[1].report() == [
        "line 5: victims_female_adult (allegation.victims[0].count): "
        "Input should be a valid integer, unable to parse string as an integer"
    ]
    assert sorted(rows[2].report()) == [
        "line 7: nationality_1 (allegation.subjects[0].nationality): "
        "is not an ISO 3166-1 alpha-3 country code (e.g. FRA); use null if unknown",
        "line 7: reporting_entity: 'NOPE' is not a configured reporting entity; use the mission or "
        "agency code registered with the bus",
    ]
    [repeat] = rows[4].problems
    assert repeat.path == "event_id"
    assert "line 2" in repeat.message


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        (HEADER + ",colour", "unknown column(s) colour"),
        (HEADER.replace("status,", ""), "missing column(s) status"),
        (HEADER + ",status", "repeated column(s) status"),
    ],
)
def test_csv_header_errors_stop_the_file(header: str, fragment: str) -> None:
    with pytest.raises(ImportFileError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse(f"{header}\n{GOOD}\n", FileFormat.CSV)


def test_json_array_items_carry_their_starting_line() -> None:
    first = json.loads((EXAMPLES / "allegations.json").read_text())[0]
    second = dict(first, allegation_id="SYNTH-IMP-J2", event_id="1b7e4c1e-8f3a-4b8e-9d5c-0a1b2c3d4e5f")
    broken = dict(first, allegation_id="SYNTH-IMP-J3", sequence="first")
    text = json.dumps([first, second, broken, 7], indent=2)
    rows = parse(text, FileFormat.JSON)
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line in ("  {", "  7")]
    assert [r.line for r in rows] == starts
    assert [r.ok for r in rows] == [True, True, False, False]
    assert rows[1].event is not None
    assert rows[1].event.event_id == "1b7e4c1e-8f3a-4b8e-9d5c-0a1b2c3d4e5f"  # the file's own id wins
    assert [p.path for p in rows[2].problems] == ["sequence"]
    assert rows[3].report() == [f"line {starts[3]}: <message>: is not a JSON object"]


def test_single_json_object_and_broken_json() -> None:
    obj = json.loads((EXAMPLES / "allegations.json").read_text())[0]
    [row] = parse("\n\n" + json.dumps(obj), FileFormat.JSON)
    assert (row.line, row.ok) == (3, True)
    with pytest.raises(ImportFileError, match="line 2, column"):
        parse('[\n{"a": 1,,}]', FileFormat.JSON)


def test_ndjson_bad_line_does_not_stop_the_rest() -> None:
    lines = (EXAMPLES / "allegations.ndjson").read_text().splitlines()
    text = "\n".join([lines[0], "{not json", "", lines[1]])
    rows = parse(text, FileFormat.NDJSON)
    assert [(r.line, r.ok) for r in rows] == [(1, True), (2, False), (4, True)]
    assert "is not valid JSON" in rows[1].report()[0]


def test_the_same_file_gives_the_same_event_ids_every_time() -> None:
    text = (EXAMPLES / "allegations.csv").read_text()
    first = [r.event.event_id for r in parse(text, FileFormat.CSV) if r.event]
    later = parse_text(text, format=FileFormat.CSV, known_entities=ENTITIES, now=datetime.now(UTC))
    assert first == [r.event.event_id for r in later if r.event]
    assert len(set(first)) == len(first) == 3


def test_csv_changes_and_outcome_columns() -> None:
    header = HEADER + ",event_type,changes,outcome_result,outcome_concluded_on,outcome_actions"
    row = (
        GOOD.replace("SYNTH-IMP-1,1,", "SYNTH-IMP-5,2,")
        + ",updated,status changed,substantiated,2026-05-01,repatriation;fine"
    )
    [parsed] = parse(f"{header}\n{row}\n", FileFormat.CSV)
    assert parsed.ok, parsed.report()
    assert parsed.event is not None
    assert parsed.event.changes == (UpdateKind.STATUS_CHANGED,)
    outcome = parsed.event.allegation.outcome
    assert outcome is not None
    assert [a.value for a in outcome.actions] == ["REPATRIATION", "FINE"]


def test_unknown_suffix_needs_a_format(tmp_path: Path) -> None:
    path = tmp_path / "cases.txt"
    path.write_text("{}")
    with pytest.raises(ImportFileError, match="--format"):
        read_file(path, known_entities=ENTITIES, now=NOW)
