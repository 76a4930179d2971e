"""The due-time index: ordering, lazy invalidation, rebuild."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from seabus.streams.deadlines.due_index import DueIndex


def test_pop_due_returns_only_what_is_due_earliest_first() -> None:
    index = DueIndex()
    for key, at in [("c", 30.0), ("a", 10.0), ("b", 20.0), ("d", 40.0)]:
        index.schedule(key, at)
    assert index.pop_due(5.0) == []
    assert index.pop_due(25.0) == ["a", "b"]
    assert index.pop_due(25.0) == []
    assert len(index) == 2
    assert index.peek() == 30.0


def test_pop_due_with_a_limit_takes_the_earliest_and_leaves_the_rest() -> None:
    index = DueIndex()
    for key, at in [("c", 30.0), ("a", 10.0), ("b", 20.0), ("d", 40.0)]:
        index.schedule(key, at)
    index.schedule("a", 15.0)  # a stale entry at 10.0 does not count against the limit
    assert index.pop_due(35.0, limit=2) == ["a", "b"]
    assert index.peek() == 30.0
    assert index.pop_due(35.0, limit=2) == ["c"]
    assert index.pop_due(35.0, limit=0) == []
    assert len(index) == 1


def test_rescheduling_moves_a_key_and_the_old_entry_is_ignored() -> None:
    index = DueIndex()
    index.schedule("k", 10.0)
    index.schedule("k", 50.0)
    assert index.pop_due(20.0) == []
    assert index.fire_at("k") == 50.0
    index.schedule("k", 5.0)
    assert index.pop_due(20.0) == ["k"]
    assert index.pop_due(100.0) == []


def test_removed_keys_never_come_back_and_peek_skips_them() -> None:
    index = DueIndex()
    index.schedule("gone", 1.0)
    index.schedule("kept", 2.0)
    index.remove("gone")
    index.remove("never-there")
    assert "gone" not in index
    assert index.peek() == 2.0
    assert index.pop_due(10.0) == ["kept"]
    assert index.peek() is None


def test_remove_then_schedule_at_the_same_time_pops_once() -> None:
    index = DueIndex()
    index.schedule("k", 1.0)
    index.remove("k")
    index.schedule("k", 1.0)
    assert index.pop_due(1.0) == ["k"]
    assert index.pop_due(1.0) == []


def test_many_reschedules_keep_one_live_entry_per_key() -> None:
    index = DueIndex()
    rng = random.Random(7)
    for _ in range(20_000):
        index.schedule(f"k{rng.randrange(100)}", rng.uniform(0, 1000))
    assert len(index) == 100
    popped = index.pop_due(1000.0)
    assert sorted(popped) == sorted(f"k{i}" for i in range(100))


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.floats(0, 100), st.booleans()), max_size=60))
def test_rebuilt_index_behaves_like_the_incremental_one(ops: list[tuple[str, float, bool]]) -> None:
    incremental = DueIndex()
    live: dict[str, float] = {}
    for key, at, keep in ops:
        if keep:
            incremental.schedule(key, at)
            live[key] = at
        else:
            incremental.remove(key)
            live.pop(key, None)
    rebuilt = DueIndex()
    rebuilt.rebuild(live.items())
    assert len(rebuilt) == len(incremental) == len(live)
    assert rebuilt.peek() == incremental.peek()
    for now in (25.0, 50.0, 100.0):
        assert rebuilt.pop_due(now) == incremental.pop_due(now)
