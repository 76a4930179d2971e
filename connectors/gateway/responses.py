"""``POST /v1/responses``: a Member State (or office) answers a notification over HTTP.

The order of checks says who must act: 401 (who are you?), 413/415/400 (the
body), 403 (a recipient answers only for itself), 400 with every problem of the
response, then Kafka. 202 comes only after Kafka acknowledged the response on
``<prefix>.responses`` (keyed by allegation id, ``acks=all``); if it did not,
503 says nothing was accepted and the request can be sent again (the same
``response_id`` makes the retry recognisable as the same answer).

Recipient tokens are configured like agency tokens, by hash, under
``recipients:`` in gateway.yaml; a recipient whose directory entry names a
``reply_token_env`` variable may also use the token held there. The signed
webhook variant (:mod:`seabus.connectors.gateway.webhook_replies`) shares everything
after authentication through :func:`accept_reply`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, Unpack

import structlog
from aiohttp import web
from aiokafka import AIOKafkaProducer

from seabus.connectors.gateway.bodies import read_json_body
from seabus.connectors.gateway.openapi import OpenApiDocument, flat_object, problem_responses
from seabus.connectors.gateway.problems import HttpProblem, ProblemType, json_pointer
from seabus.connectors.gateway.recipient_auth import WRONG_RECIPIENT, RecipientAuth, ensure_recipient_auth
from seabus.connectors.gateway.state import GATEWAY, GatewayState, RouteModule
from seabus.schemas.cloudevents import format_time
from seabus.schemas.codec import encode_model
from seabus.schemas.envelopes import headers_for
from seabus.schemas.errors import KafkaUnavailable, ValidationFailed
from seabus.schemas.limits import clip_text
from seabus.schemas.models import Response
from seabus.schemas.validation import DEFAULT_CLOCK_SKEW, parse_response
from seabus.streams.config.recipients import RecipientsDirectory, load_recipients
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import ORIGIN_HEADER
from seabus.streams.produce import ToSend, send_one_async, start_producer

__all__ = [
    "EXAMPLE",
    "PATH",
    "REPLIES",
    "WRONG_RECIPIENT",
    "KafkaResponseSink",
    "RecipientAuth",
    "Replies",
    "ReplyOptions",
    "ResponseSink",
    "accept_reply",
    "accepted_schema",
    "connection_of",
    "ensure_replies",
    "post_response",
    "reply_body_and_answers",
    "reply_problem_responses",
    "response_routes",
    "submission_schema",
]

log = structlog.get_logger(__name__)

PATH = "/v1/responses"
SOURCE = "seabus-gateway/responses"
OPTIONAL_FIELDS = ("response_id", "responded_at", "recipient")


# --- where answers go ----------------------------------------------------------


class ResponseSink(Protocol):
    """Puts one encoded response on the responses topic; returns (partition, offset) once acknowledged."""

    async def send(
        self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]], timeout_s: float
    ) -> tuple[int, int]: ...


class KafkaResponseSink:
    """:class:`ResponseSink` on an idempotent ``acks=all`` producer; raises KafkaUnavailable if not acked."""

    def __init__(
        self, *, kafka: KafkaConnection, topic: str, client_id: str = "seabus-gateway-replies"
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect (aiokafka objects must be made inside the running event loop)."""
        self._producer = self.kafka.aio_producer(
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
        )
        await start_producer(
            self._producer, bootstrap=self.kafka.bootstrap, who="the reply routes", then="the gateway"
        )

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(
        self, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]], timeout_s: float
    ) -> tuple[int, int]:
        if self._producer is None:
            raise KafkaUnavailable("the reply producer is not started; the gateway is starting or stopping")
        record = ToSend(topic=self.topic, key=key, value=value, headers=headers)
        meta = await send_one_async(self._producer, record, timeout_s=timeout_s, what="response")
        return int(meta.partition), int(meta.offset)


@dataclass(kw_only=True)
class Replies:
    """What both reply routes share: who may answer, the webhook secrets, and the sink."""

    auth: RecipientAuth
    sink: ResponseSink
    webhook_secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)


REPLIES: web.AppKey[Replies] = web.AppKey("seabus_replies", Replies)


def _webhook_secrets(directory: RecipientsDirectory | None) -> dict[str, tuple[str, ...]]:
    secrets: dict[str, tuple[str, ...]] = {}
    for recipient in directory.recipients if directory is not None else ():
        channel = recipient.channels.webhook
        if channel is None:
            continue
        values = tuple(os.environ[name] for name in channel.secrets_env if os.environ.get(name))
        if values:
            secrets[recipient.id] = values
        else:
            log.warning(
                "no webhook secret set; signed replies from this recipient are refused",
                recipient=recipient.id,
                variables=list(channel.secrets_env),
            )
    return secrets


def connection_of(gw: GatewayState) -> KafkaConnection:
    connection = getattr(gw.producer, "kafka", None)
    if isinstance(connection, KafkaConnection):
        return connection
    if gw.settings.bootstrap:
        return gw.settings.connection()
    raise ValueError("the reply routes need a Kafka connection: pass kafka= or sink=")


class ReplyOptions(TypedDict, total=False):
    """What both reply route modules may be given; each left out is a default of :func:`ensure_replies`."""

    auth: RecipientAuth | None
    sink: ResponseSink | None
    directory: RecipientsDirectory | None
    kafka: KafkaConnection | None


def ensure_replies(app: web.Application, gw: GatewayState, **options: Unpack[ReplyOptions]) -> Replies:
    """The app's :class:`Replies`, made on first use (later calls get the same one).

    Defaults: the directory from the settings; tokens from gateway.yaml and the
    directory; a Kafka sink on the gateway's own cluster, started and stopped
    with the app.
    """
    if REPLIES in app:
        return app[REPLIES]
    directory = options.get("directory")
    if directory is None:
        directory = load_recipients(gw.settings.resolve(gw.settings.recipients_file))
    sink = options.get("sink")
    if sink is None:
        kafka = options.get("kafka") or connection_of(gw)
        kafka_sink = KafkaResponseSink(kafka=kafka, topic=gw.settings.topic("responses"))

        async def start(_app: web.Application) -> None:
            await kafka_sink.start()

        async def stop(_app: web.Application) -> None:
            await kafka_sink.stop()

        app.on_startup.append(start)
        app.on_cleanup.append(stop)
        sink = kafka_sink
    replies = Replies(
        auth=ensure_recipient_auth(app, gw, auth=options.get("auth"), directory=directory),
        sink=sink,
        webhook_secrets=_webhook_secrets(directory),
    )
    app[REPLIES] = replies
    return replies


# --- the answer ------------------------------------------------------------------


def _complete(
    data: Mapping[str, Any], recipient: str, gw: GatewayState, response_id: str | None
) -> dict[str, Any]:
    filled = dict(data)
    filled.setdefault("recipient", recipient)
    filled.setdefault("response_id", response_id or str(uuid.uuid4()))
    filled.setdefault("responded_at", format_time(gw.clock()))
    return filled


def _not_before_the_allegation(gw: GatewayState, response: Response) -> None:
    """A reply cannot predate the allegation reaching the bus (a 1970 reply was accepted once).

    The owners topic's record of an allegation is written when the bus first accepts it, so
    its time is a floor for every obligation and every answer; the worker checks the
    obligation's own creation time too.
    """
    since = gw.owners.known_since(response.allegation_id)
    if since is None or response.responded_at >= since - DEFAULT_CLOCK_SKEW:
        return
    detail = (
        f"is {format_time(response.responded_at)}, before allegation {response.allegation_id} reached the bus "
        f"({format_time(since)}); a reply cannot predate what it answers. Send the time of the reply, or leave "
        "responded_at out to use the time of receipt"
    )
    raise HttpProblem(
        400,
        type_=ProblemType.VALIDATION_FAILED,
        title="Validation Failed",
        detail="the response breaks the contract (1 problem(s), listed in `errors`); nothing was sent. "
        "Correct them and send it again.",
        errors=[{"path": "responded_at", "pointer": json_pointer("responded_at"), "detail": detail}],
    )


def _named(value: Any) -> str:
    return clip_text(value, 16) if isinstance(value, str) else "of another type"


async def accept_reply(
    gw: GatewayState,
    replies: Replies,
    recipient: str,
    data: Any,
    *,
    response_id: str | None = None,
    extra_headers: Sequence[tuple[str, bytes]] = (),
) -> web.Response:
    """Check a reply body for ``recipient``, put it on the responses topic, answer 202 (or a problem).

    ``response_id`` is the default when the body names none (a signed reply's is derived from its
    ``webhook-id``); ``extra_headers`` go on the Kafka record.
    """
    if not isinstance(data, dict):
        raise HttpProblem(
            400,
            type_=ProblemType.MALFORMED_REQUEST,
            title="Malformed Request",
            detail="send one response object (allegation_id, kind, responder, ...)",
        )
    named = data.get("recipient")
    if named is not None and named != recipient:
        raise HttpProblem(
            403,
            type_=WRONG_RECIPIENT,
            title="Forbidden",
            detail=f"you are authenticated as {recipient}, but the response names recipient {_named(named)}; a "
            "Member State or office answers only for itself. Nothing was sent.",
        )
    try:
        response = parse_response(_complete(data, recipient, gw, response_id), now=gw.clock())
    except ValidationFailed as exc:
        errors = [
            {"path": p.path, "pointer": json_pointer(p.path), "detail": p.message} for p in exc.problems
        ]
        raise HttpProblem(
            400,
            type_=ProblemType.VALIDATION_FAILED,
            title="Validation Failed",
            detail=f"the response breaks the contract ({len(errors)} problem(s), listed in `errors`); "
            "nothing was sent. Correct them and send it again.",
            errors=errors,
        ) from None
    _not_before_the_allegation(gw, response)
    value = encode_model(response, codec=gw.codec)
    headers = headers_for(
        response, response.response_id, response.allegation_id, response.responded_at, SOURCE
    )
    # The origin the gateway authenticated: the bus checks it against the recipient claimed.
    headers.append((ORIGIN_HEADER, response.recipient.encode()))
    headers.extend(extra_headers)
    try:
        partition, offset = await replies.sink.send(
            key=response.allegation_id.encode(),
            value=value,
            headers=headers,
            timeout_s=gw.config.ack_timeout_s,
        )
    except KafkaUnavailable as exc:
        log.warning(
            "kafka did not acknowledge a response", recipient=recipient, allegation_id=response.allegation_id
        )
        raise HttpProblem(
            503,
            type_=ProblemType.KAFKA_UNAVAILABLE,
            title="Kafka Unavailable",
            detail=f"{exc}. Send the same request again after Retry-After "
            f"seconds (keep the response_id {response.response_id} so the retry is the same answer).",
            headers={"Retry-After": str(gw.config.retry_after_s)},
        ) from None
    log.info(
        "response accepted",
        recipient=recipient,
        allegation_id=response.allegation_id,
        response_id=response.response_id,
        kind=response.kind.value,
    )
    return web.json_response(
        {
            "response_id": response.response_id,
            "allegation_id": response.allegation_id,
            "recipient": response.recipient,
            "partition": partition,
            "offset": offset,
        },
        status=202,
    )


async def post_response(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    replies = request.app[REPLIES]
    recipient = replies.auth.authenticate(request, agencies=gw.auth)
    _raw, data = await read_json_body(request, max_bytes=gw.max_body_bytes, expected="one response object")
    return await accept_reply(gw, replies, recipient, data)


def response_routes(**options: Unpack[ReplyOptions]) -> RouteModule:
    """The route module for ``POST /v1/responses`` (see :func:`ensure_replies` for the defaults)."""

    def register(app: web.Application, gw: GatewayState) -> None:
        ensure_replies(app, gw, **options)
        app.router.add_post(PATH, post_response)
        gw.openapi.add_operation(PATH, "post", _operation(gw.openapi))

    return register


# --- the OpenAPI description ------------------------------------------------------


def submission_schema(doc: OpenApiDocument) -> str:
    """The request body of both reply routes: a Response whose id, time and recipient may be left out."""
    schema = Response.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    for name, sub in schema.pop("$defs", {}).items():
        doc.add_schema(name, sub)
    schema["title"] = "ResponseSubmission"
    schema["required"] = [f for f in schema.get("required", []) if f not in OPTIONAL_FIELDS]
    schema["description"] = (
        "A reply about one allegation. `response_id` defaults to a new UUID, `responded_at` to the time "
        "of receipt, `recipient` to the authenticated recipient (naming another one is refused)."
    )
    return doc.add_schema("ResponseSubmission", schema)


def accepted_schema(doc: OpenApiDocument) -> str:
    return doc.add_schema(
        "AcceptedResponse",
        flat_object(
            response_id="string",
            allegation_id="string",
            recipient="string",
            partition="integer",
            offset="integer",
        ),
    )


def reply_problem_responses(*statuses: int, unauthenticated: str) -> dict[str, Any]:
    described = {
        400: "The body is not JSON, or the response breaks the contract (every problem listed in `errors`).",
        401: unauthenticated,
        403: "The response names another recipient, or the token is an agency's.",
    }
    return problem_responses(*statuses, described=described)


def reply_body_and_answers(
    doc: OpenApiDocument, problems: dict[str, Any], *, accepted_headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The request body and the answers of a reply route: both take the same body and answer 202 alike."""
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": submission_schema(doc)}, "example": EXAMPLE}},
    }
    accepted: dict[str, Any] = {"description": "Kafka acknowledged the response."}
    if accepted_headers is not None:
        accepted["headers"] = accepted_headers
    accepted["content"] = {"application/json": {"schema": {"$ref": accepted_schema(doc)}}}
    return {"requestBody": body, "responses": {"202": accepted, **problems}}


EXAMPLE = {
    "allegation_id": "SYNTH-2026-0001",
    "kind": "ACKNOWLEDGED",
    "responder": "Permanent Mission, SEA focal point",
    "note": "Received; national focal point informed.",
}


def _operation(doc: OpenApiDocument) -> dict[str, Any]:
    return {
        "summary": "Answer a notification (Member State or office)",
        "description": (
            "Authenticate with your reply token: `Authorization: Bearer <token>` (hashes are configured "
            "under `recipients:` in gateway.yaml). The answer lands on the responses topic keyed by "
            "`allegation_id`, where the bus matches it to open obligations (ACKNOWLEDGED satisfies the "
            "acknowledgement, an INVESTIGATION_* kind the decision, OUTCOME_REPORTED the outcome). "
            "202 means Kafka acknowledged it; an answer about an allegation you were not notified of is "
            "accepted here and dead-lettered by the bus."
        ),
        "operationId": "submitResponse",
        **reply_body_and_answers(
            doc,
            reply_problem_responses(
                400,
                401,
                403,
                413,
                415,
                503,
                unauthenticated="No bearer token, or a token this gateway does not know.",
            ),
        ),
    }
