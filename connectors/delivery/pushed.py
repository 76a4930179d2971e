"""What a notify topic carries, as push delivery sees it: a notification or an escalation.

Both record types share ``sea.notify.<ID>``; the writer schema in each value's
header says which it is. Push delivery treats them alike (same channels,
signing, retries, audit records) under one delivery id — the
``notification_id`` or the ``escalation_id`` — and tells the receiver which it
got with CloudEvents HTTP headers (binary mode: ``ce-type`` is
``org.seabus.Notification`` or ``org.seabus.Escalation``); the JSON body is the
record itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.cloudevents import ce_type_for
from schemas.models import Escalation, Notification

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
    """One record of a notify topic to push; ``record`` is a Notification or an Escalation."""

    record: Notification | Escalation

    @property
    def delivery_id(self) -> str:
        r = self.record
        return r.notification_id if isinstance(r, Notification) else r.escalation_id

    @property
    def allegation_id(self) -> str:
        return self.record.allegation_id

    @property
    def kind(self) -> str:
        return "notification" if isinstance(self.record, Notification) else "escalation"

    def body(self) -> bytes:
        return self.record.model_dump_json().encode()

    def headers(self) -> dict[str, str]:
        return cloudevent_headers(
            record_type=self.record.avro_name, delivery_id=self.delivery_id, allegation_id=self.allegation_id
        )
