"""A real webhook receiver for tests, the benchmark and recipients' own test suites.

It listens on 127.0.0.1 (an ephemeral port), verifies every request with
:func:`verify_webhook` exactly as a Member State's endpoint should, answers from
a script of replies, and remembers what it received. It can also stall: hold
every request open until released, like an endpoint that accepts connections
and never answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from seabus.connectors.errors import WebhookVerificationError
from seabus.connectors.webhooks.signing import verify_webhook

__all__ = ["ReceivedRequest", "Reply", "WebhookReceiver"]


@dataclass(frozen=True, kw_only=True)
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ReceivedRequest:
    """One request as the receiver saw it; ``error`` is the verification failure, if any."""

    webhook_id: str | None
    timestamp: str | None
    signature: str | None
    body: bytes
    verified: bool
    error: str | None
    status: int
    received_monotonic: float
    event_type: str | None = None
    """The CloudEvents ``ce-type`` header: which record type the body is."""


class WebhookReceiver:
    """An aiohttp endpoint on 127.0.0.1 that verifies Standard Webhooks signatures.

    ``replies`` are used in order, one per verified request; afterwards every
    verified request gets ``default``. A request that fails verification gets
    401 and does not consume a reply. With ``stall=True`` every request waits
    until :meth:`release` (or :meth:`stop`) before it is answered.
    """

    def __init__(
        self,
        *,
        secrets: Sequence[str],
        replies: Iterable[Reply | int] = (),
        default: Reply | int = 200,
        stall: bool = False,
        path: str = "/hook",
    ) -> None:
        self._secrets = tuple(secrets)
        self._replies = [r if isinstance(r, Reply) else Reply(status=r) for r in replies]
        self._default = default if isinstance(default, Reply) else Reply(status=default)
        self._released = asyncio.Event()
        if not stall:
            self._released.set()
        self._path = path
        self._arrivals = asyncio.Condition()
        self._arrived = 0
        self.requests: list[ReceivedRequest] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the receiver is not started; call start() or use 'async with'")
        return f"http://127.0.0.1:{self._port}{self._path}"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the receiver is not started; call start() or use 'async with'")
        return self._port

    @property
    def arrived(self) -> int:
        """Requests that reached the handler, answered or still held open."""
        return self._arrived

    def delivered_ids(self, event_type: str | None = None) -> list[str]:
        """Webhook ids of verified requests answered 2xx, in arrival order.

        ``event_type`` keeps only one record type (the ``ce-type`` header, e.g.
        ``org.seabus.Notification``): escalations of the same recipient may arrive
        in between, whenever a deadline falls due.
        """
        return [
            r.webhook_id
            for r in self.requests
            if r.verified
            and 200 <= r.status < 300
            and r.webhook_id is not None
            and (event_type is None or r.event_type == event_type)
        ]

    def release(self) -> None:
        """Let held (stalled) requests be answered, and stop stalling new ones."""
        self._released.set()

    async def wait_for_arrivals(self, count: int) -> None:
        """Return once ``count`` requests have reached the handler."""
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: self._arrived >= count)

    async def _handle(self, request: web.Request) -> web.Response:
        arrived_at = time.monotonic()
        body = await request.read()
        async with self._arrivals:
            self._arrived += 1
            self._arrivals.notify_all()
        await self._released.wait()
        error: str | None = None
        try:
            verify_webhook(request.headers, body, self._secrets)
        except WebhookVerificationError as exc:
            error = str(exc)
        reply = Reply(status=401) if error else (self._replies.pop(0) if self._replies else self._default)
        self.requests.append(
            ReceivedRequest(
                webhook_id=request.headers.get("webhook-id"),
                timestamp=request.headers.get("webhook-timestamp"),
                signature=request.headers.get("webhook-signature"),
                body=body,
                verified=error is None,
                error=error,
                status=reply.status,
                received_monotonic=arrived_at,
                event_type=request.headers.get("ce-type"),
            )
        )
        return web.Response(status=reply.status, headers=dict(reply.headers))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self._path, self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(self, *_exc_info: object) -> None:  # the exception, if any, propagates
        await self.stop()
