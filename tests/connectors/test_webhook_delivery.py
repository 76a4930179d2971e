"""Webhook delivery against real receivers on 127.0.0.1.

Endpoints use ``allow_private=True``: that is the configured exception to the
SSRF guard for a receiver on the bus's own host.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seabus.connectors.webhooks as webhooks
from seabus.connectors.errors import WebhookConfigError
from seabus.connectors.webhooks import (
    AttemptRecord,
    DeliveryResult,
    InMemoryDeliveredStore,
    RetryPolicy,
    WebhookDeliverer,
    WebhookEndpoint,
    attempt_id,
    generate_secret,
)
from seabus.connectors.webhooks.testing import Reply, WebhookReceiver
from seabus.schemas.enums import DeliveryOutcome

T = TypeVar("T")

SECRET = generate_secret()
BODY = json.dumps({"allegation_id": "SYNTH-2026-0001", "sequence": 3}).encode()


class Recorder:
    """The ``on_attempt`` hook: keeps every attempt record in order."""

    def __init__(self) -> None:
        self.records: list[AttemptRecord] = []

    async def __call__(self, record: AttemptRecord) -> None:
        self.records.append(record)


class NoWait:
    """A sleep function that remembers what it was asked to wait, and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def endpoint(receiver: WebhookReceiver, **overrides: object) -> WebhookEndpoint:
    fields: dict[str, object] = {
        "recipient": "FRA",
        "url": receiver.url,
        "secrets": (SECRET,),
        "allow_private": True,
        "timeout_s": 10.0,
    }
    fields.update(overrides)
    return WebhookEndpoint(**fields)  # type: ignore[arg-type]


async def deliver(
    deliverer: WebhookDeliverer, ep: WebhookEndpoint, webhook_id: str = "SYNTH-NOTE-0001"
) -> DeliveryResult:
    return await deliverer.deliver(ep, webhook_id=webhook_id, body=BODY, allegation_id="SYNTH-2026-0001")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


def test_delivered_request_is_signed_and_carries_the_body() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver, Recorder]:
        recorder = Recorder()
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer(on_attempt=recorder) as d:
            return await deliver(d, endpoint(receiver)), receiver, recorder

    result, receiver, recorder = run(scenario)
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert [(r.verified, r.webhook_id, r.body) for r in receiver.requests] == [
        (True, "SYNTH-NOTE-0001", BODY)
    ]
    assert recorder.records == list(result.attempts)
    (record,) = result.attempts
    assert (record.outcome, record.http_status, record.attempt) == (
        DeliveryOutcome.DELIVERED,
        200,
        1,
    )
    assert record.attempt_id == attempt_id("SYNTH-NOTE-0001", "FRA", 1)


def test_500_then_200_is_delivered_once_after_exactly_two_attempts() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver, NoWait, InMemoryDeliveredStore]:
        sleep, store = NoWait(), InMemoryDeliveredStore()
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[500]) as receiver,
            WebhookDeliverer(sleep=sleep, delivered=store) as d,
        ):
            result = await deliver(d, endpoint(receiver))
            again = await deliver(d, endpoint(receiver))
            assert again.duplicate
            return result, receiver, sleep, store

    result, receiver, sleep, store = run(scenario)
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert [a.outcome for a in result.attempts] == [
        DeliveryOutcome.RETRYING,
        DeliveryOutcome.DELIVERED,
    ]
    assert [a.http_status for a in result.attempts] == [500, 200]
    assert [r.status for r in receiver.requests] == [500, 200]
    assert {r.webhook_id for r in receiver.requests} == {"SYNTH-NOTE-0001"}
    assert receiver.delivered_ids() == ["SYNTH-NOTE-0001"]
    assert len(sleep.delays) == 1
    first = result.attempts[0]
    assert first.next_attempt_at == first.attempted_at + timedelta(seconds=sleep.delays[0])
    assert store.delivered_at("FRA", "SYNTH-NOTE-0001") == result.attempts[1].attempted_at
    assert len({a.attempt_id for a in result.attempts}) == 2


def test_429_retry_after_is_honoured() -> None:
    """Measured with the receiver's own arrival times; base delay 0 leaves only the header."""

    async def scenario() -> tuple[DeliveryResult, WebhookReceiver]:
        throttled = Reply(status=429, headers={"Retry-After": "1"})
        policy = RetryPolicy(base_delay=0.0, max_delay=0.0)
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[throttled]) as receiver,
            WebhookDeliverer(policy=policy) as d,
        ):
            return await deliver(d, endpoint(receiver)), receiver

    result, receiver = run(scenario)
    assert result.outcome is DeliveryOutcome.DELIVERED
    first, second = receiver.requests
    assert (first.status, second.status) == (429, 200)
    assert second.received_monotonic - first.received_monotonic >= 1.0
    retrying = result.attempts[0]
    assert retrying.next_attempt_at is not None
    assert retrying.next_attempt_at - retrying.attempted_at >= timedelta(seconds=1)


def test_410_disables_the_endpoint_and_later_deliveries_send_nothing() -> None:
    async def scenario() -> tuple[DeliveryResult, DeliveryResult, WebhookReceiver]:
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[410]) as receiver,
            WebhookDeliverer(sleep=NoWait()) as d,
        ):
            gone = await deliver(d, endpoint(receiver), "SYNTH-NOTE-0001")
            later = await deliver(d, endpoint(receiver), "SYNTH-NOTE-0002")
            return gone, later, receiver

    gone, later, receiver = run(scenario)
    assert gone.outcome is DeliveryOutcome.DISABLED
    assert gone.newly_disabled
    assert gone.dead_letter
    assert gone.escalate
    assert "410" in (gone.reason or "")
    assert later.outcome is DeliveryOutcome.DISABLED
    assert not later.newly_disabled
    assert later.dead_letter
    assert [(a.attempt, a.http_status) for a in later.attempts] == [(1, None)]
    assert "nothing was sent" in (later.reason or "")
    assert receiver.arrived == 1


def test_reenabled_endpoint_is_used_again() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver]:
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[410]) as receiver,
            WebhookDeliverer(sleep=NoWait()) as d,
        ):
            ep = endpoint(receiver)
            await deliver(d, ep, "SYNTH-NOTE-0001")
            await d.endpoint_states.enable(ep.key)
            return await deliver(d, ep, "SYNTH-NOTE-0001"), receiver

    result, receiver = run(scenario)
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert [r.status for r in receiver.requests] == [410, 200]


def test_endpoint_disabled_in_configuration_sends_nothing() -> None:
    async def scenario() -> tuple[DeliveryResult, int]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer() as d:
            return await deliver(d, endpoint(receiver, enabled=False)), receiver.arrived

    result, arrived = run(scenario)
    assert result.outcome is DeliveryOutcome.DISABLED
    assert arrived == 0


def test_400_fails_without_retry() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver, NoWait]:
        sleep = NoWait()
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[400, 200]) as receiver,
            WebhookDeliverer(sleep=sleep) as d,
        ):
            return await deliver(d, endpoint(receiver)), receiver, sleep

    result, receiver, sleep = run(scenario)
    assert result.outcome is DeliveryOutcome.FAILED
    assert result.dead_letter
    assert result.escalate
    assert "HTTP 400" in (result.reason or "")
    assert [r.status for r in receiver.requests] == [400]
    assert sleep.delays == []


def test_wrong_secret_is_rejected_by_the_receiver_and_fails() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver]:
        async with (
            WebhookReceiver(secrets=[generate_secret()]) as receiver,
            WebhookDeliverer(sleep=NoWait()) as d,
        ):
            return await deliver(d, endpoint(receiver)), receiver

    result, receiver = run(scenario)
    assert result.outcome is DeliveryOutcome.FAILED
    assert [(r.verified, r.status) for r in receiver.requests] == [(False, 401)]


def test_rotation_is_accepted_by_a_receiver_that_knows_only_the_new_secret() -> None:
    new = generate_secret()

    async def scenario() -> tuple[DeliveryResult, WebhookReceiver]:
        async with WebhookReceiver(secrets=[new]) as receiver, WebhookDeliverer() as d:
            return await deliver(d, endpoint(receiver, secrets=(SECRET, new))), receiver

    result, receiver = run(scenario)
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert [r.verified for r in receiver.requests] == [True]


def test_exhausted_attempts_fail_and_say_so() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver, NoWait]:
        sleep = NoWait()
        async with (
            WebhookReceiver(secrets=[SECRET], default=503) as receiver,
            WebhookDeliverer(sleep=sleep, policy=RetryPolicy(max_attempts=3)) as d,
        ):
            return await deliver(d, endpoint(receiver)), receiver, sleep

    result, receiver, sleep = run(scenario)
    assert result.outcome is DeliveryOutcome.FAILED
    assert [a.outcome for a in result.attempts] == [
        DeliveryOutcome.RETRYING,
        DeliveryOutcome.RETRYING,
        DeliveryOutcome.FAILED,
    ]
    assert len(receiver.requests) == 3
    assert len(sleep.delays) == 2
    assert "after 3 attempt(s)" in (result.reason or "")


def test_endpoint_max_attempts_overrides_the_policy() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver]:
        async with (
            WebhookReceiver(secrets=[SECRET], default=500) as receiver,
            WebhookDeliverer(sleep=NoWait(), policy=RetryPolicy(max_attempts=8)) as d,
        ):
            return await deliver(d, endpoint(receiver, max_attempts=2)), receiver

    result, receiver = run(scenario)
    assert result.outcome is DeliveryOutcome.FAILED
    assert len(receiver.requests) == 2


def test_a_hanging_endpoint_times_out_and_is_retried() -> None:
    async def scenario() -> DeliveryResult:
        async with (
            WebhookReceiver(secrets=[SECRET], stall=True) as receiver,
            WebhookDeliverer(sleep=NoWait(), policy=RetryPolicy(max_attempts=2)) as d,
        ):
            return await deliver(d, endpoint(receiver, timeout_s=0.2))

    result = run(scenario)
    assert result.outcome is DeliveryOutcome.FAILED
    assert [a.outcome for a in result.attempts] == [DeliveryOutcome.RETRYING, DeliveryOutcome.FAILED]
    assert all(a.http_status is None for a in result.attempts)
    assert "no answer within 0.2 s" in (result.attempts[0].error or "")


def test_connection_refused_is_retried_then_fails() -> None:
    async def scenario() -> DeliveryResult:
        receiver = WebhookReceiver(secrets=[SECRET])
        await receiver.start()
        url = receiver.url
        await receiver.stop()  # nothing listens there any more
        async with WebhookDeliverer(sleep=NoWait(), policy=RetryPolicy(max_attempts=2)) as d:
            ep = WebhookEndpoint(recipient="FRA", url=url, secrets=(SECRET,), allow_private=True)
            return await deliver(d, ep)

    result = run(scenario)
    assert result.outcome is DeliveryOutcome.FAILED
    assert "cannot connect" in (result.attempts[0].error or "")


def test_redirects_are_not_followed() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookReceiver]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer() as d:
            receiver_redirecting = WebhookReceiver(
                secrets=[SECRET], replies=[Reply(status=307, headers={"Location": receiver.url})]
            )
            async with receiver_redirecting:
                result = await deliver(d, endpoint(receiver_redirecting))
            assert receiver.arrived == 0
            return result, receiver_redirecting

    result, redirecting = run(scenario)
    assert result.outcome is DeliveryOutcome.FAILED
    assert [r.status for r in redirecting.requests] == [307]


def test_same_webhook_id_after_success_sends_nothing() -> None:
    async def scenario() -> tuple[DeliveryResult, DeliveryResult, WebhookReceiver, Recorder]:
        recorder = Recorder()
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer(on_attempt=recorder) as d:
            first = await deliver(d, endpoint(receiver))
            second = await deliver(d, endpoint(receiver))
            return first, second, receiver, recorder

    first, second, receiver, recorder = run(scenario)
    assert first.outcome is DeliveryOutcome.DELIVERED
    assert not first.duplicate
    assert second.outcome is DeliveryOutcome.DELIVERED
    assert second.duplicate
    assert second.attempts == ()
    assert receiver.arrived == 1
    assert len(recorder.records) == 1


def test_concurrent_deliveries_of_one_id_send_one_request() -> None:
    async def scenario() -> tuple[list[DeliveryResult], WebhookReceiver]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer() as d:
            ep = endpoint(receiver)
            results = await asyncio.gather(*(deliver(d, ep) for _ in range(5)))
            return list(results), receiver

    results, receiver = run(scenario)
    assert receiver.arrived == 1
    assert sorted(r.duplicate for r in results) == [False, True, True, True, True]


def test_same_id_to_two_recipients_reaches_both() -> None:
    async def scenario() -> tuple[WebhookReceiver, WebhookReceiver]:
        async with (
            WebhookReceiver(secrets=[SECRET]) as fra,
            WebhookReceiver(secrets=[SECRET]) as ken,
            WebhookDeliverer() as d,
        ):
            await deliver(d, endpoint(fra, recipient="FRA"))
            await deliver(d, endpoint(ken, recipient="KEN"))
            return fra, ken

    fra, ken = run(scenario)
    assert fra.delivered_ids() == ken.delivered_ids() == ["SYNTH-NOTE-0001"]


def test_records_show_the_host_only() -> None:
    async def scenario() -> tuple[DeliveryResult, WebhookEndpoint]:
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[500]) as receiver,
            WebhookDeliverer(sleep=NoWait()) as d,
        ):
            ep = endpoint(receiver, url=receiver.url + "?token=SYNTH-QUERY-TOKEN")
            return await deliver(d, ep), ep

    result, ep = run(scenario)
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert {a.host for a in result.attempts} == {"127.0.0.1"}
    assert "SYNTH-QUERY-TOKEN" not in repr(result)
    assert "SYNTH-QUERY-TOKEN" not in repr(ep)
    assert SECRET not in repr(ep)


def test_attempts_are_stamped_and_signed_by_the_injected_clock() -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    stamps = [start + timedelta(seconds=7 * n) for n in range(3)]
    ticks = iter(stamps)

    async def scenario() -> tuple[DeliveryResult, WebhookReceiver]:
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[503]) as receiver,
            WebhookDeliverer(sleep=NoWait(), clock=lambda: next(ticks)) as d,
        ):
            return await deliver(d, endpoint(receiver)), receiver

    result, receiver = run(scenario)
    assert [a.attempted_at for a in result.attempts] == stamps[:2]
    assert [r.timestamp for r in receiver.requests] == [str(int(t.timestamp())) for t in stamps[:2]]


def expected_run(script: list[int], max_attempts: int) -> tuple[DeliveryOutcome, int]:
    """The specification as a model: final outcome and number of requests."""
    answers = [*script, *[503] * max_attempts]
    for n, status in enumerate(answers[:max_attempts], start=1):
        if 200 <= status < 300:
            return DeliveryOutcome.DELIVERED, n
        if status == 410:
            return DeliveryOutcome.DISABLED, n
        if not (status in (408, 425, 429) or 500 <= status < 600):
            return DeliveryOutcome.FAILED, n
    return DeliveryOutcome.FAILED, max_attempts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=st.lists(
        st.sampled_from([200, 201, 204, 301, 400, 404, 408, 410, 429, 500, 502, 503]),
        min_size=1,
        max_size=6,
    ),
    max_attempts=st.integers(min_value=1, max_value=5),
)
def test_delivery_follows_the_specification(script: list[int], max_attempts: int) -> None:
    """Marked delivered exactly when a 2xx came back; never a request after a 2xx."""

    async def scenario() -> tuple[DeliveryResult, list[int], bool, int]:
        store = InMemoryDeliveredStore()
        async with (
            WebhookReceiver(secrets=[SECRET], replies=script, default=503) as receiver,
            WebhookDeliverer(
                sleep=NoWait(), delivered=store, policy=RetryPolicy(max_attempts=max_attempts)
            ) as d,
        ):
            result = await deliver(d, endpoint(receiver))
            statuses = [r.status for r in receiver.requests]
            marked = await store.is_delivered("FRA", "SYNTH-NOTE-0001")
            await deliver(d, endpoint(receiver))
            return result, statuses, marked, receiver.arrived - len(statuses)

    result, statuses, marked, later_requests = run(scenario)
    outcome, requests = expected_run(script, max_attempts)
    assert result.outcome is outcome
    assert len(statuses) == requests
    assert [a.http_status for a in result.attempts] == statuses
    assert marked == (outcome is DeliveryOutcome.DELIVERED)
    assert marked == any(200 <= s < 300 for s in statuses)
    if outcome in (DeliveryOutcome.DELIVERED, DeliveryOutcome.DISABLED):
        assert later_requests == 0


def test_public_names_are_pinned() -> None:
    assert webhooks.__all__ == sorted(webhooks.__all__)
    assert all(hasattr(webhooks, name) for name in webhooks.__all__)
    assert "verify_webhook" in webhooks.__all__


@pytest.mark.parametrize("webhook_id", ["", "has space", "a,b"])
def test_unusable_webhook_ids_are_refused(webhook_id: str) -> None:
    async def scenario() -> DeliveryResult:
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer() as d:
            return await deliver(d, endpoint(receiver), webhook_id)

    with pytest.raises(WebhookConfigError):
        run(scenario)


def test_a_replay_continues_the_attempt_numbering() -> None:
    async def scenario() -> tuple[DeliveryResult, DeliveryResult]:
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[503, 503]) as receiver,
            WebhookDeliverer(sleep=NoWait(), policy=RetryPolicy(max_attempts=2)) as d,
        ):
            failed = await deliver(d, endpoint(receiver))
            replayed = await d.deliver(
                endpoint(receiver),
                webhook_id="SYNTH-NOTE-0001",
                body=BODY,
                allegation_id="SYNTH-2026-0001",
                first_attempt=len(failed.attempts) + 1,
            )
            return failed, replayed

    failed, replayed = run(scenario)
    assert failed.outcome is DeliveryOutcome.FAILED
    assert replayed.outcome is DeliveryOutcome.DELIVERED
    assert [a.attempt for a in (*failed.attempts, *replayed.attempts)] == [1, 2, 3]
    assert len({a.attempt_id for a in (*failed.attempts, *replayed.attempts)}) == 3
