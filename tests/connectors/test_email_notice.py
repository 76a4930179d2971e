"""The e-mail notice: only reference, obligations, due dates and how to reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

import seabus.connectors.email as email_api
from seabus.connectors.email import (
    EmailNotice,
    Obligation,
    ObligationKind,
    notice_from_notification,
    render_email,
    render_text,
)
from seabus.connectors.errors import EmailConfigError

DUE_ACK = datetime(2026, 3, 17, 17, 0, tzinfo=UTC)
DUE_DECIDE = datetime(2026, 3, 24, 17, 0, tzinfo=UTC)


def notice(**overrides: Any) -> EmailNotice:
    fields: dict[str, Any] = {
        "recipient": "FRA",
        "recipient_name": "France (demo entry)",
        "to_addresses": ("focal-point@example.org",),
        "allegation_ref": "SYNTH-2026-0001",
        "event_type": "ALLEGATION_REPORTED",
        "obligations": (
            Obligation(kind=ObligationKind.DECIDE, due_at=DUE_DECIDE),
            Obligation(kind=ObligationKind.ACKNOWLEDGE, due_at=DUE_ACK),
        ),
        "reply_instructions": "Reply at https://gateway.example.net/v1/responses",
        "gateway_url": "https://gateway.example.net",
        "time_zone": "Europe/Paris",
    }
    fields.update(overrides)
    return EmailNotice(**fields)


def test_text_names_reference_obligations_and_due_dates_in_both_zones() -> None:
    text = render_text(notice())
    assert "SYNTH-2026-0001" in text
    assert "2026-03-17 17:00 UTC (2026-03-17 18:00 Europe/Paris time)" in text
    assert "2026-03-24 17:00 UTC (2026-03-24 18:00 Europe/Paris time)" in text
    assert text.index("ACKNOWLEDGE") < text.index("DECIDE")  # soonest first
    assert "https://gateway.example.net/v1/responses" in text


def test_without_a_time_zone_only_utc_is_shown() -> None:
    text = render_text(notice(time_zone=None))
    assert "2026-03-17 17:00 UTC\n" in text
    assert "Europe/Paris" not in text


def test_due_dates_given_in_another_offset_are_shown_in_utc() -> None:
    due = datetime(2026, 3, 17, 20, 0, tzinfo=timezone(timedelta(hours=3)))
    text = render_text(notice(obligations=(Obligation(kind=ObligationKind.ACKNOWLEDGE, due_at=due),)))
    assert "2026-03-17 17:00 UTC" in text


def test_a_notice_without_obligations_says_so() -> None:
    assert "Nothing is asked of you" in render_text(notice(obligations=()))


def test_message_headers() -> None:
    message = render_email(
        notice(to_addresses=("a@example.org", "b@example.net")),
        from_address="seabus@example.org",
        message_id="<SYNTH-NOTE-0001@seabus.example.org>",
    )
    assert message["To"] == "a@example.org, b@example.net"
    assert message["From"] == "seabus@example.org"
    assert message["Message-ID"] == "<SYNTH-NOTE-0001@seabus.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "SYNTH-2026-0001" in str(message["Subject"])
    assert message.get_content_type() == "text/plain"


@pytest.mark.parametrize("extra", ["narrative", "subjects", "victims", "location_country", "incident_date"])
def test_there_is_no_room_for_confidential_fields(extra: str) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        notice(**{extra: "SYNTH-CONFIDENTIAL"})


@pytest.mark.parametrize(
    "overrides",
    [
        {"recipient_name": "France\r\nBcc: someone@example.net"},
        {"to_addresses": ("focal-point@example.org\r\nBcc: x@example.net",)},
        {"to_addresses": ()},
        {"allegation_ref": "SYNTH 2026 with spaces and a story"},
        {"recipient": "France"},
        {"time_zone": "Mars/Olympus_Mons"},
        {"gateway_url": "javascript:alert(1)"},
        {"obligations": (Obligation(kind=ObligationKind.ACKNOWLEDGE, due_at=DUE_ACK), "x")},
    ],
)
def test_unsafe_values_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        notice(**overrides)


def test_naive_due_dates_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Obligation(kind=ObligationKind.ACKNOWLEDGE, due_at=datetime(2026, 3, 17, 17, 0))


def test_notice_from_notification_reads_the_whitelist_only() -> None:
    notification = {
        "allegation_id": "SYNTH-2026-0007",
        "event_type": "ALLEGATION_UPDATED",
        "narrative": "SYNTH-NARRATIVE-must-never-travel",
        "subjects": [{"subject_ref": "SYNTH-SUBJ-0001", "nationality": "FRA"}],
        "obligations": [
            {"kind": "ACKNOWLEDGE", "due_at": "2026-03-17T17:00:00Z"},
            {"kind": "DECIDE", "due_at": int(DUE_DECIDE.timestamp() * 1000)},
            {"kind": "REPORT_OUTCOME", "due_at": DUE_DECIDE + timedelta(days=180)},
        ],
    }
    built = notice_from_notification(
        notification,
        recipient="FRA",
        recipient_name="France (demo entry)",
        to_addresses=["focal-point@example.org"],
        gateway_url="https://gateway.example.net/",
        time_zone="Europe/Paris",
    )
    assert built.allegation_ref == "SYNTH-2026-0007"
    assert built.event_type == "ALLEGATION_UPDATED"
    assert [(o.kind, o.due_at) for o in built.obligations] == [
        (ObligationKind.ACKNOWLEDGE, DUE_ACK),
        (ObligationKind.DECIDE, DUE_DECIDE),
        (ObligationKind.REPORT_OUTCOME, DUE_DECIDE + timedelta(days=180)),
    ]
    assert built.gateway_url == "https://gateway.example.net"
    assert "POST https://gateway.example.net/v1/responses" in built.reply_instructions
    dumped = built.model_dump_json()
    assert "SYNTH-NARRATIVE" not in dumped
    assert "SYNTH-SUBJ" not in dumped


def test_explicit_obligations_take_precedence() -> None:
    built = notice_from_notification(
        {"allegation_id": "SYNTH-2026-0008", "obligations": "ignored when given explicitly"},
        recipient="OSC",
        recipient_name="Office of the Special Coordinator",
        to_addresses=["osc@example.org"],
        gateway_url="https://gateway.example.net",
        obligations=[Obligation(kind=ObligationKind.ACKNOWLEDGE, due_at=DUE_ACK)],
    )
    assert [o.kind for o in built.obligations] == [ObligationKind.ACKNOWLEDGE]


@pytest.mark.parametrize(
    "notification",
    [
        {"event_type": "ALLEGATION_REPORTED"},
        {"allegation_id": "SYNTH-2026-0009", "obligations": [{"kind": "PAY"}]},
        {"allegation_id": "SYNTH-2026-0009", "obligations": [{"kind": "DECIDE", "due_at": []}]},
    ],
)
def test_unusable_notifications_are_config_errors(notification: dict[str, Any]) -> None:
    with pytest.raises(EmailConfigError):
        notice_from_notification(
            notification,
            recipient="KEN",
            recipient_name="Kenya (demo entry)",
            to_addresses=["focal-point@example.org"],
            gateway_url="https://gateway.example.net",
        )


def test_public_names_are_pinned() -> None:
    assert email_api.__all__ == sorted(email_api.__all__)
    assert all(hasattr(email_api, name) for name in email_api.__all__)
