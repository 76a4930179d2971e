"""A Member State's (or office's) own view over HTTP: what it owes, by when, and what it was told.

A state could always read its topic over Kafka and answer over HTTP, but it could
not ask the bus "what do I owe, by when" without a Kafka client. These routes answer
with the same reply token as ``POST /v1/responses`` (:mod:`seabus.connectors.gateway.recipient_auth`),
and only about the token's own recipient:

- ``GET /v1/recipients/{recipient}/obligations``: every obligation of that recipient
  from the on-call read model (:class:`seabus.streams.views.ViewIndex`), open first;
- ``GET /v1/recipients/{recipient}/notifications``: the records of its own topic
  ``<prefix>.notify.<ID>`` (notifications, escalations, reply notices), oldest first,
  from a time or a cursor (:mod:`seabus.connectors.gateway.recipient_topic`);
- ``GET /v1/recipients/{recipient}/notices/{allegation_id}``: the formal notice (Note
  Verbale) of that allegation, PDF or HTML, rendered by :mod:`seabus.connectors.notices` from
  the latest notification on the recipient's own topic, so it says what that
  notification says and no more; 404 when the recipient was never notified of it.

The order of checks: 401 without a token or with an unknown one, 403 for an agency's
token, 404 for a path id that is no recipient at all, 403 for another recipient's id.
Nothing of another recipient is ever read for the answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import web

from seabus.connectors.gateway.openapi import OpenApiDocument, json_answer, problem_responses, query_parameter
from seabus.connectors.gateway.problems import HttpProblem, ProblemType
from seabus.connectors.gateway.recipient_auth import WRONG_RECIPIENT, RecipientAuth, ensure_recipient_auth
from seabus.connectors.gateway.recipient_topic import (
    ITEM_TYPES,
    RecipientTopic,
    TopicItem,
    TopicPage,
    latest_notification,
)
from seabus.connectors.gateway.responses import connection_of
from seabus.connectors.gateway.state import GATEWAY, GatewayState, RouteModule
from seabus.connectors.notices import (
    SUPPORTED_LANGUAGES,
    notice_reference,
    render_notice_html,
    render_notice_pdf,
)
from seabus.schemas.cloudevents import format_time
from seabus.schemas.errors import KafkaUnavailable
from seabus.schemas.models import Escalation, Notification, ReplyNotice
from seabus.streams.config.recipients import RecipientsDirectory, load_recipients
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.views import RecipientObligations, ViewIndex

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "NOTICE_PATH",
    "NOTIFICATIONS_PATH",
    "OBLIGATIONS_PATH",
    "RECIPIENT_VIEW",
    "RecipientView",
    "RecipientViewState",
    "decode_cursor",
    "encode_cursor",
    "recipient_routes",
]

OBLIGATIONS_PATH = "/v1/recipients/{recipient}/obligations"
NOTIFICATIONS_PATH = "/v1/recipients/{recipient}/notifications"
NOTICE_PATH = "/v1/recipients/{recipient}/notices/{allegation_id}"
NOTICE_FORMATS = ("pdf", "html")
NOTICE_MARGIN = timedelta(minutes=10)
"""How far before the read model's time of the latest notification the topic is read (clock slack)."""
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
NO_STORE = {"Cache-Control": "no-store"}
"""What a state was told is never kept by browsers or proxies."""
SECURITY: list[dict[str, list[str]]] = [{"recipientToken": []}]
TAGS = ["member states"]


class RecipientView(Protocol):
    """The read model the obligations route answers from (:class:`seabus.streams.views.ViewService` is one)."""

    @property
    def index(self) -> ViewIndex: ...


@dataclass(kw_only=True)
class RecipientViewState:
    """What the recipients' routes share: who may call, which ids exist, the read model and the topic reader."""

    auth: RecipientAuth
    known: frozenset[str]
    view: RecipientView
    topic: RecipientTopic
    clock: Callable[[], datetime]


RECIPIENT_VIEW: web.AppKey[RecipientViewState] = web.AppKey("seabus_recipient_view", RecipientViewState)


def recipient_routes(
    *,
    view: RecipientView,
    auth: RecipientAuth | None = None,
    directory: RecipientsDirectory | None = None,
    kafka: KafkaConnection | None = None,
    topic: RecipientTopic | None = None,
) -> RouteModule:
    """The route module of a recipient's own view.

    Defaults as for the reply routes: the directory from the settings, tokens from
    gateway.yaml and the directory (shared with ``POST /v1/responses``), the gateway's
    own Kafka cluster for reading the recipient's topic.
    """

    def register(app: web.Application, gw: GatewayState) -> None:
        known_directory = directory or load_recipients(gw.settings.resolve(gw.settings.recipients_file))
        tokens = ensure_recipient_auth(app, gw, auth=auth, directory=known_directory)
        reader = topic or RecipientTopic(
            kafka=kafka or connection_of(gw),
            prefix=gw.settings.topic_prefix,
            codec=gw.codec,
            request_timeout_s=min(gw.config.ack_timeout_s, 10.0),
        )
        app[RECIPIENT_VIEW] = RecipientViewState(
            auth=tokens,
            known=frozenset(known_directory.ids()) | tokens.recipients,
            view=view,
            topic=reader,
            clock=gw.clock,
        )
        app.router.add_get(OBLIGATIONS_PATH, get_obligations)
        app.router.add_get(NOTIFICATIONS_PATH, get_notifications)
        app.router.add_get(NOTICE_PATH, get_notice)
        describe_security(gw.openapi)
        gw.openapi.add_operation(OBLIGATIONS_PATH, "get", _obligations_operation(gw.openapi))
        gw.openapi.add_operation(NOTIFICATIONS_PATH, "get", _notifications_operation(gw.openapi))
        gw.openapi.add_operation(NOTICE_PATH, "get", _notice_operation())

    return register


def authorise(request: web.Request) -> str:
    """The path's recipient, once the token proved it is the caller (401, 403, 404 otherwise)."""
    state = request.app[RECIPIENT_VIEW]
    caller = state.auth.authenticate(request, agencies=request.app[GATEWAY].auth)
    wanted = request.match_info["recipient"]
    if wanted == caller:
        return caller
    if wanted not in state.known:
        raise HttpProblem(
            404,
            title="Not Found",
            detail=f"there is no recipient {wanted[:16]!r} on this bus; the path takes your own id "
            f"(ISO 3166-1 alpha-3, or OSC, OIOS, VRA): /v1/recipients/{caller}/...",
        )
    raise HttpProblem(
        403,
        type_=WRONG_RECIPIENT,
        title="Forbidden",
        detail=f"you are authenticated as {caller}; a Member State or office sees only its own "
        f"obligations and notifications, at /v1/recipients/{caller}/...",
    )


def _bad(title: str, detail: str) -> HttpProblem:
    return HttpProblem(400, type_=ProblemType.MALFORMED_REQUEST, title=title, detail=detail)


# --- GET /v1/recipients/{recipient}/obligations -------------------------------------------


async def get_obligations(request: web.Request) -> web.Response:
    recipient = authorise(request)
    state = request.app[RECIPIENT_VIEW]
    which = request.query.get("state", "all").lower()
    if which not in ("open", "all"):
        raise _bad("Unknown Filter Value", f"state takes open or all, not {which[:16]!r}")
    owed = state.view.index.obligations_of(recipient, state.clock(), open_only=which == "open")
    return web.json_response(owed.model_dump(mode="json"), headers=NO_STORE)


# --- GET /v1/recipients/{recipient}/notifications -------------------------------------------


def encode_cursor(recipient: str, positions: dict[int, int]) -> str:
    """An opaque cursor: where to go on from in each partition of the recipient's topic."""
    raw = json.dumps({"r": recipient, "p": {str(p): o for p, o in sorted(positions.items())}}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(recipient: str, cursor: str) -> dict[int, int]:
    """The positions of a cursor made by :func:`encode_cursor` for ``recipient``; a 400 problem otherwise."""
    wrong = _bad(
        "Invalid Cursor",
        "cursor is not one this gateway gave you; pass the `next` value of a previous answer unchanged",
    )
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        positions = {int(p): int(o) for p, o in data["p"].items()}
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise wrong from None
    if data.get("r") != recipient or any(p < 0 or o < 0 for p, o in positions.items()):
        raise wrong
    return positions


def _since(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(
            "Invalid Time", f"since must be an RFC 3339 time such as 2026-01-31T09:00:00Z, not {raw[:40]!r}"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _bad("Invalid Time", "since needs a time zone, e.g. 2026-01-31T09:00:00Z or +02:00")
    return value


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _bad("Invalid Limit", f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw[:16]!r}")
    return int(raw)


def _types(raw: str | None) -> frozenset[str]:
    if raw is None:
        return frozenset(ITEM_TYPES)
    asked = frozenset(v.strip().lower() for v in raw.split(",") if v.strip())
    unknown = sorted(asked - frozenset(ITEM_TYPES))
    if unknown or not asked:
        raise _bad(
            "Unknown Filter Value",
            f"type takes {', '.join(ITEM_TYPES)} (several separated by commas), not {', '.join(unknown)[:40]!r}",
        )
    return asked


def _item(item: TopicItem) -> dict[str, Any]:
    return {
        "type": item.type,
        "id": item.id,
        "allegation_id": item.allegation_id,
        "partition": item.partition,
        "offset": item.offset,
        "timestamp": format_time(item.timestamp),
        "record": item.record.model_dump(mode="json"),
    }


def page_body(recipient: str, page: TopicPage) -> dict[str, Any]:
    return {
        "recipient": recipient,
        "items": [_item(i) for i in page.items],
        "skipped": [{"partition": s.partition, "offset": s.offset, "reason": s.reason} for s in page.skipped],
        "next": encode_cursor(recipient, page.positions) if page.exists else None,
        "more": page.more,
    }


async def get_notifications(request: web.Request) -> web.Response:
    recipient = authorise(request)
    state = request.app[RECIPIENT_VIEW]
    query = request.query
    if "cursor" in query and "since" in query:
        raise _bad(
            "Conflicting Parameters", "give either since or cursor (the `next` of an answer), not both"
        )
    positions = decode_cursor(recipient, query["cursor"]) if "cursor" in query else None
    since = _since(query["since"]) if "since" in query else None
    limit = _limit(query.get("limit", str(DEFAULT_LIMIT)))
    types = _types(query.get("type"))
    try:
        page = await state.topic.read(recipient, since=since, positions=positions, limit=limit, types=types)
    except KafkaUnavailable as exc:
        raise _kafka_unavailable(request, exc) from None
    return web.json_response(page_body(recipient, page), headers=NO_STORE)


def _kafka_unavailable(request: web.Request, exc: KafkaUnavailable) -> HttpProblem:
    return HttpProblem(
        503,
        type_=ProblemType.KAFKA_UNAVAILABLE,
        title="Kafka Unavailable",
        detail=f"{exc}; nothing was read. Ask again after Retry-After seconds.",
        headers={"Retry-After": str(request.app[GATEWAY].config.retry_after_s)},
    )


# --- GET /v1/recipients/{recipient}/notices/{allegation_id} ----------------------------------


def notice_format(request: web.Request) -> str:
    """``?format=`` when given; else HTML for a client that accepts HTML and not PDF; else PDF."""
    named = request.query.get("format")
    if named is not None:
        if named.lower() not in NOTICE_FORMATS:
            raise _bad("Unknown Format", f"format takes pdf or html, not {named[:16]!r}")
        return named.lower()
    accept = request.headers.get("Accept", "").lower()
    return "html" if "text/html" in accept and "application/pdf" not in accept else "pdf"


def notice_language(request: web.Request) -> str:
    lang = request.query.get("lang", "en").lower()
    if lang not in SUPPORTED_LANGUAGES:
        raise _bad(
            "Unsupported Language",
            f"lang takes {' or '.join(SUPPORTED_LANGUAGES)} (English, French), not {lang[:16]!r}",
        )
    return lang


def _filename(reference: str, extension: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", reference).strip("-") + "." + extension


async def get_notice(request: web.Request) -> web.Response:
    recipient = authorise(request)
    state = request.app[RECIPIENT_VIEW]
    gw = request.app[GATEWAY]
    allegation_id = request.match_info["allegation_id"]
    form, lang = notice_format(request), notice_language(request)
    index = state.view.index
    seen = index.last_notified_at(allegation_id, recipient)
    try:
        notification = None
        if seen is not None:
            notification = await latest_notification(
                state.topic, recipient, allegation_id, not_before=seen - NOTICE_MARGIN
            )
        if notification is None:  # the read model lags, or the record times are off: read it all
            notification = await latest_notification(state.topic, recipient, allegation_id)
    except KafkaUnavailable as exc:
        raise _kafka_unavailable(request, exc) from None
    if notification is None:
        raise HttpProblem(
            404,
            title="Not Found",
            detail=f"{recipient} was never notified of allegation {allegation_id[:64]!r}: there is no formal "
            "notice of it for you. Check the reference (a notice exists once its notification is on your topic).",
        )
    options: dict[str, Any] = {
        "lang": lang,
        "reply_url": gw.config.public_url,
        "reporting_entity": index.reporting_entity(allegation_id),
    }
    reference = notice_reference(notification)
    headers = {**NO_STORE, "X-Content-Type-Options": "nosniff", "X-Notice-Reference": reference}
    if form == "html":
        html = render_notice_html(notification, **options)
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        headers["Content-Disposition"] = f'inline; filename="{_filename(reference, "html")}"'
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=headers)
    pdf = await asyncio.to_thread(render_notice_pdf, notification, **options)  # CPU work off the loop
    headers["Content-Disposition"] = f'inline; filename="{_filename(reference, "pdf")}"'
    return web.Response(body=pdf, content_type="application/pdf", headers=headers)


# --- the OpenAPI description ------------------------------------------------------------


def describe_security(doc: OpenApiDocument) -> None:
    doc.add_security_scheme(
        "recipientToken",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A Member State's or office's reply token (`seabus gateway token --recipient XXX`); "
            "its SHA-256 is listed under `recipients:` in gateway.yaml. The same token answers with "
            "POST /v1/responses.",
        },
    )


def recipient_parameter() -> dict[str, Any]:
    return {
        "name": "recipient",
        "in": "path",
        "required": True,
        "description": "Your own recipient id (ISO 3166-1 alpha-3, or OSC, OIOS, VRA); another's is 403.",
        "schema": {"type": "string", "pattern": "^([A-Z]{3}|OSC|OIOS|VRA)$"},
    }


def view_problem_responses(*statuses: int) -> dict[str, Any]:
    described = {
        400: "A query parameter is not one this route takes (the detail says which and why).",
        401: "No bearer token, or a token this gateway does not know.",
        403: "The token is another recipient's, or an agency's.",
        404: "There is no recipient with this id on the bus (for a notice: or you were never notified of "
        "the allegation).",
        503: "Kafka did not answer in time; nothing was read. Retry after Retry-After seconds.",
    }
    answers = problem_responses(*statuses)
    for status, text in described.items():
        if str(status) in answers:
            answers[str(status)]["description"] = text
    return answers


def _obligations_operation(doc: OpenApiDocument) -> dict[str, Any]:
    owed = doc.add_model(RecipientObligations)
    return {
        "summary": "What you owe, by when, and what you answered",
        "description": (
            "Every obligation of the recipient (acknowledge, decide on investigation, report the outcome, "
            "report action taken): open ones first, soonest due first (overdue ones lead), then those "
            "answered (SATISFIED, with the time and kind of the reply) or cancelled by a closing status. "
            "Built from the bus's topics: `caught_up` is false while the gateway is still reading history. "
            "Only the token's own recipient; no other state's obligations are ever included."
        ),
        "operationId": "recipientObligations",
        "tags": TAGS,
        "security": SECURITY,
        "parameters": [
            recipient_parameter(),
            query_parameter(
                "state",
                "open: only open obligations; all (default): answered and cancelled ones too.",
                {"type": "string", "enum": ["open", "all"], "default": "all"},
            ),
        ],
        "responses": {
            **json_answer(200, "The recipient's obligations.", owed),
            **view_problem_responses(400, 401, 403, 404),
        },
    }


def _notifications_operation(doc: OpenApiDocument) -> dict[str, Any]:
    records = {
        "notification": doc.add_model(Notification),
        "escalation": doc.add_model(Escalation),
        "reply_notice": doc.add_model(ReplyNotice),
    }
    item = doc.add_schema(
        "RecipientTopicItem",
        {
            "type": "object",
            "description": "One record of the recipient's topic; `record` is the Notification, Escalation or "
            "ReplyNotice as the bus wrote it (minimised for this recipient by routing).",
            "properties": {
                "type": {"type": "string", "enum": list(ITEM_TYPES)},
                "id": {
                    "type": "string",
                    "description": "notification_id, escalation_id or notice_id: stable across redeliveries",
                },
                "allegation_id": {"type": "string"},
                "partition": {"type": "integer"},
                "offset": {"type": "integer"},
                "timestamp": {"type": "string", "format": "date-time", "description": "Kafka's record time"},
                "record": {"oneOf": [{"$ref": ref} for ref in records.values()]},
            },
            "required": ["type", "id", "allegation_id", "partition", "offset", "timestamp", "record"],
        },
    )
    page = doc.add_schema(
        "RecipientNotificationsPage",
        {
            "type": "object",
            "properties": {
                "recipient": {"type": "string"},
                "items": {"type": "array", "items": {"$ref": item}},
                "skipped": {
                    "type": "array",
                    "description": "records that could not be decoded, by position and codec reason (never "
                    "their content); the bus's operators can look at them",
                    "items": {
                        "type": "object",
                        "properties": {
                            "partition": {"type": "integer"},
                            "offset": {"type": "integer"},
                            "reason": {"type": "string"},
                        },
                        "required": ["partition", "offset", "reason"],
                    },
                },
                "next": {
                    "type": ["string", "null"],
                    "description": "pass as `cursor` to go on after this page (now, or later to poll for "
                    "what arrived since); null when the topic does not exist yet",
                },
                "more": {
                    "type": "boolean",
                    "description": "true when more records were already there after this page",
                },
            },
            "required": ["recipient", "items", "skipped", "next", "more"],
        },
    )
    return {
        "summary": "What you were told: your notifications, escalations and reply notices",
        "description": (
            "The records of your own topic `<prefix>.notify.<ID>`, oldest first (by Kafka record time "
            "across partitions), from `since` or from a `cursor`, at most `limit` per answer. Every type "
            f"by default ({', '.join(ITEM_TYPES)}); `type` keeps only some. A record that cannot be "
            "decoded is listed in `skipped` and never fails the request."
        ),
        "operationId": "recipientNotifications",
        "tags": TAGS,
        "security": SECURITY,
        "parameters": [
            recipient_parameter(),
            query_parameter(
                "since",
                "RFC 3339 time: records written at or after it (default: the oldest kept).",
                {"type": "string", "format": "date-time"},
            ),
            query_parameter(
                "cursor",
                "The `next` of a previous answer: go on from there (not with `since`).",
                {"type": "string"},
            ),
            query_parameter(
                "limit",
                "At most this many items.",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            ),
            query_parameter(
                "type",
                "Only these item types, separated by commas.",
                {"type": "array", "items": {"type": "string", "enum": list(ITEM_TYPES)}},
                style="form",
                explode=False,
            ),
        ],
        "responses": {
            **json_answer(200, "One page of the recipient's topic.", page),
            **view_problem_responses(400, 401, 403, 404, 503),
        },
    }


def _notice_operation() -> dict[str, Any]:
    return {
        "summary": "Your formal notice (Note Verbale) of one allegation, PDF or HTML",
        "description": (
            "The Note Verbale from the Office of the Special Coordinator to your Permanent Mission (or "
            "office) about one allegation, rendered from the latest notification of it on your own topic: "
            "its reference (`SEABUS/<year>/<allegation>/<ID>`, also in the `X-Notice-Reference` header), "
            "the particulars at the level you may see, what is asked and by when, and how to answer. "
            "`format` chooses PDF (default) or HTML; without it, a client that accepts `text/html` and "
            "not `application/pdf` gets HTML. 404 when you were never notified of the allegation."
        ),
        "operationId": "recipientNotice",
        "tags": TAGS,
        "security": SECURITY,
        "parameters": [
            recipient_parameter(),
            {
                "name": "allegation_id",
                "in": "path",
                "required": True,
                "description": "The allegation reference from the notification.",
                "schema": {"type": "string"},
            },
            query_parameter(
                "format",
                "pdf (default) or html.",
                {"type": "string", "enum": list(NOTICE_FORMATS), "default": "pdf"},
            ),
            query_parameter(
                "lang",
                "The notice's language: en (default) or fr.",
                {"type": "string", "enum": list(SUPPORTED_LANGUAGES), "default": "en"},
            ),
        ],
        "responses": {
            "200": {
                "description": "The notice.",
                "headers": {
                    "X-Notice-Reference": {
                        "description": "The notice's reference, to quote in replies.",
                        "schema": {"type": "string"},
                    }
                },
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            },
            **view_problem_responses(400, 401, 403, 404, 503),
        },
    }
