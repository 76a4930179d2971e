"""The retry policy and status classification, as pure functions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seabus.connectors.webhooks import RetryPolicy, Verdict, classify_status, parse_retry_after

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert classify_status(status) is Verdict.DELIVERED


def test_410_disables() -> None:
    assert classify_status(410) is Verdict.DISABLE


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_transient_statuses_are_retried(status: int) -> None:
    assert classify_status(status) is Verdict.RETRY


@pytest.mark.parametrize("status", [100, 301, 302, 307, 400, 401, 403, 404, 409, 413, 422])
def test_other_statuses_are_permanent(status: int) -> None:
    assert classify_status(status) is Verdict.FAIL


@given(status=st.integers(min_value=100, max_value=599))
def test_only_2xx_is_ever_delivered(status: int) -> None:
    assert (classify_status(status) is Verdict.DELIVERED) == (200 <= status < 300)


def test_retry_after_seconds() -> None:
    assert parse_retry_after("120", now=NOW) == 120.0


def test_retry_after_http_date() -> None:
    when = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(when, now=NOW) == 90.0


def test_retry_after_in_the_past_means_now() -> None:
    when = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(when, now=NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3"])
def test_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_backoff_grows_exponentially_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, multiplier=2.0, max_delay=10.0, jitter=False)
    delays = [policy.delay_for(n, None, random.Random(0)) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=300.0, jitter=False)
    assert policy.delay_for(10_000, None, random.Random(0)) == 300.0


@given(
    attempt=st.integers(min_value=1, max_value=100),
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.floats(min_value=0.0, max_value=60.0),
    cap=st.floats(min_value=0.0, max_value=600.0),
)
def test_full_jitter_stays_between_zero_and_the_ceiling(
    attempt: int, seed: int, base: float, cap: float
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=cap)
    delay = policy.delay_for(attempt, None, random.Random(seed))
    assert 0.0 <= delay <= policy.backoff(attempt) <= cap


def test_jitter_spreads_retries() -> None:
    policy = RetryPolicy(base_delay=10.0)
    rng = random.Random(7)
    assert len({policy.delay_for(3, None, rng) for _ in range(20)}) > 1


@given(
    retry_after=st.floats(min_value=0.0, max_value=10_000.0),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_retry_after_is_a_floor_capped_by_the_maximum(retry_after: float, seed: int) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0, max_retry_after=600.0)
    delay = policy.delay_for(1, retry_after, random.Random(seed))
    assert delay >= min(retry_after, 600.0)
    assert delay <= max(min(retry_after, 600.0), 2.0)


def test_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.gives_up_after(n) for n in (1, 2, 3)] == [False, False, True]


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"multiplier": 0.5}])
def test_nonsense_policies_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
