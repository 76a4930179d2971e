"""Every stable id the bus derives, in one place: the UUIDv5 namespaces and their inputs.

An id derived from *what* a record is (which event, which recipient, which
step) is the same after a crash, a redelivery or a replay, so consumers can
drop repeats. The namespaces and the way inputs are joined are part of the
wire contract: changing either changes every id already written to Kafka, in
the read model and in recipients' systems. ``tests/schemas/test_ids.py`` pins
each namespace and one derived id per kind.
"""

from __future__ import annotations

import uuid

__all__ = [
    "ATTEMPT_NAMESPACE",
    "IMPORT_NAMESPACE",
    "NOTIFICATION_NAMESPACE",
    "OBLIGATION_ESCALATION_NAMESPACE",
    "RECORD_NAMESPACE",
    "SYNTHETIC_NAMESPACE",
    "attempt_id",
    "escalation_id",
    "new_event_id",
    "notification_id",
    "stable_event_id",
    "stable_id",
    "synthetic_event_id",
]

RECORD_NAMESPACE = uuid.UUID("8a1f0b3e-5c2d-4e7f-9b61-3d4c5e6f7a82")
"""Ids of the records the bus writes itself (dead letters, escalations, reply notices, replies);
``ESCALATION_NAMESPACE`` of the former ``streams/records.py``."""
NOTIFICATION_NAMESPACE = uuid.UUID("0c5e2f7a-31d4-4b8e-b6f0-9d7a1e3c5b42")
SYNTHETIC_NAMESPACE = uuid.UUID("6f1d3c52-0b7e-4d8e-9a55-5e7d2b1c0a01")
OBLIGATION_ESCALATION_NAMESPACE = uuid.UUID("6f1d7f2e-5c7b-4f0a-9a51-5ea5b0e1d0c1")
"""Escalation steps of the deadline engine (a different namespace from RECORD_NAMESPACE)."""
IMPORT_NAMESPACE = uuid.UUID("3d0a7f8e-2b4c-5e61-9f13-7c5b8a2d4e90")
"""Event ids derived by seabus publishers (the SDK and ``seabus publish``)."""
ATTEMPT_NAMESPACE = uuid.UUID("6f1c3e9a-5d0b-4a8e-9c57-2b7d4f0e8a13")
"""Webhook delivery attempts."""


def stable_id(*parts: str) -> str:
    """UUIDv5 of ``"|".join(parts)``: the same inputs give the same id after a redelivery."""
    return str(uuid.uuid5(RECORD_NAMESPACE, "|".join(parts)))


def notification_id(event_id: str, recipient: str) -> str:
    """One notification per (event, recipient): routing the event again yields the same id."""
    return str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"{event_id}|{recipient}"))


def synthetic_event_id(allegation_id: str, sequence: int) -> str:
    """Stable ids of synthetic events, so re-publishing the same synthetic event is a duplicate."""
    return str(uuid.uuid5(SYNTHETIC_NAMESPACE, f"{allegation_id}|{sequence}"))


def escalation_id(obligation_key: str, step_id: str) -> str:
    """Deterministic id of one escalation step of an obligation, the same on every replay."""
    return str(uuid.uuid5(OBLIGATION_ESCALATION_NAMESPACE, f"{obligation_key}#{step_id}"))


def stable_event_id(reporting_entity: str, allegation_id: str, sequence: int) -> str:
    """UUIDv5 of ``entity|allegation_id|sequence``: the same inputs give the same event id."""
    return str(uuid.uuid5(IMPORT_NAMESPACE, f"{reporting_entity}|{allegation_id}|{sequence}"))


def new_event_id() -> str:
    """A random UUIDv4, for events that have no natural identity of their own."""
    return str(uuid.uuid4())


def attempt_id(webhook_id: str, recipient: str, attempt: int) -> str:
    """Deterministic id of one webhook attempt, so a replayed audit event is recognisably the same."""
    return str(uuid.uuid5(ATTEMPT_NAMESPACE, f"{recipient}/{webhook_id}/{attempt}"))
