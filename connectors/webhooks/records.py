"""The audit trail of webhook delivery: one record per attempt, one result per delivery.

Records carry the endpoint's host only (never the path, query or secrets), so
they can be written to Kafka and logs as they are. Outcomes are the contract's
:class:`~seabus.schemas.enums.DeliveryOutcome` (the values the audit topic carries),
not a copy of it; what is webhook-specific here is the attempt id, the host,
``next_attempt_at`` and the result's duplicate / newly-disabled flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seabus.schemas.enums import DeliveryOutcome
from seabus.schemas.ids import ATTEMPT_NAMESPACE, attempt_id

__all__ = [
    "ATTEMPT_NAMESPACE",
    "AttemptRecord",
    "DeliveryResult",
    "attempt_id",
]


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
    outcome: DeliveryOutcome
    attempted_at: datetime
    http_status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class DeliveryResult:
    """The end of one delivery, with everything needed to dead-letter and escalate it.

    ``outcome`` is DELIVERED, FAILED, DISABLED or REFUSED (never RETRYING).
    ``duplicate`` is True when the webhook id had already been delivered and no
    request was made. ``newly_disabled`` is True only for the delivery whose
    410 disabled the endpoint, so on-call is paged once per endpoint.
    """

    outcome: DeliveryOutcome
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
        return self.outcome is DeliveryOutcome.DELIVERED

    @property
    def dead_letter(self) -> bool:
        """The notification did not reach the recipient: write it to the dead-letter topic."""
        return not self.delivered

    @property
    def escalate(self) -> bool:
        """Raise to on-call: a Member State that is not told breaks the 'immediately' promise."""
        return not self.delivered
