"""Per-recipient lanes: one stalled endpoint never holds up another recipient.

"Does not delay" is shown by order of events, not by a stopwatch: the healthy
recipient's delivery completes while the stalled endpoint's request is still
being held open by its receiver.
"""

from __future__ import annotations

import asyncio

import pytest

from seabus.connectors.errors import DispatcherClosed
from seabus.connectors.webhooks import (
    AttemptOutcome,
    AttemptRecord,
    DeliveryResult,
    WebhookDeliverer,
    WebhookDispatcher,
    WebhookEndpoint,
    generate_secret,
)
from seabus.connectors.webhooks.testing import WebhookReceiver

SECRET = generate_secret()


def endpoint(receiver: WebhookReceiver, recipient: str, timeout_s: float = 60.0) -> WebhookEndpoint:
    return WebhookEndpoint(
        recipient=recipient,
        url=receiver.url,
        secrets=(SECRET,),
        allow_private=True,
        timeout_s=timeout_s,
    )


async def no_wait(_seconds: float) -> None:
    return None


def test_a_stalled_endpoint_does_not_delay_a_healthy_recipient() -> None:
    async def scenario() -> tuple[DeliveryResult, bool, int, int, DeliveryResult]:
        async with (
            WebhookReceiver(secrets=[SECRET], stall=True) as stalled,
            WebhookReceiver(secrets=[SECRET]) as healthy,
            WebhookDeliverer(max_in_flight=2) as deliverer,
        ):
            dispatcher = WebhookDispatcher(deliverer=deliverer)
            stuck = dispatcher.submit(
                endpoint(stalled, "NPL"),
                webhook_id="SYNTH-NOTE-0001",
                body=b"{}",
                allegation_id="SYNTH-2026-0001",
            )
            await stalled.wait_for_arrivals(1)  # the stalled request is now hanging
            fine = dispatcher.submit(
                endpoint(healthy, "KEN"),
                webhook_id="SYNTH-NOTE-0002",
                body=b"{}",
                allegation_id="SYNTH-2026-0001",
            )
            healthy_result = await fine
            stuck_still_pending = not stuck.done()
            held_open, answered = stalled.arrived, len(stalled.requests)
            stalled.release()
            stuck_result = await stuck
            await dispatcher.close()
            return healthy_result, stuck_still_pending, held_open, answered, stuck_result

    healthy_result, stuck_pending, held_open, answered, stuck_result = asyncio.run(scenario())
    assert healthy_result.outcome is AttemptOutcome.DELIVERED
    assert stuck_pending
    assert (held_open, answered) == (1, 0)
    assert stuck_result.outcome is AttemptOutcome.DELIVERED


def test_a_recipient_in_backoff_does_not_hold_others() -> None:
    """A lane waiting out a retry delay holds no request slot."""

    async def scenario() -> tuple[list[str], bool]:
        backoff_started = asyncio.Event()
        never = asyncio.Event()

        async def park(_seconds: float) -> None:
            backoff_started.set()
            await never.wait()

        async with (
            WebhookReceiver(secrets=[SECRET], default=503) as failing,
            WebhookReceiver(secrets=[SECRET]) as healthy,
            WebhookDeliverer(max_in_flight=1, sleep=park) as deliverer,
        ):
            dispatcher = WebhookDispatcher(deliverer=deliverer)
            parked = dispatcher.submit(
                endpoint(failing, "URY"),
                webhook_id="SYNTH-NOTE-0001",
                body=b"{}",
                allegation_id="SYNTH-2026-0001",
            )
            await backoff_started.wait()
            results = [
                await dispatcher.submit(
                    endpoint(healthy, "BGD"),
                    webhook_id=f"SYNTH-NOTE-01{n:02d}",
                    body=b"{}",
                    allegation_id="SYNTH-2026-0002",
                )
                for n in range(3)
            ]
            still_parked = not parked.done()
            await dispatcher.close(grace_s=0)
            return [r.outcome.value for r in results], still_parked and parked.cancelled()

    outcomes, parked_then_cancelled = asyncio.run(scenario())
    assert outcomes == ["DELIVERED"] * 3
    assert parked_then_cancelled


def test_one_recipient_is_served_in_submission_order_through_retries() -> None:
    async def scenario() -> list[str]:
        async with (
            WebhookReceiver(secrets=[SECRET], replies=[500, 502]) as receiver,
            WebhookDeliverer(sleep=no_wait) as deliverer,
        ):
            dispatcher = WebhookDispatcher(deliverer=deliverer)
            ids = [f"SYNTH-NOTE-{n:04d}" for n in range(6)]
            futures = [
                dispatcher.submit(
                    endpoint(receiver, "FRA"),
                    webhook_id=i,
                    body=b"{}",
                    allegation_id="SYNTH-2026-0003",
                )
                for i in ids
            ]
            await asyncio.gather(*futures)
            await dispatcher.close()
            assert receiver.delivered_ids() == ids
            return [r.webhook_id or "" for r in receiver.requests]

    arrivals = asyncio.run(scenario())
    # The first notification was retried twice before the second was sent at all.
    assert arrivals[:4] == ["SYNTH-NOTE-0000"] * 3 + ["SYNTH-NOTE-0001"]


def test_close_drains_queued_deliveries_and_then_refuses_new_ones() -> None:
    async def scenario() -> tuple[list[DeliveryResult], WebhookDispatcher, WebhookEndpoint]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer() as deliverer:
            dispatcher = WebhookDispatcher(deliverer=deliverer)
            ep = endpoint(receiver, "OSC")
            futures = [
                dispatcher.submit(
                    ep, webhook_id=f"SYNTH-NOTE-{n:04d}", body=b"{}", allegation_id="SYNTH-2026-0004"
                )
                for n in range(5)
            ]
            await dispatcher.close()
            assert all(f.done() for f in futures)
            return [f.result() for f in futures], dispatcher, ep

    results, dispatcher, ep = asyncio.run(scenario())
    assert [r.outcome for r in results] == [AttemptOutcome.DELIVERED] * 5

    async def late() -> None:
        dispatcher.submit(ep, webhook_id="SYNTH-LATE", body=b"{}", allegation_id="SYNTH-2026-0004")

    with pytest.raises(DispatcherClosed, match="shutting down"):
        asyncio.run(late())


def test_pending_counts_queued_and_running_deliveries() -> None:
    async def scenario() -> tuple[int, int, int]:
        async with WebhookReceiver(secrets=[SECRET], stall=True) as receiver, WebhookDeliverer() as d:
            dispatcher = WebhookDispatcher(deliverer=d)
            futures = [
                dispatcher.submit(
                    endpoint(receiver, "OIOS"),
                    webhook_id=f"SYNTH-NOTE-{n:04d}",
                    body=b"{}",
                    allegation_id="SYNTH-2026-0005",
                )
                for n in range(3)
            ]
            await receiver.wait_for_arrivals(1)
            during = dispatcher.pending("OIOS")
            receiver.release()
            await asyncio.gather(*futures)
            after = dispatcher.pending("OIOS")
            await dispatcher.close()
            return during, after, dispatcher.pending("VRA")

    assert asyncio.run(scenario()) == (3, 0, 0)


def test_errors_from_the_audit_hook_reach_the_submitter() -> None:
    async def failing_audit(_record: AttemptRecord) -> None:
        raise RuntimeError("audit topic unavailable")

    async def scenario() -> BaseException | None:
        async with (
            WebhookReceiver(secrets=[SECRET]) as receiver,
            WebhookDeliverer(on_attempt=failing_audit) as d,
        ):
            dispatcher = WebhookDispatcher(deliverer=d)
            future = dispatcher.submit(
                endpoint(receiver, "VRA"),
                webhook_id="SYNTH-NOTE-0001",
                body=b"{}",
                allegation_id="SYNTH-2026-0006",
            )
            await asyncio.wait([future])
            await dispatcher.close()
            return future.exception()

    error = asyncio.run(scenario())
    assert isinstance(error, RuntimeError)
    assert "audit topic unavailable" in str(error)
