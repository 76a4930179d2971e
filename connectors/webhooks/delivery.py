"""Deliver one notification to one webhook endpoint: sign, send, retry, record.

Two promises hold here and nowhere else: a notification is marked delivered
only after the endpoint answered 2xx, and once marked it is never sent again
(the same ``webhook-id`` keeps every retry idempotent on the receiver's side as
well). Every attempt is reported to ``on_attempt`` before the next one starts,
so the audit trail shows what was tried when, even if the process dies mid-retry.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp

from seabus.connectors.closing import AsyncClosesOnExit
from seabus.connectors.errors import AddressRefused
from seabus.connectors.webhooks.endpoint import WebhookEndpoint
from seabus.connectors.webhooks.records import (
    AttemptRecord,
    DeliveryResult,
    attempt_id,
)
from seabus.connectors.webhooks.retry import RetryPolicy, Verdict, classify_status, parse_retry_after
from seabus.connectors.webhooks.signing import sign_headers
from seabus.connectors.webhooks.ssrf import GetAddrInfo, VettingResolver, check_host
from seabus.connectors.webhooks.stores import (
    DeliveredStore,
    EndpointStateStore,
    InMemoryDeliveredStore,
    InMemoryEndpointStates,
)
from seabus.schemas.clock import Now, utc_now
from seabus.schemas.enums import DeliveryOutcome

__all__ = ["Clock", "OnAttempt", "Sleep", "WebhookDeliverer"]

Clock = Now
Sleep = Callable[[float], Awaitable[None]]
OnAttempt = Callable[[AttemptRecord], Awaitable[None]]

USER_AGENT = "seabus-webhooks/0.1"


async def _ignore(_record: AttemptRecord) -> None:
    return None


@dataclass(frozen=True)
class _Answer:
    """What one request produced: a status or an error, never both."""

    status: int | None
    retry_after: str | None
    error: str | None
    refused: bool = False


def _describe(exc: BaseException, timeout_s: float) -> str:
    """A short, URL-free account of a transport failure for records and logs."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS handshake failed (certificate or protocol); check the endpoint's certificate"
    if isinstance(exc, aiohttp.ClientConnectorError):
        detail = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect: {detail}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    return f"transport error ({type(exc).__name__})"


class _KeyedLocks:
    """One lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: tuple[str, str]) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class WebhookDeliverer(AsyncClosesOnExit):
    """Signs and sends webhooks with retries; one instance per process, shared by all recipients.

    ``max_in_flight`` bounds concurrent HTTP requests across all endpoints; a
    delivery waiting out a backoff holds no slot. ``getaddrinfo`` and
    ``ssl_context`` exist for tests and unusual networks.
    """

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        on_attempt: OnAttempt | None = None,
        delivered: DeliveredStore | None = None,
        endpoint_states: EndpointStateStore | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        max_in_flight: int = 100,
        getaddrinfo: GetAddrInfo | None = None,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.policy = policy or RetryPolicy()
        self.delivered: DeliveredStore = delivered or InMemoryDeliveredStore()
        self.endpoint_states: EndpointStateStore = endpoint_states or InMemoryEndpointStates()
        self._on_attempt = on_attempt or _ignore
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_in_flight = max_in_flight
        self._getaddrinfo = getaddrinfo
        self._ssl: ssl.SSLContext | bool = ssl_context or True
        self._user_agent = user_agent
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._locks = _KeyedLocks()

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def _session(self, allow_private: bool) -> aiohttp.ClientSession:
        """One session per SSRF mode, so pooled connections never cross between them."""
        session = self._sessions.get(allow_private)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                resolver=VettingResolver(allow_private=allow_private, getaddrinfo=self._getaddrinfo),
                use_dns_cache=False,
                limit=self._max_in_flight,
                ssl=self._ssl,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"user-agent": self._user_agent},
            )
            self._sessions[allow_private] = session
        return session

    async def deliver(
        self,
        endpoint: WebhookEndpoint,
        *,
        webhook_id: str,
        body: bytes,
        allegation_id: str,
        content_type: str = "application/json",
        first_attempt: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> DeliveryResult:
        """Deliver ``body`` to ``endpoint`` under ``webhook_id`` (the notification or escalation id).

        ``headers`` are sent with every attempt besides the signature headers
        (e.g. CloudEvents ``ce-type``, so a receiver tells record types apart).

        Returns once the outcome is final: DELIVERED, FAILED, DISABLED or
        REFUSED. Exceptions from the stores or ``on_attempt`` propagate.
        ``first_attempt`` numbers this call's attempts after earlier ones (a
        replay from the dead-letter topic), so attempt ids stay unique.
        """
        if first_attempt < 1:
            raise ValueError("first_attempt must be at least 1")
        async with self._locks.hold((endpoint.recipient, webhook_id)):
            return await self._deliver(
                endpoint,
                webhook_id=webhook_id,
                body=body,
                allegation_id=allegation_id,
                content_type=content_type,
                first_attempt=first_attempt,
                headers=headers or {},
            )

    async def _deliver(
        self,
        endpoint: WebhookEndpoint,
        *,
        webhook_id: str,
        body: bytes,
        allegation_id: str,
        content_type: str,
        first_attempt: int,
        headers: Mapping[str, str],
    ) -> DeliveryResult:
        host = endpoint.host
        records: list[AttemptRecord] = []

        def result(outcome: DeliveryOutcome, reason: str | None, **extra: bool) -> DeliveryResult:
            return DeliveryResult(
                outcome=outcome,
                webhook_id=webhook_id,
                allegation_id=allegation_id,
                recipient=endpoint.recipient,
                host=host,
                attempts=tuple(records),
                reason=reason,
                **extra,
            )

        async def record(
            attempt: int,
            outcome: DeliveryOutcome,
            at: datetime,
            *,
            status: int | None = None,
            error: str | None = None,
            next_at: datetime | None = None,
        ) -> None:
            entry = AttemptRecord(
                attempt_id=attempt_id(webhook_id, endpoint.recipient, attempt),
                webhook_id=webhook_id,
                allegation_id=allegation_id,
                recipient=endpoint.recipient,
                host=host,
                attempt=attempt,
                outcome=outcome,
                attempted_at=at,
                http_status=status,
                error=error,
                next_attempt_at=next_at,
            )
            records.append(entry)
            await self._on_attempt(entry)

        if await self.delivered.is_delivered(endpoint.recipient, webhook_id):
            return result(DeliveryOutcome.DELIVERED, "already delivered; not sent again", duplicate=True)

        max_attempts = endpoint.max_attempts or self.policy.max_attempts
        tries = 0
        while True:
            tries += 1
            attempt = first_attempt + tries - 1
            disabled_reason = await self._disabled_reason(endpoint)
            if disabled_reason is not None:
                # Recorded with no status: no request was made.
                await record(attempt, DeliveryOutcome.DISABLED, self._clock(), error=disabled_reason)
                return result(DeliveryOutcome.DISABLED, disabled_reason)

            now = self._clock()
            answer = await self._request(
                endpoint, webhook_id=webhook_id, body=body, content_type=content_type, now=now, extra=headers
            )
            if answer.refused:
                await record(attempt, DeliveryOutcome.REFUSED, now, error=answer.error)
                return result(DeliveryOutcome.REFUSED, answer.error)

            verdict = Verdict.RETRY if answer.status is None else classify_status(answer.status)
            if verdict is Verdict.DELIVERED:
                await self.delivered.mark_delivered(endpoint.recipient, webhook_id, now)
                await record(attempt, DeliveryOutcome.DELIVERED, now, status=answer.status)
                return result(DeliveryOutcome.DELIVERED, None)
            if verdict is Verdict.DISABLE:
                reason = (
                    f"the endpoint of {endpoint.recipient} answered 410 Gone; it is disabled "
                    "until an operator confirms a new URL and re-enables it"
                )
                await self.endpoint_states.disable(endpoint.key, at=now, reason=reason)
                await record(attempt, DeliveryOutcome.DISABLED, now, status=answer.status, error=reason)
                return result(DeliveryOutcome.DISABLED, reason, newly_disabled=True)
            what = f"HTTP {answer.status}" if answer.status is not None else answer.error
            if verdict is Verdict.FAIL:
                reason = (
                    f"the endpoint of {endpoint.recipient} answered {what}, which retrying will "
                    "not change; fix the endpoint, then replay from the dead-letter topic"
                )
                await record(attempt, DeliveryOutcome.FAILED, now, status=answer.status, error=reason)
                return result(DeliveryOutcome.FAILED, reason)
            if tries >= max_attempts:
                reason = (
                    f"no 2xx from the endpoint of {endpoint.recipient} after {tries} attempt(s), "
                    f"last: {what}; check the endpoint, then replay from the dead-letter topic"
                )
                await record(attempt, DeliveryOutcome.FAILED, now, status=answer.status, error=reason)
                return result(DeliveryOutcome.FAILED, reason)

            retry_after = parse_retry_after(answer.retry_after, now=now)
            delay = self.policy.delay_for(tries, retry_after, self._rng)
            await record(
                attempt,
                DeliveryOutcome.RETRYING,
                now,
                status=answer.status,
                error=answer.error,
                next_at=now + timedelta(seconds=delay),
            )
            await self._sleep(delay)

    async def _disabled_reason(self, endpoint: WebhookEndpoint) -> str | None:
        if not endpoint.enabled:
            return f"the endpoint of {endpoint.recipient} is disabled in the configuration; nothing was sent"
        state = await self.endpoint_states.disabled(endpoint.key)
        if state is not None:
            return f"nothing was sent: endpoint disabled since {state.at.isoformat()} ({state.reason})"
        return None

    async def _request(
        self,
        endpoint: WebhookEndpoint,
        *,
        webhook_id: str,
        body: bytes,
        content_type: str,
        now: datetime,
        extra: Mapping[str, str],
    ) -> _Answer:
        headers = {**extra}
        headers.update(
            sign_headers(webhook_id=webhook_id, timestamp=now, body=body, secrets=endpoint.secrets)
        )
        headers["content-type"] = content_type
        try:
            check_host(endpoint.host, allow_private=endpoint.allow_private)
            async with (
                self._slots,
                self._session(endpoint.allow_private).post(
                    endpoint.url,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=endpoint.timeout_s),
                ) as response,
            ):
                return _Answer(
                    status=response.status,
                    retry_after=response.headers.get("retry-after"),
                    error=None,
                )
        except AddressRefused as exc:
            return _Answer(status=None, retry_after=None, error=str(exc), refused=True)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return _Answer(status=None, retry_after=None, error=_describe(exc, endpoint.timeout_s))
