"""The on-call view in a child process of ``seabus run`` (issue 16, ``view.in_worker: false``).

Reading every topic back for the dashboard cost the worker CPU per routed event; here
the read model runs in a process of its own, and the worker's gateway keeps the one
URL the README documents: whatever path the worker's gateway does not serve itself
(the dashboard, ``/v1/overdue``, ``/v1/stats``, timelines, a state's own view) is
forwarded to the child over loopback. ``/metrics`` and ``/readyz`` stay the worker's
and include the view's figures, which the worker polls from the child.

The child never outlives ``seabus run``: it holds one end of a socket pair (the
lifeline) whose other end only the parent has, so the parent's death, however it
happens (kill -9 included), closes it and the child stops; PR_SET_PDEATHSIG sends it
SIGTERM too. A child that dies while the parent runs is logged as an error and
restarted with a backoff; meanwhile the view's routes answer 503 and /readyz says why.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import aiohttp
import mode
import structlog
from aiohttp import web
from multidict import CIMultiDict

from seabus.connectors.gateway.state import GatewayState, RouteModule
from seabus.schemas.errors import SeabusError
from seabus.streams.config import Settings
from seabus.streams.views import ReaderStatus

__all__ = ["INTERNAL_PREFIX", "ViewProcess", "ViewProcessError", "main", "proxy_routes"]

log = structlog.get_logger(__name__)

INTERNAL_PREFIX = "/internal/"
"""The child's own routes for its parent (its status); never forwarded from outside."""

STATUS_PATH = INTERNAL_PREFIX + "view-status"

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)


class ViewProcessError(SeabusError):
    """The view's child process could not be started."""


class ViewProcess(mode.Service):
    """Starts, watches and stops the view's child process; its status and figures for /readyz, /metrics."""

    def __init__(
        self,
        *,
        settings: Settings,
        start_timeout_s: float = 120.0,
        poll_s: float = 2.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.start_timeout_s = start_timeout_s
        self.poll_s = poll_s
        self.max_backoff_s = max_backoff_s
        self.url: str | None = None
        """The child's loopback URL while it answers; None while it is (re)starting."""
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lifeline: socket.socket | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._status: dict[str, Any] | None = None
        self._status_at: float | None = None
        self._forget_metrics: Any = None
        self.caught_up = False
        """The child's read model has read the topics' history (as last polled; for /metrics)."""
        super().__init__()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # -- lifecycle ----------------------------------------------------------------

    async def on_start(self) -> None:
        from seabus.streams import metrics

        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        await self._spawn()
        self._forget_metrics = metrics.watch_view(self)
        self._task = asyncio.create_task(self._supervise(), name="seabus-view-process")

    async def on_stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._forget_metrics is not None:
            self._forget_metrics()
        await self._end_child()
        if self._session is not None:
            await self._session.close()

    async def _spawn(self) -> None:
        """Start the child and wait until it listens; a child that cannot start stops start-up loudly."""
        parent_end, child_end = socket.socketpair()
        try:
            self._proc = self._popen(child_end.fileno())
        finally:
            child_end.close()
        parent_end.setblocking(False)
        self._lifeline = parent_end
        try:
            port = await asyncio.wait_for(self._read_port(parent_end), timeout=self.start_timeout_s)
        except (TimeoutError, ViewProcessError) as exc:
            await self._end_child()
            raise ViewProcessError(
                f"the on-call view's process did not start ({exc or 'no answer in time'}); see its log "
                "lines above, or set view.in_worker: true to run the view inside the worker"
            ) from None
        self.url = f"http://127.0.0.1:{port}"
        log.info("on-call view process listening", pid=self._proc.pid, url=self.url)

    def _popen(self, lifeline: int) -> subprocess.Popen[bytes]:
        """The child, with stdout and stderr shared, so its log lines are in ``seabus run``'s."""
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seabus.deploy.view_process",
                "--lifeline",
                str(lifeline),
                "--parent",
                str(os.getpid()),
                "--log-level",
                self.settings.log_level,
            ],
            pass_fds=(lifeline,),
            stdin=subprocess.DEVNULL,
        )

    async def _read_port(self, sock: socket.socket) -> int:
        loop = asyncio.get_running_loop()
        data = b""
        while not data.endswith(b"\n"):
            chunk = await loop.sock_recv(sock, 64)
            if not chunk:
                code = None if self._proc is None else self._proc.poll()
                raise ViewProcessError(f"it exited with code {code}")
            data += chunk
        return int(data.strip())

    async def _end_child(self) -> None:
        proc, self._proc, self.url = self._proc, None, None
        if self._lifeline is not None:
            self._lifeline.close()  # the child stops on its own when this closes
            self._lifeline = None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15.0)
        except subprocess.TimeoutExpired:
            log.warning("on-call view process did not stop in time; killing it", pid=proc.pid)
            proc.kill()
            await asyncio.to_thread(proc.wait)

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            proc = self._proc
            code = None if proc is None else proc.poll()
            if proc is None or code is not None:
                log.error(
                    "on-call view process died; restarting it (the dashboard answers 503 meanwhile)",
                    pid=None if proc is None else proc.pid,
                    exit_code=code,
                    retry_in_s=backoff,
                )
                await self._end_child()
                self._status, self.caught_up = None, False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                try:
                    await self._spawn()
                    self.restarts += 1
                except ViewProcessError as exc:
                    log.error("on-call view process could not be restarted", reason=str(exc))
                continue
            await self._poll_status()
            if self._status is not None and self._status["status"]["caught_up"]:
                backoff = 1.0
            await asyncio.sleep(self.poll_s)

    async def _poll_status(self) -> None:
        if self.url is None or self._session is None:
            return
        try:
            async with self._session.get(
                self.url + STATUS_PATH, timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                if response.status == 200:
                    self._status = await response.json()
                    self._status_at = time.monotonic()
                    self.caught_up = self.status().caught_up
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("on-call view process did not answer its status", error=exc.__class__.__name__)

    # -- what /readyz and /metrics read ---------------------------------------------

    def status(self) -> ReaderStatus:
        """The child's reader status as last polled (ages grown by the time since)."""
        if self._status is None or self._status_at is None:
            return ReaderStatus(
                connected=False, caught_up=False, last_contact_age_s=None, partitions=0, lag=0
            )
        raw = self._status["status"]
        age = raw["last_contact_age_s"]
        since = time.monotonic() - self._status_at
        return ReaderStatus(
            connected=bool(raw["connected"]),
            caught_up=bool(raw["caught_up"]),
            last_contact_age_s=None if age is None else float(age) + since,
            partitions=int(raw["partitions"]),
            lag=int(raw["lag"]),
        )

    def level_counts(self, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
        if self._status is None:
            return {}, {}
        return dict(self._status["open"]), dict(self._status["overdue"])

    def delivery_counts(self) -> Mapping[tuple[str, str], int]:
        if self._status is None:
            return {}
        return {(channel, outcome): int(n) for channel, outcome, n in self._status["deliveries"]}

    # -- forwarding -------------------------------------------------------------------

    async def forward(self, request: web.Request) -> web.StreamResponse:
        """One request to the child, its answer back as it came (status, headers, body)."""
        from seabus.connectors.gateway.problems import HttpProblem

        if request.path.startswith(INTERNAL_PREFIX):
            raise web.HTTPNotFound()
        if self.url is None or self._session is None:
            raise HttpProblem(
                503,
                title="The on-call view is starting",
                detail="The on-call view's process is (re)starting; try again in a few seconds.",
                headers={"Retry-After": "5"},
            )
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        headers["Accept-Encoding"] = "identity"
        body = await request.read()
        try:
            async with self._session.request(
                request.method,
                self.url + request.raw_path,
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                out = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP)
                return web.Response(status=upstream.status, body=payload, headers=out)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("on-call view process did not answer", error=exc.__class__.__name__)
            raise HttpProblem(
                503,
                title="The on-call view did not answer",
                detail="The on-call view's process did not answer; try again in a few seconds.",
                headers={"Retry-After": "5"},
            ) from None


def proxy_routes(view: ViewProcess) -> tuple[RouteModule, ...]:
    """The last route of the worker's gateway: anything it does not serve goes to the view's process."""

    def register(app: web.Application, gw: GatewayState) -> None:
        app.router.add_route("*", "/{tail:.*}", view.forward)

    return (register,)


# -- the child -----------------------------------------------------------------------


class _NoProducer:
    """The child publishes nothing: it serves no intake route (the worker's gateway does)."""

    async def send_batch(self, batch: Sequence[Any], *, timeout_s: float) -> list[Any]:
        raise RuntimeError("the on-call view's process has no intake")


def _die_with_parent(parent: int) -> None:
    """SIGTERM when the parent dies (Linux), and stop now if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        raise SystemExit(0)


def _status_route(view: Any) -> RouteModule:
    """``GET /internal/view-status``: what the parent's /readyz and /metrics show of this view."""

    async def get_status(request: web.Request) -> web.Response:
        from datetime import UTC

        from seabus.streams.metrics import LADDER_LEVELS

        open_counts, overdue_counts = view.index.level_counts(datetime.now(UTC))
        levels = sorted(set(LADDER_LEVELS) | set(open_counts))
        body = {
            "pid": os.getpid(),
            "status": asdict(view.status()),
            "open": {level: open_counts.get(level, 0) for level in levels},
            "overdue": {level: overdue_counts.get(level, 0) for level in levels},
            "deliveries": [[c, o, n] for (c, o), n in sorted(view.index.delivery_counts().items())],
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def register(app: web.Application, gw: GatewayState) -> None:
        app.router.add_get(STATUS_PATH, get_status)

    return register


async def _serve(lifeline: socket.socket) -> None:
    from seabus.connectors.gateway.app import build_gateway_app
    from seabus.connectors.gateway.auth import AgencyAuth
    from seabus.deploy.cli.common import connection_or_local, settings
    from seabus.deploy.services import standalone_view_routes
    from seabus.streams.context import load_context
    from seabus.streams.views import ViewService

    s = settings()
    context = load_context(s)
    kafka = connection_or_local(s)
    config = s.gateway_config()
    # Every request arrives from the worker's gateway over loopback: that gateway rate-limits by
    # the real client; limiting here would put every client in one bucket.
    config = config.model_copy(update={"rate_limit": config.rate_limit.model_copy(update={"enabled": False})})
    view = ViewService(settings=s, kafka=kafka)
    app = build_gateway_app(
        settings=s,
        producer=_NoProducer(),
        auth=AgencyAuth.from_agencies(config.agencies),
        config=config,
        known_entities=context.known_entities,
        routes=(),
        extra_routes=(
            *standalone_view_routes(settings=s, kafka=kafka, directory=context.directory, view=view),
            _status_route(view),
        ),
    )
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = int(runner.addresses[0][1])
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(lifeline, f"{port}\n".encode())
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)

        async def parent_gone() -> None:
            while await loop.sock_recv(lifeline, 64):
                pass
            log.info("on-call view process: seabus run is gone; stopping")
            stop.set()

        watch = asyncio.create_task(parent_gone())
        await stop.wait()
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> None:
    """The child's entry point (``python -m seabus.deploy.view_process``), started by :class:`ViewProcess`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifeline", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    _die_with_parent(args.parent)
    # Ctrl-C reaches the whole process group; the parent stops this process itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from seabus.streams import logs

    logs.configure(level=args.log_level)
    structlog.contextvars.bind_contextvars(process="view")
    lifeline = socket.socket(fileno=args.lifeline)
    lifeline.setblocking(False)
    asyncio.run(_serve(lifeline))
    log.info("on-call view process stopped", pid=os.getpid())


if __name__ == "__main__":
    main()
