"""CloudEvents headers are checked against the record they came with, when the bus reads it.

Absent headers are accepted (third-party producers, records older than the headers);
present ones must be usable and describe the record: ``ce_type`` its type, ``ce_id`` its
own id, ``ce_specversion`` 1.0. Else ``CodecError(MALFORMED_HEADERS)``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.routing import event

from seabus.schemas.cloudevents import OWN_ID_FIELD, build_headers, ce_type_for, check_headers
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.errors import CodecError, CodecReason
from seabus.schemas.models import RECORD_MODELS, AllegationEvent

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def _headers(*, event_id: str, type_: str) -> list[tuple[str, bytes]]:
    return build_headers(event_id=event_id, source="seabus/test", type_=type_, time=NOW, subject="SYNTH-1")


def test_headers_that_describe_the_record_are_read() -> None:
    e = event("SYNTH-CE-1")
    meta = check_headers(
        _headers(event_id=e.event_id, type_=ce_type_for("AllegationEvent")),
        record_type="AllegationEvent",
        record_id=e.event_id,
    )
    assert meta is not None
    assert meta.id == e.event_id


@pytest.mark.parametrize("headers", [None, [], [("content-type", b"application/avro"), ("x-other", b"1")]])
def test_a_record_without_cloudevents_headers_is_accepted(headers: list[tuple[str, bytes]] | None) -> None:
    assert check_headers(headers, record_type="AllegationEvent", record_id="SYNTH-ID") is None


def test_another_records_type_is_refused_with_what_to_send() -> None:
    with pytest.raises(CodecError) as err:
        check_headers(
            _headers(event_id="SYNTH-ID", type_=ce_type_for("Response")),
            record_type="AllegationEvent",
            record_id=None,
        )
    assert err.value.reason is CodecReason.MALFORMED_HEADERS
    assert "ce_type is 'org.seabus.Response' but the value is a AllegationEvent" in str(err.value)
    assert "'org.seabus.AllegationEvent'" in str(err.value)


def test_another_id_is_refused() -> None:
    with pytest.raises(
        CodecError, match="ce_id is 'SYNTH-OTHER' but the AllegationEvent's event_id is 'SYNTH-ID'"
    ):
        check_headers(
            _headers(event_id="SYNTH-OTHER", type_=ce_type_for("AllegationEvent")),
            record_type="AllegationEvent",
            record_id="SYNTH-ID",
        )


def test_another_specversion_or_a_partial_set_is_refused() -> None:
    headers = [
        (k, b"0.3" if k == "ce_specversion" else v)
        for k, v in _headers(event_id="SYNTH-ID", type_=ce_type_for("AllegationEvent"))
    ]
    with pytest.raises(CodecError, match=r"ce_specversion is '0\.3'"):
        check_headers(headers, record_type="AllegationEvent", record_id="SYNTH-ID")
    with pytest.raises(CodecError, match="missing CloudEvents header"):
        check_headers(
            [("ce_type", b"org.seabus.AllegationEvent")], record_type="AllegationEvent", record_id=None
        )


def test_decode_model_checks_headers_only_when_given() -> None:
    e = event("SYNTH-CE-2")
    value = encode_model(e)
    wrong = _headers(event_id=e.event_id, type_=ce_type_for("Notification"))
    assert decode_model(value, AllegationEvent).event_id == e.event_id
    with pytest.raises(CodecError) as err:
        decode_model(value, AllegationEvent, headers=wrong)
    assert err.value.reason is CodecReason.MALFORMED_HEADERS


def test_every_own_id_field_is_a_field_of_its_model() -> None:
    for record_type, field in OWN_ID_FIELD.items():
        assert field in RECORD_MODELS[record_type].model_fields, (record_type, field)
