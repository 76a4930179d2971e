"""Telling notifications and escalations apart on a ``<prefix>.notify.<ID>`` topic.

Both travel on a recipient's topic; the writer schema named by each value's
header (``seabus.Notification`` or ``seabus.Escalation``) says which it is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from pydantic import BaseModel

from seabus.schemas.codec import decode_model
from seabus.schemas.models import Escalation, Notification

__all__ = ["decoded", "escalations_among", "notifications_among"]


@functools.lru_cache(maxsize=1 << 16)
def decoded(value: bytes) -> BaseModel:
    """``decode_model(value)``, once per distinct value. A ``read_topic(until=...)`` condition
    sees the whole topic again after every poll; the models are frozen, so sharing is safe.
    A value that does not decode raises every time, as before (errors are not cached)."""
    return decode_model(value)


def notifications_among(values: Iterable[bytes]) -> list[Notification]:
    """The notifications of a notify topic's values, in order; escalations left out."""
    return [m for m in (decoded(v) for v in values) if isinstance(m, Notification)]


def escalations_among(values: Iterable[bytes]) -> list[Escalation]:
    """The escalations of a notify topic's values, in order; notifications left out."""
    return [m for m in (decoded(v) for v in values) if isinstance(m, Escalation)]
