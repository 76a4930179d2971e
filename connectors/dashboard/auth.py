"""Who may see the dashboard: a bearer token for the API, a session cookie for the pages.

A person signs in once with their token (a form); the answer sets an HttpOnly,
SameSite=Strict cookie naming a random session kept in memory (a restart signs
everyone out). The session remembers the token's hash, so removing a user from
``dashboard.yaml`` ends their sessions at once. The JSON API accepts either the
bearer token (scripts, monitoring) or the cookie (the page's own polling).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from seabus.connectors.dashboard.config import TokenBook
from seabus.connectors.gateway.auth import bearer_token, token_sha256, unauthenticated

__all__ = ["COOKIE", "TOKEN_PREFIX", "DashboardAuth", "SessionStore", "new_dashboard_token"]

COOKIE = "seabus_session"
TOKEN_PREFIX = "sbd_"
REALM = "seabus-dashboard"
"""Marks dashboard tokens (agency tokens start ``sbk_``), so a leaked one is recognised."""


def new_dashboard_token() -> str:
    """A fresh random dashboard token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class _Session:
    user: str
    token_sha256: str
    expires: float


class SessionStore:
    """Signed-in sessions by random id, oldest dropped first beyond ``max_sessions``."""

    def __init__(self, *, ttl_s: float, max_sessions: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    def open(self, user: str, token_hash: str) -> str:
        now = time.monotonic()
        for sid in [s for s, v in self._sessions.items() if v.expires <= now]:
            del self._sessions[sid]
        while len(self._sessions) >= self.max_sessions:
            self._sessions.popitem(last=False)
        sid = secrets.token_urlsafe(32)
        self._sessions[sid] = _Session(user=user, token_sha256=token_hash, expires=now + self.ttl_s)
        return sid

    def get(self, sid: str) -> _Session | None:
        session = self._sessions.get(sid)
        if session is None:
            return None
        if session.expires <= time.monotonic():
            del self._sessions[sid]
            return None
        return session

    def close(self, sid: str) -> None:
        self._sessions.pop(sid, None)


class DashboardAuth:
    """Checks tokens against the :class:`TokenBook` and sessions against the :class:`SessionStore`."""

    def __init__(self, *, book: TokenBook, sessions: SessionStore) -> None:
        self.book = book
        self.sessions = sessions

    def user_for_token(self, token: str) -> str | None:
        return self.book.user_for(token_sha256(token))

    def session_user(self, request: web.Request) -> str | None:
        """The signed-in user of the request's cookie, or None."""
        sid = request.cookies.get(COOKIE)
        session = self.sessions.get(sid) if sid else None
        if session is None:
            return None
        if self.book.user_for(session.token_sha256) is None:  # token revoked since sign-in
            self.sessions.close(sid or "")
            return None
        return session.user

    def api_user(self, request: web.Request) -> str:
        """The user of a bearer token or a session cookie, or a 401 problem."""
        token = bearer_token(request)
        if token is not None:
            user = self.user_for_token(token)
            if user is None:
                raise unauthenticated(
                    "this token is not a dashboard token of this bus; check it, or ask the operators to add "
                    "its hash to dashboard.yaml (see docs/ONCALL.md)",
                    error="invalid_token",
                    realm=REALM,
                )
            return user
        user = self.session_user(request)
        if user is None:
            raise unauthenticated(
                "send a dashboard token as `Authorization: Bearer <token>`, or sign in at /dashboard/login",
                error=None,
                realm=REALM,
            )
        return user

    def sign_in(self, token: str) -> tuple[str, str] | None:
        """A new session id and the user for a valid token, or None."""
        token = token.strip()
        if not token:
            return None
        user = self.user_for_token(token)
        if user is None:
            return None
        return self.sessions.open(user, token_sha256(token)), user
