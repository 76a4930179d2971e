"""The e-mail notice links to the formal notice, through the real e-mail channel and a real SMTP server."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

from notices.notice_support import ALLEGATION, DUES, NARRATIVE_MARK, OWN_SUBJECT, state_notification

from seabus.connectors.delivery.email_channel import EmailDelivery
from seabus.connectors.delivery.plan import EmailTarget
from seabus.connectors.email import SmtpSender
from seabus.connectors.email.testing import CapturingSmtpServer
from seabus.connectors.notices import notice_path
from seabus.connectors.webhooks import InMemoryDeliveredStore, RetryPolicy
from seabus.schemas.models import DeliveryAttempt

TARGET = EmailTarget(
    to=("focal.point@fra.example.org",), recipient_name="France (test)", time_zone="Europe/Paris"
)


def send(server: CapturingSmtpServer, *, notice_base_url: str | None) -> str:
    attempts: list[DeliveryAttempt] = []

    async def record(attempt: DeliveryAttempt) -> None:
        attempts.append(attempt)

    channel = EmailDelivery(
        sender=SmtpSender(
            host=server.host, port=server.port, from_address="seabus@bus.example.org", starttls="off"
        ),
        policy=RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.01, jitter=False),
        delivered=InMemoryDeliveredStore(),
        on_attempt=record,
        gateway_url="http://127.0.0.1:8080",
        clock=lambda: datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        notice_base_url=notice_base_url,
    )
    outcome = asyncio.run(channel.deliver(TARGET, state_notification()))
    assert outcome.outcome.value == "DELIVERED", outcome.reason
    assert [a.outcome.value for a in attempts] == ["DELIVERED"]
    (captured,) = server.messages
    raw = captured.content.decode()
    assert OWN_SUBJECT not in raw
    assert NARRATIVE_MARK not in raw
    parsed = email.message_from_bytes(captured.content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def test_email_links_to_the_formal_notice_under_the_public_url() -> None:
    with CapturingSmtpServer() as server:
        text = send(server, notice_base_url="https://seabus.example.org")
    assert f"  https://seabus.example.org/v1/recipients/FRA/notices/{ALLEGATION}\n" in text
    assert "Authorization: Bearer <your token>" in text
    for kind in DUES:  # every kind of the contract, not only the three the e-mail used to know
        assert kind.value in text, kind


def test_without_a_public_url_the_email_says_how_to_fetch_it() -> None:
    with CapturingSmtpServer() as server:
        text = send(server, notice_base_url=None)
    assert f"  GET {notice_path('FRA', ALLEGATION)}\n" in text
    assert "/notices/" not in text.replace(f"GET {notice_path('FRA', ALLEGATION)}", "")
    assert "Ask the bus operators for the gateway's address" in text
