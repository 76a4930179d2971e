"""Parsing Canonical Form and CRC-64-AVRO fingerprints of Avro schemas.

The fingerprint in every Single Object Encoding header is the CRC-64-AVRO
(Rabin) fingerprint of the schema's Parsing Canonical Form, as the Avro
specification and the Java reference implementation compute it; fastavro
computes both, and this module only names them for seabus.

Apache ``avro`` for Python (1.12 and earlier) computes a different form for
primitives that carry a ``logicalType``: it writes ``{"type":"long"}`` where the
specification says ``"long"``, so its fingerprints differ from every other
library's. Seabus writes the specification's fingerprint and also *accepts* the
Apache-Python variant, taken from Apache ``avro`` itself (see
:func:`apache_python_fingerprint`), so agencies on that library can publish
without patching it. ``pyproject.toml`` keeps ``avro`` below 1.13 so that the
variant stays the one those agencies compute; ``test_canonical_form`` fails if
the two ever coincide.
"""

from __future__ import annotations

import warnings
from typing import Any

import avro.errors
import avro.name
import avro.schema
from fastavro.schema import fingerprint as _fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form

__all__ = [
    "apache_python_canonical_form",
    "apache_python_fingerprint",
    "apache_schema",
    "canonical_form",
    "fingerprint",
    "fingerprint_of_canonical",
]


def canonical_form(schema: Any) -> str:
    """Parsing Canonical Form of ``schema`` (parsed JSON), per the Avro specification."""
    form: str = to_parsing_canonical_form(schema)
    return form


def fingerprint_of_canonical(form: str) -> bytes:
    """CRC-64-AVRO of a canonical form, as the 8 little-endian bytes of the header."""
    return bytes.fromhex(_fastavro_fingerprint(form, "CRC-64-AVRO"))


def fingerprint(schema: Any) -> bytes:
    """The specification's fingerprint of ``schema``: what seabus writes."""
    return fingerprint_of_canonical(canonical_form(schema))


def apache_schema(schema: Any, names: avro.name.Names | None = None) -> avro.schema.Schema:
    """``schema`` (parsed JSON) as Apache ``avro`` parses it, its named types into ``names``.

    Logical types Apache ``avro`` does not know are read as their underlying type,
    as fastavro does, without its warning.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", avro.errors.IgnoredLogicalType)
        return avro.schema.make_avsc_object(schema, names or avro.name.Names())


def apache_python_canonical_form(schema: Any) -> str:
    """The form Apache ``avro`` for Python (<= 1.12) computes for the same schema."""
    form: str = apache_schema(schema).canonical_form
    return form


def apache_python_fingerprint(schema: Any) -> bytes:
    """The fingerprint Apache ``avro`` for Python computes; accepted when reading."""
    return bytes(apache_schema(schema).fingerprint())
