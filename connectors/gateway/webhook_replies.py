"""``POST /v1/webhook-replies/{recipient}``: a reply signed like the webhooks the bus sends.

A Member State that receives notifications by webhook already shares a secret
with the bus. It can sign its replies with that same secret (Standard Webhooks:
``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` over the raw body)
instead of holding a separate bearer token. The signature is checked before the
body is even parsed: tampered, stale (over five minutes) or wrongly signed
requests get 401. Each of the three headers must come once (400 otherwise), so
the id the signature covers is the id de-duplicated on. A repeated
``webhook-id`` with the same body gets the first answer back (no second record
on Kafka), also after a gateway restart (:mod:`seabus.connectors.gateway.reply_memory`);
with another body, 422. A reply without a ``response_id`` gets one derived from
its ``webhook-id``. After that it is exactly ``POST /v1/responses``: same body,
same checks, same 202.
"""

from __future__ import annotations

import hashlib
from typing import Any, Unpack

from aiohttp import web

from seabus.connectors.errors import WebhookVerificationError
from seabus.connectors.gateway.bodies import parse_json, read_body
from seabus.connectors.gateway.idempotency import REPLAYED_HEADER, KeyWording, answer_once
from seabus.connectors.gateway.openapi import OpenApiDocument
from seabus.connectors.gateway.problems import HttpProblem, ProblemType
from seabus.connectors.gateway.reply_memory import (
    BODY_SHA256_HEADER,
    WEBHOOK_ID_HEADER,
    recall_webhook_replies,
    webhook_scope,
)
from seabus.connectors.gateway.responses import (
    REPLIES,
    ReplyOptions,
    accept_reply,
    connection_of,
    ensure_replies,
    reply_body_and_answers,
    reply_problem_responses,
)
from seabus.connectors.gateway.state import GATEWAY, GatewayState, RouteModule
from seabus.connectors.webhooks import verify_webhook
from seabus.schemas.ids import stable_id

__all__ = ["PATH", "post_webhook_reply", "webhook_reply_routes"]

PATH = "/v1/webhook-replies/{recipient}"
_ID_WORDING = KeyWording(
    reused_title="Webhook Id Reused",
    reused_detail="this webhook-id was already used with a different body; sign each new reply under a new id",
    in_progress_detail="a reply with this webhook-id is still being processed; retry when it has been answered",
)


def _unverified(detail: str) -> HttpProblem:
    return HttpProblem(401, type_=ProblemType.UNAUTHENTICATED, title="Unauthenticated", detail=detail)


SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _single_signature_headers(request: web.Request) -> dict[str, str]:
    """The three Standard Webhooks headers, each sent once, or a 400 problem.

    With two ``webhook-id`` headers a verifier and a de-duplicator can each pick
    a different one (a captured reply with an extra id was accepted again and
    again), so a repeated header is refused before anything else looks at it.
    """
    repeated = [name for name in SIGNED_HEADERS if len(request.headers.getall(name, ())) > 1]
    if repeated:
        raise HttpProblem(
            400,
            type_=ProblemType.MALFORMED_REQUEST,
            title="Malformed Request",
            detail=f"the {', '.join(repeated)} header(s) were sent more than once; send each exactly once "
            "(several signatures go in one webhook-signature header, separated by spaces)",
        )
    return {name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers}


async def post_webhook_reply(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    replies = request.app[REPLIES]
    recipient = request.match_info["recipient"]
    raw = await read_body(
        request, max_bytes=gw.max_body_bytes, limit=f"a reply may be at most {gw.max_body_bytes} bytes"
    )
    secrets = replies.webhook_secrets.get(recipient)
    if not secrets:
        raise _unverified(
            f"no webhook secret is configured for {recipient!r} on this bus, so its signed replies cannot "
            "be checked; use POST /v1/responses with a reply token, or ask the operators to configure "
            "the webhook channel"
        )
    signed = _single_signature_headers(request)
    try:
        verify_webhook(signed, raw, secrets)
    except WebhookVerificationError as exc:
        raise _unverified(str(exc)) from None
    # The id the signature covers is the id de-duplicated on: there is only one.
    webhook_id = signed["webhook-id"]
    scope = webhook_scope(recipient)
    digest = hashlib.sha256(raw).hexdigest()

    async def accept() -> web.Response:
        return await accept_reply(
            gw,
            replies,
            recipient,
            parse_json(raw, expected="one response object"),
            response_id=stable_id("webhook-reply", recipient, webhook_id),
            extra_headers=[
                (WEBHOOK_ID_HEADER, webhook_id.encode("utf-8", "surrogateescape")),
                (BODY_SHA256_HEADER, digest.encode()),
            ],
        )

    return await answer_once(gw.idempotency, scope, webhook_id, digest, accept, wording=_ID_WORDING)


def webhook_reply_routes(**options: Unpack[ReplyOptions]) -> RouteModule:
    """The route module for signed replies; shares its set-up with :func:`response_routes`."""

    def register(app: web.Application, gw: GatewayState) -> None:
        ensure_replies(app, gw, **options)
        if (
            options.get("sink") is None
        ):  # replies go to Kafka: what was accepted before a restart is read back first
            connection = options.get("kafka") or connection_of(gw)
            topic = gw.settings.topic("responses")

            async def recall(_app: web.Application) -> None:
                await recall_webhook_replies(connection, topic, gw.idempotency, now=gw.clock())

            app.on_startup.append(recall)
        app.router.add_post(PATH, post_webhook_reply)
        gw.openapi.add_operation(PATH, "post", _operation(gw.openapi))

    return register


def _operation(doc: OpenApiDocument) -> dict[str, Any]:
    return {
        "summary": "Answer a notification with a signed webhook (Member State)",
        "description": (
            "The same body and result as POST /v1/responses, authenticated by a Standard Webhooks signature "
            "made with the recipient's webhook secret (the one the bus signs its deliveries with) instead "
            "of a bearer token. Sign `{webhook-id}.{webhook-timestamp}.{raw body}` with HMAC-SHA256; "
            "requests older than five minutes are refused. Resending the same webhook-id and body returns "
            "the first answer."
        ),
        "operationId": "submitSignedResponse",
        "parameters": [
            {
                "name": "recipient",
                "in": "path",
                "required": True,
                "description": "The answering recipient: ISO 3166-1 alpha-3 code, or OSC, OIOS, VRA.",
                "schema": {"type": "string", "pattern": "^([A-Z]{3}|OSC|OIOS|VRA)$"},
            },
            *(
                {
                    "name": name,
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": text,
                }
                for name, text in (
                    ("webhook-id", "A unique id for this reply (e.g. a UUID); repeat it only to resend."),
                    ("webhook-timestamp", "Unix time in seconds when the reply was signed."),
                    ("webhook-signature", "`v1,<base64 HMAC-SHA256>`, several separated by spaces."),
                )
            ),
        ],
        **reply_body_and_answers(
            doc,
            reply_problem_responses(
                *(400, 401, 403, 409, 413, 415, 422, 503),
                unauthenticated="Missing, stale or non-matching signature, or no webhook secret for this recipient.",
            ),
            accepted_headers={
                REPLAYED_HEADER: {
                    "description": "true when this is the stored answer to an earlier reply with this webhook-id",
                    "schema": {"type": "string"},
                }
            },
        ),
    }
