"""Each kind of incompatibility Apache's checker reports becomes the right seabus finding.

``seabus.schemas.compat`` takes its verdicts from ``avro.compatibility`` and writes
them as seabus findings: rule, field path in seabus's notation and message.
Here every incompatibility type, at every kind of position (record field, array
item, map value, union branch), is translated, and the verdict is checked
against the plain Apache checker.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import avro.compatibility
import avro.schema
import fastavro
import pytest

from seabus.schemas.compat import Finding, Rule, check_pair
from seabus.schemas.registry import load_version

TS_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}

PROBE: dict[str, Any] = {
    "type": "record",
    "name": "Probe",
    "namespace": "seabus",
    "fields": [
        {"name": "probe_id", "type": "string"},
        {
            "name": "tags",
            "type": {"type": "map", "values": {"type": "enum", "name": "Tag", "symbols": ["A", "B"]}},
        },
        {
            "name": "details",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Details",
                    "fields": [
                        {"name": "level", "type": "int"},
                        {"name": "seen_at", "type": ["null", dict(TS_MILLIS)], "default": None},
                    ],
                },
            ],
            "default": None,
        },
        {
            "name": "items",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Item",
                    "fields": [
                        {"name": "code", "type": {"type": "fixed", "name": "Code", "size": 4}},
                        {
                            "name": "kind",
                            "type": {
                                "type": "enum",
                                "name": "Kind",
                                "symbols": ["X", "Y", "UNKNOWN"],
                                "default": "UNKNOWN",
                            },
                        },
                    ],
                },
            },
        },
        {"name": "sent_at", "type": dict(TS_MILLIS)},
    ],
}


def _field(raw: dict[str, Any], *names: str) -> dict[str, Any]:
    """The field at a path of names, stepping into unions, arrays and maps of records."""
    record, found = raw, {}
    for name in names:
        found = next(f for f in record["fields"] if f["name"] == name)
        node = found["type"]
        while isinstance(node, list | dict) and not (isinstance(node, dict) and node["type"] == "record"):
            if isinstance(node, list):
                node = next((b for b in node if isinstance(b, dict)), {"type": "record"})
            else:
                node = node.get("items", node.get("values", {"type": "record"}))
        record = node
    return found


Pair = list[tuple[Rule, str]]

# name: (edit of v1 into v2, findings of v2 reading v1 data, findings of v1 reading v2 data)
CASES: dict[str, tuple[Callable[[dict[str, Any]], object], Pair, Pair]] = {
    "fixed size in an array item": (
        lambda raw: _field(raw, "items", "code")["type"].update(size=8),
        [(Rule.FIXED_SIZE_CHANGED, "items[].code")],
        [(Rule.FIXED_SIZE_CHANGED, "items[].code")],
    ),
    "enum symbol dropped from map values": (
        lambda raw: _field(raw, "tags")["type"]["values"]["symbols"].remove("B"),
        [(Rule.ENUM_SYMBOL_WITHOUT_DEFAULT, "tags{}")],
        [],
    ),
    "enum symbol added to an enum with a default": (
        lambda raw: _field(raw, "items", "kind")["type"]["symbols"].insert(0, "Z"),
        [],
        [],
    ),
    "required field added inside a nullable record": (
        lambda raw: _field(raw, "details")["type"][1]["fields"].append({"name": "rank", "type": "int"}),
        [(Rule.FIELD_ADDED_WITHOUT_DEFAULT, "details.rank")],
        [],
    ),
    "enum field without field default removed from an array item": (
        lambda raw: _field(raw, "items")["type"]["items"]["fields"].pop(),
        [],
        [(Rule.FIELD_REMOVED_WITHOUT_DEFAULT, "items[].kind")],
    ),
    "map made an array": (
        lambda raw: _field(raw, "tags").update(type={"type": "array", "items": "string"}),
        [(Rule.TYPE_CHANGED, "tags")],
        [(Rule.TYPE_CHANGED, "tags")],
    ),
    "promotion inside a nullable record": (
        lambda raw: _field(raw, "details", "level").update(type="long"),
        [],
        [(Rule.TYPE_CHANGED, "details.level")],
    ),
    "required timestamp made a nullable string": (
        lambda raw: _field(raw, "sent_at").update(type=["null", "string"], default=None),
        [(Rule.UNION_BRANCH_MISSING, "sent_at")],
        [(Rule.TYPE_CHANGED, "sent_at"), (Rule.TYPE_CHANGED, "sent_at")],
    ),
    "nullable record's union loses its record": (
        lambda raw: _field(raw, "details").update(type=["null", "string"]),
        [(Rule.UNION_BRANCH_MISSING, "details")],
        [(Rule.UNION_BRANCH_MISSING, "details")],
    ),
    "array item record renamed": (
        lambda raw: _field(raw, "items")["type"]["items"].update(name="Entry"),
        [(Rule.NAME_CHANGED, "items[]")],
        [(Rule.NAME_CHANGED, "items[]")],
    ),
    "top-level record renamed": (
        lambda raw: raw.update(name="Sonde"),
        [(Rule.NAME_CHANGED, "<record>")],
        [(Rule.NAME_CHANGED, "<record>")],
    ),
    "logical type changed inside a nullable record": (
        lambda raw: _field(raw, "details", "seen_at")["type"][1].update(logicalType="timestamp-micros"),
        [(Rule.LOGICAL_TYPE_CHANGED, "details.seen_at")],
        [(Rule.LOGICAL_TYPE_CHANGED, "details.seen_at")],
    ),
}


def _versions(tmp_path: Path, edit: Callable[[dict[str, Any]], object]) -> tuple[Any, Any]:
    v2 = copy.deepcopy(PROBE)
    edit(v2)
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = []
    for version, raw in ((1, PROBE), (2, v2)):
        path = tmp_path / f"v{version}.avsc"
        path.write_text(json.dumps(raw))
        out.append(load_version(path, family="probe", version=version))
    return out[0], out[1]


def _apache_compatible(reader: Any, writer: Any) -> bool:
    checker = avro.compatibility.ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(
        avro.schema.parse(json.dumps(reader.raw)), avro.schema.parse(json.dumps(writer.raw))
    )
    return bool(result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_incompatibility_becomes_a_finding_with_its_path(case: str, tmp_path: Path) -> None:
    edit, backward, forward = CASES[case]
    v1, v2 = _versions(tmp_path, edit)
    for reader, writer, expected in ((v2, v1, backward), (v1, v2, forward)):
        findings = check_pair(reader, writer)
        assert [(f.rule, f.path) for f in findings] == expected, [str(f) for f in findings]
        assert all((f.reader_version, f.writer_version) == (reader.version, writer.version) for f in findings)
        if not any(rule is Rule.LOGICAL_TYPE_CHANGED for rule, _ in expected):
            # The verdict is Apache's; only the logical-type house rule is seabus's own.
            assert (not findings) == _apache_compatible(reader, writer), case


def _messages(case: str, tmp_path: Path) -> tuple[list[str], list[str]]:
    v1, v2 = _versions(tmp_path, CASES[case][0])
    return [str(f) for f in check_pair(v2, v1)], [str(f) for f in check_pair(v1, v2)]


def test_messages_name_both_versions_and_the_fix(tmp_path: Path) -> None:
    backward, forward = _messages("required timestamp made a nullable string", tmp_path)
    assert backward == [
        "probe: v2 readers cannot read v1 data: field sent_at: UNION_BRANCH_MISSING: v1 may write "
        "a long (timestamp-millis) here, which the v2 union (null, string) cannot hold; keep every "
        "union branch, add new ones instead"
    ]
    assert forward == [
        f"probe: v1 readers cannot read v2 data: field sent_at: TYPE_CHANGED: v2 writes {kind} and "
        "v1 reads long (timestamp-millis), which is not an Avro promotion; add a new field instead "
        "of changing the type"
        for kind in ("null", "string")
    ]


def test_messages_of_complex_types_enums_and_fixed(tmp_path: Path) -> None:
    backward, _ = _messages("map made an array", tmp_path / "a")
    assert backward == [
        "probe: v2 readers cannot read v1 data: field tags: TYPE_CHANGED: v1 writes map and v2 "
        "reads array; add a new field instead of changing the type"
    ]
    backward, _ = _messages("enum symbol dropped from map values", tmp_path / "b")
    assert backward == [
        "probe: v2 readers cannot read v1 data: field tags{}: ENUM_SYMBOL_WITHOUT_DEFAULT: v2 drops "
        "symbol(s) B of enum seabus.Tag that v1 data may hold, and its enum has no default; keep "
        "the symbols or give the enum a default"
    ]
    backward, _ = _messages("fixed size in an array item", tmp_path / "c")
    assert backward == [
        "probe: v2 readers cannot read v1 data: field items[].code: FIXED_SIZE_CHANGED: fixed "
        "seabus.Code is 4 bytes in v1 and 8 in v2"
    ]
    _, forward = _messages("array item record renamed", tmp_path / "d")
    assert forward == [
        "probe: v1 readers cannot read v2 data: field items[]: NAME_CHANGED: type seabus.Entry (v2) "
        'is named seabus.Item in v1 without an alias; keep the name or add "aliases": ["seabus.Entry"]'
    ]


def test_a_breakage_inside_a_union_branch_is_reported_where_it_is(tmp_path: Path) -> None:
    # Apache alone says only that the union lacks the writer's Details; seabus
    # reports the field inside it that breaks, from the checker's own result.
    backward, _ = _messages("required field added inside a nullable record", tmp_path)
    assert backward == [
        "probe: v2 readers cannot read v1 data: field details.rank: FIELD_ADDED_WITHOUT_DEFAULT: v2 "
        "adds field rank to seabus.Details without a default, so it cannot read v1 data, which "
        "lacks it; give the field a default"
    ]


def test_findings_of_one_pair_come_in_schema_order(tmp_path: Path) -> None:
    def many(raw: dict[str, Any]) -> None:
        for case in (
            "fixed size in an array item",
            "map made an array",
            "required timestamp made a nullable string",
        ):
            CASES[case][0](raw)
        raw["fields"].insert(0, {"name": "first", "type": "int"})

    v1, v2 = _versions(tmp_path, many)
    assert [(f.rule, f.path) for f in check_pair(v2, v1)] == [
        (Rule.FIELD_ADDED_WITHOUT_DEFAULT, "first"),
        (Rule.TYPE_CHANGED, "tags"),
        (Rule.FIXED_SIZE_CHANGED, "items[].code"),
        (Rule.UNION_BRANCH_MISSING, "sent_at"),
    ]


def test_a_finding_prints_as_before() -> None:
    finding = Finding(Rule.TYPE_CHANGED, "probe", "m", path="a.b[]", reader_version=1, writer_version=2)
    assert str(finding) == "probe: v1 readers cannot read v2 data: field a.b[]: TYPE_CHANGED: m"


def test_a_recursive_type_is_checked_once(tmp_path: Path) -> None:
    node: dict[str, Any] = {
        "type": "record",
        "name": "Node",
        "namespace": "seabus",
        "fields": [
            {"name": "label", "type": "string"},
            {"name": "children", "type": {"type": "array", "items": "Node"}},
            {"name": "parent", "type": ["null", "Node"], "default": None},
        ],
    }
    grown = copy.deepcopy(node)
    grown["fields"].append({"name": "weight", "type": "int"})
    for version, raw in ((1, node), (2, grown)):
        (tmp_path / f"v{version}.avsc").write_text(json.dumps(raw))
    v1, v2 = (load_version(tmp_path / f"v{n}.avsc", family="tree", version=n) for n in (1, 2))
    assert [(f.rule, f.path) for f in check_pair(v2, v1)] == [(Rule.FIELD_ADDED_WITHOUT_DEFAULT, "weight")]
    assert check_pair(v1, v2) == []


def test_a_namespace_only_rename_passes_as_fastavro_reads_it(tmp_path: Path) -> None:
    # The specification resolves named types by their unqualified name, and so do
    # Apache's checker and fastavro, which decodes seabus's messages.
    v1, v2 = _versions(tmp_path, lambda raw: _field(raw, "tags")["type"]["values"].update(namespace="other"))
    assert check_pair(v2, v1) == check_pair(v1, v2) == []
    out = io.BytesIO()
    datum = {"probe_id": "SYNTH-1", "tags": {"a": "A"}, "details": None, "items": [], "sent_at": 0}
    fastavro.schemaless_writer(out, v1.parsed, datum)
    out.seek(0)
    assert fastavro.schemaless_reader(out, v1.parsed, v2.parsed)["tags"] == {"a": "A"}
