"""Push delivery through the real `seabus run`: webhooks to real receivers, e-mail to a real SMTP server.

One bus for the module; each test has its own allegation and its own Member
State, whose receiver is scripted for the case: FRA answers 500 then 200, NPL
answers 410, KEN accepts the connection and never answers, URY answers 200,
BGD is reached by e-mail. "Does not delay" is shown by order of events, never
by a stopwatch.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

import pytest
from delivery.delivery_support import (
    ReceiverThread,
    attempts,
    dead_letters,
    escalations,
    notification_for,
    webhook,
    write_delivery,
    write_recipients,
)
from support import unique_prefix, wait_for
from support.bus import BusPool, BusProcess, producer
from support.routing import event

from seabus.connectors.email.testing import CapturingSmtpServer
from seabus.connectors.webhooks import generate_secret
from seabus.schemas.cloudevents import ce_type_for
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import DeliveryChannel, DeliveryOutcome, EscalationLevel
from seabus.schemas.enums import PersonnelCategory as P
from seabus.schemas.models import DeadLetter, Notification
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

SECRETS = {state: generate_secret() for state in ("FRA", "NPL", "KEN", "URY")}
BGD_TO = "focal.point@bgd.example.org"
PUBLIC_URL = "https://seabus.example.org"
NOTIFICATION = ce_type_for("Notification")


@dataclass
class Bus:
    prefix: str
    process: BusProcess
    receivers: ReceiverThread
    smtp: CapturingSmtpServer


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    tmp = tmp_path_factory.mktemp("delivery")
    specs = {
        "FRA": {"secrets": [SECRETS["FRA"]], "replies": [500]},
        "NPL": {"secrets": [SECRETS["NPL"]], "default": 410},
        "KEN": {"secrets": [SECRETS["KEN"]], "stall": True},
        "URY": {"secrets": [SECRETS["URY"]]},
    }
    with ReceiverThread(specs) as receivers, CapturingSmtpServer() as smtp, BusPool() as pool:
        recipients = write_recipients(
            tmp,
            [
                {
                    "id": state,
                    "name": f"{state} (test)",
                    "channels": {
                        "webhook": webhook(receivers[state].url, f"WEBHOOK_SECRET_{state}", timeout_s=90)
                    },
                }
                for state in ("FRA", "NPL", "KEN", "URY")
            ]
            + [
                {
                    "id": "BGD",
                    "name": "Bangladesh (test)",
                    "timezone": "Asia/Dhaka",
                    "channels": {"kafka": True, "email": {"to": [BGD_TO]}},
                }
            ],
        )
        prefix = unique_prefix()
        process = pool.start(
            kafka,
            prefix,
            tmp / "data",
            SEABUS_RECIPIENTS_FILE=recipients,
            SEABUS_DELIVERY_FILE=write_delivery(tmp),
            SEABUS_DELIVERY__SMTP__HOST=smtp.host,
            SEABUS_DELIVERY__SMTP__PORT=smtp.port,
            SEABUS_DELIVERY__SMTP__FROM_ADDRESS="seabus@bus.example.org",
            SEABUS_GATEWAY__PUBLIC_URL=PUBLIC_URL,
            **{f"WEBHOOK_SECRET_{state}": secret for state, secret in SECRETS.items()},
        )
        try:
            yield Bus(prefix=prefix, process=process, receivers=receivers, smtp=smtp)
        finally:
            receivers.release("KEN")
            process.stop_cleanly()


def publish(
    kafka: KafkaConnection, prefix: str, aid: str, subjects: list[tuple[str, str | None, str | None, P]]
) -> None:
    p = producer(kafka)
    p.send(f"{prefix}.allegations", key=aid.encode(), value=encode_model(event(aid, subjects=subjects))).get(
        timeout=30
    )
    p.close()


def webhook_attempts(
    kafka: KafkaConnection, prefix: str, nid: str, *, final: bool = True
) -> list[tuple[str, int | None]]:
    finals = {DeliveryOutcome.DELIVERED, DeliveryOutcome.FAILED, DeliveryOutcome.DISABLED}
    got = attempts(
        kafka,
        prefix,
        until=lambda items: any(
            a.notification_id == nid and (a.outcome in finals or not final) for a in items
        ),
    )
    mine = sorted((a for a in got if a.notification_id == nid), key=lambda a: a.attempt)
    assert {a.channel for a in mine} == {DeliveryChannel.WEBHOOK}
    return [(a.outcome.value, a.http_status) for a in mine]


def test_webhook_500_then_200_is_delivered_once_with_a_valid_signature(
    kafka: KafkaConnection, bus: Bus
) -> None:
    aid = "SYNTH-DLV-0001"
    publish(kafka, bus.prefix, aid, [("SYNTH-SUBJ-DLV-1", "FRA", None, P.STAFF_MEMBER)])
    note = notification_for(kafka, bus.prefix, "FRA", aid)

    assert webhook_attempts(kafka, bus.prefix, note.notification_id) == [
        ("RETRYING", 500),
        ("DELIVERED", 200),
    ]
    requests = bus.receivers["FRA"].requests
    assert [r.status for r in requests] == [500, 200]
    assert all(r.verified for r in requests)  # the receiver checked each with verify_webhook
    assert bus.receivers["FRA"].delivered_ids(NOTIFICATION) == [note.notification_id]
    assert {r.webhook_id for r in requests} == {note.notification_id}
    assert Notification.model_validate_json(requests[-1].body) == note


def test_410_disables_the_endpoint_once_and_nothing_more_is_sent(kafka: KafkaConnection, bus: Bus) -> None:
    first, second = "SYNTH-DLV-0002", "SYNTH-DLV-0003"
    publish(kafka, bus.prefix, first, [("SYNTH-SUBJ-DLV-2", "NPL", None, P.STAFF_MEMBER)])
    disabled = escalations(
        kafka,
        bus.prefix,
        until=lambda es: any(e.level is EscalationLevel.ENDPOINT_DISABLED for e in es),
    )
    assert [
        (e.recipient, e.allegation_id) for e in disabled if e.level is EscalationLevel.ENDPOINT_DISABLED
    ] == [("NPL", first)]

    publish(kafka, bus.prefix, second, [("SYNTH-SUBJ-DLV-3", "NPL", None, P.STAFF_MEMBER)])
    later = notification_for(kafka, bus.prefix, "NPL", second)
    assert webhook_attempts(kafka, bus.prefix, later.notification_id) == [("DISABLED", None)]

    def notification_letters(ds: list[DeadLetter]) -> set[bytes | None]:
        return {
            d.original_key
            for d in ds
            if {r.field: r.value for r in d.redacted}["record_type"] == "Notification"
        }

    letters = dead_letters(
        kafka,
        bus.prefix,
        until=lambda ds: notification_letters(ds) >= {first.encode(), second.encode()},
    )
    # Both notifications are dead-lettered; so is any deadline escalation pushed to NPL's disabled
    # endpoint meanwhile (whether one falls due during the test depends on how fast it runs).
    for letter in (d for d in letters if d.original_key in (first.encode(), second.encode())):
        assert letter.reason.value == "DELIVERY_FAILED"
        assert {r.field: r.value for r in letter.redacted}["recipient"] == "NPL"
        assert {r.field: r.value for r in letter.redacted}["record_type"] in {"Notification", "Escalation"}
    every = escalations(
        kafka,
        bus.prefix,
        until=lambda es: any(
            e.allegation_id == second and e.level is EscalationLevel.DELIVERY_FAILED for e in es
        ),
    )
    assert sum(e.level is EscalationLevel.ENDPOINT_DISABLED for e in every) == 1
    assert bus.receivers["NPL"].arrived == 1  # the 410; the second notification made no request


def test_a_dead_endpoint_does_not_delay_another_recipient(kafka: KafkaConnection, bus: Bus) -> None:
    aid = "SYNTH-DLV-0004"
    publish(
        kafka,
        bus.prefix,
        aid,
        [
            ("SYNTH-SUBJ-DLV-4", "KEN", "KEN", P.MILITARY_CONTINGENT),
            ("SYNTH-SUBJ-DLV-5", "URY", "URY", P.MILITARY_CONTINGENT),
        ],
    )
    ken, ury = bus.receivers["KEN"], bus.receivers["URY"]
    wait_for(lambda: ken.arrived >= 1, what="KEN's request to reach its (dead) endpoint")
    ury_note = notification_for(kafka, bus.prefix, "URY", aid)
    assert webhook_attempts(kafka, bus.prefix, ury_note.notification_id) == [("DELIVERED", 200)]
    # URY was served while KEN's request was still hanging: it arrived, and was never answered.
    assert (ken.arrived, len(ken.requests)) == (1, 0)
    # The synthetic event is months old, so URY's overdue escalations may follow at any moment.
    assert ury.delivered_ids(NOTIFICATION) == [ury_note.notification_id]

    bus.receivers.release("KEN")
    ken_note = notification_for(kafka, bus.prefix, "KEN", aid)
    assert webhook_attempts(kafka, bus.prefix, ken_note.notification_id) == [("DELIVERED", 200)]


def test_email_carries_reference_and_due_dates_and_nothing_confidential(
    kafka: KafkaConnection, bus: Bus
) -> None:
    aid = "SYNTH-DLV-0005"
    subject_ref = "SYNTH-SUBJ-DLV-6"
    publish(kafka, bus.prefix, aid, [(subject_ref, "BGD", "BGD", P.MILITARY_CONTINGENT)])
    note = notification_for(kafka, bus.prefix, "BGD", aid)
    assert note.obligations  # a Member State owes answers, so the e-mail has due dates to show

    [captured] = wait_for(
        lambda: [m for m in bus.smtp.messages if aid.encode() in m.content], what="the e-mail notice"
    )
    assert captured.rcpt_tos == (BGD_TO,)
    message = email.message_from_bytes(captured.content, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert aid in str(message["Subject"])
    assert f"Allegation reference: {aid}" in text
    for obligation in note.obligations:
        assert obligation.kind.value in text
        assert obligation.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") in text
    assert "Asia/Dhaka" in text
    # The formal notice is linked under the gateway's public URL (connectors/notices).
    assert f"{PUBLIC_URL}/v1/recipients/BGD/notices/{aid}" in text
    assert f"POST {PUBLIC_URL}/v1/responses" in text
    raw = captured.content.decode()
    assert subject_ref not in raw
    assert "NARRATIVE" not in raw.upper()
    assert '"allegation_id"' not in raw  # no JSON of the notification either

    got = attempts(
        kafka,
        bus.prefix,
        until=lambda items: any(a.notification_id == note.notification_id for a in items),
    )
    assert [(a.channel.value, a.outcome.value) for a in got if a.notification_id == note.notification_id] == [
        ("EMAIL", "DELIVERED")
    ]


def test_the_bus_log_names_ids_only(bus: Bus) -> None:
    wait_for(lambda: bus.process.saw("notification delivered"), what="a delivery log line")
    lines = [line for line in bus.process.lines if "notification" in line and "deliver" in line]
    assert lines
    assert not any("SYNTH-SUBJ" in line or "NARRATIVE" in line.upper() for line in lines)
