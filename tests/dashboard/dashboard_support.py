"""A gateway with the dashboard routes over an in-memory read model, on a real local socket."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from aiohttp import web
from support import free_port

from seabus.connectors.dashboard import dashboard_routes
from seabus.connectors.gateway import AgencyAuth, build_gateway_app
from seabus.connectors.gateway.producer import SendOutcome
from seabus.connectors.publisher.outgoing import OutgoingEvent
from seabus.streams.config import Settings
from seabus.streams.views import ReaderStatus, ViewIndex

TOKEN = "sbd_test-oncall-token-0123456789"
OTHER_TOKEN = "sbd_test-second-token-0123456789"


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def write_dashboard_file(
    directory: Path, *, users: dict[str, str] | None = None, poll_s: float = 1.0, extra: str = ""
) -> Path:
    """A dashboard.yaml with ``name -> token`` users (their hashes, as operators would write it)."""
    users = {"oncall": TOKEN} if users is None else users
    lines = [f"poll_interval_s: {poll_s}", extra, "users:"]
    lines += [f"  - name: {name}\n    token_sha256: {sha(token)}" for name, token in users.items()]
    path = directory / "dashboard.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class MemoryView:
    """A read model filled by the test, always caught up and in contact."""

    def __init__(self, prefix: str = "sea") -> None:
        self.index = ViewIndex(prefix=prefix)
        self.index.caught_up = True

    def status(self) -> ReaderStatus:
        return ReaderStatus(connected=True, caught_up=True, last_contact_age_s=0.5, partitions=3, lag=0)


class NoProducer:
    async def send_batch(self, batch: Sequence[OutgoingEvent], *, timeout_s: float) -> list[SendOutcome]:
        raise AssertionError("the dashboard tests publish nothing")


@asynccontextmanager
async def serve(
    settings: Settings, view: MemoryView, config_path: Path, *, clock: datetime | None = None
) -> AsyncIterator[str]:
    """The gateway app with only the dashboard routes added; yields its base URL."""
    routes = dashboard_routes(
        view=view, settings=settings, config_path=config_path, clock=(lambda: clock) if clock else None
    )
    app = build_gateway_app(
        settings=settings, producer=NoProducer(), auth=AgencyAuth(tokens={}), extra_routes=routes
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
