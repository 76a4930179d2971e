"""A due-time index, so each tick does work in proportion to what is due.

A min-heap of ``(fire_at, key)`` pairs with lazy invalidation: ``_current``
holds each key's live time, and a heap entry whose time no longer matches is
stale and dropped when it reaches the top. Rescheduling or removing a key is
therefore O(1) or O(log n) without searching the heap. The index is derived
state: it is rebuilt from the stored obligations after a restart. Per entry it
holds one tuple, one float and a reference to the key string, nothing more.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

__all__ = ["DueIndex"]

_COMPACT_SLACK = 1024


class DueIndex:
    """Keys ordered by the epoch second (float) at which they next need attention."""

    __slots__ = ("_current", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._current: dict[str, float] = {}

    def schedule(self, key: str, fire_at: float) -> None:
        """Set (or move) the key's time; the old entry, if any, becomes stale."""
        if self._current.get(key) == fire_at:
            return
        self._current[key] = fire_at
        heapq.heappush(self._heap, (fire_at, key))
        if len(self._heap) > 2 * len(self._current) + _COMPACT_SLACK:
            self._compact()

    def remove(self, key: str) -> None:
        """Forget the key; its heap entry is dropped lazily."""
        self._current.pop(key, None)

    def pop_due(self, now: float, limit: int | None = None) -> list[str]:
        """Remove and return, earliest first, the keys whose time is at or before ``now``:
        all of them, or the first ``limit`` (the rest stay, due, for the next call)."""
        heap, current = self._heap, self._current
        due: list[str] = []
        while heap and heap[0][0] <= now and (limit is None or len(due) < limit):
            fire_at, key = heapq.heappop(heap)
            if current.get(key) == fire_at:
                del current[key]
                due.append(key)
        return due

    def peek(self) -> float | None:
        """The earliest live time, or None when empty (drops stale entries on top)."""
        heap, current = self._heap, self._current
        while heap and current.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def rebuild(self, items: Iterable[tuple[str, float]]) -> None:
        """Replace the contents in O(n) (heapify), e.g. from stored values after a restart."""
        self._current = dict(items)
        self._compact()

    def fire_at(self, key: str) -> float | None:
        return self._current.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._current

    def __len__(self) -> int:
        return len(self._current)

    def _compact(self) -> None:
        self._heap = [(fire_at, key) for key, fire_at in self._current.items()]
        heapq.heapify(self._heap)
