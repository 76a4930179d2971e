"""Fingerprints agree with the Avro specification and with other libraries."""

from __future__ import annotations

import json

import avro.schema
import pytest
from fastavro.schema import to_parsing_canonical_form

from seabus.schemas.canonical import (
    apache_python_canonical_form,
    apache_python_fingerprint,
    canonical_form,
    fingerprint,
)
from seabus.schemas.registry import default_registry

# Published test vectors of the Avro project (share/test/data/schema-tests.txt):
# CRC-64-AVRO of the canonical form, as the signed 64-bit value Java prints.
SPEC_VECTORS = [
    ('"null"', 7195948357588979594),
    ('{"type": "null"}', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('"long"', -3434872931120570953),
    ('{"type":"fixed","name":"foo","size":15}', 1756455273707447556),
    (
        '{"type":"record","name":"foo","fields":[{"name":"f1","type":"boolean"}]}',
        7843277075252814651,
    ),
    (
        '{"name":"PigValue","type":"record",'
        '"fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
        -1759257747318642341,
    ),
]

VERSIONS = default_registry().all_versions()


@pytest.mark.parametrize(("schema", "expected"), SPEC_VECTORS)
def test_fingerprint_matches_the_avro_projects_test_vectors(schema: str, expected: int) -> None:
    fp = fingerprint(json.loads(schema))
    assert len(fp) == 8
    assert int.from_bytes(fp, "little", signed=True) == expected


def test_logical_type_annotations_do_not_change_the_canonical_form() -> None:
    with_logical = {"type": "long", "logicalType": "timestamp-millis"}
    assert canonical_form(with_logical) == '"long"'
    assert fingerprint(with_logical) == fingerprint("long")


def test_nested_named_types_are_written_once_and_then_referenced() -> None:
    schema = {
        "type": "record",
        "name": "Outer",
        "namespace": "ns",
        "fields": [
            {"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X"]}},
            {"name": "b", "type": "E"},
        ],
    }
    assert canonical_form(schema) == (
        '{"name":"ns.Outer","type":"record","fields":['
        '{"name":"a","type":{"name":"ns.E","type":"enum","symbols":["X"]}},'
        '{"name":"b","type":"ns.E"}]}'
    )


@pytest.mark.parametrize("sv", VERSIONS, ids=lambda sv: sv.label)
def test_canonical_form_agrees_with_fastavro(sv) -> None:  # type: ignore[no-untyped-def]
    assert canonical_form(sv.raw) == to_parsing_canonical_form(sv.raw)


@pytest.mark.parametrize("sv", VERSIONS, ids=lambda sv: sv.label)
def test_apache_python_variant_is_what_apache_avro_computes(sv) -> None:  # type: ignore[no-untyped-def]
    apache = avro.schema.parse(sv.path.read_text())
    assert apache_python_canonical_form(sv.raw) == apache.canonical_form
    assert apache_python_fingerprint(sv.raw) == apache.fingerprint()
    # The shipped schemas use logical types, so the two really differ and the
    # registry must know both to accept Apache-Python producers.
    assert sv.alternate_fingerprints == (apache.fingerprint(),)
    assert apache.fingerprint() != sv.fingerprint
