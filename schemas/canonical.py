"""Parsing Canonical Form and CRC-64-AVRO fingerprints of Avro schemas.

The fingerprint in every Single Object Encoding header is the CRC-64-AVRO
(Rabin) fingerprint of the schema's Parsing Canonical Form, as the Avro
specification and the Java reference implementation compute it.

We build the canonical form here rather than borrow one because the Apache
``avro`` Python package (1.12 and earlier) gets it wrong for primitives that
carry a ``logicalType``: it writes ``{"type":"long"}`` where the specification
says ``"long"``, so its fingerprints differ from every other library's. Seabus
writes the specification's fingerprint and also *accepts* the Apache-Python
variant (see :func:`apache_python_fingerprint`), so agencies on that library
can publish without patching it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from fastavro.schema import fingerprint as _fastavro_fingerprint

__all__ = [
    "apache_python_canonical_form",
    "apache_python_fingerprint",
    "canonical_form",
    "fingerprint",
    "fingerprint_of_canonical",
]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})


def _fullname(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def _namespace_of(fullname: str) -> str | None:
    return fullname.rpartition(".")[0] or None


class _Builder:
    def __init__(self, *, keep_logical_wrappers: bool, references: Iterable[str] = ()) -> None:
        self._keep_logical_wrappers = keep_logical_wrappers
        self._seen: set[str] = set(references)

    def build(self, schema: Any, namespace: str | None) -> str:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return json.dumps(schema)
            return json.dumps(_fullname(schema, namespace))
        if isinstance(schema, list):
            return "[" + ",".join(self.build(branch, namespace) for branch in schema) + "]"
        if not isinstance(schema, Mapping):
            raise TypeError(f"not an Avro schema: {schema!r}")
        kind = schema["type"]
        if kind in _PRIMITIVES:
            if self._keep_logical_wrappers and "logicalType" in schema:
                return '{"type":' + json.dumps(kind) + "}"
            return json.dumps(kind)
        if kind == "array":
            return '{"type":"array","items":' + self.build(schema["items"], namespace) + "}"
        if kind == "map":
            return '{"type":"map","values":' + self.build(schema["values"], namespace) + "}"
        if kind in _NAMED:
            name = _fullname(schema["name"], schema.get("namespace", namespace))
            if name in self._seen:
                return json.dumps(name)
            self._seen.add(name)
            inner_ns = _namespace_of(name)
            out = '{"name":' + json.dumps(name) + ',"type":' + json.dumps(kind)
            if kind in ("record", "error"):
                fields = ",".join(
                    '{"name":'
                    + json.dumps(field["name"])
                    + ',"type":'
                    + self.build(field["type"], inner_ns)
                    + "}"
                    for field in schema["fields"]
                )
                out += ',"fields":[' + fields + "]"
            elif kind == "enum":
                out += ',"symbols":' + json.dumps(list(schema["symbols"]), separators=(",", ":"))
            else:
                out += ',"size":' + str(int(schema["size"]))
            return out + "}"
        # A nested {"type": "<named reference>"} is a reference, not a definition.
        if isinstance(kind, str | list | Mapping):
            return self.build(kind, namespace)
        raise TypeError(f"not an Avro schema: {schema!r}")


def canonical_form(schema: Any, *, references: Iterable[str] = ()) -> str:
    """Parsing Canonical Form of ``schema`` (parsed JSON), per the Avro specification.

    Named types listed in ``references`` (full names) are written as references
    even where defined, which gives a type's own shape without its nested types'.
    """
    return _Builder(keep_logical_wrappers=False, references=references).build(schema, None)


def apache_python_canonical_form(schema: Any) -> str:
    """The form Apache ``avro`` for Python (<= 1.12) computes for the same schema."""
    return _Builder(keep_logical_wrappers=True).build(schema, None)


def fingerprint_of_canonical(form: str) -> bytes:
    """CRC-64-AVRO of a canonical form, as the 8 little-endian bytes of the header."""
    return bytes.fromhex(_fastavro_fingerprint(form, "CRC-64-AVRO"))


def fingerprint(schema: Any) -> bytes:
    """The specification's fingerprint of ``schema``: what seabus writes."""
    return fingerprint_of_canonical(canonical_form(schema))


def apache_python_fingerprint(schema: Any) -> bytes:
    """The fingerprint Apache ``avro`` for Python computes; accepted when reading."""
    return fingerprint_of_canonical(apache_python_canonical_form(schema))
