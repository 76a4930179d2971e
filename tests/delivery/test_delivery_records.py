"""What delivery writes after a final outcome: pure functions, stable ids."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from seabus.connectors.delivery import ENDPOINT_HEADER, ChannelOutcome
from seabus.connectors.delivery.records import attempt_out, outcome_records
from seabus.schemas.codec import decode_model, default_codec, encode_model
from seabus.schemas.enums import DeliveryChannel, DeliveryOutcome, EscalationLevel
from seabus.schemas.envelopes import Outbound, Source
from seabus.schemas.models import DeadLetter, Escalation
from seabus.schemas.testing import synthetic_delivery_attempt, synthetic_notification

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOTE = synthetic_notification(1)
SOURCE = Source(topic="sea.notify.PAK", partition=1, offset=42)


def records(*outcomes: ChannelOutcome) -> list[Outbound]:
    return outcome_records(
        notification_id=NOTE.notification_id,
        allegation_id=NOTE.allegation_id,
        recipient="PAK",
        outcomes=outcomes,
        key=NOTE.allegation_id.encode(),
        value=encode_model(NOTE),
        headers=[("ce_id", b"x")],
        source=SOURCE,
        now=NOW,
        codec=default_codec(),
    )


def delivered(channel: DeliveryChannel) -> ChannelOutcome:
    return ChannelOutcome(channel=channel, outcome=DeliveryOutcome.DELIVERED)


def failed(channel: DeliveryChannel) -> ChannelOutcome:
    return ChannelOutcome(channel=channel, outcome=DeliveryOutcome.FAILED, reason="HTTP 404")


def test_nothing_is_written_when_every_channel_delivered() -> None:
    assert records(delivered(DeliveryChannel.WEBHOOK), delivered(DeliveryChannel.EMAIL)) == []


def test_a_failed_channel_gives_one_dead_letter_and_one_escalation_with_stable_ids() -> None:
    first = records(failed(DeliveryChannel.WEBHOOK), delivered(DeliveryChannel.EMAIL))
    again = records(failed(DeliveryChannel.WEBHOOK), delivered(DeliveryChannel.EMAIL))
    assert [r.route for r in first] == ["deadletter", "escalations"]
    letter = decode_model(first[0].value, DeadLetter)
    assert (letter.original_value, letter.original_value_withheld) == (b"", True)
    assert letter.original_value_sha256 == hashlib.sha256(encode_model(NOTE)).hexdigest()
    assert {r.field: r.value for r in letter.redacted}["recipient"] == "PAK"
    assert (letter.source_topic, letter.source_offset, letter.reason.value) == (
        "sea.notify.PAK",
        42,
        "DELIVERY_FAILED",
    )
    escalation = decode_model(first[1].value, Escalation)
    assert (escalation.level, escalation.recipient) == (EscalationLevel.DELIVERY_FAILED, "PAK")
    assert "HTTP 404" in escalation.reason
    assert [dict(r.headers)["ce_id"] for r in first] == [dict(r.headers)["ce_id"] for r in again]


def test_the_endpoint_disabled_escalation_is_one_per_endpoint() -> None:
    gone = ChannelOutcome(
        channel=DeliveryChannel.WEBHOOK,
        outcome=DeliveryOutcome.DISABLED,
        newly_disabled=True,
        endpoint_key="PAK:0123456789abcdef",
    )
    escalation = decode_model(records(gone)[1].value, Escalation)
    other_note = outcome_records(
        notification_id="SYNTH-OTHER",
        allegation_id="SYNTH-OTHER-ALLEG",
        recipient="PAK",
        outcomes=[gone],
        key=b"SYNTH-OTHER-ALLEG",
        value=b"-",
        headers=[],
        source=SOURCE,
        now=NOW,
        codec=default_codec(),
    )
    assert escalation.level is EscalationLevel.ENDPOINT_DISABLED
    assert decode_model(other_note[1].value, Escalation).escalation_id == escalation.escalation_id


def test_an_attempt_is_keyed_by_allegation_and_names_its_endpoint() -> None:
    attempt = synthetic_delivery_attempt(1)
    out = attempt_out(attempt, codec=default_codec(), endpoint_key="PAK:0123456789abcdef")
    headers = dict(out.headers)
    assert (out.route, out.key) == ("audit", attempt.allegation_id.encode())
    assert headers[ENDPOINT_HEADER] == b"PAK:0123456789abcdef"
    assert headers["ce_id"] == attempt.attempt_id.encode()
    assert out.headers[-1][0] == "content-type"
