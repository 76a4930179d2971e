"""CloudEvents binary-mode Kafka headers, built and parsed in one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from seabus.schemas.cloudevents import (
    CONTENT_TYPE,
    build_headers,
    ce_type_for,
    format_time,
    parse_headers,
)
from seabus.schemas.errors import CodecError, CodecReason

TIME = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _headers() -> list[tuple[str, bytes]]:
    return build_headers(
        event_id="SYNTH-EVENT-0001",
        source="urn:seabus:agency:MINUSCA",
        type_=ce_type_for("AllegationEvent"),
        time=TIME,
        subject="SYNTH-ALLEG-0001",
        extensions={"sequence": "3"},
    )


def test_headers_follow_the_kafka_binding() -> None:
    assert _headers() == [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"SYNTH-EVENT-0001"),
        ("ce_source", b"urn:seabus:agency:MINUSCA"),
        ("ce_type", b"org.seabus.AllegationEvent"),
        ("ce_time", b"2024-05-01T12:00:00.123Z"),
        ("ce_subject", b"SYNTH-ALLEG-0001"),
        ("ce_sequence", b"3"),
        ("content-type", b"application/avro"),
    ]


def test_round_trip() -> None:
    meta = parse_headers(_headers())
    assert meta.id == "SYNTH-EVENT-0001"
    assert meta.source == "urn:seabus:agency:MINUSCA"
    assert meta.type == "org.seabus.AllegationEvent"
    assert meta.specversion == "1.0"
    assert meta.time == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert meta.content_type == CONTENT_TYPE
    assert meta.subject == "SYNTH-ALLEG-0001"
    assert meta.dataschema is None
    assert meta.extensions == {"sequence": "3"}


def test_other_headers_are_ignored_and_time_is_optional() -> None:
    headers = [
        ("traceparent", b"00-abc-def-01"),
        ("ce_id", b"x"),
        ("ce_source", b"/s"),
        ("ce_type", b"t"),
        ("ce_specversion", b"1.0"),
    ]
    meta = parse_headers(headers)
    assert (meta.id, meta.time, meta.content_type, meta.extensions) == ("x", None, None, {})


def test_offsets_are_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_time(datetime(2024, 5, 1, 14, 0, tzinfo=plus_two)) == "2024-05-01T12:00:00.000Z"
    headers = [h if h[0] != "ce_time" else ("ce_time", b"2024-05-01T14:00:00+02:00") for h in _headers()]
    assert parse_headers(headers).time == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (None, "missing CloudEvents header(s) ce_id, ce_source, ce_specversion, ce_type"),
        ([("ce_id", b"x")], "missing CloudEvents header(s) ce_source, ce_specversion, ce_type"),
        ([*_headers(), ("ce_id", b"y")], "header ce_id appears twice"),
        ([*_headers(), ("content-type", b"x")], "header content-type appears twice"),
        ([("ce_id", None)], "header ce_id has no value"),
        ([("ce_id", b"\xff\xfe")], "header ce_id is not UTF-8 text"),
        (
            [h if h[0] != "ce_specversion" else (h[0], b"0.3") for h in _headers()],
            "ce_specversion is '0.3'; only CloudEvents 1.0 is understood",
        ),
        (
            [h if h[0] != "ce_time" else (h[0], b"yesterday") for h in _headers()],
            "ce_time is not an RFC 3339 timestamp",
        ),
        (
            [h if h[0] != "ce_time" else (h[0], b"2024-05-01T12:00:00") for h in _headers()],
            "ce_time has no UTC offset",
        ),
    ],
)
def test_malformed_headers_raise_one_typed_error(
    headers: list[tuple[str, bytes | None]] | None, message: str
) -> None:
    with pytest.raises(CodecError) as err:
        parse_headers(headers)
    assert err.value.reason is CodecReason.MALFORMED_HEADERS
    assert message in str(err.value)


def test_building_refuses_what_could_not_be_parsed() -> None:
    with pytest.raises(ValueError, match="aware"):
        build_headers(event_id="x", source="s", type_="t", time=datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="event_id must not be empty"):
        build_headers(event_id="", source="s", type_="t", time=TIME)
    for bad in ("Sequence", "id", "a" * 21, "with_underscore"):
        with pytest.raises(ValueError, match="extension name"):
            build_headers(event_id="x", source="s", type_="t", time=TIME, extensions={bad: "1"})
