"""Any agency's Avro library can join: Apache ``avro`` and seabus read each other.

The Apache side uses nothing of seabus: it parses the ``.avsc`` text, frames
and unframes single-object values by hand, and fingerprints with its own
Rabin implementation.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest

from seabus.schemas import testing
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.models import SeabusRecord
from seabus.schemas.registry import SCHEMA_DIR


def _latest(family: str) -> Path:
    """The newest version of a family: what seabus writes today."""
    return max((SCHEMA_DIR / family).glob("v*.avsc"), key=lambda p: int(p.stem[1:]))


FILES = {
    "AllegationEvent": _latest("allegation_event"),
    "Notification": _latest("notification"),
    "Response": _latest("response"),
    "Escalation": _latest("escalation"),
    "DeadLetter": _latest("deadletter"),
    "DeliveryAttempt": _latest("delivery_attempt"),
}
BUILDERS: list[Callable[..., SeabusRecord]] = [
    testing.synthetic_allegation_event,
    testing.synthetic_notification,
    testing.synthetic_response,
    testing.synthetic_escalation,
    testing.synthetic_dead_letter,
    testing.synthetic_delivery_attempt,
]


def _apache_schema(path: Path) -> avro.schema.Schema:
    return avro.schema.parse(path.read_text())


def _spec_fingerprint(schema: avro.schema.Schema) -> bytes:
    """The specification's fingerprint, from Apache's canonical form and Rabin code.

    Apache Python leaves logical-type primitives as {"type":"long"}; the
    specification (and Java, and seabus) reduce them to "long".
    """
    form = re.sub(r'\{"type":"(int|long)"\}', r'"\1"', schema.canonical_form)
    fingerprint: bytes = avro.schema._crc_64_fingerprint(form.encode())
    return fingerprint


def _lists(value: Any) -> Any:
    """Apache avro wants lists where the models hold tuples."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def _apache_encode(schema: avro.schema.Schema, datum: dict[str, Any], fingerprint: bytes) -> bytes:
    out = io.BytesIO()
    out.write(b"\xc3\x01" + fingerprint)
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(out))
    return out.getvalue()


def _apache_decode(data: bytes, known: dict[bytes, avro.schema.Schema]) -> dict[str, Any]:
    assert data[:2] == b"\xc3\x01", "not single-object encoded"
    schema = known[data[2:10]]
    stream = io.BytesIO(data[10:])
    datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(stream))
    assert stream.tell() == len(data) - 10
    assert isinstance(datum, dict)
    return datum


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_apache_avro_reads_what_seabus_writes(build: Callable[..., SeabusRecord]) -> None:
    model = build(11)
    known = {_spec_fingerprint(s): s for s in map(_apache_schema, FILES.values())}
    datum = _apache_decode(encode_model(model), known)
    assert type(model).model_validate(datum) == model


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
@pytest.mark.parametrize("fingerprinting", ["apache-python", "specification"])
def test_seabus_reads_what_apache_avro_writes(
    build: Callable[..., SeabusRecord], fingerprinting: str
) -> None:
    model = build(12)
    schema = _apache_schema(FILES[model.avro_name])
    fingerprint = schema.fingerprint() if fingerprinting == "apache-python" else _spec_fingerprint(schema)
    data = _apache_encode(schema, _lists(model.to_avro()), fingerprint)
    assert decode_model(data) == model


def test_apache_resolves_seabus_data_to_its_own_reader_schema() -> None:
    """An agency on an older schema with fewer fields still reads our data."""
    model = testing.synthetic_response()
    writer = _apache_schema(FILES["Response"])
    reader_json = FILES["Response"].read_text()
    reader = avro.schema.parse(
        re.sub(r',\s*\{\s*"name": "in_reply_to".*?\}\s*\]\s*\}\s*$', "]}", reader_json, flags=re.S)
    )
    assert isinstance(reader, avro.schema.RecordSchema)
    assert "in_reply_to" not in reader.fields_dict
    data = encode_model(model)
    datum = avro.io.DatumReader(writer, reader).read(avro.io.BinaryDecoder(io.BytesIO(data[10:])))
    assert datum == {k: v for k, v in _lists(model.to_avro()).items() if k != "in_reply_to"}
