"""Refuse to send webhooks into the bus's own network (server-side request forgery).

An endpoint URL comes from configuration, but a hostname can be pointed at
``127.0.0.1`` or a cloud metadata address at any time. So the check runs where
the connection is made: :class:`VettingResolver` is the aiohttp resolver of the
delivery connector, it resolves the host, refuses the lot if any address is
forbidden, and hands aiohttp exactly the addresses it vetted, so a second DNS
answer (rebinding) can never slip in between the check and the connect. IP
literals bypass aiohttp's resolver, so :func:`check_host` vets them before the
request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from seabus.connectors.errors import AddressRefused

__all__ = [
    "GetAddrInfo",
    "VettingResolver",
    "check_host",
    "forbidden_reason",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The result shape of loop.getaddrinfo.
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]
GetAddrInfo = Callable[[str, int], Awaitable[Sequence[AddrInfo]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be a webhook target, or None when it is a public address.

    IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are
    judged by the embedded address, so ``::ffff:127.0.0.1`` is loopback.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return forbidden_reason(address.ipv4_mapped)
        if address in _NAT64:
            return forbidden_reason(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:
            return forbidden_reason(address.sixtofour)
        if address.teredo is not None:
            return forbidden_reason(address.teredo[1])
        if address.is_site_local:
            return "site-local"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    )
    return next((label for hit, label in checks if hit), None)


def _refusal(host: str, address: str, reason: str) -> AddressRefused:
    return AddressRefused(
        f"webhook host {host} resolves to {address}, a {reason} address; deliveries there are "
        "refused to protect the bus's own network. Point the endpoint at a public address, or "
        "set allow_private: true for this recipient if it really is on a private network"
    )


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_host(host: str, *, allow_private: bool) -> None:
    """Refuse an IP-literal host that is forbidden; hostnames are vetted at connect time."""
    address = _parse_ip(host)
    if address is None or allow_private:
        return
    reason = forbidden_reason(address)
    if reason is not None:
        raise _refusal(host, str(address), reason)


async def _loop_getaddrinfo(host: str, port: int) -> Sequence[AddrInfo]:
    loop = asyncio.get_running_loop()
    return await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)


class VettingResolver(AbstractResolver):
    """An aiohttp resolver that only ever returns addresses it has checked.

    With ``allow_private`` it still resolves through the same path but accepts
    every address: that is the configured exception for receivers on a private
    network (and for tests on 127.0.0.1).
    """

    def __init__(self, *, allow_private: bool, getaddrinfo: GetAddrInfo | None = None) -> None:
        self._allow_private = allow_private
        self._getaddrinfo = getaddrinfo or _loop_getaddrinfo

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await self._getaddrinfo(host, port)
        results: list[ResolveResult] = []
        for fam, _type, proto, _canon, sockaddr in infos:
            if fam not in (socket.AF_INET, socket.AF_INET6):
                continue
            if family not in (socket.AF_UNSPEC, fam):
                continue
            text = str(sockaddr[0])
            address = _parse_ip(text.split("%", 1)[0])
            if address is None:
                raise AddressRefused(
                    f"webhook host {host} resolved to {text!r}, which is not an IP address; "
                    "check the endpoint's DNS"
                )
            if not self._allow_private:
                reason = forbidden_reason(address)
                if reason is not None:
                    raise _refusal(host, text, reason)
            if fam == socket.AF_INET6 and len(sockaddr) >= 4 and sockaddr[3]:
                # Link-local IPv6 needs its scope; only reachable with allow_private.
                text = f"{text.split('%', 1)[0]}%{sockaddr[3]}"
            results.append(
                ResolveResult(
                    hostname=host,
                    host=text,
                    port=int(sockaddr[1]),
                    family=fam,
                    proto=proto,
                    flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                )
            )
        if not results:
            raise OSError(f"webhook host {host} has no IPv4 or IPv6 address")
        return results

    async def close(self) -> None:
        return None
