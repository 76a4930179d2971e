"""Run deliveries concurrently across recipients, in order within each recipient.

Each recipient has its own lane: a queue and one worker task. A recipient's
notifications are delivered one after another (an update never overtakes the
allegation it updates), while a slow, dead or backing-off endpoint holds up
only its own lane. The overall number of concurrent HTTP requests is bounded by
the deliverer (``max_in_flight``); keep it above the number of recipients so
stalled endpoints can never take every slot.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType

from seabus.connectors.errors import DispatcherClosed
from seabus.connectors.webhooks.delivery import WebhookDeliverer
from seabus.connectors.webhooks.endpoint import WebhookEndpoint
from seabus.connectors.webhooks.records import DeliveryResult

__all__ = ["WebhookDispatcher"]


@dataclass(frozen=True, kw_only=True)
class _Job:
    endpoint: WebhookEndpoint
    webhook_id: str
    body: bytes = field(repr=False)
    allegation_id: str
    content_type: str
    first_attempt: int
    future: asyncio.Future[DeliveryResult]


@dataclass
class _Lane:
    queue: asyncio.Queue[_Job]
    worker: asyncio.Task[None]
    pending: int = 0


class WebhookDispatcher:
    """Per-recipient delivery lanes over one shared :class:`WebhookDeliverer`.

    The dispatcher does not own the deliverer: close the dispatcher first, then
    the deliverer.
    """

    def __init__(self, *, deliverer: WebhookDeliverer) -> None:
        self._deliverer = deliverer
        self._lanes: dict[str, _Lane] = {}
        self._closing = False

    async def __aenter__(self) -> WebhookDispatcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def submit(
        self,
        endpoint: WebhookEndpoint,
        *,
        webhook_id: str,
        body: bytes,
        allegation_id: str,
        content_type: str = "application/json",
        first_attempt: int = 1,
    ) -> asyncio.Future[DeliveryResult]:
        """Queue a delivery on the recipient's lane; the future resolves to its final result.

        Must be called from the running event loop. The queue is in memory:
        commit the source offset only once the future has resolved.
        """
        if self._closing:
            raise DispatcherClosed(
                "the webhook dispatcher is shutting down and takes no new deliveries; "
                "leave the notification uncommitted so it is delivered after a restart"
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[DeliveryResult] = loop.create_future()
        lane = self._lanes.get(endpoint.recipient)
        if lane is None:
            queue: asyncio.Queue[_Job] = asyncio.Queue()
            worker = loop.create_task(
                self._run_lane(endpoint.recipient, queue),
                name=f"webhook-lane-{endpoint.recipient}",
            )
            lane = self._lanes[endpoint.recipient] = _Lane(queue=queue, worker=worker)
        lane.pending += 1
        lane.queue.put_nowait(
            _Job(
                endpoint=endpoint,
                webhook_id=webhook_id,
                body=body,
                allegation_id=allegation_id,
                content_type=content_type,
                first_attempt=first_attempt,
                future=future,
            )
        )
        return future

    def pending(self, recipient: str) -> int:
        """Deliveries queued or in progress for ``recipient`` (for back-pressure and metrics)."""
        lane = self._lanes.get(recipient)
        return 0 if lane is None else lane.pending

    async def _run_lane(self, recipient: str, queue: asyncio.Queue[_Job]) -> None:
        while True:
            job = await queue.get()
            try:
                if job.future.done():  # the submitter gave up on it
                    continue
                result = await self._deliverer.deliver(
                    job.endpoint,
                    webhook_id=job.webhook_id,
                    body=job.body,
                    allegation_id=job.allegation_id,
                    content_type=job.content_type,
                    first_attempt=job.first_attempt,
                )
                if not job.future.done():
                    job.future.set_result(result)
            except asyncio.CancelledError:
                job.future.cancel()
                raise
            except Exception as exc:  # handed to the submitter, who decides
                if not job.future.done():
                    job.future.set_exception(exc)
            finally:
                queue.task_done()
                self._lanes[recipient].pending -= 1

    async def close(self, *, grace_s: float | None = None) -> None:
        """Stop taking work, let queued deliveries finish (up to ``grace_s`` s), then stop.

        ``None`` waits for every queued delivery. Deliveries still queued or
        running when the grace period ends are cancelled along with their
        futures: leave their source offsets uncommitted so they run again after
        a restart (the delivered store keeps any that did get a 2xx from being
        sent twice).
        """
        self._closing = True
        lanes = list(self._lanes.values())
        drained = asyncio.gather(*(lane.queue.join() for lane in lanes))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained, grace_s)
        for lane in lanes:
            lane.worker.cancel()
        for lane in lanes:
            with contextlib.suppress(asyncio.CancelledError):
                await lane.worker
            while not lane.queue.empty():
                lane.queue.get_nowait().future.cancel()
        self._lanes.clear()
