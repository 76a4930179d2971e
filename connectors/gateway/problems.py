"""RFC 9457 problem details: every error the gateway answers is ``application/problem+json``.

Handlers ``raise HttpProblem(...)``; :func:`problem_middleware` turns it (and
aiohttp's own 404/405/413) into a response, so no route hand-writes an error
body and the OpenAPI document describes one shape for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiohttp import web

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_SCHEMA",
    "HttpProblem",
    "ProblemType",
    "json_pointer",
    "problem_middleware",
    "problem_response",
]

log = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemType:
    """The ``type`` URIs of seabus problems (documented in docs/PUBLISHING.md)."""

    VALIDATION_FAILED = "urn:seabus:problem:validation-failed"
    MALFORMED_REQUEST = "urn:seabus:problem:malformed-request"
    UNAUTHENTICATED = "urn:seabus:problem:unauthenticated"
    WRONG_AGENCY = "urn:seabus:problem:wrong-agency"
    NOT_OWNER = "urn:seabus:problem:not-owner"
    TOO_LARGE = "urn:seabus:problem:too-large"
    UNSUPPORTED_MEDIA_TYPE = "urn:seabus:problem:unsupported-media-type"
    IDEMPOTENCY_KEY_REUSED = "urn:seabus:problem:idempotency-key-reused"
    IDEMPOTENCY_KEY_IN_USE = "urn:seabus:problem:idempotency-key-in-use"
    KAFKA_UNAVAILABLE = "urn:seabus:problem:kafka-unavailable"
    GENERIC = "about:blank"


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. `errors` lists every validation problem.",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer", "description": "position of the event in a batch"},
                    "event_id": {"type": ["string", "null"]},
                    "path": {
                        "type": "string",
                        "description": "field path, e.g. allegation.subjects[0].nationality",
                    },
                    "pointer": {"type": "string", "description": "JSON pointer into the request body"},
                    "detail": {"type": "string"},
                },
                "required": ["path", "pointer", "detail"],
            },
        },
        "accepted": {
            "type": "array",
            "description": "on 503: events Kafka did acknowledge before the failure",
            "items": {"$ref": "#/components/schemas/AcceptedEvent"},
        },
        "not_accepted": {
            "type": "array",
            "description": "on 503: event ids Kafka did not acknowledge; send them again",
            "items": {"type": "string"},
        },
    },
    "required": ["type", "title", "status"],
}


class HttpProblem(Exception):
    """Raised by a handler to answer with a problem; not a SeabusError (it is a reply, not a fault)."""

    def __init__(
        self,
        status: int,
        *,
        type_: str = ProblemType.GENERIC,
        title: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_response(problem: HttpProblem, *, instance: str | None = None) -> web.Response:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(problem.extensions)
    return web.Response(
        status=problem.status,
        body=json.dumps(body).encode(),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )


def json_pointer(path: str, *, index: int | None = None) -> str:
    """``allegation.subjects[0].nationality`` → ``#/allegation/subjects/0/nationality`` (RFC 6901)."""
    parts: list[str] = [] if index is None else [str(index)]
    for segment in path.replace("[", ".").replace("]", "").split("."):
        if segment:
            parts.append(segment.replace("~", "~0").replace("/", "~1"))
    return "#/" + "/".join(parts) if parts else "#"


_STATUS_TYPES = {413: ProblemType.TOO_LARGE, 415: ProblemType.UNSUPPORTED_MEDIA_TYPE}


@web.middleware
async def problem_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer :class:`HttpProblem` and aiohttp's HTTP errors as problem details."""
    try:
        return await handler(request)
    except HttpProblem as raised:
        return problem_response(raised, instance=request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        generic = HttpProblem(
            exc.status,
            type_=_STATUS_TYPES.get(exc.status, ProblemType.GENERIC),
            title=exc.reason,
            detail=_generic_detail(exc, request),
            headers=headers,
        )
        return problem_response(generic, instance=request.path)
    except Exception:  # a bug must still answer RFC 9457, and say nothing of the request
        log.exception("gateway request failed", path=request.path, method=request.method)
        failed = HttpProblem(
            500,
            title="Internal Server Error",
            detail="the gateway failed on this request; nothing is known to have been accepted. "
            "The operators have the log; sending it again is safe (the bus drops duplicate ids).",
        )
        return problem_response(failed, instance=request.path)


def _generic_detail(exc: web.HTTPException, request: web.Request) -> str:
    if exc.status == 404:
        return f"there is no resource at {request.path}; see /openapi.json for the routes"
    if exc.status == 405:
        return f"{request.method} is not allowed on {request.path}; allowed: {exc.headers.get('Allow', '')}"
    if exc.status == 413:
        return "the request body is larger than this gateway accepts; send fewer events per request"
    return exc.text or exc.reason
