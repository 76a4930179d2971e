"""Signing and verifying Standard Webhooks, including against the reference package."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from seabus.connectors.errors import WebhookConfigError, WebhookVerificationError
from seabus.connectors.webhooks import generate_secret, sign_headers, verify_webhook

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
BODY = json.dumps({"allegation_id": "SYNTH-2026-0001", "sequence": 1}).encode()
OLD = generate_secret()
NEW = generate_secret()


def signed(body: bytes = BODY, *secrets: str, at: datetime = NOW) -> dict[str, str]:
    return sign_headers(webhook_id="msg_SYNTH0001", timestamp=at, body=body, secrets=secrets or (OLD,))


def test_signed_request_verifies() -> None:
    verify_webhook(signed(BODY, OLD), BODY, OLD, now=NOW)


def test_tampered_body_is_rejected() -> None:
    headers = signed(BODY, OLD)
    tampered = BODY.replace(b"0001", b"0002")
    with pytest.raises(WebhookVerificationError, match="no webhook-signature entry matches"):
        verify_webhook(headers, tampered, OLD, now=NOW)


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="different secrets"):
        verify_webhook(signed(BODY, OLD), BODY, NEW, now=NOW)


def test_old_timestamp_is_rejected() -> None:
    headers = signed(BODY, OLD, at=NOW - timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="old"):
        verify_webhook(headers, BODY, OLD, now=NOW)


def test_future_timestamp_is_rejected() -> None:
    headers = signed(BODY, OLD, at=NOW + timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="future"):
        verify_webhook(headers, BODY, OLD, now=NOW)


def test_tolerance_is_configurable() -> None:
    headers = signed(BODY, OLD, at=NOW - timedelta(minutes=6))
    verify_webhook(headers, BODY, OLD, now=NOW, tolerance=timedelta(minutes=10))


def test_replayed_id_with_a_new_timestamp_needs_a_new_signature() -> None:
    headers = signed(BODY, OLD, at=NOW - timedelta(minutes=6))
    headers["webhook-timestamp"] = str(int(NOW.timestamp()))
    with pytest.raises(WebhookVerificationError, match="no webhook-signature entry matches"):
        verify_webhook(headers, BODY, OLD, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_named(missing: str) -> None:
    headers = signed(BODY, OLD)
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        verify_webhook(headers, BODY, OLD, now=NOW)


def test_non_numeric_timestamp_is_rejected() -> None:
    headers = signed(BODY, OLD)
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(WebhookVerificationError, match="Unix time"):
        verify_webhook(headers, BODY, OLD, now=NOW)


def test_header_names_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in signed(BODY, OLD).items()}
    verify_webhook(headers, BODY, OLD, now=NOW)


def test_rotation_signs_with_every_secret_and_either_verifies() -> None:
    headers = signed(BODY, OLD, NEW)
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify_webhook(headers, BODY, NEW, now=NOW)
    verify_webhook(headers, BODY, OLD, now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, BODY, generate_secret(), now=NOW)


def test_receiver_rotating_its_own_side_accepts_either_secret() -> None:
    verify_webhook(signed(BODY, OLD), BODY, [NEW, OLD], now=NOW)


def test_malformed_and_foreign_signature_entries_are_skipped() -> None:
    headers = signed(BODY, NEW)
    headers["webhook-signature"] = "garbage v1a,AAAA " + headers["webhook-signature"]
    verify_webhook(headers, BODY, NEW, now=NOW)


def test_non_utf8_body_signs_and_verifies() -> None:
    body = bytes(range(256))
    verify_webhook(signed(body, OLD), body, OLD, now=NOW)


def test_reference_package_accepts_our_signature() -> None:
    headers = sign_headers(webhook_id="msg_SYNTH0002", timestamp=datetime.now(UTC), body=BODY, secrets=(NEW,))
    assert Webhook(NEW).verify(BODY, headers) == json.loads(BODY)


def test_we_accept_the_reference_package_signature() -> None:
    at = datetime.now(UTC)
    sig = Webhook(NEW).sign(msg_id="msg_SYNTH0003", timestamp=at, data=BODY.decode())
    headers = {
        "webhook-id": "msg_SYNTH0003",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sig,
    }
    verify_webhook(headers, BODY, NEW)


@given(body=st.binary(min_size=1, max_size=512), flip=st.integers(min_value=0))
def test_any_single_bit_flip_is_detected(body: bytes, flip: int) -> None:
    headers = signed(body, OLD)
    verify_webhook(headers, body, OLD, now=NOW)
    index = flip % len(body)
    altered = body[:index] + bytes([body[index] ^ (1 << (flip % 8))]) + body[index + 1 :]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, altered, OLD, now=NOW)


def test_invalid_secret_is_a_config_error() -> None:
    with pytest.raises(WebhookConfigError, match="base64"):
        verify_webhook(signed(BODY, OLD), BODY, "whsec_not*base64!", now=NOW)


def test_short_secret_is_a_config_error() -> None:
    short = "whsec_" + base64.b64encode(b"0123456789").decode()
    with pytest.raises(WebhookConfigError, match="at least 16"):
        sign_headers(webhook_id="x", timestamp=NOW, body=BODY, secrets=(short,))


def test_generated_secrets_are_distinct_and_well_formed() -> None:
    a, b = generate_secret(), generate_secret()
    assert a != b
    assert a.startswith("whsec_")
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 32
