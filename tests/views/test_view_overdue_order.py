"""The ordered overdue index against the rule it implements, on random histories.

The rule (:func:`seabus.streams.views.overdue.order_items`, applied to every open
obligation built one by one) is the oracle; the index keeps its order
incrementally and builds items only for the page asked for.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from views.view_support import T0, escalation, obligation

from seabus.schemas.enums import EscalationLevel, ObligationKind, ObligationState
from seabus.streams.views.index import ViewIndex
from seabus.streams.views.models import NO_LEVEL, DueStatus
from seabus.streams.views.overdue import OverdueFilter, order_items, overdue_item

AIDS = [f"SYNTH-ORD-{i:02d}" for i in range(6)]
RECIPIENTS = ["KEN", "FRA", "URY"]
KINDS = list(ObligationKind)[:3]
LEVELS = [EscalationLevel.REMINDER, EscalationLevel.OVERDUE, EscalationLevel.SECOND_LEVEL]

update = st.builds(
    lambda aid, rcp, kind, due, upd, state, level, entity: (
        "update",
        obligation(
            aid,
            rcp,
            kind,
            due_at=T0 + timedelta(seconds=due),
            updated_at=T0 + timedelta(seconds=upd),
            state=state,
            last_level=level,
            entity=entity,
        ),
    ),
    st.sampled_from(AIDS),
    st.sampled_from(RECIPIENTS),
    st.sampled_from(KINDS),
    st.integers(-50, 50),
    st.integers(0, 100),
    st.sampled_from([ObligationState.OPEN, ObligationState.OPEN, ObligationState.SATISFIED]),
    st.sampled_from([None, None, *LEVELS]),
    st.sampled_from([None, "MINUSCA", "MONUSCO"]),
)
raised = st.builds(
    lambda aid, rcp, kind, level, at: (
        "escalation",
        escalation(aid, level, at=T0 + timedelta(seconds=at), recipient=rcp, kind=kind),
    ),
    st.sampled_from(AIDS),
    st.sampled_from(RECIPIENTS),
    st.sampled_from(KINDS),
    st.sampled_from(LEVELS),
    st.integers(0, 100),
)
tombstone = st.builds(
    lambda aid, rcp, kind: ("tombstone", f"{aid}|{rcp}|{kind.value}"),
    st.sampled_from(AIDS),
    st.sampled_from(RECIPIENTS),
    st.sampled_from(KINDS),
)
filters = st.builds(
    OverdueFilter,
    recipients=st.frozensets(st.sampled_from(RECIPIENTS), max_size=2),
    entities=st.frozensets(st.sampled_from(["MINUSCA", "MONUSCO"]), max_size=1),
    levels=st.frozensets(st.sampled_from([NO_LEVEL, *(lv.value for lv in LEVELS)]), max_size=2),
    statuses=st.frozensets(st.sampled_from(list(DueStatus)), max_size=1),
)


def replay(history: list[tuple[str, object]]) -> ViewIndex:
    index = ViewIndex(prefix="sea")
    for kind, item in history:
        if kind == "tombstone":
            assert isinstance(item, str)
            index.ingest("sea.obligations", key=item.encode(), value=None)
        else:
            index.add(item)  # type: ignore[arg-type]
    return index


def oracle(index: ViewIndex, now_s: int, where: OverdueFilter) -> list[object]:
    now = T0 + timedelta(seconds=now_s)
    every = [
        overdue_item(
            o,
            escalation=index._escalations.get(o.obligation_key),
            reporting_entity=index._entities.get(o.allegation_id),
            now=now,
        )
        for o in index._obligations.values()
        if o.state is ObligationState.OPEN
    ]
    return order_items(i for i in every if where.matches(i))


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(st.one_of(update, update, raised, tombstone), max_size=40),
    now_s=st.integers(-60, 60),
    where=filters,
    limit=st.one_of(st.none(), st.integers(0, 5)),
)
def test_index_order_counts_and_page_follow_the_rule(
    history: list[tuple[str, object]], now_s: int, where: OverdueFilter, limit: int | None
) -> None:
    index = replay(history)
    now = T0 + timedelta(seconds=now_s)
    want = oracle(index, now_s, where)
    got = index.overdue(now, where, limit=limit)
    assert got.items == want[: len(want) if limit is None else limit]
    assert got.overdue == sum(1 for i in want if i.status is DueStatus.OVERDUE)  # type: ignore[attr-defined]
    assert got.due == len(want) - got.overdue
    assert got.truncated == (len(got.items) < len(want))
    everything = oracle(index, now_s, OverdueFilter())
    assert got.recipients == sorted({i.recipient for i in everything})  # type: ignore[attr-defined]
    assert got.reporting_entities == sorted(
        {i.reporting_entity for i in everything if i.reporting_entity}  # type: ignore[attr-defined]
    )


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(st.one_of(update, update, raised, tombstone), max_size=40), now_s=st.integers(-60, 60)
)
def test_level_counts_follow_the_items(history: list[tuple[str, object]], now_s: int) -> None:
    index = replay(history)
    items = oracle(index, now_s, OverdueFilter())
    opened: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for i in items:
        name = i.level.value if i.level is not None else NO_LEVEL  # type: ignore[attr-defined]
        opened[name] += 1
        if i.status is DueStatus.OVERDUE:  # type: ignore[attr-defined]
            overdue[name] += 1
    assert index.level_counts(T0 + timedelta(seconds=now_s)) == (dict(opened), dict(overdue))
