"""``Idempotency-Key``: a retried request gets the first answer back instead of a second publish.

Kept in memory, bounded (oldest first out) and with a time to live, so a
restart forgets keys. That is safe: a retried request then publishes again,
the event ids are the same, and the bus drops duplicate event ids — the key
only saves the work and gives the client the same receipts.

Semantics follow the IETF ``Idempotency-Key`` header draft: same key and same
body → the stored answer; same key and a different body → 422; same key while
the first request is still running → 409. Keys are scoped by agency. Only
success (202) is stored: after a failure, the retry does the work again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

from seabus.connectors.gateway.problems import HttpProblem, ProblemType

__all__ = [
    "REPLAYED_HEADER",
    "Claim",
    "ClaimResult",
    "IdempotencyStore",
    "KeyWording",
    "StoredResponse",
    "answer_once",
]

REPLAYED_HEADER = "Idempotent-Replayed"
"""Set on an answer that is the stored first answer of the same key."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


class ClaimResult(StrEnum):
    NEW = "new"  # the caller does the work, then complete() or release()
    REPLAY = "replay"  # answer with Claim.response
    CONFLICT = "conflict"  # same key, different body
    IN_PROGRESS = "in_progress"  # same key, first request not finished


@dataclass(frozen=True, slots=True)
class Claim:
    result: ClaimResult
    response: StoredResponse | None = None


@dataclass(slots=True)
class _Entry:
    fingerprint: str
    expires_at: float
    response: StoredResponse | None  # None while in progress


class IdempotencyStore:
    """Answers per (agency, key), up to ``max_keys`` of them for ``ttl_s`` seconds each."""

    def __init__(
        self, *, max_keys: int = 10_000, ttl_s: float = 86_400, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_keys < 1 or ttl_s <= 0:
            raise ValueError("max_keys must be at least 1 and ttl_s positive")
        self.max_keys = max_keys
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, scope: str, key: str, fingerprint: str) -> Claim:
        """Register an attempt; see :class:`ClaimResult` for what the caller must do."""
        now = self._clock()
        self._expire(now)
        entry = self._entries.get((scope, key))
        if entry is not None:
            if entry.fingerprint != fingerprint:
                return Claim(ClaimResult.CONFLICT)
            if entry.response is None:
                return Claim(ClaimResult.IN_PROGRESS)
            return Claim(ClaimResult.REPLAY, entry.response)
        while len(self._entries) >= self.max_keys:
            self._entries.popitem(last=False)
        self._entries[(scope, key)] = _Entry(fingerprint, now + self.ttl_s, None)
        return Claim(ClaimResult.NEW)

    def remember(self, scope: str, key: str, fingerprint: str, response: StoredResponse) -> None:
        """Seed an answer given before a restart (see :mod:`seabus.connectors.gateway.reply_memory`)."""
        self._expire(self._clock())
        self._entries.pop((scope, key), None)
        while len(self._entries) >= self.max_keys:
            self._entries.popitem(last=False)
        self._entries[(scope, key)] = _Entry(fingerprint, self._clock() + self.ttl_s, response)

    def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        """Store the answer of a claimed key (replayed until it expires)."""
        entry = self._entries.get((scope, key))
        if entry is not None:
            entry.response = response

    def release(self, scope: str, key: str) -> None:
        """Forget a claimed key whose request failed, so a retry does the work again."""
        entry = self._entries.get((scope, key))
        if entry is not None and entry.response is None:
            del self._entries[(scope, key)]

    def _expire(self, now: float) -> None:
        # Entries are kept in creation order with one TTL, so the expired ones are at the front.
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.expires_at > now:
                return
            self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class KeyWording:
    """How a route names its key in the 422 and 409 problems (Idempotency-Key, webhook-id)."""

    reused_title: str
    reused_detail: str
    in_progress_detail: str


async def answer_once(
    store: IdempotencyStore,
    scope: str,
    key: str,
    fingerprint: str,
    work: Callable[[], Awaitable[web.Response]],
    *,
    wording: KeyWording,
) -> web.Response:
    """``work()``'s answer, done once per (scope, key): a retry gets the stored 202 back.

    Same key and another body is a 422, the same key while the first is running a
    409; a failed attempt is forgotten, so its retry does the work again.
    """
    claim = store.claim(scope, key, fingerprint)
    if claim.result is ClaimResult.REPLAY:
        assert claim.response is not None
        stored = claim.response
        return web.Response(
            status=stored.status,
            body=stored.body,
            content_type=stored.content_type,
            headers={REPLAYED_HEADER: "true"},
        )
    if claim.result is ClaimResult.CONFLICT:
        raise HttpProblem(
            422,
            type_=ProblemType.IDEMPOTENCY_KEY_REUSED,
            title=wording.reused_title,
            detail=wording.reused_detail,
        )
    if claim.result is ClaimResult.IN_PROGRESS:
        raise HttpProblem(
            409,
            type_=ProblemType.IDEMPOTENCY_KEY_IN_USE,
            title="Request In Progress",
            detail=wording.in_progress_detail,
            headers={"Retry-After": "1"},
        )
    try:
        response = await work()
    except BaseException:
        store.release(scope, key)
        raise
    assert isinstance(response.body, bytes)
    store.complete(scope, key, StoredResponse(response.status, response.body, "application/json"))
    return response
