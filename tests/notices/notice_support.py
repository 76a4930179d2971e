"""Notifications for the notice tests, made by the real routing code (the intake's in-process twin)."""

from __future__ import annotations

from datetime import UTC, datetime

from support.routing import NOW, event, make_intake

from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, ObligationKind, UpdateKind
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import Notification, Obligation
from seabus.streams.intake import AllegationState, IntakeResult, Source

ALLEGATION = "SYNTH-2026-0417"
SRC = Source(topic="t.allegations", partition=0, offset=1)
NARRATIVE_MARK = "SYNTHETIC NARRATIVE"
OTHER_STATE_SUBJECT = "SYNTH-SUBJ-URY-2"
OWN_SUBJECT = "SYNTH-SUBJ-FRA-1"

DUES = {
    ObligationKind.ACKNOWLEDGE: datetime(2026, 3, 9, 17, 0, tzinfo=UTC),
    ObligationKind.DECIDE: datetime(2026, 3, 16, 17, 0, tzinfo=UTC),
    ObligationKind.REPORT_OUTCOME: datetime(2026, 9, 2, 12, 0, tzinfo=UTC),
    ObligationKind.REPORT_ACTION_TAKEN: datetime(2026, 10, 1, 12, 0, tzinfo=UTC),
    ObligationKind.INVESTIGATE: datetime(2026, 9, 15, 12, 0, tzinfo=UTC),
    ObligationKind.DECIDE_REFERRAL: datetime(2026, 4, 1, 9, 30, tzinfo=UTC),
}


def routed(sequence: int = 1, state: AllegationState | None = None) -> IntakeResult:
    e = event(
        ALLEGATION,
        sequence=sequence,
        event_type=AllegationEventType.REPORTED if sequence == 1 else AllegationEventType.UPDATED,
        subjects=[
            (OWN_SUBJECT, "FRA", None, P.MILITARY_CONTINGENT),
            (OTHER_STATE_SUBJECT, "URY", "URY", P.MILITARY_CONTINGENT),
        ],
        minors=1,
        published_at=NOW,
    )
    if sequence > 1:
        e = e.model_copy(update={"changes": (UpdateKind.STATUS_CHANGED,)})
    return make_intake().handle(
        key=e.allegation_id.encode(), value=encode_model(e), headers=[], source=SRC, state=state, now=NOW
    )


def notifications(result: IntakeResult) -> dict[str, Notification]:
    return {
        n.recipient: n
        for n in (decode_model(o.value, Notification) for o in result.outbound if o.route == "notify")
    }


def state_notification(recipient: str = "FRA") -> Notification:
    """The routed notification of one recipient, with one obligation of every kind of the contract."""
    note = notifications(routed())[recipient]
    return note.model_copy(
        update={"obligations": tuple(Obligation(kind=k, due_at=d) for k, d in DUES.items())}
    )
