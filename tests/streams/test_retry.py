"""The one retry helper (streams/retry.py): attempts, pauses, deadlines and what is retried.

Sleep and clock are injected: a fake clock that the fake sleep advances, so nothing
here waits and every pause is seen exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from seabus.streams.retry import Backoff, Waiting, aretrying, poll_until, retrying


class FakeTime:
    """A clock that moves only when something sleeps; the pauses are recorded."""

    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Flaky(Exception):
    pass


class Broken(Exception):
    pass


def failing(times: int, exc: Callable[[], BaseException] = Flaky, result: str = "done") -> Callable[[], str]:
    calls = {"n": 0}

    def attempt() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise exc()
        return result

    return attempt


def test_backoff_doubles_up_to_its_cap_or_stays_fixed() -> None:
    assert [Backoff(0.5, 30.0).delay(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert [Backoff(1.0, 15.0).delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 15, 15]
    assert [Backoff(5.0).delay(n) for n in (1, 2, 50)] == [5.0, 5.0, 5.0]


def test_retries_until_success_with_the_backoff_and_tells_before_each_pause() -> None:
    t = FakeTime()
    told: list[Waiting] = []
    result = retrying(
        retry_on=(Flaky,), backoff=Backoff(1.0, 4.0), on_retry=told.append, sleep=t.sleep, clock=t.clock
    )(failing(5))
    assert result == "done"
    assert t.pauses == [1, 2, 4, 4, 4]
    assert [w.attempt for w in told] == [1, 2, 3, 4, 5]
    assert [w.retry_in_s for w in told] == t.pauses
    assert [w.waited_s for w in told] == [0, 1, 3, 7, 11]
    assert all(isinstance(w.error, Flaky) for w in told)


def test_other_exceptions_pass_at_once_as_they_are() -> None:
    t = FakeTime()
    with pytest.raises(Broken):
        retrying(retry_on=(Flaky,), backoff=Backoff(1.0), sleep=t.sleep, clock=t.clock)(failing(1, Broken))
    assert t.pauses == []


def test_a_predicate_chooses_what_is_retried_but_never_a_cancellation() -> None:
    t = FakeTime()
    assert (
        retrying(retry_on=lambda e: isinstance(e, Flaky), backoff=Backoff(0.5), sleep=t.sleep, clock=t.clock)(
            failing(2)
        )
        == "done"
    )
    assert t.pauses == [0.5, 0.5]
    with pytest.raises(KeyboardInterrupt):
        retrying(retry_on=lambda _e: True, backoff=Backoff(0.5), sleep=t.sleep, clock=t.clock)(
            failing(1, KeyboardInterrupt)
        )
    assert t.pauses == [0.5, 0.5]


def test_give_up_raises_the_last_failure_itself() -> None:
    t = FakeTime()
    stopping = {"now": False}

    def attempt() -> str:
        if len(t.pauses) == 2:
            stopping["now"] = True
        raise Flaky(f"attempt {len(t.pauses) + 1}")

    with pytest.raises(Flaky, match="attempt 3"):
        retrying(
            retry_on=(Flaky,),
            backoff=Backoff(1.0, 10.0),
            give_up=lambda: stopping["now"],
            sleep=t.sleep,
            clock=t.clock,
        )(attempt)
    assert t.pauses == [1, 2]


def test_a_deadline_ends_the_retries_with_the_last_failure() -> None:
    t = FakeTime()
    with pytest.raises(Flaky):
        retrying(retry_on=(Flaky,), backoff=Backoff(2.0), deadline_s=5.0, sleep=t.sleep, clock=t.clock)(
            failing(100)
        )
    # Attempts at 0, 2, 4 and 6 s: after the one at 6 s the deadline (5 s) has passed.
    assert t.pauses == [2, 2, 2]


def test_the_async_form_retries_the_same_way() -> None:
    t = FakeTime()
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise Flaky()
        return "done"

    async def main() -> str:
        result: str = await aretrying(
            retry_on=(Flaky,), backoff=Backoff(0.5, 1.0), sleep=t.asleep, clock=t.clock
        )(attempt)
        return result

    assert asyncio.run(main()) == "done"
    assert t.pauses == [0.5, 1.0, 1.0]


def test_the_async_form_lets_a_cancellation_through() -> None:
    t = FakeTime()

    async def attempt() -> None:
        raise asyncio.CancelledError()

    async def main() -> None:
        await aretrying(retry_on=lambda _e: True, backoff=Backoff(0.5), sleep=t.asleep, clock=t.clock)(
            attempt
        )

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert t.pauses == []


def test_poll_until_returns_the_first_value_that_holds() -> None:
    t = FakeTime()
    values = iter([0, 0, 3, 5])
    assert (
        poll_until(
            lambda: next(values),
            timeout_s=10,
            interval_s=0.2,
            timed_out=ValueError,
            sleep=t.sleep,
            clock=t.clock,
        )
        == 3
    )
    assert t.pauses == [0.2, 0.2]


def test_poll_until_times_out_with_the_callers_error_from_the_last_value() -> None:
    t = FakeTime()
    seen = iter(range(100))
    with pytest.raises(TimeoutError, match="still 5 after 1s"):
        poll_until(
            lambda: next(seen),
            until=lambda n: n > 50,
            timeout_s=1.0,
            interval_s=0.25,
            timed_out=lambda n: TimeoutError(f"still {n} after 1s"),
            sleep=t.sleep,
            clock=t.clock,
        )
    assert t.pauses == [0.25] * 5  # probes at 0, 0.25, ... 1.25 s: the last one past the deadline


def test_poll_until_probes_once_even_with_no_time_left_and_lets_errors_through() -> None:
    t = FakeTime()
    assert (
        poll_until(
            lambda: "ok", timeout_s=0, interval_s=1, timed_out=ValueError, sleep=t.sleep, clock=t.clock
        )
        == "ok"
    )

    def probe() -> int:
        raise Broken()

    with pytest.raises(Broken):
        poll_until(probe, timeout_s=10, interval_s=1, timed_out=ValueError, sleep=t.sleep, clock=t.clock)
    assert t.pauses == []
