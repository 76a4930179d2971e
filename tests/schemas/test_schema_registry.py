"""Loading every schema version and finding writers by fingerprint."""

from __future__ import annotations

import json
import re
from typing import Any

import avro.schema
import pytest

from seabus.schemas.enums import DeadLetterReason
from seabus.schemas.errors import CodecReason, SchemaLoadError, SeabusError
from seabus.schemas.registry import SCHEMA_DIR, RecordType, SchemaRegistry, default_registry

FAMILIES = {
    "allegation_event": "AllegationEvent",
    "notification": "Notification",
    "response": "Response",
    "reply_notice": "ReplyNotice",
    "ownership_transfer": "OwnershipTransfer",
    "obligation": "ObligationUpdate",
    "escalation": "Escalation",
    "deadletter": "DeadLetter",
    "delivery_attempt": "DeliveryAttempt",
}


def test_every_family_is_shipped_with_its_record_name() -> None:
    registry = default_registry()
    assert set(registry.families) == set(FAMILIES)
    for family, name in FAMILIES.items():
        latest = registry.latest(family)
        assert latest.name == name
        assert latest.full_name == f"seabus.{name}"
        assert registry.latest(name) is latest
        assert registry.latest(f"seabus.{name}") is latest
    assert {t.value for t in RecordType} == set(FAMILIES.values())


def test_writers_are_found_by_spec_and_by_apache_python_fingerprint() -> None:
    registry = default_registry()
    for sv in registry.all_versions():
        assert registry.by_fingerprint(sv.fingerprint) is sv
        for alternate in sv.alternate_fingerprints:
            assert registry.by_fingerprint(alternate) is sv
    assert registry.by_fingerprint(b"\x00" * 8) is None


def test_each_avsc_file_is_self_contained_for_other_avro_libraries() -> None:
    for path in sorted(SCHEMA_DIR.glob("*/v*.avsc")):
        parsed = avro.schema.parse(path.read_text())  # no other file, no shared names
        assert parsed.type == "record"


def _enums(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, list):
        for branch in schema:
            found += _enums(branch)
    elif isinstance(schema, dict):
        if schema.get("type") == "enum":
            found.append(schema)
        for f in schema.get("fields", ()):
            found += _enums(f["type"])
        for key in ("items", "values"):
            if key in schema:
                found += _enums(schema[key])
    return found


def test_every_enum_ends_with_unknown_and_defaults_to_it() -> None:
    enums = [e for sv in default_registry().all_versions() for e in _enums(sv.raw)]
    assert len(enums) > 20
    for enum in enums:
        assert enum["symbols"][-1] == "UNKNOWN", enum["name"]
        assert enum["default"] == "UNKNOWN", enum["name"]


def _field_names(schema: Any, path: str = "") -> list[str]:
    names: list[str] = []
    if isinstance(schema, list):
        for branch in schema:
            names += _field_names(branch, path)
    elif isinstance(schema, dict):
        for f in schema.get("fields", ()):
            full = f"{schema['name']}.{f['name']}"
            names.append(full)
            names += _field_names(f["type"], full)
        if "items" in schema:
            names += _field_names(schema["items"], path)
    return names


def test_no_plain_field_can_carry_victim_or_witness_identity() -> None:
    identifying = re.compile(r"name|witness|address|phone|email|birth|photo|passport", re.I)
    for sv in default_registry().all_versions():
        for field in _field_names(sv.raw):
            record, _, name = field.rpartition(".")
            assert not identifying.search(name), f"{sv.label}: {field}"
            if name in ("narrative", "statement", "description"):
                assert record == "Confidential", f"{sv.label}: free text {field} outside Confidential"


def test_codec_reasons_are_dead_letter_reasons() -> None:
    assert {r.value for r in CodecReason} <= {r.value for r in DeadLetterReason}


def test_a_missing_version_is_refused(schema_copy: Any) -> None:
    schema_copy.only_first("response")
    schema_copy.write("response", 3, schema_copy.load("response"))
    with pytest.raises(SchemaLoadError, match=r"versions \[1, 3\].*without gaps"):
        SchemaRegistry.load(schema_copy.dir)


def test_invalid_json_names_the_file_and_line(schema_copy: Any) -> None:
    path = schema_copy.dir / "response" / "v2.avsc"
    path.write_text('{\n  "type": "record",\n  "name": \n}')
    with pytest.raises(SchemaLoadError, match=r"v2\.avsc is not valid JSON \(line 4"):
        SchemaRegistry.load(schema_copy.dir)


def test_invalid_avro_names_the_file(schema_copy: Any) -> None:
    raw = schema_copy.load("response")
    raw["fields"][0]["type"] = "seabus.NoSuchType"
    schema_copy.write("response", 2, raw)
    with pytest.raises(SchemaLoadError, match=r"response/v2\.avsc is not a valid Avro schema"):
        SchemaRegistry.load(schema_copy.dir)


def test_a_badly_named_file_is_refused(schema_copy: Any) -> None:
    (schema_copy.dir / "response" / "latest.avsc").write_text(json.dumps(schema_copy.load("response")))
    with pytest.raises(SchemaLoadError, match=r"latest\.avsc is not named v<N>\.avsc"):
        SchemaRegistry.load(schema_copy.dir)


def test_an_identical_new_version_is_refused(schema_copy: Any) -> None:
    raw = schema_copy.load("response")
    raw["doc"] = "only the doc changed, which is not part of the canonical form"
    schema_copy.write("response", 2, raw)
    with pytest.raises(SchemaLoadError, match=r"response v2 has the same fingerprint as response v1"):
        SchemaRegistry.load(schema_copy.dir)


def test_a_family_keeps_its_record_name(schema_copy: Any) -> None:
    raw = schema_copy.load("response")
    raw["name"] = "Reply"
    schema_copy.write("response", 2, raw)
    with pytest.raises(SchemaLoadError, match=r"changes its record name"):
        SchemaRegistry.load(schema_copy.dir)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(SchemaLoadError, match=r"no schema named 'Nope'; known record types: .*Response"):
        default_registry().latest("Nope")
    with pytest.raises(SchemaLoadError, match=r"has no version 9"):
        default_registry().get("Response", 9)
    assert issubclass(SchemaLoadError, SeabusError)
