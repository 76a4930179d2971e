"""Every kind of bad value ends in one CodecError whose reason names the case."""

from __future__ import annotations

import io
import json
from pathlib import Path as _Path
from typing import Any

import fastavro
import pytest

from seabus.schemas import testing
from seabus.schemas.codec import HEADER_SIZE, MAGIC, Codec, decode, decode_model, encode_model
from seabus.schemas.errors import CodecError, CodecReason, SchemaLoadError, SeabusError
from seabus.schemas.registry import SchemaRegistry, default_registry

# Counted from the files, not from the code under test.
SHIPPED = len(list((_Path(__file__).resolve().parents[2] / "schemas" / "avro").glob("*/v*.avsc")))

EVENT = encode_model(testing.synthetic_allegation_event())
EVENT_HEADER = EVENT[:HEADER_SIZE]


def _reason(data: Any, **kwargs: Any) -> tuple[CodecReason, str]:
    with pytest.raises(CodecError) as err:
        decode(data, **kwargs)
    assert isinstance(err.value, SeabusError)
    return err.value.reason, str(err.value)


def _zigzag(n: int) -> bytes:
    """Avro's variable-length zig-zag encoding of a long."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z & ~0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def test_no_value_at_all() -> None:
    reason, message = _reason(None)
    assert reason is CodecReason.MALFORMED_BYTES
    assert "got no value (a tombstone)" in message


def test_empty_value() -> None:
    assert _reason(b"") == (
        CodecReason.MALFORMED_BYTES,
        "MALFORMED_BYTES: value is empty; seabus topics carry Avro single-object encoded values",
    )


def test_wrong_magic_json() -> None:
    reason, message = _reason(json.dumps({"event_id": "x"}).encode())
    assert reason is CodecReason.MALFORMED_BYTES
    assert "starts with 7B 22, not the Avro single-object marker C3 01. It looks like JSON" in message


def test_wrong_magic_bare_avro_datum() -> None:
    body = EVENT[HEADER_SIZE:]
    reason, message = _reason(body)
    assert reason is CodecReason.MALFORMED_BYTES
    assert "not the Avro single-object marker" in message


def test_header_cut_short() -> None:
    for length in range(1, HEADER_SIZE):
        reason, message = _reason(EVENT[:length])
        assert reason is CodecReason.TRUNCATED, length
        assert "shorter than the 10-byte single-object header" in message


def test_unknown_fingerprint() -> None:
    data = MAGIC + bytes.fromhex("0123456789abcdef") + EVENT[HEADER_SIZE:]
    reason, message = _reason(data)
    assert reason is CodecReason.UNKNOWN_FINGERPRINT
    assert f"fingerprint 0123456789abcdef is not one of the {SHIPPED} known schema versions" in message


def test_every_proper_prefix_of_a_datum_is_truncated() -> None:
    for length in range(HEADER_SIZE, len(EVENT)):
        reason, message = _reason(EVENT[:length])
        assert reason is CodecReason.TRUNCATED, f"prefix of {length} bytes gave {reason}"
        assert "allegation_event v1 datum ends after" in message


def test_oversized_value_is_refused_before_decoding() -> None:
    reason, message = _reason(EVENT, max_bytes=len(EVENT) - 1)
    assert reason is CodecReason.OVERSIZED
    assert f"value is {len(EVENT)} bytes, more than the limit of {len(EVENT) - 1}" in message
    assert decode(EVENT, max_bytes=len(EVENT))[0] == "AllegationEvent"
    with pytest.raises(CodecError) as err:
        Codec(max_bytes=64).decode(EVENT)
    assert err.value.reason is CodecReason.OVERSIZED


def test_a_length_prefix_beyond_the_value_is_truncated() -> None:
    # event_id claims 1000 bytes; the value holds far fewer.
    data = EVENT_HEADER + _zigzag(1000) + b"x" * 20
    reason, _ = _reason(data)
    assert reason is CodecReason.TRUNCATED


def test_trailing_bytes_after_a_complete_datum() -> None:
    reason, message = _reason(EVENT + b"\x00\x00")
    assert reason is CodecReason.MALFORMED_BYTES
    assert "2 byte(s) left over after a complete allegation_event v1 datum" in message


def test_negative_length() -> None:
    data = EVENT_HEADER + _zigzag(-5) + b"x" * 40
    reason, message = _reason(data)
    assert reason is CodecReason.MALFORMED_BYTES
    assert "a negative length" in message


def test_enum_index_outside_the_schema() -> None:
    # event_id "x", then event_type index 99 of 5 symbols, then plenty of bytes.
    data = EVENT_HEADER + _zigzag(1) + b"x" + _zigzag(99) + b"\x00" * 40
    reason, message = _reason(data)
    assert reason is CodecReason.MALFORMED_BYTES
    assert "union branch or enum symbol index outside the schema" in message


def test_invalid_utf8_in_a_string() -> None:
    data = EVENT_HEADER + _zigzag(4) + b"\xff\xfe\xfd\xfc" + EVENT[HEADER_SIZE + 37 :]
    reason, message = _reason(data)
    assert reason is CodecReason.MALFORMED_BYTES
    assert "a string that is not valid UTF-8" in message


def test_timestamp_out_of_range() -> None:
    sv = default_registry().latest("Escalation")
    plain = json.loads(json.dumps(sv.raw))
    for f in plain["fields"]:
        if f["name"] == "fired_at":
            f["type"] = "long"  # same bytes on the wire, no conversion on write
    datum = {**testing.synthetic_escalation().to_avro(), "fired_at": 2**62}
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(plain), datum)
    reason, message = _reason(MAGIC + sv.fingerprint + out.getvalue())
    assert reason is CodecReason.MALFORMED_BYTES
    assert "a value out of range for its type" in message


def test_unresolvable_writer_is_schema_invalid(schema_copy: Any) -> None:
    # A registry that skipped `seabus schema check`: a new version adds a field without default.
    newest = schema_copy.latest_version("escalation") + 1
    schema_copy.add_version(
        "escalation",
        lambda raw: raw["fields"].append({"name": "severity", "type": "int", "doc": "new"}),
    )
    codec = Codec(registry=SchemaRegistry.load(schema_copy.dir))
    v1_datum = {k: v for k, v in testing.synthetic_escalation().to_avro().items() if k != "obligation_keys"}
    old = codec.encode("Escalation", v1_datum, version=1)
    with pytest.raises(CodecError) as err:
        codec.decode(old)
    assert err.value.reason is CodecReason.SCHEMA_INVALID
    assert f"escalation v1 data cannot be read as escalation v{newest}" in str(err.value)
    assert "run `seabus schema check`" in str(err.value)


def test_decode_model_raises_the_same_typed_errors() -> None:
    with pytest.raises(CodecError) as err:
        decode_model(EVENT[:-3])
    assert err.value.reason is CodecReason.TRUNCATED


def test_codec_needs_room_for_a_header() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        Codec(max_bytes=5)
    assert issubclass(SchemaLoadError, SeabusError)
