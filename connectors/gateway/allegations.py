"""``POST /v1/allegations``: an agency publishes one event or a batch over HTTP.

The order of checks says who must act: 401 (who are you?), 413/415/400 (the
body), 403 (you may only publish as yourself), 400 with every problem of every
event (nothing is sent if any event is invalid), then Kafka. 202 comes only
after Kafka acknowledged every event; if it did not, 503 lists what was and was
not accepted, and resending the whole request is safe (same event ids are
dropped by the bus as duplicates).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

import structlog
from aiohttp import web
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError

from seabus.connectors.gateway.bodies import IDEMPOTENCY_HEADER, idempotency_key, read_json_body, too_large
from seabus.connectors.gateway.idempotency import REPLAYED_HEADER, KeyWording, answer_once
from seabus.connectors.gateway.openapi import OpenApiDocument, flat_object, problem_responses
from seabus.connectors.gateway.problems import HttpProblem, ProblemType, json_pointer
from seabus.connectors.gateway.state import GATEWAY, GatewayState
from seabus.connectors.publisher.errors import PublishFailed
from seabus.connectors.publisher.outgoing import OutgoingEvent, event_problems, prepare_event
from seabus.connectors.publisher.sdk import PublishReceipt
from seabus.schemas.errors import ValidationFailed
from seabus.schemas.models import AllegationEvent
from seabus.streams.origin import ORIGIN_HEADER

__all__ = ["PATH", "register"]

PATH = "/v1/allegations"
_KEY_WORDING = KeyWording(
    reused_title="Idempotency-Key Reused",
    reused_detail=f"this {IDEMPOTENCY_HEADER} was already used with a different body; use a new key "
    "for a new request",
    in_progress_detail=f"a request with this {IDEMPOTENCY_HEADER} is still being processed; retry when it "
    "has been answered",
)

log = structlog.get_logger(__name__)


def register(app: web.Application, gw: GatewayState) -> None:
    app.router.add_post(PATH, post_allegations)
    gw.openapi.add_operation(PATH, "post", _operation(gw.openapi))


async def post_allegations(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    entity = gw.auth.authenticate(request)
    raw, data = await read_json_body(request, max_bytes=gw.max_body_bytes)
    key = idempotency_key(request)
    if key is None:
        return await _accept(gw, entity, data)
    return await answer_once(
        gw.idempotency,
        entity,
        key,
        hashlib.sha256(raw).hexdigest(),
        lambda: _accept(gw, entity, data),
        wording=_KEY_WORDING,
    )


async def _accept(gw: GatewayState, entity: str, data: Any) -> web.Response:
    items = _items(data, gw.config.max_batch)
    wrong = [
        i
        for i, item in enumerate(items)
        if isinstance(item, Mapping)
        and isinstance(item.get("reporting_entity"), str)
        and item["reporting_entity"] != entity
    ]
    if wrong:
        raise HttpProblem(
            403,
            type_=ProblemType.WRONG_AGENCY,
            title="Forbidden",
            detail=f"your token publishes as {entity}, but the event(s) at index {', '.join(map(str, wrong))} "
            f"name another reporting_entity; an agency can publish only its own allegations. Nothing was sent.",
            indexes=wrong,
        )
    foreign = [
        (i, item["allegation_id"], owner)
        for i, item in enumerate(items)
        if isinstance(item, Mapping)
        and isinstance(item.get("allegation_id"), str)
        and (owner := gw.owners.owner(item["allegation_id"])) not in (None, entity)
    ]
    if foreign:
        raise HttpProblem(
            403,
            type_=ProblemType.NOT_OWNER,
            title="Forbidden",
            detail=f"the event(s) at index {', '.join(str(i) for i, _a, _o in foreign)} concern allegations "
            f"another entity reported ({'; '.join(f'{a} belongs to {o}' for _i, a, o in foreign)}); an agency "
            "may update, close or withdraw only its own allegations. Nothing was sent.",
            indexes=[i for i, _a, _o in foreign],
        )
    ready, errors = _validate(gw, items)
    if errors:
        count = len({e["index"] for e in errors})
        raise HttpProblem(
            400,
            type_=ProblemType.VALIDATION_FAILED,
            title="Validation Failed",
            detail=f"{count} of {len(items)} event(s) break the contract ({len(errors)} problem(s), listed "
            f"in `errors`); nothing was sent. Correct them and send the request again.",
            errors=errors,
        )
    # The origin the gateway authenticated: the bus checks it against the entity each event claims.
    ready = [replace(o, headers=(*o.headers, (ORIGIN_HEADER, entity.encode()))) for o in ready]
    outcomes = await gw.producer.send_batch(ready, timeout_s=gw.config.ack_timeout_s)
    receipts = [o for o in outcomes if isinstance(o, PublishReceipt)]
    failed = [o for o, r in zip(ready, outcomes, strict=True) if isinstance(r, PublishFailed)]
    refused = [o for o, r in zip(ready, outcomes, strict=True) if _too_large_for_kafka(r)]
    if refused and len(refused) == len(failed):
        log.warning(
            "kafka refused events as too large", entity=entity, refused=len(refused), events=len(ready)
        )
        detail = (
            f"Kafka refused {len(refused)} of {len(ready)} event(s) as larger than the allegations "
            "topic accepts; those listed in `not_accepted` were NOT accepted, and resending them unchanged "
            "will fail again. Shorten their free text (e.g. the narrative) or ask the operators about the "
            "topic's max.message.bytes."
        )
        raise _not_accepted(413, ProblemType.TOO_LARGE, "Content Too Large", detail, receipts, refused)
    if failed:
        log.warning(
            "kafka did not acknowledge a request", entity=entity, failed=len(failed), events=len(ready)
        )
        detail = (
            f"Kafka did not acknowledge {len(failed)} of {len(ready)} event(s) within "
            f"{gw.config.ack_timeout_s:g}s; those listed in `not_accepted` were NOT accepted. Send the same "
            f"request again after Retry-After seconds: resending is safe, the bus drops duplicate event ids."
        )
        raise _not_accepted(
            503,
            ProblemType.KAFKA_UNAVAILABLE,
            "Kafka Unavailable",
            detail,
            receipts,
            failed,
            headers={"Retry-After": str(gw.config.retry_after_s)},
        )
    log.info("allegation events accepted", entity=entity, events=len(receipts))
    return web.json_response({"accepted": [_receipt_json(r) for r in receipts]}, status=202)


def _not_accepted(
    status: int,
    type_: str,
    title: str,
    detail: str,
    receipts: list[PublishReceipt],
    not_accepted: list[OutgoingEvent],
    *,
    headers: dict[str, str] | None = None,
) -> HttpProblem:
    """A batch Kafka took only in part: what it acknowledged, and the event ids it did not."""
    return HttpProblem(
        status,
        type_=type_,
        title=title,
        detail=detail,
        headers=headers,
        accepted=[_receipt_json(r) for r in receipts],
        not_accepted=[o.event_id for o in not_accepted],
    )


_PERMANENTLY_TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


def _too_large_for_kafka(outcome: object) -> bool:
    """A refusal that no retry can cure: the record is larger than the producer or topic allows."""
    return isinstance(outcome, PublishFailed) and isinstance(outcome.__cause__, _PERMANENTLY_TOO_LARGE)


def _items(data: Any, max_batch: int) -> list[Any]:
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and data:
        if len(data) > max_batch:
            raise too_large(f"the batch holds {len(data)} events; send at most {max_batch} per request")
        return data
    raise HttpProblem(
        400,
        type_=ProblemType.MALFORMED_REQUEST,
        title="Malformed Request",
        detail="send one event object, or a non-empty array of event objects",
    )


def _validate(gw: GatewayState, items: list[Any]) -> tuple[list[OutgoingEvent], list[dict[str, Any]]]:
    now = gw.clock()
    batch = len(items) > 1
    ready: list[OutgoingEvent] = []
    errors: list[dict[str, Any]] = []

    def add(index: int, event_id: Any, path: str, detail: str) -> None:
        errors.append(
            {
                "index": index,
                # Echoed only when it can be an id at all: never a megabyte of someone's body.
                "event_id": event_id if isinstance(event_id, str) and len(event_id) <= 64 else None,
                "path": path,
                "pointer": json_pointer(path, index=index if batch else None),
                "detail": detail,
            }
        )

    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            add(index, None, "", "is not a JSON object")
            continue
        event, problems = event_problems(item, known_entities=gw.known_entities, now=now)
        for problem in problems:
            add(index, item.get("event_id"), problem.path, problem.message)
        if event is None or problems:
            continue
        try:
            ready.append(prepare_event(event, source=gw.source, codec=gw.codec))
        except ValidationFailed as exc:
            for problem in exc.problems:
                add(index, event.event_id, problem.path, problem.message)
    return ready, errors


def _receipt_json(receipt: PublishReceipt) -> dict[str, Any]:
    """A receipt as the answer lists it: all its fields, which the AcceptedEvent schema names."""
    return asdict(receipt)


def _operation(doc: OpenApiDocument) -> dict[str, Any]:
    event = doc.add_model(AllegationEvent)
    accepted = doc.add_schema(
        "AcceptedEvent",
        flat_object(event_id="string", allegation_id="string", partition="integer", offset="integer"),
    )
    example = json.loads(_example_event().model_dump_json())
    return {
        "summary": "Publish allegation events",
        "description": (
            "One event object, or an array of events (all-or-nothing validation: if any event is "
            "invalid, none is sent). Every event's `reporting_entity` must be the token's agency. "
            "202 means Kafka acknowledged every event. Resending is always safe: the bus drops "
            "duplicate `event_id`s; an `Idempotency-Key` also returns the first answer again."
        ),
        "operationId": "publishAllegations",
        "security": [{"agencyToken": []}],
        "parameters": [
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Any unique string (e.g. a UUID); kept in memory for a day.",
                "schema": {"type": "string", "maxLength": 255},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [{"$ref": event}, {"type": "array", "items": {"$ref": event}, "minItems": 1}]
                    },
                    "example": example,
                }
            },
        },
        "responses": {
            "202": {
                "description": "Kafka acknowledged every event.",
                "headers": {
                    REPLAYED_HEADER: {
                        "description": "true when this is the stored answer to an earlier request with the same key",
                        "schema": {"type": "string"},
                    }
                },
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"accepted": {"type": "array", "items": {"$ref": accepted}}},
                            "required": ["accepted"],
                        }
                    }
                },
            },
            **problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
        },
    }


def _example_event() -> AllegationEvent:
    from seabus.streams.synthetic import example_allegation_event

    return example_allegation_event()
