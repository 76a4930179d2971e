"""Where delivery remembers what it must not repeat: delivered ids and disabled endpoints.

Both are tiny protocols so the bus can back them with a Faust table (or any
store that survives restarts); the in-memory versions serve tests and the SDK.
Keys include the recipient, because one event may be sent to several
recipients under the same ``webhook-id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "DeliveredStore",
    "DisabledEndpoint",
    "EndpointStateStore",
    "InMemoryDeliveredStore",
    "InMemoryEndpointStates",
]


class DeliveredStore(Protocol):
    """Which (recipient, webhook id) pairs an endpoint has acknowledged with a 2xx."""

    async def is_delivered(self, recipient: str, webhook_id: str) -> bool: ...

    async def mark_delivered(self, recipient: str, webhook_id: str, at: datetime) -> None: ...


@dataclass(frozen=True, kw_only=True)
class DisabledEndpoint:
    endpoint_key: str
    at: datetime
    reason: str


class EndpointStateStore(Protocol):
    """Endpoints disabled by a 410 Gone; an operator re-enables them after fixing the URL."""

    async def disabled(self, endpoint_key: str) -> DisabledEndpoint | None: ...

    async def disable(self, endpoint_key: str, *, at: datetime, reason: str) -> None: ...

    async def enable(self, endpoint_key: str) -> None: ...


class InMemoryDeliveredStore:
    def __init__(self) -> None:
        self._delivered: dict[tuple[str, str], datetime] = {}

    async def is_delivered(self, recipient: str, webhook_id: str) -> bool:
        return (recipient, webhook_id) in self._delivered

    async def mark_delivered(self, recipient: str, webhook_id: str, at: datetime) -> None:
        self._delivered.setdefault((recipient, webhook_id), at)

    def delivered_at(self, recipient: str, webhook_id: str) -> datetime | None:
        return self._delivered.get((recipient, webhook_id))


class InMemoryEndpointStates:
    """The endpoint-state store of the SDK, the tests and the delivery service.

    The service keeps no other copy: its audit index feeds the 410s it reads
    back from the audit topic in through :meth:`remember` (so a restart knows
    them) and hands this store to the deliverer.
    """

    def __init__(self) -> None:
        self._disabled: dict[str, DisabledEndpoint] = {}

    def remember(self, state: DisabledEndpoint) -> None:
        """Take a disablement known from elsewhere (the audit log); the first one seen stays."""
        self._disabled.setdefault(state.endpoint_key, state)

    async def disabled(self, endpoint_key: str) -> DisabledEndpoint | None:
        return self._disabled.get(endpoint_key)

    async def disable(self, endpoint_key: str, *, at: datetime, reason: str) -> None:
        self.remember(DisabledEndpoint(endpoint_key=endpoint_key, at=at, reason=reason))

    async def enable(self, endpoint_key: str) -> None:
        self._disabled.pop(endpoint_key, None)
