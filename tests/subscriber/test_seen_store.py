"""The seen-stores alone: an LRU in memory, a SQLite file that survives reopening."""

from __future__ import annotations

from pathlib import Path

from seabus.connectors.subscriber import InMemorySeenStore, SqliteSeenStore


def test_the_memory_store_forgets_the_least_recently_used_first() -> None:
    store = InMemorySeenStore(max_entries=2)
    store.mark_seen("FRA", "N-1")
    store.mark_seen("FRA", "N-2")
    assert store.is_seen("FRA", "N-1")  # N-1 is now the most recently used
    store.mark_seen("FRA", "N-3")
    assert [store.is_seen("FRA", n) for n in ("N-1", "N-2", "N-3")] == [True, False, True]


def test_the_sqlite_store_survives_reopening_and_keeps_recipients_apart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "seen.sqlite3"
    with SqliteSeenStore(path) as store:
        store.mark_seen("FRA", "N-1")
        store.mark_seen("FRA", "N-1")
    with SqliteSeenStore(path) as store:
        assert store.is_seen("FRA", "N-1")
        assert not store.is_seen("KEN", "N-1")
        assert len(store) == 1
