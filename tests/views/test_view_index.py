"""The read model without Kafka: records in, overdue view and timelines out."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from views.view_support import (
    NARRATIVE_MARKER,
    SUBJECT_MARKER,
    T0,
    dead_letter,
    delivery,
    escalation,
    notifications,
    obligation,
    report,
    response,
)

from seabus.schemas.codec import default_codec, encode_model
from seabus.schemas.enums import DeliveryOutcome, EscalationLevel, ObligationKind, ObligationState
from seabus.schemas.testing import synthetic_response
from seabus.streams.replies import reply_notices
from seabus.streams.views import DueStatus, Ingested, OverdueFilter, ViewIndex

S = timedelta(seconds=1)


def index() -> ViewIndex:
    return ViewIndex(prefix="sea")


def test_overdue_first_longest_overdue_first_then_by_due_time() -> None:
    view = index()
    view.add(obligation("SYNTH-A", due_at=T0 + 10 * S))  # overdue by 20 s at T0+30
    view.add(obligation("SYNTH-B", due_at=T0))  # overdue by 30 s
    view.add(obligation("SYNTH-C", due_at=T0 + 90 * S))  # due in 60 s
    view.add(obligation("SYNTH-D", due_at=T0 + 40 * S))  # due in 10 s
    report_ = view.overdue(T0 + 30 * S)
    assert [i.allegation_id for i in report_.items] == ["SYNTH-B", "SYNTH-A", "SYNTH-D", "SYNTH-C"]
    assert [i.status for i in report_.items] == [DueStatus.OVERDUE] * 2 + [DueStatus.DUE] * 2
    assert [i.overdue_by_s for i in report_.items] == [30.0, 20.0, -10.0, -60.0]
    assert (report_.overdue, report_.due) == (2, 2)


def test_answered_and_cancelled_obligations_leave_the_view() -> None:
    view = index()
    view.add(obligation("SYNTH-A", due_at=T0))
    view.add(obligation("SYNTH-B", due_at=T0))
    view.add(
        obligation(
            "SYNTH-A", due_at=T0, state=ObligationState.SATISFIED, updated_at=T0 + S, answered_at=T0 + S
        )
    )
    view.add(obligation("SYNTH-B", due_at=T0, state=ObligationState.CANCELLED, updated_at=T0 + S))
    assert view.overdue(T0 + 5 * S).items == []
    timeline = view.timeline("SYNTH-A")
    assert timeline is not None
    assert [(o.state, o.answered_at) for o in timeline.obligations] == [(ObligationState.SATISFIED, T0 + S)]


def test_an_older_update_read_late_does_not_reopen_an_answered_obligation() -> None:
    view = index()
    view.add(obligation("SYNTH-A", due_at=T0, state=ObligationState.SATISFIED, updated_at=T0 + 2 * S))
    view.add(obligation("SYNTH-A", due_at=T0, updated_at=T0 + S))
    assert view.overdue(T0 + 5 * S).items == []


def test_level_is_the_newer_of_escalation_and_update() -> None:
    view = index()
    view.add(obligation("SYNTH-A", due_at=T0, last_level=EscalationLevel.OVERDUE, updated_at=T0))
    view.add(escalation("SYNTH-A", EscalationLevel.SECOND_LEVEL, at=T0 + 5 * S, repeat=1))
    view.add(obligation("SYNTH-B", due_at=T0, last_level=EscalationLevel.SECOND_LEVEL, updated_at=T0 + 9 * S))
    view.add(escalation("SYNTH-B", EscalationLevel.OVERDUE, at=T0))
    view.add(obligation("SYNTH-C", due_at=T0))
    items = {i.allegation_id: i for i in view.overdue(T0 + 10 * S).items}
    assert (items["SYNTH-A"].level, items["SYNTH-A"].repeat) == (EscalationLevel.SECOND_LEVEL, 1)
    assert items["SYNTH-A"].last_escalated_at == T0 + 5 * S
    assert items["SYNTH-B"].level is EscalationLevel.SECOND_LEVEL
    assert items["SYNTH-C"].level is None


def test_escalations_of_another_obligation_do_not_change_the_level() -> None:
    view = index()
    view.add(obligation("SYNTH-A", due_at=T0))
    view.add(escalation("SYNTH-A", EscalationLevel.OVERDUE, at=T0, kind=ObligationKind.DECIDE))
    view.add(escalation("SYNTH-A", EscalationLevel.UNROUTABLE, at=T0, recipient=None, kind=None))
    (item,) = view.overdue(T0 + S).items
    assert item.level is None


def test_filters_combine_and_the_choices_ignore_them() -> None:
    view = index()
    view.add(obligation("SYNTH-A", "KEN", due_at=T0, entity="MINUSCA", last_level=EscalationLevel.OVERDUE))
    view.add(obligation("SYNTH-B", "FRA", due_at=T0, entity="MONUSCO", last_level=EscalationLevel.OVERDUE))
    view.add(obligation("SYNTH-C", "KEN", due_at=T0 + 60 * S, entity="MONUSCO"))
    now = T0 + S

    def ids(**criteria: frozenset[str]) -> list[str]:
        return [i.allegation_id for i in view.overdue(now, OverdueFilter(**criteria)).items]  # type: ignore[arg-type]

    assert ids(recipients=frozenset({"KEN"})) == ["SYNTH-A", "SYNTH-C"]
    assert ids(entities=frozenset({"MONUSCO"})) == ["SYNTH-B", "SYNTH-C"]
    assert ids(levels=frozenset({"NONE"})) == ["SYNTH-C"]
    assert ids(levels=frozenset({"OVERDUE"}), recipients=frozenset({"FRA", "KEN"})) == ["SYNTH-A", "SYNTH-B"]
    assert ids(recipients=frozenset({"KEN"}), entities=frozenset({"MONUSCO"})) == ["SYNTH-C"]
    filtered = view.overdue(now, OverdueFilter(recipients=frozenset({"FRA"})))
    assert (filtered.recipients, filtered.reporting_entities) == (["FRA", "KEN"], ["MINUSCA", "MONUSCO"])
    assert (filtered.overdue, filtered.due) == (1, 0)


def test_reporting_entity_comes_from_the_allegation_when_the_update_lacks_it() -> None:
    view = index()
    view.add(report("SYNTH-A", entity="MONUSCO"))
    view.add(obligation("SYNTH-A", due_at=T0, entity=None))
    (item,) = view.overdue(T0).items
    assert item.reporting_entity == "MONUSCO"


def test_timeline_in_time_order_with_every_kind_and_nothing_confidential() -> None:
    view = index()
    e = report("SYNTH-T", at=T0)
    notes = notifications(e, routed_at=T0 + S)
    ken = next(n for n in notes if n.recipient == "KEN")
    records = [
        dead_letter("SYNTH-T", at=T0 + 9 * S),
        escalation("SYNTH-T", EscalationLevel.SECOND_LEVEL, at=T0 + 8 * S),
        escalation("SYNTH-T", EscalationLevel.OVERDUE, at=T0 + 6 * S),
        response("SYNTH-T", at=T0 + 7 * S),
        delivery(ken, at=T0 + 2 * S, outcome=DeliveryOutcome.RETRYING),
        delivery(ken, at=T0 + 3 * S),
        *notes,
        e,
    ]
    for record in records:  # any arrival order: topics are read independently
        view.add(record)
    timeline = view.timeline("SYNTH-T")
    assert timeline is not None
    kinds = [entry.kind for entry in timeline.entries]
    assert kinds == ["event"] + ["notification"] * len(notes) + [
        "delivery",
        "delivery",
        "escalation",
        "response",
        "escalation",
        "deadletter",
    ]
    times = [entry.at for entry in timeline.entries]
    assert times == sorted(times)
    assert {n.recipient for n in notes} >= {"KEN", "OSC"}
    body = timeline.model_dump_json()
    for secret in (SUBJECT_MARKER, NARRATIVE_MARKER, "SYNTHETIC-NOTE-VIEW-MARKER", "in the future"):
        assert secret not in body
    event_entry = json.loads(body)["entries"][0]
    assert set(event_entry) == {
        "kind",
        "at",
        "event_id",
        "event_type",
        "sequence",
        "reporting_entity",
        "status",
        "changes",
    }


def test_same_time_keeps_the_bus_order() -> None:
    view = index()
    e = report("SYNTH-S", at=T0)
    view.add(escalation("SYNTH-S", EscalationLevel.UNROUTABLE, at=T0, recipient=None, kind=None))
    for n in notifications(e, routed_at=T0):
        view.add(n)
    view.add(e)
    timeline = view.timeline("SYNTH-S")
    assert timeline is not None
    assert timeline.entries[0].kind == "event"
    assert timeline.entries[-1].kind == "escalation"


def test_records_seen_twice_are_indexed_once() -> None:
    view = index()
    e = report("SYNTH-D")
    notes = notifications(e, routed_at=T0 + S)
    attempt = delivery(notes[0], at=T0 + 2 * S)
    for _ in range(2):
        for record in (e, *notes, attempt, dead_letter("SYNTH-D", at=T0 + 3 * S)):
            view.add(record)
    timeline = view.timeline("SYNTH-D")
    assert timeline is not None
    assert len(timeline.entries) == 1 + len(notes) + 2
    assert view.delivery_counts() == {("WEBHOOK", "DELIVERED"): 1}


def test_ingest_decodes_by_topic_and_skips_what_it_cannot_read() -> None:
    view = index()
    e = report("SYNTH-I")
    assert view.ingest("sea.allegations", key=b"SYNTH-I", value=encode_model(e)) is Ingested.INDEXED
    note = notifications(e, routed_at=T0 + S)[0]
    topic = f"sea.notify.{note.recipient}"
    assert view.ingest(topic, key=b"SYNTH-I", value=encode_model(note)) is Ingested.INDEXED
    assert view.ingest(topic, key=b"SYNTH-I", value=encode_model(note)) is Ingested.DUPLICATE
    step = escalation("SYNTH-I", EscalationLevel.REMINDER, at=T0 + S)
    assert view.ingest(topic, key=b"SYNTH-I", value=encode_model(step)) is Ingested.IGNORED  # a copy
    assert view.ingest("sea.escalations", key=b"SYNTH-I", value=encode_model(step)) is Ingested.INDEXED
    response = synthetic_response(1, allegation_id="SYNTH-I", recipient=note.recipient)
    [notice] = reply_notices(response, reporting_entity=None, now=T0 + S, codec=default_codec())
    assert view.ingest("sea.notify.OSC", key=b"SYNTH-I", value=notice.value) is Ingested.IGNORED  # a copy
    assert view.ingest("sea.allegations", key=b"x", value=b"not avro") is Ingested.UNDECODABLE
    assert view.ingest("sea.responses", key=b"x", value=encode_model(e)) is Ingested.UNDECODABLE  # wrong type
    assert view.ingest("other.allegations", key=b"SYNTH-I", value=encode_model(e)) is Ingested.IGNORED
    update = obligation("SYNTH-I", due_at=T0)
    key = update.obligation_key.encode()
    view.ingest("sea.obligations", key=key, value=encode_model(update))
    assert len(view.overdue(T0).items) == 1
    view.ingest("sea.obligations", key=key, value=None)  # a compaction tombstone
    assert view.overdue(T0).items == []
    assert view.counts == {"indexed": 4, "duplicate": 1, "undecodable": 2, "ignored": 4}


def test_unknown_allegation_has_no_timeline() -> None:
    assert index().timeline("SYNTH-NOWHERE") is None


def test_level_counts_for_the_gauges() -> None:
    view = index()
    view.add(obligation("SYNTH-A", due_at=T0, last_level=EscalationLevel.OVERDUE))
    view.add(obligation("SYNTH-B", due_at=T0 + 60 * S, last_level=EscalationLevel.REMINDER))
    view.add(obligation("SYNTH-C", due_at=T0 + 60 * S))
    opened, overdue = view.level_counts(T0 + S)
    assert opened == {"OVERDUE": 1, "REMINDER": 1, "NONE": 1}
    assert overdue == {"OVERDUE": 1}


@pytest.mark.parametrize(
    ("topic", "kind", "recipient"),
    [
        ("sea.allegations", "allegations", None),
        ("sea.obligations", "obligations", None),
        ("sea.notify.KEN", "notify", "KEN"),
        ("sea.notify.", None, None),
        ("sea.notify.A.B", None, None),
        ("sea.allegations-changelog", None, None),
        ("seabus-intake-state-changelog", None, None),
    ],
)
def test_topic_classification_matches_the_pattern(
    topic: str, kind: str | None, recipient: str | None
) -> None:
    from seabus.streams.views import classify, topic_pattern

    source = classify(topic, "sea")
    assert (source.kind.value if source else None, source.recipient if source else None) == (kind, recipient)
    assert bool(topic_pattern("sea").match(topic)) == (source is not None)


def test_dead_letters_of_held_events_sharing_coordinates_are_all_kept() -> None:
    view = index()
    first = dead_letter("SYNTH-H", at=T0).model_copy(
        update={
            "source_topic": "(held)",
            "source_partition": -1,
            "source_offset": -1,
            "original_value": b"one",
        }
    )
    second = first.model_copy(update={"original_value": b"two"})
    for record in (first, second, first):
        view.add(record)
    timeline = view.timeline("SYNTH-H")
    assert timeline is not None
    assert [e.kind for e in timeline.entries] == ["deadletter", "deadletter"]
