"""Dead letters and escalations fit Kafka's limits whatever record they are built from."""

from __future__ import annotations

import hashlib

from support.routing import NOW, event, make_intake

from seabus.schemas.cloudevents import parse_headers
from seabus.schemas.codec import Codec, decode_model, default_codec, encode_model
from seabus.schemas.enums import DeadLetterReason, EscalationLevel, PersonnelCategory
from seabus.schemas.envelopes import Outbound, Source, dead_letter_out, escalation_out
from seabus.schemas.limits import (
    DEAD_LETTER_HEADERS_BYTES,
    DEAD_LETTER_MAX_BYTES,
    DEAD_LETTER_MAX_HEADERS,
    DEAD_LETTER_MESSAGE_BYTES,
    ESCALATION_MAX_BYTES,
    ESCALATION_REASON_BYTES,
    MAX_KEY_BYTES,
)
from seabus.schemas.models import Confidential, DeadLetter, Escalation
from seabus.streams.intake import Outcome
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

SRC = Source(topic="t.allegations", partition=3, offset=41)
BIG_VALUE = bytes(range(256)) * 3906 + b"\x01" * 65  # 1,000,001 bytes
BIG_KEY = b"SYNTH-" + b"K" * 400_000


def letter(
    *,
    key: bytes | None = BIG_KEY,
    value: bytes | None = BIG_VALUE,
    headers: list[tuple[str, bytes]] | None = None,
    message: str = "MALFORMED_BYTES: not Avro",
    codec: Codec | None = None,
) -> tuple[Outbound, DeadLetter]:
    out = dead_letter_out(
        key=key,
        value=value,
        headers=headers or [],
        source=SRC,
        reason=DeadLetterReason.OVERSIZED,
        message=message,
        now=NOW,
        codec=codec or default_codec(),
        producer="seabus/test",
    )
    return out, decode_model(out.value, DeadLetter)


def test_a_megabyte_value_and_a_400_kb_key_make_a_small_dead_letter_with_their_digests() -> None:
    assert len(BIG_VALUE) == 1_000_001
    out, dl = letter()
    assert len(out.value) < 64 * 1024
    assert (dl.original_value, dl.original_value_withheld) == (b"", True)
    assert dl.original_value_size == len(BIG_VALUE)
    assert dl.original_value_sha256 == hashlib.sha256(BIG_VALUE).hexdigest()
    assert dl.original_key == BIG_KEY[:MAX_KEY_BYTES]
    assert dl.original_key_truncated
    assert dl.original_key_size == len(BIG_KEY)
    assert dl.original_key_sha256 == hashlib.sha256(BIG_KEY).hexdigest()
    # The dead letter's own key and CloudEvents subject are bounded too.
    assert out.key == b"sha256:" + hashlib.sha256(BIG_KEY).hexdigest().encode()
    assert parse_headers(out.headers).subject == out.key.decode()
    assert sum(len(k) + len(v) for k, v in out.headers) < 1024
    assert (dl.source_topic, dl.source_partition, dl.source_offset) == ("t.allegations", 3, 41)


def test_a_small_record_keeps_its_key_headers_and_digest_but_not_its_bytes() -> None:
    value = b'{"not": "avro"}'
    headers = [("ce_id", b"1"), ("x-empty", b"")]
    out, dl = letter(key=b"SYNTH-2026-0001", value=value, headers=headers)
    assert (dl.original_key, dl.original_value, dl.original_value_withheld) == (b"SYNTH-2026-0001", b"", True)
    assert [(r.field, r.value) for r in dl.redacted] == [("format", "not Avro single-object encoding")]
    assert [(h.key, h.value) for h in dl.original_headers] == headers
    assert not (dl.original_key_truncated)
    assert not (dl.original_value_truncated)
    assert not (dl.original_headers_truncated)
    assert (dl.original_value_size, dl.original_headers_count) == (len(value), 2)
    assert dl.original_value_sha256 == hashlib.sha256(value).hexdigest()
    assert out.key == b"SYNTH-2026-0001"


def test_no_key_and_no_value() -> None:
    out, dl = letter(key=None, value=None)
    assert (out.key, dl.original_key, dl.original_key_size, dl.original_key_sha256) == (
        None,
        None,
        None,
        None,
    )
    assert (dl.original_value, dl.original_value_size) == (b"", 0)
    assert dl.original_value_sha256 == hashlib.sha256(b"").hexdigest()


def test_the_worst_case_of_every_part_still_fits() -> None:
    headers = [("h" * 10_000 + str(i), b"v" * 100_000) for i in range(1000)]
    message = "VALIDATION_FAILED: " + "é" * 1_000_000  # two UTF-8 bytes each: cut on a character boundary
    out, dl = letter(headers=headers, message=message)
    assert len(out.value) < DEAD_LETTER_MAX_BYTES
    assert dl.original_headers_truncated
    assert dl.original_headers_count == 1000
    assert 0 < len(dl.original_headers) <= DEAD_LETTER_MAX_HEADERS
    assert (
        sum(len(h.key.encode()) + len(h.value or b"") for h in dl.original_headers)
        <= DEAD_LETTER_HEADERS_BYTES
    )
    assert len(dl.message.encode()) <= DEAD_LETTER_MESSAGE_BYTES
    assert dl.message.startswith("VALIDATION_FAILED: é")
    assert dl.message.endswith(f"[cut: {len(message.encode())} bytes in all]")


def test_a_dead_letter_fits_a_codec_with_a_small_limit() -> None:
    """Even a bus configured with Kafka's smallest sensible message size can dead-letter anything."""
    out, _ = letter(codec=Codec(max_bytes=DEAD_LETTER_MAX_BYTES))
    assert len(out.value) < DEAD_LETTER_MAX_BYTES


def test_an_escalation_from_oversized_inputs_stays_bounded() -> None:
    huge_id = "SYNTH-" + "A" * 400_000
    e = Escalation(
        escalation_id="x" * 300_000,
        allegation_id=huge_id,
        recipient="R" * 300_000,
        level=EscalationLevel.DELIVERY_FAILED,
        fired_at=NOW,
        reason=f"allegation {huge_id} could not be delivered; " * 3,
    )
    out = escalation_out(e, codec=default_codec(), source="seabus/test")
    assert len(out.value) < ESCALATION_MAX_BYTES
    sent = decode_model(out.value, Escalation)
    digest = hashlib.sha256(huge_id.encode()).hexdigest()
    assert sent.allegation_id == f"sha256:{digest}"
    assert out.key == f"sha256:{digest}".encode()
    assert parse_headers(out.headers).subject == sent.allegation_id
    assert sent.recipient is not None
    assert len(sent.recipient) <= MAX_KEY_BYTES
    assert len(sent.escalation_id) <= MAX_KEY_BYTES
    assert len(sent.reason.encode()) <= ESCALATION_REASON_BYTES
    assert sent.reason.startswith("allegation SYNTH-AAA")


def test_an_ordinary_escalation_is_unchanged() -> None:
    e = Escalation(
        escalation_id="6f1c2d9e-4f1a-4c1e-9a57-2f0e7c3b8d41",
        allegation_id="SYNTH-2026-0001",
        recipient="FRA",
        level=EscalationLevel.OVERDUE,
        fired_at=NOW,
        reason="Acknowledgement from FRA is overdue.",
    )
    out = escalation_out(e, codec=default_codec(), source="seabus/test")
    assert decode_model(out.value, Escalation) == e
    assert out.key == b"SYNTH-2026-0001"


def test_intake_dead_letters_a_400_kb_allegation_id_within_the_limits() -> None:
    """The crash this guards against: a valid-looking REPORTED event whose id is 400 kB."""
    bad = event("SYNTH-" + "9" * 400_000)
    value = encode_model(bad)
    key = bad.allegation_id.encode()
    result = make_intake().handle(key=key, value=value, headers=[], source=SRC, state=None, now=NOW)
    assert result.outcome is Outcome.DEAD_LETTERED
    assert result.reason is DeadLetterReason.VALIDATION_FAILED
    [out] = result.outbound
    assert out.route == "deadletter"
    assert len(out.value) < DEAD_LETTER_MAX_BYTES
    assert out.key is not None
    assert len(out.key) <= MAX_KEY_BYTES
    dl = decode_model(out.value, DeadLetter)
    assert dl.original_value_sha256 == hashlib.sha256(value).hexdigest()
    assert "allegation_id: is 400006 characters long, more than the limit of 64" in dl.message
    assert "99999999999" not in dl.message  # the id is never quoted


def test_undeliverable_notify_record_with_a_huge_key_escalates_within_the_limits() -> None:
    from seabus.connectors.delivery.records import undecodable_records

    records = undecodable_records(
        recipient="FRA",
        key=BIG_KEY,
        value=BIG_VALUE,
        headers=[],
        source=Source(topic="t.notify.FRA", partition=0, offset=1),
        reason=DeadLetterReason.MALFORMED_BYTES,
        problem="not Avro",
        now=NOW,
        codec=default_codec(),
    )
    sizes = {o.route: len(o.value) for o in records}
    assert sizes["deadletter"] < DEAD_LETTER_MAX_BYTES
    assert sizes["escalations"] < ESCALATION_MAX_BYTES
    keys = {o.key for o in records}
    assert keys == {b"sha256:" + hashlib.sha256(BIG_KEY).hexdigest().encode()}


def test_a_codec_limit_below_the_budget_keeps_digests_and_drops_the_copies() -> None:
    """max_message_bytes may be configured as low as 10,000: a dead letter must still be writable."""
    out, dl = letter(codec=Codec(max_bytes=10_000), headers=[("h", b"v" * 1000)] * 8, message="x" * 100_000)
    assert len(out.value) <= 10_000
    assert (dl.original_value, dl.original_value_withheld, dl.original_headers) == (b"", True, ())
    assert dl.original_headers_truncated
    assert dl.original_value_sha256 == hashlib.sha256(BIG_VALUE).hexdigest()
    assert dl.original_key_sha256 == hashlib.sha256(BIG_KEY).hexdigest()


def test_a_dead_letter_never_carries_the_narrative_or_free_text() -> None:
    """Issue 13 item 6: the redacted form shows record type, schema and identifiers; the rest stays out."""

    marker = "SYNTHETIC-NARRATIVE-MARKER victim testimony"
    allegation = synthetic_allegation(
        subjects=[("SYNTH-SUBJ-DL-1", "FRA", None, PersonnelCategory.STAFF_MEMBER)], reported_at=NOW
    ).model_copy(update={"confidential": Confidential(narrative=marker)})
    event = synthetic_event(
        allegation_id="SYNTH-DL-0001",
        sequence=3,
        reporting_entity="MINUSCA",
        allegation=allegation,
        published_at=NOW,
    )
    value = encode_model(event)
    out, dl = letter(key=b"SYNTH-DL-0001", value=value)
    assert marker.encode() not in out.value
    assert b"SYNTH-SUBJ-DL-1" not in out.value  # subjects are not among the shown fields either
    shown = {r.field: r.value for r in dl.redacted}
    assert shown == {
        "record_type": "AllegationEvent",
        "schema": "allegation_event v1",
        "allegation_id": "SYNTH-DL-0001",
        "event_id": event.event_id,
        "event_type": event.event_type.value,
        "sequence": "3",
        "reporting_entity": "MINUSCA",
    }
    assert dl.original_value_sha256 == hashlib.sha256(value).hexdigest()


def test_an_identifier_that_is_not_one_is_shown_only_by_its_length() -> None:
    text = "SYNTHETIC free text pasted where an id belongs"
    value = default_codec().encode(
        "Response",
        {
            "response_id": "not-a-uuid",
            "allegation_id": text,
            "recipient": "FRA",
            "kind": "ACKNOWLEDGED",
            "responder": "SYNTH-DESK",
            "responded_at": NOW,
        },
    )
    _, dl = letter(key=b"k", value=value)
    shown = {r.field: r.value for r in dl.redacted}
    assert shown["allegation_id"] == f"<{len(text)} characters, not shown>"
    assert text.encode() not in encode_model(dl)
