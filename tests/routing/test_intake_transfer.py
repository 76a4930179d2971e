"""Audited transfers between entities, in the intake without Kafka: who may, from whom, and after."""

from __future__ import annotations

import uuid
from datetime import timedelta

from support.routing import NOW, event, make_intake

from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, DeadLetterReason, EscalationLevel
from seabus.schemas.models import AllegationEvent, DeadLetter, Escalation, OwnershipTransfer
from seabus.streams.intake import AllegationState, IntakeResult, Outcome, Source
from seabus.streams.origin import ORIGIN_HEADER

SRC = Source(topic="t.allegations", partition=0, offset=9)
AID = "SYNTH-2026-0100"


def handover(frm: str = "MINUSCA", to: str = "MONUSCO", transfer_id: str | None = None) -> OwnershipTransfer:
    return OwnershipTransfer(
        transfer_id=transfer_id or str(uuid.uuid4()),
        allegation_id=AID,
        from_entity=frm,
        to_entity=to,
        transferred_at=NOW - timedelta(minutes=1),
        authorised_by="SYNTH-OSC-DESK",
        reason="Synthetic: the case moved with the contingent's redeployment",
    )


def run(
    record: AllegationEvent | OwnershipTransfer,
    state: AllegationState | None,
    headers: list[tuple[str, bytes]] | None = None,
) -> IntakeResult:
    return make_intake().handle(
        key=AID.encode(), value=encode_model(record), headers=headers or [], source=SRC, state=state, now=NOW
    )


def reported() -> AllegationState:
    result = run(event(AID), None)
    assert result.state is not None
    return result.state


def dead(result: IntakeResult) -> DeadLetter:
    (out,) = [o for o in result.outbound if o.route == "deadletter"]
    return decode_model(out.value, DeadLetter)


def update(entity: str, sequence: int) -> AllegationEvent:
    e = event(AID, sequence=sequence, event_type=AllegationEventType.UPDATED)
    return e.model_copy(update={"reporting_entity": entity, "event_id": str(uuid.uuid4())})


def test_a_transfer_from_the_owner_hands_the_allegation_over_and_is_recorded() -> None:
    t = handover()
    result = run(t, reported())
    assert result.outcome is Outcome.TRANSFERRED
    assert result.state is not None
    assert result.state.reporting_entity == "MONUSCO"
    assert [(o.route, o.key, o.value) for o in result.outbound] == [("owners", AID.encode(), b"MONUSCO")]
    after = result.state
    # The new owner's next event is applied; the former owner's is refused.
    assert run(update("MONUSCO", 2), after).outcome is Outcome.ROUTED
    refused = run(update("MINUSCA", 2), after)
    assert dead(refused).reason is DeadLetterReason.NOT_OWNER
    assert "belongs to MONUSCO" in dead(refused).message
    # The same transfer again changes nothing.
    assert run(t, after).outcome is Outcome.DUPLICATE


def test_a_transfer_from_someone_who_does_not_own_it_is_refused_and_escalated() -> None:
    result = run(handover(frm="MONUSCO", to="MINUSCA"), reported())
    assert result.outcome is Outcome.DEAD_LETTERED
    assert result.state is None  # nothing changed hands
    assert dead(result).reason is DeadLetterReason.NOT_OWNER
    [esc] = [decode_model(o.value, Escalation) for o in result.outbound if o.route == "escalations"]
    assert esc.level is EscalationLevel.REFUSED_ORIGIN
    assert "belongs to MINUSCA, not MONUSCO" in esc.reason


def test_only_the_bus_transfers_a_transfer_with_a_stamped_origin_is_refused() -> None:
    result = run(handover(), reported(), headers=[(ORIGIN_HEADER, b"MINUSCA")])
    assert dead(result).reason is DeadLetterReason.ORIGIN_MISMATCH
    assert "only the bus's operators transfer allegations" in dead(result).message
    assert result.state is None


def test_an_unreported_allegation_has_nothing_to_transfer_and_bad_fields_are_named() -> None:
    assert dead(run(handover(), None)).reason is DeadLetterReason.UNKNOWN_ALLEGATION
    bad = handover(to="MINUSCA", transfer_id="not-a-uuid")
    letter = dead(run(bad, reported()))
    assert letter.reason is DeadLetterReason.VALIDATION_FAILED
    assert "transfer_id" in letter.message
    assert "to_entity: is the entity that owns the allegation already" in letter.message
