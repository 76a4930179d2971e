"""Standard Webhooks signatures: sign outgoing deliveries, verify incoming ones.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}`` with
HMAC-SHA256 under each secret (``whsec_<base64>``); the ``webhook-signature``
header carries one ``v1,<base64>`` entry per active secret, space-separated, so
a receiver that knows either the old or the new secret accepts a delivery during
rotation.

The HMAC is computed over the raw body bytes here rather than through
``standardwebhooks.Webhook.verify``, which decodes the body as text (non-UTF-8
bodies fail), reads the wall clock (tests cannot pin "now") and fails on a
malformed signature entry instead of skipping it. Output is byte-for-byte the
same as the reference package; ``tests/connectors/test_verify_signing.py``
checks both directions against it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from seabus.connectors.errors import WebhookConfigError, WebhookVerificationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "decode_secret",
    "generate_secret",
    "sign_headers",
    "signature",
    "verify_webhook",
]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = timedelta(minutes=5)


def generate_secret(*, nbytes: int = 32) -> str:
    """A fresh random secret in the ``whsec_<base64>`` form, for a new endpoint or a rotation."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(nbytes)).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret (the prefix is optional)."""
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookConfigError(
            "a webhook secret is not valid base64; use the whsec_<base64> form "
            "(generate one with connectors.webhooks.generate_secret())"
        ) from exc
    if len(key) < 16:
        raise WebhookConfigError(
            f"a webhook secret is only {len(key)} bytes long; use at least 16 random bytes "
            "(generate one with connectors.webhooks.generate_secret())"
        )
    return key


def signature(*, key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature entry."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_headers(
    *, webhook_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every active secret."""
    if not secrets:
        raise WebhookConfigError("a webhook endpoint has no secret; configure at least one")
    if not webhook_id or any(c in webhook_id for c in " ,\r\n"):
        raise WebhookConfigError(
            f"webhook id {webhook_id!r} is empty or contains spaces, commas or line breaks"
        )
    ts = int(timestamp.timestamp())
    entries = [
        signature(key=decode_secret(s), webhook_id=webhook_id, timestamp=ts, body=body) for s in secrets
    ]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(entries),
    }


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> None:
    """Check a webhook's signature and freshness; raise :class:`WebhookVerificationError` if bad.

    ``secret`` may be several secrets (a receiver rotating its own side). The
    timestamp must lie within ``tolerance`` of ``now`` either way, which bounds
    replays; receivers should also drop repeated ``webhook-id`` values.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if not lowered.get(h)]
    if missing:
        raise WebhookVerificationError(
            f"the request lacks the {', '.join(missing)} header(s); it was not sent by a "
            "Standard Webhooks sender, reject it"
        )
    webhook_id = lowered["webhook-id"]
    raw_ts = lowered["webhook-timestamp"].strip()
    if not (raw_ts.isascii() and raw_ts.isdigit()):  # int() also takes other scripts' digits
        raise WebhookVerificationError(
            f"webhook-timestamp {raw_ts[:20]!r} is not a Unix time in whole seconds; reject it"
        )
    ts = int(raw_ts)
    current = (now or datetime.now(UTC)).timestamp()
    if ts < current - tolerance.total_seconds():
        raise WebhookVerificationError(
            f"webhook-timestamp is {int(current - ts)} s old, beyond the "
            f"{int(tolerance.total_seconds())} s tolerance; a replay or a badly wrong clock, "
            "reject it (check the sender's clock if this repeats)"
        )
    if ts > current + tolerance.total_seconds():
        raise WebhookVerificationError(
            f"webhook-timestamp is {int(ts - current)} s in the future, beyond the "
            f"{int(tolerance.total_seconds())} s tolerance; check the sender's clock"
        )
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise WebhookConfigError("verify_webhook was given no secret; pass the shared secret(s)")
    offered: set[bytes] = set()
    for entry in lowered["webhook-signature"].split():
        version, sep, value = entry.partition(",")
        if sep and version == "v1":
            offered.add(value.encode("utf-8", "surrogateescape"))
    for s in secrets:
        expected = signature(key=decode_secret(s), webhook_id=webhook_id, timestamp=ts, body=body)
        digest = expected.removeprefix("v1,")
        # Bytes: compare_digest refuses non-ASCII str, and a header is the sender's to choose.
        if any(hmac.compare_digest(digest.encode(), candidate) for candidate in offered):
            return
    raise WebhookVerificationError(
        "no webhook-signature entry matches the configured secret(s): the body was altered "
        "or sender and receiver hold different secrets; reject it and compare secrets"
    )
