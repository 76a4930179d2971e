"""The audit trail of webhook delivery: one record per attempt, one result per delivery.

Records carry the endpoint's host only (never the path, query or secrets), so
they can be written to Kafka and logs as they are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ATTEMPT_NAMESPACE",
    "AttemptOutcome",
    "AttemptRecord",
    "DeliveryChannel",
    "DeliveryResult",
    "attempt_id",
]

# Fixed namespace so attempt ids are the same on every worker and after replays.
ATTEMPT_NAMESPACE = uuid.UUID("6f1c3e9a-5d0b-4a8e-9c57-2b7d4f0e8a13")


class DeliveryChannel(StrEnum):
    KAFKA = "KAFKA"
    WEBHOOK = "WEBHOOK"
    EMAIL = "EMAIL"


class AttemptOutcome(StrEnum):
    DELIVERED = "DELIVERED"  # the endpoint answered 2xx
    RETRYING = "RETRYING"  # this attempt failed, another one is scheduled
    FAILED = "FAILED"  # permanent failure or attempts exhausted: dead-letter and escalate
    DISABLED = "DISABLED"  # 410 Gone now, or the endpoint was disabled before: no request
    REFUSED = "REFUSED"  # SSRF guard or unusable configuration: no request


def attempt_id(webhook_id: str, recipient: str, attempt: int) -> str:
    """Deterministic id of one attempt, so a replayed audit event is recognisably the same."""
    return str(uuid.uuid5(ATTEMPT_NAMESPACE, f"{recipient}/{webhook_id}/{attempt}"))


@dataclass(frozen=True, kw_only=True)
class AttemptRecord:
    """What happened on one attempt to deliver one notification to one recipient.

    ``attempt`` counts from 1 for each notification. A DISABLED or REFUSED
    record without ``http_status`` stands for an attempt decided without any
    request reaching the endpoint.
    """

    attempt_id: str
    webhook_id: str
    allegation_id: str
    recipient: str
    host: str
    attempt: int
    outcome: AttemptOutcome
    attempted_at: datetime
    http_status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    channel: DeliveryChannel = DeliveryChannel.WEBHOOK


@dataclass(frozen=True, kw_only=True)
class DeliveryResult:
    """The end of one delivery, with everything needed to dead-letter and escalate it.

    ``outcome`` is DELIVERED, FAILED, DISABLED or REFUSED (never RETRYING).
    ``duplicate`` is True when the webhook id had already been delivered and no
    request was made. ``newly_disabled`` is True only for the delivery whose
    410 disabled the endpoint, so on-call is paged once per endpoint.
    """

    outcome: AttemptOutcome
    webhook_id: str
    allegation_id: str
    recipient: str
    host: str
    attempts: tuple[AttemptRecord, ...]
    reason: str | None = None
    duplicate: bool = False
    newly_disabled: bool = False

    @property
    def delivered(self) -> bool:
        return self.outcome is AttemptOutcome.DELIVERED

    @property
    def dead_letter(self) -> bool:
        """The notification did not reach the recipient: write it to the dead-letter topic."""
        return not self.delivered

    @property
    def escalate(self) -> bool:
        """Raise to on-call: a Member State that is not told breaks the 'immediately' promise."""
        return not self.delivered
