"""The SSRF guard: forbidden addresses are refused before any connection is made.

No test sends traffic anywhere but 127.0.0.1: public addresses are only ever
classified or returned by an injected resolver, never connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import pytest

from seabus.connectors.errors import AddressRefused, WebhookConfigError
from seabus.connectors.webhooks import (
    DeliveryResult,
    VettingResolver,
    WebhookDeliverer,
    WebhookEndpoint,
    check_host,
    forbidden_reason,
    generate_secret,
)
from seabus.connectors.webhooks.testing import WebhookReceiver
from seabus.schemas.enums import DeliveryOutcome

SECRET = generate_secret()

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "127.10.20.30": "loopback",
    "::1": "loopback",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "64:ff9b::a00:1": "private",
    "2002:7f00:1::": "loopback",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "224.0.0.251": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "private",
    "100.64.0.1": "not globally routable",
    "fec0::1": "site-local",
}
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700::6810:84e5", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN.items())
def test_forbidden_addresses_are_named(address: str, reason: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "169.254.169.254", "[::ffff:127.0.0.1]"])
def test_ip_literal_hosts_are_refused_unless_allowed(host: str) -> None:
    with pytest.raises(AddressRefused, match="allow_private"):
        check_host(host, allow_private=False)
    check_host(host, allow_private=True)


def fake_dns(*answers: str) -> Any:
    """A getaddrinfo answering every name with ``answers`` (no network involved)."""

    async def getaddrinfo(host: str, port: int) -> Sequence[tuple[Any, ...]]:
        infos: list[tuple[Any, ...]] = []
        for a in answers:
            if ":" in a:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)))
        return infos

    return getaddrinfo


def test_resolver_returns_only_what_it_vetted() -> None:
    resolver = VettingResolver(
        allow_private=False, getaddrinfo=fake_dns("93.184.215.14", "2606:4700::6810:84e5")
    )
    results = asyncio.run(resolver.resolve("hooks.example.org", 443, socket.AF_UNSPEC))
    assert [(r["host"], r["port"], r["hostname"]) for r in results] == [
        ("93.184.215.14", 443, "hooks.example.org"),
        ("2606:4700::6810:84e5", 443, "hooks.example.org"),
    ]


@pytest.mark.parametrize(
    "answers",
    [("10.0.0.7",), ("93.184.215.14", "192.168.0.9"), ("::ffff:127.0.0.1",), ("fd00::5",)],
)
def test_resolver_refuses_a_name_with_any_forbidden_address(answers: tuple[str, ...]) -> None:
    resolver = VettingResolver(allow_private=False, getaddrinfo=fake_dns(*answers))
    with pytest.raises(AddressRefused, match=r"hooks\.example\.org"):
        asyncio.run(resolver.resolve("hooks.example.org", 443, socket.AF_UNSPEC))


def test_resolver_allows_private_when_configured() -> None:
    resolver = VettingResolver(allow_private=True, getaddrinfo=fake_dns("10.0.0.7"))
    results = asyncio.run(resolver.resolve("hooks.example.org", 443, socket.AF_UNSPEC))
    assert [r["host"] for r in results] == ["10.0.0.7"]


async def deliver_to(
    receiver: WebhookReceiver, url: str, *, allow_private: bool, deliverer: WebhookDeliverer
) -> DeliveryResult:
    endpoint = WebhookEndpoint(recipient="KEN", url=url, secrets=(SECRET,), allow_private=allow_private)
    return await deliverer.deliver(
        endpoint, webhook_id="SYNTH-NOTE-1", body=b"{}", allegation_id="SYNTH-2026-0001"
    )


@pytest.mark.parametrize(
    "template",
    [
        "https://127.0.0.1:{port}/hook",
        "https://[::ffff:127.0.0.1]:{port}/hook",
        "https://localhost:{port}/hook",
    ],
)
def test_loopback_endpoint_is_refused_before_connecting(template: str) -> None:
    """A live receiver listens on 127.0.0.1 and yet receives nothing."""

    async def scenario() -> tuple[DeliveryResult, int]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer() as d:
            url = template.format(port=receiver.port)
            result = await deliver_to(receiver, url, allow_private=False, deliverer=d)
            return result, receiver.arrived

    result, arrived = asyncio.run(scenario())
    assert result.outcome is DeliveryOutcome.REFUSED
    assert "loopback" in (result.reason or "")
    assert [a.outcome for a in result.attempts] == [DeliveryOutcome.REFUSED]
    assert arrived == 0


def test_hostname_resolving_to_private_address_is_refused() -> None:
    async def scenario() -> DeliveryResult:
        async with (
            WebhookReceiver(secrets=[SECRET]) as receiver,
            WebhookDeliverer(getaddrinfo=fake_dns("10.20.30.40")) as d,
        ):
            return await deliver_to(
                receiver, "https://hooks.example.org/hook", allow_private=False, deliverer=d
            )

    result = asyncio.run(scenario())
    assert result.outcome is DeliveryOutcome.REFUSED
    assert "10.20.30.40" in (result.reason or "")


def test_loopback_is_delivered_when_configured() -> None:
    async def scenario() -> tuple[DeliveryResult, list[str]]:
        async with WebhookReceiver(secrets=[SECRET]) as receiver, WebhookDeliverer() as d:
            url = f"http://localhost:{receiver.port}/hook"
            result = await deliver_to(receiver, url, allow_private=True, deliverer=d)
            return result, receiver.delivered_ids()

    result, delivered = asyncio.run(scenario())
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert delivered == ["SYNTH-NOTE-1"]


def test_plain_http_needs_the_private_exception() -> None:
    with pytest.raises(WebhookConfigError, match="plain http"):
        WebhookEndpoint(recipient="KEN", url="http://hooks.example.org/", secrets=(SECRET,))


@pytest.mark.parametrize("url", ["ftp://hooks.example.org/", "https:///nohost", "not a url"])
def test_unusable_urls_are_config_errors(url: str) -> None:
    with pytest.raises(WebhookConfigError):
        WebhookEndpoint(recipient="KEN", url=url, secrets=(SECRET,))
