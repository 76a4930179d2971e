"""A recipient's webhook endpoint, validated once when it is built."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from yarl import URL

from seabus.connectors.errors import WebhookConfigError
from seabus.connectors.webhooks.signing import decode_secret

__all__ = ["WebhookEndpoint"]


@dataclass(frozen=True, kw_only=True)
class WebhookEndpoint:
    """Where and how one recipient receives webhooks.

    ``secrets`` holds every active secret (two during a rotation); each attempt
    is signed with all of them. Public endpoints must use https so allegations
    never cross a network in clear; plain http is accepted only together with
    ``allow_private`` (a receiver on the bus's own host or private network,
    which is also the configured exception to the SSRF guard). ``max_attempts``
    overrides the deliverer's retry policy for this endpoint. The URL and the
    secrets are left out of ``repr`` so they never reach a log.
    """

    recipient: str
    url: str = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)
    enabled: bool = True
    timeout_s: float = 10.0
    allow_private: bool = False
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        where = f"webhook endpoint of {self.recipient}"
        try:
            parsed = URL(self.url)
        except (TypeError, ValueError) as exc:
            raise WebhookConfigError(f"the {where} is not a valid URL") from exc
        if parsed.scheme not in ("https", "http") or not parsed.host:
            raise WebhookConfigError(f"the {where} must be an absolute https:// URL with a host name")
        if parsed.scheme == "http" and not self.allow_private:
            raise WebhookConfigError(
                f"the {where} uses plain http; use https, or set allow_private for a "
                "receiver on a private network"
            )
        if not self.secrets:
            raise WebhookConfigError(f"the {where} has no secret; configure at least one")
        for secret in self.secrets:
            decode_secret(secret)
        if self.timeout_s <= 0:
            raise WebhookConfigError(f"the {where} needs a positive timeout_s")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise WebhookConfigError(f"the {where} needs max_attempts of at least 1")

    @property
    def host(self) -> str:
        """The host name alone: what audit records and logs may show."""
        return URL(self.url).host or ""

    @property
    def key(self) -> str:
        """Stable identity of this recipient's endpoint; a changed URL is a new endpoint."""
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        return f"{self.recipient}:{digest}"
