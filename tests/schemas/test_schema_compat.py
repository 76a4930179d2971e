"""Full transitive compatibility: shipped schemas pass, each kind of break is named."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from pathlib import Path as _Path
from typing import Any

import avro.compatibility
import avro.schema
import fastavro
import pytest

from seabus.schemas import testing
from seabus.schemas.codec import Codec
from seabus.schemas.compat import Rule, check_all, check_pair, release_all
from seabus.schemas.datum_check import datum_problems
from seabus.schemas.errors import SchemaLoadError
from seabus.schemas.registry import SchemaRegistry, load_version

# Counted from the files, not from the code under test.
SHIPPED = len(list((_Path(__file__).resolve().parents[2] / "schemas" / "avro").glob("*/v*.avsc")))

Edit = Callable[[dict[str, Any]], object]


def test_the_shipped_schemas_pass() -> None:
    report = check_all()
    assert report.ok, "\n".join(report.lines())
    assert report.findings == ()
    assert len(report.versions) == SHIPPED
    assert report.lines()[-1].startswith(f"OK: {SHIPPED} schema version(s) compatible in both directions")


def test_a_compatible_new_version_passes_and_is_noted_as_unreleased(
    schema_copy: Any, field: Callable[..., dict[str, Any]]
) -> None:
    def new_gender(raw: dict[str, Any]) -> None:
        field(raw, "allegation.subjects.gender")["type"]["symbols"].insert(2, "NON_BINARY")

    def evolve(raw: dict[str, Any]) -> None:
        new_gender(raw)
        raw["fields"].append({"name": "region", "type": ["null", "string"], "default": None, "doc": "New."})
        raw["fields"].remove(field(raw, "changes"))  # removing a field with a default is fine

    shipped_pairs = check_all(schema_copy.dir).pairs_checked
    olds = {f: _olds_and_new(schema_copy, f) for f in ("allegation_event", "notification")}
    schema_copy.add_version("allegation_event", evolve)
    schema_copy.add_version("notification", new_gender)  # embeds the same Allegation
    report = check_all(schema_copy.dir)
    assert report.ok, "\n".join(report.lines())
    # Each new version is checked both ways against every older one of its family.
    assert report.pairs_checked == shipped_pairs + sum(2 * len(old) for old, _ in olds.values())
    assert [str(n) for n in report.notes] == [
        f"{family}: UNRELEASED_VERSION: {olds[family][1]} is not in released.yaml yet; run "
        "`seabus schema release` when it ships"
        for family in ("allegation_event", "notification")
    ]


def test_a_shared_type_changed_in_one_family_only(
    schema_copy: Any, field: Callable[..., dict[str, Any]]
) -> None:
    notification = f"v{schema_copy.latest_version('notification')}"
    schema_copy.add_version(
        "allegation_event",
        lambda raw: field(raw, "allegation.subjects.gender")["type"]["symbols"].insert(2, "X"),
    )
    assert [str(b) for b in check_all(schema_copy.dir).breakages] == [
        "notification: SHARED_TYPE_DIVERGES: seabus.Gender differs between allegation_event v2 "
        f"and notification {notification}; a type embedded by several families must be defined identically "
        "in the latest version of each, so add a new version of every family that embeds it"
    ]


def _broken(schema_copy: Any, family: str, edit: Edit) -> list[str]:
    schema_copy.add_version(family, edit)
    report = check_all(schema_copy.dir)
    assert not report.ok
    assert report.lines()[-1].startswith("FAILED:")
    return [str(b) for b in report.breakages]


def test_a_field_added_without_default(schema_copy: Any, field: Callable[..., dict[str, Any]]) -> None:
    def edit(raw: dict[str, Any]) -> None:
        subject = field(raw, "allegation.subjects")["type"]["items"]
        subject["fields"].append({"name": "rank_band", "type": "string", "doc": "New."})

    notification = f"v{schema_copy.latest_version('notification')}"
    assert _broken(schema_copy, "allegation_event", edit) == [
        "allegation_event: v2 readers cannot read v1 data: field allegation.subjects[].rank_band: "
        "FIELD_ADDED_WITHOUT_DEFAULT: v2 adds field rank_band to seabus.Subject without a "
        "default, so it cannot read v1 data, which lacks it; give the field a default",
        # The embedded Subject now also differs from the notification's.
        "notification: SHARED_TYPE_DIVERGES: seabus.Subject differs between allegation_event "
        f"v2 and notification {notification}; a type embedded by several families must be defined "
        "identically in the latest version of each, so add a new version of every family "
        "that embeds it",
    ]


def test_a_required_field_removed(schema_copy: Any) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["fields"] = [f for f in raw["fields"] if f["name"] != "responder"]

    olds, new = _olds_and_new(schema_copy, "response")
    assert _broken(schema_copy, "response", edit) == [
        f"response: {old} readers cannot read {new} data: field responder: "
        f"FIELD_REMOVED_WITHOUT_DEFAULT: {new} removes field responder of seabus.Response, which "
        f"{old} readers require (it has no default there); keep the field"
        for old in olds
    ]


def _olds_and_new(schema_copy: Any, family: str) -> tuple[list[str], str]:
    """The shipped versions of a family and the one a test adds after them."""
    latest = schema_copy.latest_version(family)
    return [f"v{n}" for n in range(1, latest + 1)], f"v{latest + 1}"


def test_a_type_change_that_is_no_promotion(schema_copy: Any) -> None:
    def edit(raw: dict[str, Any]) -> None:
        next(f for f in raw["fields"] if f["name"] == "source_partition")["type"] = "string"

    olds, new = _olds_and_new(schema_copy, "deadletter")
    broken = _broken(schema_copy, "deadletter", edit)
    assert broken == [
        line
        for old in olds
        for line in (
            f"deadletter: {new} readers cannot read {old} data: field source_partition: TYPE_CHANGED: "
            f"{old} writes int and {new} reads string, which is not an Avro promotion; add a new field "
            "instead of changing the type",
            f"deadletter: {old} readers cannot read {new} data: field source_partition: TYPE_CHANGED: "
            f"{new} writes string and {old} reads int, which is not an Avro promotion; add a new field "
            "instead of changing the type",
        )
    ]


def test_a_promotion_is_only_backward_compatible(schema_copy: Any) -> None:
    def edit(raw: dict[str, Any]) -> None:
        next(f for f in raw["fields"] if f["name"] == "source_partition")["type"] = "long"

    olds, new = _olds_and_new(schema_copy, "deadletter")
    broken = _broken(schema_copy, "deadletter", edit)
    assert len(broken) == len(olds)
    for line, old in zip(broken, olds, strict=True):
        assert line.startswith(
            f"deadletter: {old} readers cannot read {new} data: field source_partition: TYPE_CHANGED: "
            f"{new} writes long and {old} reads int"
        )


def test_a_logical_type_change(schema_copy: Any) -> None:
    def micros(raw: dict[str, Any]) -> None:
        next(f for f in raw["fields"] if f["name"] == "fired_at")["type"]["logicalType"] = "timestamp-micros"

    # Alone, the change leaves the fingerprint as it was: readers could not tell.
    latest = schema_copy.latest_version("escalation")
    schema_copy.add_version("escalation", micros)
    report = check_all(schema_copy.dir)
    assert [b.rule for b in report.breakages] == [Rule.SCHEMA_UNLOADABLE]
    assert f"escalation v{latest + 1} has the same fingerprint as escalation v{latest}" in str(
        report.breakages[0]
    )
    assert "ignores docs, defaults, aliases and logical types" in str(report.breakages[0])

    def micros_and_more(raw: dict[str, Any]) -> None:
        micros(raw)
        raw["fields"].append({"name": "n", "type": "int", "default": 0, "doc": "N."})

    (schema_copy.dir / "escalation" / f"v{latest + 1}.avsc").unlink()
    schema_copy.add_version("escalation", micros_and_more)
    broken = [str(b) for b in check_all(schema_copy.dir).breakages]
    new = latest + 1
    assert broken == [
        line
        for old in range(1, new)
        for line in (
            f"escalation: v{new} readers cannot read v{old} data: field fired_at: LOGICAL_TYPE_CHANGED: "
            f"logical type changes from timestamp-millis (v{old}) to timestamp-micros (v{new}); the bytes "
            "would be misread, add a new field instead",
            f"escalation: v{old} readers cannot read v{new} data: field fired_at: LOGICAL_TYPE_CHANGED: "
            f"logical type changes from timestamp-micros (v{new}) to timestamp-millis (v{old}); the bytes "
            "would be misread, add a new field instead",
        )
    ]


def test_a_nullable_field_made_required(schema_copy: Any) -> None:
    def edit(raw: dict[str, Any]) -> None:
        f = next(f for f in raw["fields"] if f["name"] == "note")
        f["type"] = "string"
        del f["default"]

    olds, new = _olds_and_new(schema_copy, "response")
    broken = _broken(schema_copy, "response", edit)
    assert broken == [
        f"response: {new} readers cannot read {old} data: field note: TYPE_CHANGED: {old} writes null "
        f"and {new} reads string, which is not an Avro promotion; add a new field instead of "
        "changing the type"
        for old in olds
    ]


def test_a_union_branch_removed(schema_copy: Any) -> None:
    def edit(raw: dict[str, Any]) -> None:
        f = next(f for f in raw["fields"] if f["name"] == "original_key")
        f["type"] = ["null", "string"]  # bytes -> string inside the union is a promotion...
        g = next(f for f in raw["fields"] if f["name"] == "source_offset")
        g["type"] = ["null", "int"]
        g["default"] = None

    _, new = _olds_and_new(schema_copy, "deadletter")
    broken = _broken(schema_copy, "deadletter", edit)
    assert any(
        line.startswith(
            f"deadletter: {new} readers cannot read v1 data: field source_offset: "
            f"UNION_BRANCH_MISSING: v1 may write a long here, which the {new} union "
            "(null, int) cannot hold"
        )
        for line in broken
    ), broken
    assert not any("original_key" in line for line in broken)


def test_an_enum_symbol_added_to_an_enum_without_default(schema_copy: Any) -> None:
    # A family of our own in the copy, whose v1 enum lacks a default.
    v1: dict[str, Any] = {
        "type": "record",
        "name": "Probe",
        "namespace": "seabus",
        "doc": "Test record.",
        "fields": [
            {
                "name": "colour",
                "doc": "A colour.",
                "type": {"type": "enum", "name": "Colour", "doc": "Colours.", "symbols": ["RED", "BLUE"]},
            }
        ],
    }
    schema_copy.write("probe", 1, v1)
    v2 = copy.deepcopy(v1)
    v2["fields"][0]["type"]["symbols"].append("GREEN")
    schema_copy.write("probe", 2, v2)
    lines = [str(b) for b in check_all(schema_copy.dir).breakages]
    assert (
        "probe: v1 readers cannot read v2 data: field colour: ENUM_SYMBOL_WITHOUT_DEFAULT: v2 "
        "adds symbol(s) GREEN to enum seabus.Colour, which v1 readers do not know and v1 gives "
        "the enum no default; an enum needs a default (UNKNOWN) before symbols can be added"
    ) in lines
    assert sum("ENUM_WITHOUT_DEFAULT: probe v" in line for line in lines) == 2


def test_a_renamed_type_with_an_alias_is_backward_but_not_forward_compatible(
    schema_copy: Any,
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        kind = next(f for f in raw["fields"] if f["name"] == "kind")["type"]
        kind["name"] = "ReplyKind"
        kind["aliases"] = ["ResponseKind"]

    olds, new = _olds_and_new(schema_copy, "response")
    broken = _broken(schema_copy, "response", edit)
    assert broken == [
        f"response: {old} readers cannot read {new} data: field kind: NAME_CHANGED: type "
        f"seabus.ReplyKind ({new}) is named seabus.ResponseKind in {old} without an alias; keep the "
        'name or add "aliases": ["seabus.ReplyKind"]'
        for old in olds
    ]


def test_house_rules_doc_and_released_versions(schema_copy: Any) -> None:
    raw = schema_copy.load("escalation")
    del raw["fields"][0]["doc"]  # docs of a released version may change, but not vanish
    schema_copy.write("escalation", 1, raw)
    raw = schema_copy.load("response")
    next(f for f in raw["fields"] if f["name"] == "note")["default"] = None
    raw["fields"][0]["doc"] = "A reworded doc is fine."
    schema_copy.write("response", 1, raw)
    assert not [b for b in check_all(schema_copy.dir).findings if b.family == "response"]

    raw["fields"][-1]["aliases"] = ["reply_to"]  # changes how old data is read
    schema_copy.write("response", 1, raw)
    raw = schema_copy.load("deadletter")
    raw["fields"][0]["type"] = ["null", "string"]  # changes the wire shape
    schema_copy.write("deadletter", 1, raw)
    (schema_copy.dir / "delivery_attempt" / "v1.avsc").unlink()
    (schema_copy.dir / "delivery_attempt").rmdir()

    edited_fingerprint = SchemaRegistry.load(schema_copy.dir).get("DeadLetter", 1).fingerprint.hex()
    lines = [str(b) for b in check_all(schema_copy.dir).breakages]
    assert lines == [
        "escalation: field escalation_id: DOC_MISSING: escalation v1 field "
        "seabus.Escalation.escalation_id has no doc",
        "deadletter: RELEASED_VERSION_CHANGED: v1 was edited after release: its fingerprint "
        f"was e14433374684095b and is now {edited_fingerprint}; "
        "restore it and put the change in a new version",
        "delivery_attempt: RELEASED_VERSION_MISSING: v1 was released (fingerprint "
        "287ecb68068d4ca3) but its file is gone; restore delivery_attempt/v1.avsc, old data "
        "depends on it",
        "response: RELEASED_VERSION_CHANGED: v1 was edited after release: its defaults, "
        "aliases or logical types changed, which changes how old data is read; restore it "
        "(only docs may change) and put the change in a new version",
    ]


def test_an_unloadable_directory_is_a_breakage(schema_copy: Any) -> None:
    (schema_copy.dir / "response" / "v2.avsc").write_text("{not json")
    report = check_all(schema_copy.dir)
    assert not report.ok
    assert report.breakages[0].rule is Rule.SCHEMA_UNLOADABLE
    assert "v2.avsc is not valid JSON" in str(report.breakages[0])


def test_release_pins_new_versions_and_refuses_a_broken_set(schema_copy: Any) -> None:
    _, new = _olds_and_new(schema_copy, "response")
    schema_copy.add_version(
        "response",
        lambda raw: raw["fields"].append(
            {"name": "channel_hint", "type": ["null", "string"], "default": None, "doc": "New."}
        ),
    )
    assert release_all(schema_copy.dir) == [f"response {new}"]
    assert release_all(schema_copy.dir) == []
    assert check_all(schema_copy.dir).findings == ()
    schema_copy.add_version("response", lambda raw: raw["fields"].pop())
    schema_copy.add_version(
        "response", lambda raw: raw["fields"].append({"name": "x", "type": "int", "doc": "X."})
    )
    with pytest.raises(SchemaLoadError, match="cannot release while the check fails"):
        release_all(schema_copy.dir)


# --- agreement with other implementations ------------------------------------------

RESPONSE_EDITS: dict[str, Edit] = {
    "add optional field": lambda raw: raw["fields"].append(
        {"name": "z", "type": ["null", "string"], "default": None}
    ),
    "add required field": lambda raw: raw["fields"].append({"name": "z", "type": "string"}),
    "drop required field": lambda raw: raw["fields"].pop(0),
    "drop optional field": lambda raw: raw["fields"].pop(),
    "widen int-less note to bytes": lambda raw: raw["fields"][6].update(type=["null", "bytes"]),
    "required string to enum": lambda raw: raw["fields"][2].update(
        type={"type": "enum", "name": "R", "symbols": ["PAK", "UNKNOWN"], "default": "UNKNOWN"}
    ),
    "drop an enum symbol": lambda raw: raw["fields"][3]["type"]["symbols"].remove("ACKNOWLEDGED"),
    "add an enum symbol": lambda raw: raw["fields"][3]["type"]["symbols"].insert(0, "NEW"),
    "nullable made required": lambda raw: (
        raw["fields"][6].update(type="string"),
        raw["fields"][6].pop("default"),
    ),
    "required made nullable": lambda raw: raw["fields"][5].update(type=["null", "string"]),
    "rename record": lambda raw: raw.update(name="Reply"),
}


@pytest.mark.parametrize("edit_name", sorted(RESPONSE_EDITS))
def test_verdicts_agree_with_apache_avro_and_fastavro(edit_name: str, schema_copy: Any) -> None:
    raw_old = schema_copy.load("response")
    raw_new = copy.deepcopy(raw_old)
    RESPONSE_EDITS[edit_name](raw_new)
    schema_copy.write("response", 2, raw_new)
    old = load_version(schema_copy.dir / "response" / "v1.avsc", family="response", version=1)
    new = load_version(schema_copy.dir / "response" / "v2.avsc", family="response", version=2)
    apache_old = avro.schema.parse(json.dumps(raw_old))
    apache_new = avro.schema.parse(json.dumps(raw_new))
    checker = avro.compatibility.ReaderWriterCompatibilityChecker

    for reader, writer, a_reader, a_writer in (
        (new, old, apache_new, apache_old),
        (old, new, apache_old, apache_new),
    ):
        ours = not check_pair(reader, writer)
        result = checker().get_compatibility(a_reader, a_writer)  # type: ignore[no-untyped-call]
        theirs = result.compatibility
        assert ours == (theirs is avro.compatibility.SchemaCompatibilityType.compatible), (
            f"{edit_name}: v{reader.version} reading v{writer.version}: seabus says {ours}"
        )
        if ours:  # and fastavro really resolves a sample
            datum = _sample_for(writer)
            out = io.BytesIO()
            fastavro.schemaless_writer(out, writer.parsed, datum)
            out.seek(0)
            fastavro.schemaless_reader(out, writer.parsed, reader.parsed)


def _placeholder(schema: Any) -> Any:
    if isinstance(schema, list):
        return None if "null" in schema else _placeholder(schema[0])
    if isinstance(schema, dict):
        if schema["type"] == "enum":
            return schema["symbols"][0]
        return _placeholder(schema["type"])
    return {"string": "x", "bytes": b"x", "int": 1, "long": 1, "boolean": True}[schema]


def _sample_for(sv: Any) -> dict[str, Any]:
    """A synthetic response fitted to whatever shape this version has."""
    base = testing.synthetic_response().to_avro()
    datum = {}
    for f in sv.parsed["fields"]:
        value = base.get(f["name"])
        if f["name"] not in base or datum_problems(f["type"], value, sv.named_types):
            value = _placeholder(f["type"])
        datum[f["name"]] = value
    return datum


def test_codec_decodes_every_older_version_of_a_passing_set(schema_copy: Any) -> None:
    shipped = schema_copy.latest_version("response")
    schema_copy.add_version(
        "response",
        lambda raw: raw["fields"].append(
            {"name": "a", "type": ["null", "string"], "default": None, "doc": "A."}
        ),
    )
    schema_copy.add_version(
        "response",
        lambda raw: raw["fields"].append({"name": "b", "type": "int", "default": 0, "doc": "B."}),
    )
    assert check_all(schema_copy.dir).ok
    codec = Codec(registry=SchemaRegistry.load(schema_copy.dir))
    base = testing.synthetic_response().to_avro()  # its newer fields hold their defaults
    for version in range(1, shipped + 3):
        names = {f["name"] for f in schema_copy.load("response", version)["fields"]}
        fitted = {k: v for k, v in base.items() if k in names}
        _, datum = codec.decode(codec.encode("Response", fitted, version=version))
        assert datum == {**base, "actions_taken": list(base["actions_taken"]), "a": None, "b": 0}
