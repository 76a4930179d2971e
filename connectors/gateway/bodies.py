"""Reading a JSON request body within limits, and the ``Idempotency-Key`` header.

Shared by every POST route, so each answers 413, 415 and malformed JSON the
same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from seabus.connectors.gateway.problems import HttpProblem, ProblemType

__all__ = [
    "IDEMPOTENCY_HEADER",
    "idempotency_key",
    "nested_too_deep",
    "parse_json",
    "read_body",
    "read_json_body",
    "too_large",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def nested_too_deep() -> HttpProblem:
    """JSON nested deeper than Python's parser recurses: a 400, never the parser's crash."""
    return HttpProblem(
        400,
        type_=ProblemType.MALFORMED_REQUEST,
        title="Malformed Request",
        detail="the JSON body is nested too deeply to parse; no seabus body nests more than a few levels",
    )


def too_large(detail: str) -> HttpProblem:
    return HttpProblem(413, type_=ProblemType.TOO_LARGE, title="Content Too Large", detail=detail)


async def read_body(request: web.Request, *, max_bytes: int, limit: str) -> bytes:
    """The raw body, or a problem: 413 when it is larger than ``max_bytes`` (``limit`` says what
    is allowed), 415 when it is declared as something else than JSON."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(f"the body is {request.content_length} bytes; {limit}")
    if "Content-Type" in request.headers:
        ctype = request.content_type
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise HttpProblem(
                415,
                type_=ProblemType.UNSUPPORTED_MEDIA_TYPE,
                title="Unsupported Media Type",
                detail=f"the body is {ctype}; send JSON with Content-Type: application/json",
            )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(f"the body is larger than allowed; {limit}") from None
    if len(raw) > max_bytes:
        raise too_large(f"the body is {len(raw)} bytes; {limit}")
    return raw


def parse_json(raw: bytes, *, expected: str) -> Any:
    """The parsed body, or a 400 that says where it broke and what to send (``expected``)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise nested_too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise HttpProblem(
            400,
            type_=ProblemType.MALFORMED_REQUEST,
            title="Malformed Request",
            detail=f"the body is not valid UTF-8 JSON{where}; send {expected}",
        ) from None


async def read_json_body(
    request: web.Request, *, max_bytes: int, expected: str = "one event object or an array of events"
) -> tuple[bytes, Any]:
    """The raw body and its parsed JSON, or a problem (413, 415, 400)."""
    limit = (
        f"this gateway accepts at most {max_bytes} bytes per request; split the batch into smaller requests"
    )
    raw = await read_body(request, max_bytes=max_bytes, limit=limit)
    return raw, parse_json(raw, expected=expected)


def idempotency_key(request: web.Request) -> str | None:
    """The ``Idempotency-Key`` header (1-255 visible ASCII characters), if sent."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if key.startswith('"') and key.endswith('"') and len(key) >= 2:
        key = key[1:-1]  # the draft standard sends it as a quoted structured-field string
    if not _KEY.match(key):
        raise HttpProblem(
            400,
            type_=ProblemType.MALFORMED_REQUEST,
            title="Malformed Request",
            detail=f"{IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters, e.g. a UUID",
        )
    return key
