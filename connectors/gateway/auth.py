"""Bearer tokens per agency: a token proves *which* reporting entity is calling.

Only SHA-256 hashes are configured; a presented token is hashed and looked up.
Tokens are long random strings, so a plain hash (no salt, no slow KDF) is
enough: nothing short or guessable is ever hashed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping

from aiohttp import web

from seabus.connectors.gateway.config import AgencyToken
from seabus.connectors.gateway.problems import HttpProblem, ProblemType

__all__ = ["TOKEN_PREFIX", "AgencyAuth", "bearer_token", "new_token", "token_sha256"]

TOKEN_PREFIX = "sbk_"
"""Marks seabus tokens, so secret scanners and people recognise a leaked one."""


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AgencyAuth:
    """Maps token hashes to the reporting entity each token may publish as."""

    def __init__(self, *, tokens: Mapping[str, str]) -> None:
        self._by_hash = dict(tokens)

    @classmethod
    def from_agencies(cls, agencies: Iterable[AgencyToken]) -> AgencyAuth:
        return cls(tokens={a.token_sha256: a.entity for a in agencies})

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, str]) -> AgencyAuth:
        """From plain ``token → entity`` (tests and embedding); the tokens are hashed at once."""
        return cls(tokens={token_sha256(t): entity for t, entity in tokens.items()})

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(self._by_hash.values())

    def entity_for(self, token: str) -> str | None:
        return self._by_hash.get(token_sha256(token))

    def authenticate(self, request: web.Request) -> str:
        """The calling agency's entity code, or a 401 problem."""
        token = bearer_token(request)
        if token is None:
            raise unauthenticated("send your agency's token as `Authorization: Bearer <token>`", error=None)
        entity = self.entity_for(token)
        if entity is None:
            raise unauthenticated(
                "this token is not configured on the gateway; check it, or ask the operators to add "
                "its hash (`seabus gateway token ENTITY`) to gateway.yaml",
                error="invalid_token",
            )
        return entity


def unauthenticated(detail: str, *, error: str | None, realm: str = "seabus") -> HttpProblem:
    """A 401 problem with the Bearer challenge of ``realm`` (agencies, replies, dashboard)."""
    challenge = f'Bearer realm="{realm}"' + (f', error="{error}"' if error else "")
    return HttpProblem(
        401,
        type_=ProblemType.UNAUTHENTICATED,
        title="Unauthenticated",
        detail=detail,
        headers={"WWW-Authenticate": challenge},
    )
