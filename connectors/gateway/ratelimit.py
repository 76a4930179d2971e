"""A per-client rate limit on the authenticated routes, and a log line for every failed sign-in.

Tokens are 256-bit random strings, so guessing one is hopeless; the limit is
there so that one client (a broken integration in a loop, or someone trying
stolen tokens) cannot crowd out the others or fill the log. It is keyed by the
client's address and applies *before* authentication, so failed attempts count
too. A token bucket per address: ``burst`` requests at once, refilled at
``requests_per_minute``; over it, 429 with ``Retry-After``. Addresses are kept
in a bounded, least-recently-used table, so a flood of addresses costs memory
only up to ``max_clients``.

Failed sign-ins (every 401 on a ``/v1/`` route) are logged with the client address, the route, the
principal the request claimed where there is one (the recipient in a signed
reply's path) and why, never the token or signature.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aiohttp import web

from seabus.connectors.gateway.config import RateLimitConfig
from seabus.connectors.gateway.problems import HttpProblem, problem_response

__all__ = ["RATE_LIMITED", "RateLimiter", "rate_limit_middleware"]

log = structlog.get_logger(__name__)

RATE_LIMITED = "urn:seabus:problem:rate-limited"
LIMITED_PREFIX = "/v1/"
"""Every authenticated route lives under /v1/; /healthz and /openapi.json stay open."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per client address."""

    def __init__(self, config: RateLimitConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._rate = config.requests_per_minute / 60.0
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def acquire(self, client: str) -> float:
        """0 if ``client`` may make a request now, else the seconds until it may."""
        now = self._clock()
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = _Bucket(float(self.config.burst), now)
            while len(self._buckets) >= self.config.max_clients:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(float(self.config.burst), bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        self._buckets[client] = bucket
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._rate


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def _log_failed_sign_in(request: web.Request, problem: HttpProblem) -> None:
    log.warning(
        "gateway sign-in failed",
        client=_client(request),
        method=request.method,
        path=request.path,
        claimed=request.match_info.get("recipient"),
        status=problem.status,
        problem=problem.type,
        reason=problem.detail[:300],
    )


def rate_limit_middleware(limiter: RateLimiter | None) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Limits ``/v1/`` requests per client (``limiter`` None: no limit) and logs failed sign-ins."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith(LIMITED_PREFIX):
            return await handler(request)
        if limiter is not None:
            wait = limiter.acquire(_client(request))
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                log.warning(
                    "gateway rate limit",
                    client=_client(request),
                    path=request.path,
                    retry_after_s=retry_after,
                )
                limited = HttpProblem(
                    429,
                    type_=RATE_LIMITED,
                    title="Too Many Requests",
                    detail=f"this client sent more than {limiter.config.requests_per_minute} requests per "
                    f"minute (bursts of {limiter.config.burst}); wait {retry_after} s (Retry-After) and send "
                    "again. Nothing of this request was read or sent.",
                    headers={"Retry-After": str(retry_after)},
                )
                return problem_response(limited, instance=request.path)
        try:
            return await handler(request)
        except HttpProblem as problem:
            if problem.status == 401:
                _log_failed_sign_in(request, problem)
            raise

    return middleware
