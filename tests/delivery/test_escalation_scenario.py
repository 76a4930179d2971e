"""Silence escalates to people, in one process: the deadline engine over dict stores, the
delivery pipeline and the pager over the in-memory sink, real webhook receivers on
127.0.0.1 and a real SMTP server. No Kafka: the records the tick would produce are handed
to the lanes' processors as the lanes would read them.

KEN owes an acknowledgement and stays silent: REMINDER and OVERDUE reach KEN's webhook and
e-mail, SECOND_LEVEL (and its repeat) OSC's webhook, and every step pages on-call
(PagerDuty Events v2 body, e-mail). Replaying every record (a crash before the commit)
sends nothing again.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.deadline_policies import write_fast_policies

from seabus.connectors.delivery import (
    ONCALL,
    AuditIndex,
    ChannelDelivered,
    DeliveryPipeline,
    EmailDelivery,
    EmailTarget,
    Incoming,
    InMemorySink,
    OncallPlan,
    OncallSettings,
    Pager,
    RecipientPlan,
)
from seabus.connectors.email import SmtpSender
from seabus.connectors.email.testing import CapturingSmtpServer
from seabus.connectors.webhooks import RetryPolicy, WebhookDeliverer, WebhookEndpoint, generate_secret
from seabus.connectors.webhooks.testing import WebhookReceiver
from seabus.schemas.codec import decode_model, encode_model
from seabus.schemas.enums import DeadLetterReason, DeliveryChannel, DeliveryOutcome, EscalationLevel
from seabus.schemas.models import DeadLetter, DeliveryAttempt, Escalation
from seabus.streams.deadlines import DeadlineEngine
from seabus.streams.deadlines.obligations import EscalationDraft
from seabus.streams.deadlines.policy import CaseFacts, load_policies
from seabus.streams.deadlines.vocabulary import RecipientClass

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AID = "SYNTH-ESC-SCN-0001"
SECRET = generate_secret()
ROUTING_KEY = "synthetic-routing-key-0123456789abcdef"
KEN_TO, ONCALL_TO = "focal.point@ken.example.org", "oncall@ops.example.org"


@pytest.fixture
def smtp() -> Iterator[CapturingSmtpServer]:
    with CapturingSmtpServer() as server:
        yield server


def ladder(tmp: Path) -> list[EscalationDraft]:
    """Every step of KEN's unanswered acknowledgement: due at 6 s, reminder at 3 s, second level
    at 9 s, one repeat at 12 s (the tests' fast policies)."""
    policies = load_policies(write_fast_policies(tmp, due=6, reminder=3, second=3, repeat=3))
    engine = DeadlineEngine(policies=policies, obligations={}, allegations={})
    engine.on_routed(allegation_id=AID, recipients={"KEN": RecipientClass.MEMBER_STATE})
    engine.on_notification(
        allegation_id=AID,
        recipient="KEN",
        recipient_class=RecipientClass.MEMBER_STATE,
        case=CaseFacts(),
        notified_at=T0,
    )
    drafts: list[EscalationDraft] = []
    for second in range(0, 60):
        drafts += [
            d for d in engine.tick(T0 + timedelta(seconds=second)) if d.obligation.value == "ACKNOWLEDGE"
        ]
    return drafts


def incoming(topic: str, offset: int, e: Escalation) -> Incoming:
    return Incoming(
        topic=topic,
        partition=0,
        offset=offset,
        key=e.allegation_id.encode(),
        value=encode_model(e),
        headers=[],
    )


def test_silence_reaches_the_state_osc_and_on_call_once_per_escalation_id(
    tmp_path: Path, smtp: CapturingSmtpServer
) -> None:
    drafts = ladder(tmp_path)
    assert [(d.level, d.repeat, d.target) for d in drafts] == [
        (EscalationLevel.REMINDER, 0, "KEN"),
        (EscalationLevel.OVERDUE, 0, "KEN"),
        (EscalationLevel.SECOND_LEVEL, 0, "OSC"),
        (EscalationLevel.SECOND_LEVEL, 1, "OSC"),
    ]

    async def scenario() -> tuple[dict[str, WebhookReceiver], InMemorySink]:
        receivers = {name: WebhookReceiver(secrets=[SECRET]) for name in ("KEN", "OSC", ONCALL)}
        for r in receivers.values():
            await r.start()
        try:
            sink, index = InMemorySink(), AuditIndex()

            def hook(name: str) -> WebhookEndpoint:
                return WebhookEndpoint(
                    recipient=name, url=receivers[name].url, secrets=(SECRET,), allow_private=True
                )

            plans = {
                "KEN": RecipientPlan(
                    recipient="KEN",
                    webhook=hook("KEN"),
                    email=EmailTarget(
                        to=(KEN_TO,), recipient_name="Kenya (test)", time_zone="Africa/Nairobi"
                    ),
                ),
                "OSC": RecipientPlan(recipient="OSC", webhook=hook("OSC")),
            }
            oncall = OncallPlan(
                plan=RecipientPlan(
                    recipient=ONCALL,
                    webhook=hook(ONCALL),
                    email=EmailTarget(to=(ONCALL_TO,), recipient_name="on-call", time_zone="UTC"),
                ),
                settings=OncallSettings(source="seabus-test"),
                routing_key=ROUTING_KEY,
            )
            pipeline = DeliveryPipeline(
                codec=None,  # type: ignore[arg-type]  # the default codec
                clock=lambda: datetime.now(UTC),
                sink=sink,
                index=index,
                plans=[*plans.values(), oncall.plan],
            )
            pipeline.webhooks = WebhookDeliverer(
                policy=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, jitter=False),
                on_attempt=pipeline.on_webhook_attempt,
                delivered=ChannelDelivered(index, DeliveryChannel.WEBHOOK),
                endpoint_states=index.endpoint_states,
            )
            pipeline.email = EmailDelivery(
                sender=SmtpSender(
                    host=smtp.host, port=smtp.port, from_address="seabus@bus.example.org", starttls="off"
                ),
                policy=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, jitter=False),
                delivered=ChannelDelivered(index, DeliveryChannel.EMAIL),
                on_attempt=pipeline.record_attempt,
                gateway_url="http://127.0.0.1:8080",
                clock=lambda: datetime.now(UTC),
            )
            pager = Pager(pipeline=pipeline, oncall=oncall, codec=None)  # type: ignore[arg-type]
            for replay in (False, True):  # the second pass is a redelivery after a crash
                for offset, d in enumerate(drafts):
                    e = d.to_record()
                    await pipeline.process(plans[d.target], incoming(f"sea.notify.{d.target}", offset, e))
                    await pager.process(oncall.plan, incoming("sea.escalations", offset, e))
                if not replay:
                    sent_once = {name: len(r.requests) for name, r in receivers.items()}
            assert {name: len(r.requests) for name, r in receivers.items()} == sent_once
            # A step on a topic it is not addressed to is refused, like a misaddressed notification.
            await pipeline.process(plans["OSC"], incoming("sea.notify.OSC", 99, drafts[1].to_record()))
            await pipeline.webhooks.close()
            return receivers, sink
        finally:
            for r in receivers.values():
                await r.stop()

    receivers, sink = asyncio.run(scenario())
    ids = {(d.level, d.repeat): d.escalation_id for d in drafts}
    rem, ovd = ids[(EscalationLevel.REMINDER, 0)], ids[(EscalationLevel.OVERDUE, 0)]
    second = [ids[(EscalationLevel.SECOND_LEVEL, 0)], ids[(EscalationLevel.SECOND_LEVEL, 1)]]

    # The owing state: its reminder and overdue step, typed as escalations, signed.
    ken = receivers["KEN"].requests
    assert receivers["KEN"].delivered_ids() == [rem, ovd]
    assert all(r.verified and r.event_type == "org.seabus.Escalation" for r in ken)
    assert [Escalation.model_validate_json(r.body).level for r in ken] == [
        EscalationLevel.REMINDER,
        EscalationLevel.OVERDUE,
    ]
    # The Special Coordinator: the second level and its repeat.
    assert receivers["OSC"].delivered_ids() == second
    # On-call: every step, as a PagerDuty Events v2 trigger deduplicated by escalation_id.
    events = [json.loads(r.body) for r in receivers[ONCALL].requests]
    assert [e["dedup_key"] for e in events] == [rem, ovd, *second]
    assert {e["routing_key"] for e in events} == {ROUTING_KEY}
    assert {e["event_action"] for e in events} == {"trigger"}
    assert [e["payload"]["severity"] for e in events] == ["info", "warning", "critical", "critical"]
    assert {e["payload"]["source"] for e in events} == {"seabus-test"}
    assert set(events[0]["payload"]["custom_details"]) == {
        "escalation_id", "allegation_id", "recipient", "obligation", "level", "repeat", "due_at", "fired_at",
    }  # fmt: skip
    assert all(AID in e["payload"]["summary"] and "KEN" in e["payload"]["summary"] for e in events)

    # E-mail: two to KEN's focal point, four pages to on-call, each naming its escalation id.
    mails = [email.message_from_bytes(m.content, policy=email.policy.default) for m in smtp.messages]
    to_ken = [m for m in mails if m["To"] == KEN_TO]
    pages = [m for m in mails if m["To"] == ONCALL_TO]
    assert [m["Message-ID"].split(".")[0].strip("<") for m in to_ken] == [rem, ovd]
    assert [m["Message-ID"].split(".")[0].strip("<") for m in pages] == [rem, ovd, *second]
    assert all(m["Subject"].strip().startswith("[seabus page]") for m in pages)
    assert "POST http://127.0.0.1:8080/v1/responses" in to_ken[0].get_content()

    # The audit trail: one DELIVERED attempt per channel and escalation id, under each receiver.
    attempts = [decode_model(o.value, DeliveryAttempt) for o in sink.sent if o.route == "audit"]
    delivered = sorted(
        (a.recipient, a.channel.value, a.notification_id)
        for a in attempts
        if a.outcome is DeliveryOutcome.DELIVERED
    )
    assert delivered == sorted(
        [("KEN", ch, i) for ch in ("WEBHOOK", "EMAIL") for i in (rem, ovd)]
        + [("OSC", "WEBHOOK", i) for i in second]
        + [(ONCALL, ch, i) for ch in ("WEBHOOK", "EMAIL") for i in (rem, ovd, *second)]
    )
    # Only the misaddressed record was dead-lettered.
    letters = [decode_model(o.value, DeadLetter) for o in sink.sent if o.route == "deadletter"]
    assert [dl.reason for dl in letters] == [DeadLetterReason.UNKNOWN_RECIPIENT]


def test_a_failed_page_is_recorded_but_never_paged_again(tmp_path: Path) -> None:
    """Paging on-call that paging on-call failed would loop: such escalations are skipped."""
    drafts = ladder(tmp_path)

    async def scenario() -> tuple[InMemorySink, WebhookReceiver]:
        async with WebhookReceiver(secrets=[SECRET], default=400) as receiver:
            sink, index = InMemorySink(), AuditIndex()
            plan = RecipientPlan(
                recipient=ONCALL,
                webhook=WebhookEndpoint(
                    recipient=ONCALL, url=receiver.url, secrets=(SECRET,), allow_private=True
                ),
            )
            oncall = OncallPlan(plan=plan, settings=OncallSettings(), routing_key=ROUTING_KEY)
            pipeline = DeliveryPipeline(
                codec=None,  # type: ignore[arg-type]
                clock=lambda: datetime.now(UTC),
                sink=sink,
                index=index,
                plans=[plan],
            )
            pipeline.webhooks = WebhookDeliverer(
                policy=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01, jitter=False),
                on_attempt=pipeline.on_webhook_attempt,
                delivered=ChannelDelivered(index, DeliveryChannel.WEBHOOK),
                endpoint_states=index.endpoint_states,
            )
            pager = Pager(pipeline=pipeline, oncall=oncall, codec=None)  # type: ignore[arg-type]
            await pager.process(plan, incoming("sea.escalations", 0, drafts[1].to_record()))
            failed = [decode_model(o.value, Escalation) for o in sink.sent if o.route == "escalations"]
            assert [(e.level, e.recipient) for e in failed] == [(EscalationLevel.DELIVERY_FAILED, ONCALL)]
            before = len(receiver.requests)
            await pager.process(plan, incoming("sea.escalations", 1, failed[0]))
            assert len(receiver.requests) == before
            await pipeline.webhooks.close()
            return sink, receiver

    asyncio.run(scenario())
