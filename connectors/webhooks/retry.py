"""When to try a webhook again, and how long to wait: pure functions, no I/O.

Classification of an HTTP answer:

* 2xx: delivered. Nothing else ever counts as delivered.
* 410 Gone: the receiver says the endpoint is retired; disable it and raise it
  to on-call (Standard Webhooks' convention).
* 408, 425, 429 and 5xx: the receiver is busy, starting or broken for now;
  retry with backoff, honouring ``Retry-After``.
* any other status (1xx, 3xx, other 4xx): permanent. The same signed bytes will
  get the same answer (401/403 a secret mismatch, 404 a wrong URL, 400/413/422
  a payload the receiver rejects, 3xx a moved endpoint we do not follow so a
  redirect cannot lead into a private network). Retrying only delays the alarm:
  the delivery goes to the dead-letter topic and on-call fixes the endpoint and
  replays it.
* connection errors and timeouts: retry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

__all__ = ["RetryPolicy", "Verdict", "classify_status", "parse_retry_after"]


class Verdict(StrEnum):
    DELIVERED = "DELIVERED"
    RETRY = "RETRY"
    DISABLE = "DISABLE"
    FAIL = "FAIL"


_RETRYABLE_4XX = frozenset({408, 425, 429})


def classify_status(status: int) -> Verdict:
    """What an HTTP status means for this delivery (see the module docstring for why)."""
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.DISABLE
    if status in _RETRYABLE_4XX or 500 <= status < 600:
        return Verdict.RETRY
    return Verdict.FAIL


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter; ``Retry-After`` raises the wait, never lowers it.

    ``max_attempts`` counts every request, the first included. Full jitter
    (a uniform draw between 0 and the exponential ceiling) keeps many senders
    that failed together from retrying together.
    """

    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 300.0
    multiplier: float = 2.0
    jitter: bool = True
    max_retry_after: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def backoff(self, attempt: int) -> float:
        """The un-jittered ceiling after the ``attempt``-th request failed (1-based)."""
        exponent = max(0, attempt - 1)
        # Cap the exponent first so a large attempt number cannot overflow.
        if self.multiplier > 1 and self.base_delay > 0:
            ceiling = self.base_delay * self.multiplier ** min(exponent, 64)
        else:
            ceiling = self.base_delay
        return min(self.max_delay, ceiling)

    def delay_for(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before the request after the ``attempt``-th one (1-based)."""
        ceiling = self.backoff(attempt)
        delay = rng.uniform(0.0, ceiling) if self.jitter else ceiling
        if retry_after is not None:
            delay = max(delay, min(max(0.0, retry_after), self.max_retry_after))
        return delay

    def gives_up_after(self, attempt: int) -> bool:
        """True when the ``attempt``-th request was the last one allowed."""
        return attempt >= self.max_attempts
