"""What a notify topic carries, as push delivery sees it: a notification, an escalation or a reply notice.

The record types share ``sea.notify.<ID>``; the writer schema in each value's
header says which it is. Push delivery treats them alike (same signing,
retries, audit records) under one delivery id — the ``notification_id``, the
``escalation_id`` or the ``notice_id`` — and tells the receiver which it got
with CloudEvents HTTP headers (binary mode: ``ce-type`` is
``org.seabus.Notification``, ``org.seabus.Escalation`` or
``org.seabus.ReplyNotice``); the JSON body is the record itself. A reply notice
goes to the webhook only: an e-mail focal point reads replies on the dashboard's
timeline, and an e-mail per reply would bury the notices that ask for action.
"""

from __future__ import annotations

from dataclasses import dataclass

from seabus.schemas.cloudevents import ce_type_for
from seabus.schemas.models import Escalation, Notification, ReplyNotice

__all__ = ["Pushed", "cloudevent_headers"]

SOURCE = "seabus/delivery"


def cloudevent_headers(*, record_type: str, delivery_id: str, allegation_id: str) -> dict[str, str]:
    """CloudEvents 1.0 HTTP binary-mode attributes for one webhook request."""
    return {
        "ce-specversion": "1.0",
        "ce-id": delivery_id,
        "ce-source": SOURCE,
        "ce-type": ce_type_for(record_type),
        "ce-subject": allegation_id,
    }


@dataclass(frozen=True)
class Pushed:
    """One record of a notify topic to push: a Notification, an Escalation or a ReplyNotice."""

    record: Notification | Escalation | ReplyNotice

    @property
    def delivery_id(self) -> str:
        r = self.record
        if isinstance(r, Notification):
            return r.notification_id
        return r.notice_id if isinstance(r, ReplyNotice) else r.escalation_id

    @property
    def emailed(self) -> bool:
        """Reply notices go to webhooks only (see the module's docstring)."""
        return not isinstance(self.record, ReplyNotice)

    @property
    def allegation_id(self) -> str:
        return self.record.allegation_id

    @property
    def kind(self) -> str:
        if isinstance(self.record, ReplyNotice):
            return "reply notice"
        return "notification" if isinstance(self.record, Notification) else "escalation"

    def body(self) -> bytes:
        return self.record.model_dump_json().encode()

    def headers(self) -> dict[str, str]:
        return cloudevent_headers(
            record_type=self.record.avro_name, delivery_id=self.delivery_id, allegation_id=self.allegation_id
        )
