"""E-mail delivery to a real SMTP server (aiosmtpd) on 127.0.0.1.

The notice is built from a realistic synthetic notification that carries a
narrative, subject references and victim data; none of it may reach the wire.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import trustme

from seabus.connectors.email import SmtpSender, StartTls, notice_from_notification, render_email
from seabus.connectors.email.testing import CapturedMessage, CapturingSmtpServer
from seabus.connectors.errors import EmailConfigError, EmailPermanentFailure, EmailTemporaryFailure

NARRATIVE = "SYNTH-NARRATIVE: a fictitious account that must never leave the bus"
SUBJECT_REF = "SYNTH-SUBJ-4242"
CONFIDENTIAL = [
    NARRATIVE,
    SUBJECT_REF,
    "SYNTH-INTERIM-ACTION-repatriated",
    "SYNTH-INVESTIGATOR-TEAM-9",
    "MILITARY_CONTINGENT",
    "SEXUAL_ABUSE",
    "SYNTH-MISSION-ALPHA",
]

NOTIFICATION: dict[str, Any] = {
    "event_id": "00000000-0000-4000-8000-000000000001",
    "allegation_id": "SYNTH-2026-0001",
    "sequence": 1,
    "event_type": "ALLEGATION_REPORTED",
    "reporting_entity": "SYNTH-MISSION-ALPHA",
    "reported_at": "2026-03-10T09:00:00Z",
    "incident_date": {"value": "2026-02-01", "precision": "MONTH"},
    "location_country": "COD",
    "source_stream": "UN_PERSONNEL",
    "subjects": [
        {
            "subject_ref": SUBJECT_REF,
            "category": "MILITARY_CONTINGENT",
            "nationality": "FRA",
            "contributing_state": "FRA",
            "gender": "MALE",
        }
    ],
    "allegation_type": "SEXUAL_ABUSE",
    "victims": {"female_under_18": 1, "assistance_referred": True},
    "status": "UNDER_INVESTIGATION",
    "investigating_entity": "SYNTH-INVESTIGATOR-TEAM-9",
    "interim_actions": ["SYNTH-INTERIM-ACTION-repatriated"],
    "narrative": NARRATIVE,
    "obligations": [
        {"kind": "ACKNOWLEDGE", "due_at": "2026-03-17T17:00:00Z"},
        {"kind": "DECIDE", "due_at": "2026-03-24T17:00:00Z"},
    ],
}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[CapturingSmtpServer]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    with CapturingSmtpServer(tls_context=server_ctx) as server:
        yield server


@pytest.fixture
def plain_server() -> Iterator[CapturingSmtpServer]:
    with CapturingSmtpServer() as server:
        yield server


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def message() -> EmailMessage:
    built = notice_from_notification(
        NOTIFICATION,
        recipient="FRA",
        recipient_name="France (demo entry)",
        to_addresses=["focal-point@example.org", "mission@example.net"],
        gateway_url="https://gateway.example.net",
        time_zone="Europe/Paris",
    )
    return render_email(built, date=datetime(2026, 3, 10, 9, 1, tzinfo=UTC))


def sender(server: CapturingSmtpServer, *, starttls: StartTls = "auto", **extra: Any) -> SmtpSender:
    return SmtpSender(
        host=server.host,
        port=server.port,
        from_address="seabus@example.org",
        starttls=starttls,
        timeout_s=10.0,
        **extra,
    )


def body_text(captured: CapturedMessage) -> str:
    parsed = email.message_from_bytes(captured.content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_notice_arrives_with_reference_and_due_dates_and_nothing_confidential(
    plain_server: CapturingSmtpServer,
) -> None:
    receipt = asyncio.run(sender(plain_server).send(message()))
    (captured,) = plain_server.messages
    assert captured.mail_from == "seabus@example.org"
    assert set(captured.rcpt_tos) == {"focal-point@example.org", "mission@example.net"}
    assert receipt.accepted == ("focal-point@example.org", "mission@example.net")
    assert not receipt.encrypted
    assert not captured.encrypted

    text = body_text(captured)
    assert b"SYNTH-2026-0001" in captured.content  # the raw search below is meaningful
    assert "SYNTH-2026-0001" in text
    assert "2026-03-17 17:00 UTC (2026-03-17 18:00 Europe/Paris time)" in text
    assert "2026-03-24 17:00 UTC (2026-03-24 18:00 Europe/Paris time)" in text
    assert "/v1/responses" in text
    for secret in CONFIDENTIAL:
        assert secret not in text
        assert secret.encode() not in captured.content


def test_starttls_is_used_when_offered(tls_server: CapturingSmtpServer, ca: trustme.CA) -> None:
    receipt = asyncio.run(sender(tls_server, ssl_context=client_context(ca)).send(message()))
    (captured,) = tls_server.messages
    assert receipt.encrypted
    assert captured.encrypted
    assert "SYNTH-2026-0001" in body_text(captured)


def test_starttls_off_sends_in_clear_even_when_offered(
    tls_server: CapturingSmtpServer,
) -> None:
    receipt = asyncio.run(sender(tls_server, starttls="off").send(message()))
    (captured,) = tls_server.messages
    assert not receipt.encrypted
    assert not captured.encrypted


def test_required_starttls_refuses_a_server_without_it(
    plain_server: CapturingSmtpServer,
) -> None:
    with pytest.raises(EmailPermanentFailure, match="does not offer STARTTLS"):
        asyncio.run(sender(plain_server, starttls="require").send(message()))
    assert plain_server.messages == []


def test_untrusted_certificate_is_a_permanent_failure(
    tls_server: CapturingSmtpServer,
) -> None:
    with pytest.raises(EmailPermanentFailure, match="certificate"):
        asyncio.run(sender(tls_server, starttls="require").send(message()))
    assert tls_server.messages == []


def test_credentials_are_used_over_tls(ca: trustme.CA) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    with CapturingSmtpServer(
        tls_context=server_ctx, credentials=("seabus-relay", "SYNTH-PASSWORD")
    ) as server:
        relay = sender(
            server,
            starttls="require",
            ssl_context=client_context(ca),
            username="seabus-relay",
            password="SYNTH-PASSWORD",
        )
        asyncio.run(relay.send(message()))
        (captured,) = server.messages
    assert captured.authenticated_as == "seabus-relay"
    assert "SYNTH-PASSWORD" not in repr(relay)


def test_credentials_are_never_sent_in_clear(plain_server: CapturingSmtpServer) -> None:
    relay = sender(plain_server, username="seabus-relay", password="SYNTH-PASSWORD")
    with pytest.raises(EmailPermanentFailure, match="credentials were not sent"):
        asyncio.run(relay.send(message()))
    assert plain_server.messages == []


def test_credentials_with_starttls_off_are_a_config_error(
    plain_server: CapturingSmtpServer,
) -> None:
    with pytest.raises(EmailConfigError, match="in clear"):
        sender(plain_server, starttls="off", username="u", password="p")


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 unknown mailbox", EmailPermanentFailure), ("451 4.3.0 try later", EmailTemporaryFailure)],
)
def test_refused_recipients_are_sorted_by_reply_code(reply: str, error: type[Exception]) -> None:
    with CapturingSmtpServer(rcpt_reply=reply) as server, pytest.raises(error, match=reply[:3]):
        asyncio.run(sender(server).send(message()))


def test_an_unreachable_server_is_a_temporary_failure() -> None:
    server = CapturingSmtpServer()
    server.start()
    port = server.port
    server.stop()
    relay = SmtpSender(host="127.0.0.1", port=port, from_address="seabus@example.org")
    with pytest.raises(EmailTemporaryFailure, match="try again later"):
        asyncio.run(relay.send(message()))


def test_send_does_not_change_the_callers_message(plain_server: CapturingSmtpServer) -> None:
    original = message()
    asyncio.run(sender(plain_server).send(original))
    assert original["From"] is None
    assert "From: seabus@example.org" in plain_server.messages[0].content.decode()


def test_non_ascii_names_survive_the_trip(plain_server: CapturingSmtpServer) -> None:
    built = notice_from_notification(
        {**NOTIFICATION, "allegation_id": "SYNTH-2026-0002"},
        recipient="CIV",
        recipient_name="Côte d'Ivoire (demo entry)",
        to_addresses=["focal-point@example.org"],
        gateway_url="https://gateway.example.net",
        time_zone="Africa/Abidjan",
    )
    asyncio.run(sender(plain_server).send(render_email(built)))
    text = body_text(plain_server.messages[0])
    assert "Côte d'Ivoire (demo entry) (CIV)" in text
    assert "SYNTH-2026-0002" in text
    assert NARRATIVE not in text
    assert SUBJECT_REF not in text
