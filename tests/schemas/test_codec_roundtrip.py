"""Encoding and decoding every record type, and reading old versions as new."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from seabus.schemas import testing
from seabus.schemas.codec import (
    HEADER_SIZE,
    MAGIC,
    Codec,
    decode,
    decode_model,
    encode,
    encode_model,
    peek_writer,
)
from seabus.schemas.errors import CodecError, CodecReason, ValidationFailed
from seabus.schemas.models import AllegationEvent, Response, SeabusRecord
from seabus.schemas.registry import SchemaRegistry, default_registry

BUILDERS: list[Callable[..., SeabusRecord]] = [
    testing.synthetic_allegation_event,
    testing.synthetic_notification,
    testing.synthetic_response,
    testing.synthetic_escalation,
    testing.synthetic_dead_letter,
    testing.synthetic_delivery_attempt,
]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_every_record_type_round_trips_through_single_object_encoding(
    build: Callable[..., SeabusRecord],
) -> None:
    model = build(7)
    data = encode_model(model)
    writer = default_registry().latest(model.avro_name)
    assert data[:2] == MAGIC
    assert data[2:HEADER_SIZE] == writer.fingerprint
    assert peek_writer(data) is writer
    assert decode_model(data) == model
    assert decode_model(data, type(model)) == model
    name, datum = decode(data, expected_type=model.avro_name)
    assert name == model.avro_name
    assert type(model).model_validate(datum) == model


def test_decoded_timestamps_are_utc_and_millisecond_precise() -> None:
    odd_zone = timezone(timedelta(hours=5, minutes=30))
    published = datetime(2024, 4, 30, 16, 45, 1, 123456, tzinfo=odd_zone)
    event = testing.synthetic_allegation_event(published_at=published)
    assert event.published_at == datetime(2024, 4, 30, 11, 15, 1, 123000, tzinfo=UTC)
    decoded = decode_model(encode_model(event), AllegationEvent)
    assert decoded.published_at == event.published_at
    assert decoded.published_at.tzinfo == UTC


def test_fields_with_defaults_may_be_omitted_and_come_back_filled() -> None:
    datum = {
        "response_id": testing.synthetic_uuid(1),
        "allegation_id": "SYNTH-ALLEG-0001",
        "recipient": "PAK",
        "kind": "ACKNOWLEDGED",
        "responded_at": testing.SYNTH_NOW,
        "responder": "SYNTH-DESK-PAK",
    }
    name, decoded = decode(encode("Response", datum))
    assert name == "Response"
    assert decoded == {
        **datum,
        "note": None,
        "national_investigation_officer_appointed": None,
        "outcome": None,
        "investigator": None,
        "actions_taken": [],
        "in_reply_to": None,
    }


def test_a_message_of_another_type_is_refused_when_a_type_is_expected() -> None:
    data = encode_model(testing.synthetic_response())
    with pytest.raises(CodecError) as err:
        decode(data, expected_type="AllegationEvent")
    assert err.value.reason is CodecReason.SCHEMA_INVALID
    latest = default_registry().latest("Response").version
    assert f"value is a Response (response v{latest}) where a AllegationEvent was expected" in str(err.value)
    with pytest.raises(CodecError):
        decode_model(data, AllegationEvent)


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = encode_model(testing.synthetic_escalation())
    assert decode(bytearray(data)) == decode(data)
    assert decode(memoryview(data)) == decode(data)


def test_encoding_a_datum_that_does_not_fit_names_the_fields_not_the_values() -> None:
    datum: dict[str, Any] = testing.synthetic_allegation_event().to_avro()
    datum["sequence"] = "seven"
    datum["allegation"]["confidential"] = {"narrative": "SECRET-MARKER text"}
    datum["allegation"]["subjects"][0]["gender"] = 3
    with pytest.raises(CodecError) as err:
        encode("AllegationEvent", datum)
    assert err.value.reason is CodecReason.SCHEMA_INVALID
    message = str(err.value)
    assert "sequence: is a str, the schema wants long" in message
    assert "allegation.subjects[0].gender: is an int, the schema wants enum Gender" in message
    assert "SECRET-MARKER" not in message
    assert "seven" not in message


def test_missing_required_and_unknown_fields_are_refused() -> None:
    datum = testing.synthetic_response().to_avro()
    del datum["responder"]
    with pytest.raises(
        CodecError,
        match=r"SCHEMA_INVALID: response v\d+ cannot hold this datum: responder: is required and missing",
    ):
        encode("Response", datum)
    extra = {**testing.synthetic_response().to_avro(), "responder_name": "x"}
    with pytest.raises(
        CodecError, match=r"SCHEMA_INVALID: .*responder_name: is not a field of record Response"
    ):
        encode("Response", extra)


def test_an_unknown_record_type_is_refused() -> None:
    with pytest.raises(CodecError, match=r"no schema named 'Allegation'.*known record types"):
        encode("Allegation", {})


def test_encoding_more_than_the_limit_is_refused() -> None:
    codec = Codec(max_bytes=300)
    big = testing.synthetic_escalation(reason="x" * 400)
    with pytest.raises(CodecError) as err:
        codec.encode("Escalation", big.to_avro())
    assert err.value.reason is CodecReason.OVERSIZED
    assert "more than the limit of 300" in str(err.value)


def _add_optional_field_and_symbol(raw: dict[str, Any]) -> None:
    raw["fields"].append(
        {"name": "channel_hint", "type": ["null", "string"], "default": None, "doc": "new in v2"}
    )
    kind = next(f for f in raw["fields"] if f["name"] == "kind")["type"]
    kind["symbols"].insert(-1, "CLARIFICATION_REQUESTED")


def _v1_only(datum: dict[str, Any], schema_copy: Any) -> dict[str, Any]:
    """``datum`` cut to the fields Response v1 has (the shipped model has grown since)."""
    names = {f["name"] for f in schema_copy.load("response", 1)["fields"]}
    return {k: v for k, v in datum.items() if k in names}


def test_data_of_every_older_version_decodes_as_the_latest(schema_copy: Any) -> None:
    schema_copy.only_first("response").add_version("response", _add_optional_field_and_symbol)
    codec = Codec(registry=SchemaRegistry.load(schema_copy.dir))
    old = _v1_only(testing.synthetic_response().to_avro(), schema_copy)
    old_bytes = codec.encode("Response", old, version=1)
    assert codec.peek_writer(old_bytes).version == 1
    name, datum = codec.decode(old_bytes)
    assert name == "Response"
    assert datum == {**_v1_only(testing.synthetic_response().model_dump(), schema_copy), "channel_hint": None}

    new_bytes = codec.encode("Response", {**old, "kind": "CLARIFICATION_REQUESTED", "channel_hint": "e-mail"})
    assert codec.peek_writer(new_bytes).version == 2
    # A bus that only knows v1 has never seen v2's fingerprint.
    with pytest.raises(CodecError) as err:
        decode(new_bytes)
    assert err.value.reason is CodecReason.UNKNOWN_FINGERPRINT


def test_decoding_into_a_model_that_does_not_fit_reports_every_problem(schema_copy: Any) -> None:
    # A registry whose v2 of Response has a field the model lacks: the datum
    # decodes, the shipped model refuses it with a ValidationFailed.
    schema_copy.only_first("response").add_version("response", _add_optional_field_and_symbol)
    codec = Codec(registry=SchemaRegistry.load(schema_copy.dir))
    v1 = _v1_only(testing.synthetic_response().to_avro(), schema_copy)
    data = codec.encode("Response", {**v1, "kind": "CLARIFICATION_REQUESTED"})
    with pytest.raises(ValidationFailed) as err:
        decode_model(data, Response, codec=codec)
    paths = {p.path for p in err.value.problems}
    assert paths == {"kind", "channel_hint"}
