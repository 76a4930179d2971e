"""What the dashboard routes share, reachable as ``request.app[DASHBOARD]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from seabus.connectors.dashboard.auth import DashboardAuth
from seabus.connectors.dashboard.config import DashboardConfig
from seabus.schemas.clock import Now, utc_now
from seabus.streams.views import ReaderStatus, ViewIndex

__all__ = ["DASHBOARD", "NO_STORE", "DashboardState", "DashboardView"]

NO_STORE = {"Cache-Control": "no-store"}
"""Operational data about allegations is never kept by browsers or proxies."""


class DashboardView(Protocol):
    """The read model the routes answer from (:class:`seabus.streams.views.ViewService` is one)."""

    @property
    def index(self) -> ViewIndex: ...

    def status(self) -> ReaderStatus: ...


@dataclass(kw_only=True)
class DashboardState:
    view: DashboardView | None
    """None when the view runs in another process (``view.in_worker: false``): only /metrics, /readyz."""
    auth: DashboardAuth
    clock: Now = field(default=utc_now)
    worker_here: bool = True
    """False in ``seabus gateway``: /readyz does not wait for a worker that runs elsewhere."""
    view_status: Callable[[], ReaderStatus] | None = None
    """Without a ``view`` here: the read model's status from the child process ``seabus run``
    started for it (deploy/view_process.py), so /readyz still waits for the view."""

    def reader_status(self) -> ReaderStatus | None:
        """The read model's status, wherever it runs; None when this process answers for none."""
        if self.view is not None:
            return self.view.status()
        return None if self.view_status is None else self.view_status()

    @property
    def read_model(self) -> DashboardView:
        """The view, for the routes that are registered only with one."""
        if self.view is None:
            raise RuntimeError("a dashboard route was registered without a read model")
        return self.view

    @property
    def config(self) -> DashboardConfig:
        return self.auth.book.config


DASHBOARD: web.AppKey[DashboardState] = web.AppKey("seabus_dashboard", DashboardState)
