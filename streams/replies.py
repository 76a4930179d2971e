"""Closing the loop: what a recipient answered reaches OSC and the entity that reported.

OSC coordinates the response to every allegation, so it gets each accepted reply in
full (kind, the appointed investigator's details, outcome, actions taken, the note).
The reporting entity gets what states answered about *its* allegations, minimised as
a Member State's notification is: no free-text note and no investigator's details,
which are the answering state's to share. Both are :class:`ReplyNotice` records on
the recipient's own ``sea.notify.<ID>`` topic, next to notifications and escalations.

Pure: a valid response in, the records to produce out. ``notice_id`` is derived from
the response and the addressee, so a redelivered reply repeats the same id.
"""

from __future__ import annotations

from datetime import datetime

from seabus.schemas.codec import Codec, encode_model
from seabus.schemas.envelopes import Outbound, headers_for
from seabus.schemas.ids import stable_id
from seabus.schemas.models import ReplyNotice, Response

__all__ = ["OSC", "SOURCE", "reply_notices"]

OSC = "OSC"
SOURCE = "seabus/replies"


def reply_notices(
    response: Response, *, reporting_entity: str | None, now: datetime, codec: Codec
) -> list[Outbound]:
    """The notices of ``response``: OSC's whole one, and the reporting entity's minimised one.

    Nobody is told about their own reply.
    """
    out = []
    if response.recipient != OSC:
        out.append(_out(_notice(response, OSC, now, whole=True), codec))
    if reporting_entity and reporting_entity not in (response.recipient, OSC):
        out.append(_out(_notice(response, reporting_entity, now, whole=False), codec))
    return out


_COPIED = (
    "allegation_id",
    "response_id",
    "kind",
    "responded_at",
    "national_investigation_officer_appointed",
    "outcome",
    "actions_taken",
)
"""What every notice repeats of the response as it is; the investigator and the note only in OSC's."""


def _notice(response: Response, recipient: str, now: datetime, *, whole: bool) -> ReplyNotice:
    return ReplyNotice(
        notice_id=stable_id(response.response_id, "reply-notice", recipient),
        recipient=recipient,
        answered_by=response.recipient,
        recorded_at=now,
        investigator=response.investigator if whole else None,
        note=response.note if whole else None,
        **{name: getattr(response, name) for name in _COPIED},
    )


def _out(notice: ReplyNotice, codec: Codec) -> Outbound:
    return Outbound(
        route="notify",
        recipient=notice.recipient,
        key=notice.allegation_id.encode(),
        value=encode_model(notice, codec=codec),
        headers=headers_for(notice, notice.notice_id, notice.allegation_id, notice.recorded_at, SOURCE),
    )
