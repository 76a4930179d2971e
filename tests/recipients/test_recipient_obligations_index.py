"""The read model's per-recipient index: a state's obligations without looking at anyone else's."""

from __future__ import annotations

from datetime import timedelta

from views.view_support import T0, notifications, obligation, report

from seabus.schemas.codec import encode_model
from seabus.schemas.enums import ObligationKind, ObligationState
from seabus.streams.views import ViewIndex

S = timedelta(seconds=1)


def test_each_recipients_obligations_are_its_own_and_follow_updates_and_tombstones() -> None:
    view = ViewIndex(prefix="sea")
    view.add(obligation("SYNTH-IX-1", "FRA", due_at=T0 + 20 * S))
    view.add(obligation("SYNTH-IX-2", "FRA", ObligationKind.DECIDE, due_at=T0 + 10 * S))
    view.add(obligation("SYNTH-IX-1", "KEN", due_at=T0))
    assert [(o.allegation_id, o.recipient) for o in view.recipient_obligations("FRA")] == [
        ("SYNTH-IX-2", "FRA"),
        ("SYNTH-IX-1", "FRA"),
    ]
    assert [o.recipient for o in view.recipient_obligations("KEN")] == ["KEN"]
    assert view.recipient_obligations("URY") == []

    # An update replaces the obligation, it does not add one.
    answered = obligation(
        "SYNTH-IX-1",
        "FRA",
        due_at=T0 + 20 * S,
        state=ObligationState.SATISFIED,
        updated_at=T0 + S,
        answered_at=T0,
    )
    view.ingest("sea.obligations", key=answered.obligation_key.encode(), value=encode_model(answered))
    owed = view.obligations_of("FRA", T0 + 15 * S)
    assert [(i.allegation_id, i.state, i.overdue) for i in owed.items] == [
        ("SYNTH-IX-2", ObligationState.OPEN, True),
        ("SYNTH-IX-1", ObligationState.SATISFIED, False),
    ]
    assert (owed.open, owed.overdue) == (1, 1)
    assert [i.allegation_id for i in view.obligations_of("FRA", T0, open_only=True).items] == ["SYNTH-IX-2"]

    # A compaction tombstone removes it from its recipient's index too.
    view.ingest("sea.obligations", key=answered.obligation_key.encode(), value=None)
    assert [o.allegation_id for o in view.recipient_obligations("FRA")] == ["SYNTH-IX-2"]


def test_when_a_recipient_was_last_told_and_who_owns_the_allegation() -> None:
    view = ViewIndex(prefix="sea")
    first = report("SYNTH-IX-9", state="FRA")
    for note in notifications(first, routed_at=T0):
        view.add(note)
    [told] = [n for n in notifications(first, routed_at=T0) if n.recipient == "FRA"]
    view.add(
        told.model_copy(
            update={"notification_id": "SYNTH-NTF-IX-9-2", "sequence": 2, "routed_at": T0 + 30 * S}
        )
    )
    view.add(first)
    assert view.last_notified_at("SYNTH-IX-9", "FRA") == T0 + 30 * S
    assert view.last_notified_at("SYNTH-IX-9", "KEN") is None
    assert view.last_notified_at("SYNTH-IX-UNKNOWN", "FRA") is None
    assert view.reporting_entity("SYNTH-IX-9") == "MINUSCA"
