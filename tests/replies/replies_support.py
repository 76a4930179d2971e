"""Plain HTTP for the reply tests, and signing a reply the way a Member State would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from seabus.connectors.webhooks import sign_headers

FRA_TOKEN = "sbk_test-fra-reply-token"
KEN_TOKEN = "sbk_test-ken-reply-token"
AGENCY_TOKEN = "sbk_test-minusca-token"


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST and return (status, JSON body, headers), problems included."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reply(aid: str, **fields: Any) -> bytes:
    return json.dumps(
        {"allegation_id": aid, "kind": "ACKNOWLEDGED", "responder": "SYNTH-DESK-FRA", **fields}
    ).encode()


def signed(
    body: bytes, secret: str, *, at: datetime | None = None, webhook_id: str | None = None
) -> dict[str, str]:
    return sign_headers(
        webhook_id=webhook_id or f"msg_{uuid.uuid4().hex}",
        timestamp=at or datetime.now(UTC),
        body=body,
        secrets=[secret],
    )
