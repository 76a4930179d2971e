"""Who a recipient's reply token belongs to, shared by every route a Member State calls.

``POST /v1/responses``, the signed webhook replies and a state's own view
(:mod:`seabus.connectors.gateway.recipients`) authenticate the same tokens the same
way, so the token book lives here once, on the app under
:data:`RECIPIENT_AUTH`, made by whichever route module registers first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import structlog
from aiohttp import web

from seabus.connectors.gateway.auth import AgencyAuth, bearer_token, token_sha256, unauthenticated
from seabus.connectors.gateway.config import GatewayConfig
from seabus.connectors.gateway.problems import HttpProblem
from seabus.connectors.gateway.state import GatewayState
from seabus.streams.config.recipients import RecipientsDirectory

__all__ = ["REALM", "RECIPIENT_AUTH", "WRONG_RECIPIENT", "RecipientAuth", "ensure_recipient_auth"]

log = structlog.get_logger(__name__)

REALM = "seabus-replies"
WRONG_RECIPIENT = "urn:seabus:problem:wrong-recipient"


class RecipientAuth:
    """Maps token hashes to the recipient each token may answer for."""

    def __init__(self, *, tokens: Mapping[str, str]) -> None:
        self._by_hash = dict(tokens)

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, str]) -> RecipientAuth:
        """From plain ``token → recipient`` (tests and embedding); the tokens are hashed at once."""
        return cls(tokens={token_sha256(t): r for t, r in tokens.items()})

    @classmethod
    def from_config(cls, config: GatewayConfig, directory: RecipientsDirectory | None) -> RecipientAuth:
        """gateway.yaml's ``recipients:`` hashes, plus tokens in the directory's ``reply_token_env`` variables."""
        tokens = {r.token_sha256: r.recipient for r in config.recipients}
        for recipient in directory.recipients if directory is not None else ():
            value = os.environ.get(recipient.reply_token_env) if recipient.reply_token_env else None
            if value:
                tokens.setdefault(token_sha256(value), recipient.id)
        return cls(tokens=tokens)

    @property
    def recipients(self) -> frozenset[str]:
        return frozenset(self._by_hash.values())

    def recipient_for(self, token: str) -> str | None:
        return self._by_hash.get(token_sha256(token))

    def authenticate(self, request: web.Request, *, agencies: AgencyAuth | None = None) -> str:
        """The calling recipient, or a 401 (403 for an agency's token) problem."""
        token = bearer_token(request)
        if token is None:
            raise unauthenticated(
                "send your office's reply token as `Authorization: Bearer <token>`", error=None, realm=REALM
            )
        recipient = self.recipient_for(token)
        if recipient is not None:
            return recipient
        entity = agencies.entity_for(token) if agencies is not None else None
        if entity is not None:
            raise HttpProblem(
                403,
                type_=WRONG_RECIPIENT,
                title="Forbidden",
                detail=f"this token belongs to the agency {entity}, which publishes allegations; this route "
                "needs the reply token of the Member State or office that was notified",
            )
        raise unauthenticated(
            "this token is not configured on the gateway; check it, or ask the operators to add its hash "
            "(`seabus gateway token --recipient XXX`) under `recipients:` in gateway.yaml",
            error="invalid_token",
            realm=REALM,
        )


RECIPIENT_AUTH: web.AppKey[RecipientAuth] = web.AppKey("seabus_recipient_auth", RecipientAuth)


def ensure_recipient_auth(
    app: web.Application,
    gw: GatewayState,
    *,
    auth: RecipientAuth | None = None,
    directory: RecipientsDirectory | None = None,
) -> RecipientAuth:
    """The app's one :class:`RecipientAuth`, made on first use (later calls get the same one)."""
    if RECIPIENT_AUTH in app:
        return app[RECIPIENT_AUTH]
    made = auth or RecipientAuth.from_config(gw.config, directory)
    app[RECIPIENT_AUTH] = made
    if not made.recipients:
        log.warning(
            "no recipient reply tokens configured: the recipients' routes refuse every request (401); add "
            "some with `seabus gateway token --recipient XXX`"
        )
    return made
