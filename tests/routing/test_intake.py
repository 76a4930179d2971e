"""The intake step without Kafka: ordering, duplicates, holding, dead letters."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from support.routing import NOW, event, make_intake

from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, DeadLetterReason, EscalationLevel
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import AllegationEvent, DeadLetter, Escalation, Notification
from seabus.streams.intake import AllegationState, IntakeResult, Outcome, Source

SRC = Source(topic="t.allegations", partition=0, offset=7)


def run(
    e: AllegationEvent | bytes, state: AllegationState | None = None, *, key: bytes | None = None
) -> IntakeResult:
    value = e if isinstance(e, bytes) else encode_model(e)
    k = key if key is not None else (b"SYNTH-2026-0100" if isinstance(e, bytes) else e.allegation_id.encode())
    return make_intake().handle(key=k, value=value, headers=[], source=SRC, state=state, now=NOW)


def notified(result: IntakeResult) -> list[str]:
    return [o.recipient for o in result.outbound if o.route == "notify" and o.recipient]


def escalations(result: IntakeResult) -> list[Escalation]:
    return [decode_model(o.value, Escalation) for o in result.outbound if o.route == "escalations"]


def dead(result: IntakeResult) -> DeadLetter:
    (out,) = [o for o in result.outbound if o.route == "deadletter"]
    return decode_model(out.value, DeadLetter)


def test_report_routes_and_remembers() -> None:
    result = run(event(minors=1))
    assert result.outcome is Outcome.ROUTED
    assert notified(result) == ["FRA", "OSC", "OIOS", "VRA"]
    assert result.state is not None
    assert result.state.reported
    assert result.state.last_sequence == 1
    assert result.state.recipients == ["FRA", "OSC", "OIOS", "VRA"]
    assert result.state.snapshot is not None
    assert result.state.snapshot["status"] == "UNDER_PRELIMINARY_ASSESSMENT"
    assert result.state.snapshot["confidential"] is None  # the narrative is never kept in state
    note = decode_model(result.outbound[0].value, Notification)
    assert note.source_event_id == result.state.seen_event_ids[0]
    assert note.reasons[0].rule == "state-of-nationality"


def test_duplicate_event_id_produces_nothing() -> None:
    first = run(event())
    again = run(event(), first.state)
    assert again.outcome is Outcome.DUPLICATE
    assert again.outbound == []
    assert again.state is None


def test_update_reaches_every_earlier_recipient() -> None:
    first = run(event(subjects=[("SYNTH-SUBJ-1", "FRA", None, P.STAFF_MEMBER)]))
    update = event(
        sequence=2,
        event_type=AllegationEventType.UPDATED,
        subjects=[("SYNTH-SUBJ-1", "KEN", None, P.STAFF_MEMBER)],
    )
    result = run(update, first.state)
    assert result.outcome is Outcome.ROUTED
    assert set(notified(result)) == {"FRA", "KEN", "OSC", "OIOS", "VRA"}
    fra = next(decode_model(o.value, Notification) for o in result.outbound if o.recipient == "FRA")
    assert [r.rule for r in fra.reasons] == ["earlier-recipient"]
    assert fra.allegation.subjects == ()


def test_update_before_report_is_held_then_released_in_order() -> None:
    u3 = event(sequence=3, event_type=AllegationEventType.CLOSED)
    u2 = event(sequence=2, event_type=AllegationEventType.UPDATED)
    held = run(u3)
    assert held.outcome is Outcome.HELD
    assert notified(held) == []
    (esc,) = escalations(held)
    assert esc.level is EscalationLevel.UNROUTABLE
    assert "arrived before the allegation was reported" in esc.reason
    held2 = run(u2, held.state)
    assert held2.state is not None
    assert len(held2.state.held) == 2
    assert run(u3, held2.state).outcome is Outcome.DUPLICATE  # a held event is already known

    report = run(event(sequence=1), held2.state)
    assert report.outcome is Outcome.ROUTED
    assert [e.sequence for e in report.applied] == [1, 2, 3]
    sequences = [decode_model(o.value, Notification).sequence for o in report.outbound if o.route == "notify"]
    assert sequences == sorted(sequences)
    assert report.state is not None
    assert report.state.held == []
    assert report.state.last_sequence == 3
    assert report.state.last_event_type == "CLOSED"


def test_stale_sequence_goes_to_dead_letter_and_state_is_kept() -> None:
    first = run(event(sequence=5))
    stale = run(event(sequence=4, event_type=AllegationEventType.UPDATED), first.state)
    assert stale.outcome is Outcome.DEAD_LETTERED
    letter = dead(stale)
    assert letter.reason is DeadLetterReason.OUT_OF_SEQUENCE
    assert "sequence 4" in letter.message
    original = encode_model(event(sequence=4, event_type=AllegationEventType.UPDATED))
    assert (letter.original_value, letter.original_value_sha256) == (
        b"",
        hashlib.sha256(original).hexdigest(),
    )
    shown = {r.field: r.value for r in letter.redacted}
    assert (shown["record_type"], shown["event_type"], shown["sequence"]) == (
        "AllegationEvent",
        "UPDATED",
        "4",
    )
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("t.allegations", 0, 7)


def test_gap_in_sequence_is_applied() -> None:
    first = run(event(sequence=1))
    result = run(event(sequence=4, event_type=AllegationEventType.UPDATED), first.state)
    assert result.outcome is Outcome.ROUTED


def test_unroutable_goes_to_osc_and_on_call() -> None:
    result = run(event(subjects=[("SYNTH-SUBJ-1", None, None, P.MILITARY_CONTINGENT)], adults=0))
    assert notified(result) == ["OSC"]
    (esc,) = escalations(result)
    assert esc.level is EscalationLevel.UNROUTABLE
    assert "no Member State could be determined" in esc.reason


def test_state_outside_the_directory_is_notified_and_raised() -> None:
    result = run(event(subjects=[("SYNTH-SUBJ-1", "NOR", None, P.STAFF_MEMBER)]))
    assert "NOR" in notified(result)
    (esc,) = escalations(result)
    assert esc.recipient == "NOR"
    assert "not in the recipients directory" in esc.reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not avro at all", DeadLetterReason.MALFORMED_BYTES),
        (b"\xc3\x01" + b"\x00" * 8 + b"\x02", DeadLetterReason.UNKNOWN_FINGERPRINT),
        (b"\xc3\x01\x01", DeadLetterReason.TRUNCATED),
        (b"", DeadLetterReason.MALFORMED_BYTES),
    ],
)
def test_bad_bytes_are_dead_lettered_with_their_reason(value: bytes, reason: DeadLetterReason) -> None:
    result = run(value)
    assert result.outcome is Outcome.DEAD_LETTERED
    letter = dead(result)
    assert letter.reason is reason
    assert (letter.original_value, letter.original_value_size) == (b"", len(value))
    assert letter.original_value_sha256 == hashlib.sha256(value).hexdigest()
    assert letter.message


def test_truncated_datum() -> None:
    full = encode_model(event())
    letter = dead(run(full[: len(full) - 20]))
    assert letter.reason is DeadLetterReason.TRUNCATED


def test_oversized_value() -> None:
    intake = make_intake()
    intake.max_bytes = 64
    result = intake.handle(
        key=b"SYNTH-2026-0100", value=encode_model(event()), headers=[], source=SRC, state=None, now=NOW
    )
    assert dead(result).reason is DeadLetterReason.OVERSIZED


def test_invalid_country_and_future_date_list_every_problem() -> None:
    e = event(subjects=[("SYNTH-SUBJ-1", "XXY", None, P.STAFF_MEMBER)])
    e = e.model_copy(
        update={
            "allegation": e.allegation.model_copy(update={"incident_date": (NOW + timedelta(days=3)).date()})
        }
    )
    letter = dead(run(e))
    assert letter.reason is DeadLetterReason.VALIDATION_FAILED
    assert "allegation.subjects[0].nationality" in letter.message
    assert "allegation.incident_date" in letter.message
    assert "SYNTHETIC NARRATIVE" not in letter.message


def test_key_must_be_the_allegation_id() -> None:
    letter = dead(run(event(), key=b"SOMETHING-ELSE"))
    assert letter.reason is DeadLetterReason.VALIDATION_FAILED
    assert "key every event by its allegation_id" in letter.message


def test_cloudevents_headers_of_another_record_type_dead_letter_the_event() -> None:
    """Present headers must describe the event; absent ones stay accepted (see run() above)."""
    from seabus.schemas.cloudevents import build_headers, ce_type_for

    e = event("SYNTH-CE-INTAKE-1")
    wrong = build_headers(
        event_id=e.event_id, source="synthetic-test", type_=ce_type_for("Response"), time=NOW, subject="x"
    )
    result = make_intake().handle(
        key=e.allegation_id.encode(), value=encode_model(e), headers=wrong, source=SRC, state=None, now=NOW
    )
    letter = dead(result)
    assert letter.reason is DeadLetterReason.MALFORMED_HEADERS
    assert "ce_type is 'org.seabus.Response'" in letter.message
    assert notified(result) == []
    right = build_headers(
        event_id=e.event_id,
        source="synthetic-test",
        type_=ce_type_for("AllegationEvent"),
        time=NOW,
        subject="x",
    )
    routed = make_intake().handle(
        key=e.allegation_id.encode(), value=encode_model(e), headers=right, source=SRC, state=None, now=NOW
    )
    assert notified(routed)
