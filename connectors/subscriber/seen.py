"""Which notifications a subscriber has already handed to its application.

Kafka delivers at least once: after a crash between the handler and the offset
commit, or when the bus re-publishes a notification (same ``notification_id``),
the same notification comes again. The subscriber asks a seen-store first and
skips what it has handled. :class:`InMemorySeenStore` forgets on restart (the
committed offset still covers ordinary restarts); :class:`SqliteSeenStore`
keeps the ids in a file, so nothing is handled twice across restarts either,
even when offsets are lost or the group is reset.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from seabus.connectors.closing import ClosesOnExit

__all__ = ["InMemorySeenStore", "SeenStore", "SqliteSeenStore"]


class SeenStore(Protocol):
    """Remembers (recipient, notification id) pairs the application has handled."""

    def is_seen(self, recipient: str, notification_id: str) -> bool: ...

    def mark_seen(self, recipient: str, notification_id: str) -> None: ...


class InMemorySeenStore:
    """The most recent ``max_entries`` ids, oldest forgotten first (an LRU)."""

    def __init__(self, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def is_seen(self, recipient: str, notification_id: str) -> bool:
        key = (recipient, notification_id)
        if key in self._ids:
            self._ids.move_to_end(key)
            return True
        return False

    def mark_seen(self, recipient: str, notification_id: str) -> None:
        self._ids[(recipient, notification_id)] = None
        self._ids.move_to_end((recipient, notification_id))
        while len(self._ids) > self.max_entries:
            self._ids.popitem(last=False)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    recipient TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (recipient, notification_id)
)
"""


class SqliteSeenStore(ClosesOnExit):
    """Handled ids in a SQLite file; each :meth:`mark_seen` is committed before it returns.

    Volumes are small (hundreds of notifications a year per Member State), so
    the table is never pruned. One file may serve several subscribers: rows
    are keyed by recipient as well.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM seen").fetchone()
        return int(count)

    def is_seen(self, recipient: str, notification_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM seen WHERE recipient = ? AND notification_id = ?",
                (recipient, notification_id),
            ).fetchone()
        return row is not None

    def mark_seen(self, recipient: str, notification_id: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO seen (recipient, notification_id, seen_at) VALUES (?, ?, ?)",
                (recipient, notification_id, datetime.now(UTC).isoformat()),
            )
