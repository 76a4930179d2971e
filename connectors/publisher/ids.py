"""Stable event ids, so publishing the same thing twice is a duplicate the bus drops.

The bus remembers every ``event_id`` of an allegation and drops repeats, so a
publisher that derives the id from *what* the event is (which allegation, which
version of it) can retry or re-run an import without creating duplicates
downstream. A corrected event must therefore carry a higher ``sequence``: the
same (entity, allegation, sequence) is the same event.
"""

from __future__ import annotations

import uuid

__all__ = ["IMPORT_NAMESPACE", "new_event_id", "stable_event_id"]

IMPORT_NAMESPACE = uuid.UUID("3d0a7f8e-2b4c-5e61-9f13-7c5b8a2d4e90")
"""UUIDv5 namespace of ids derived by seabus publishers (never change it)."""


def stable_event_id(reporting_entity: str, allegation_id: str, sequence: int) -> str:
    """UUIDv5 of ``entity|allegation_id|sequence``: the same inputs give the same id."""
    return str(uuid.uuid5(IMPORT_NAMESPACE, f"{reporting_entity}|{allegation_id}|{sequence}"))


def new_event_id() -> str:
    """A random UUIDv4, for events that have no natural identity of their own."""
    return str(uuid.uuid4())
