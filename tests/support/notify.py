"""Telling notifications and escalations apart on a ``<prefix>.notify.<ID>`` topic.

Both travel on a recipient's topic; the writer schema named by each value's
header (``seabus.Notification`` or ``seabus.Escalation``) says which it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from seabus.schemas.codec import decode_model
from seabus.schemas.models import Escalation, Notification

__all__ = ["escalations_among", "notifications_among"]


def notifications_among(values: Iterable[bytes]) -> list[Notification]:
    """The notifications of a notify topic's values, in order; escalations left out."""
    return [m for m in (decode_model(v) for v in values) if isinstance(m, Notification)]


def escalations_among(values: Iterable[bytes]) -> list[Escalation]:
    """The escalations of a notify topic's values, in order; notifications left out."""
    return [m for m in (decode_model(v) for v in values) if isinstance(m, Escalation)]
