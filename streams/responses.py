"""Checking one message from ``sea.responses`` before the deadline engine sees it.

Pure: bytes in, a valid :class:`Response` or a dead letter out. Whether the
response matches something the bus notified is the engine's call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from seabus.schemas.cloudevents import format_time
from seabus.schemas.codec import Codec, decode_model
from seabus.schemas.enums import DeadLetterReason
from seabus.schemas.envelopes import Headers, Outbound, Received, Source, dead_letter_reason
from seabus.schemas.errors import CodecError, Problem, ValidationFailed
from seabus.schemas.ids import stable_id
from seabus.schemas.limits import preview
from seabus.schemas.models import Response
from seabus.schemas.validation import DEFAULT_CLOCK_SKEW, response_problems
from seabus.streams.deadlines.obligations import Obligation
from seabus.streams.origin import OriginUnclear, origin_of, refused_origin_out

SOURCE = "seabus/responses"


@dataclass(frozen=True, kw_only=True)
class Checked:
    response: Response | None
    dead_letter: Outbound | None
    escalation: Outbound | None = None  # a refused origin: on-call is told


def check_response(
    *,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    source: Source,
    now: datetime,
    codec: Codec,
    max_bytes: int,
) -> Checked:
    received = Received(key=key, value=value, headers=headers, source=source)

    def dead(reason: DeadLetterReason, message: str) -> Checked:
        out = received.dead_letter(reason, message, now=now, codec=codec, producer=SOURCE)
        return Checked(response=None, dead_letter=out)

    try:
        response = decode_model(value, Response, codec=codec, max_bytes=max_bytes, headers=headers)  # type: ignore[arg-type]
    except (CodecError, ValidationFailed) as exc:
        return dead(*dead_letter_reason(exc))
    problems = response_problems(response, now=now)
    text_key = key.decode("utf-8", "replace") if key is not None else None
    if text_key != response.allegation_id:
        problems.insert(
            0,
            Problem(
                "(record key)", f"{preview(text_key)} is not the allegation_id; key every response by it"
            ),
        )
    if problems:
        return dead(DeadLetterReason.VALIDATION_FAILED, str(ValidationFailed(problems, subject="Response")))
    try:
        origin = origin_of(headers)
        wrong = (
            None if origin is None or origin == response.recipient else f"was written by {preview(origin)}"
        )
    except OriginUnclear as exc:
        wrong = f"carries {exc}"
    if wrong is not None:
        message = (
            f"ORIGIN_MISMATCH: response {response.response_id} for allegation {response.allegation_id} {wrong} "
            f"but claims recipient {response.recipient}; a recipient may answer only for itself. Nothing was "
            "applied."
        )
        refused = dead(DeadLetterReason.ORIGIN_MISMATCH, message)
        escalation_id = stable_id(response.response_id, "ORIGIN_MISMATCH")
        escalation = refused_origin_out(
            escalation_id, response.allegation_id, message, now=now, codec=codec, source=SOURCE
        )
        return Checked(response=None, dead_letter=refused.dead_letter, escalation=escalation)
    return Checked(response=response, dead_letter=None)


def unknown_message(response: Response, *, allegation_known: bool) -> str:
    if not allegation_known:
        return (
            f"UNKNOWN_ALLEGATION: response {response.response_id} from {response.recipient} names allegation "
            f"{response.allegation_id}, which this bus never notified anyone about; check the reference in the "
            "notification you received and answer again."
        )
    return (
        f"UNKNOWN_RECIPIENT: response {response.response_id} comes from {response.recipient}, which was never "
        f"notified of allegation {response.allegation_id}; only notified recipients can answer for it."
    )


def predates_obligations(
    response: Response, obligations: Iterable[Obligation], *, skew: timedelta = DEFAULT_CLOCK_SKEW
) -> str | None:
    """Why ``response`` cannot answer the recipient's obligations, if it predates all of them.

    A reply dated before the obligation existed (one back-dated to 1970 was accepted once)
    would rewrite the record of when a Member State answered. ``skew`` allows for clocks.
    """
    created = [o.created_at for o in obligations if o.recipient == response.recipient]
    if not created or response.responded_at >= min(created) - skew:
        return None
    return (
        f"VALIDATION_FAILED: response {response.response_id} from {response.recipient} for allegation "
        f"{response.allegation_id} has responded_at {format_time(response.responded_at)}, before its first "
        f"obligation existed ({format_time(min(created))}); a reply cannot predate what it answers. Nothing "
        "was applied: send it again with the time of the reply."
    )
