"""An import's OVERDUE_SUMMARY is delivered like a deadline step: to the owing state's webhook
and e-mail, and one page to on-call (in one process: engine over dicts, the delivery
pipeline and pager over the in-memory sink, real webhook receivers and SMTP server).

Push delivery refused escalations other than REMINDER, OVERDUE and SECOND_LEVEL on a
notify topic, so without this the summary would have been dead-lettered.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

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
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import DeliveryChannel, EscalationLevel
from seabus.schemas.models import Escalation
from seabus.streams.deadlines import DeadlineEngine
from seabus.streams.deadlines.policy import CaseFacts, parse_policies
from seabus.streams.deadlines.vocabulary import RecipientClass

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = generate_secret()
KEN_TO = "focal.point@ken.example.org"
POLICIES = {
    "count_from": "reported_at",
    "overdue_at_import": {"summary_every": "PT10S"},
    "policies": [
        {
            "name": "ack",
            "obligation": "ACKNOWLEDGE",
            "recipient_classes": ["MEMBER_STATE"],
            "window": {"duration": "PT20S"},
        }
    ],
}


@pytest.fixture
def smtp() -> Iterator[CapturingSmtpServer]:
    with CapturingSmtpServer() as server:
        yield server


def summary() -> Escalation:
    """KEN's summary for three allegations imported an hour after they were reported."""
    engine = DeadlineEngine(
        policies=parse_policies(POLICIES, source="summary-test"), obligations={}, allegations={}
    )
    for n in range(3):
        aid = f"SYNTH-SUM-000{n}"
        engine.on_routed(allegation_id=aid, recipients={"KEN": RecipientClass.MEMBER_STATE})
        engine.on_notification(
            allegation_id=aid,
            recipient="KEN",
            recipient_class=RecipientClass.MEMBER_STATE,
            case=CaseFacts(),
            notified_at=T0 + timedelta(hours=1),
            reported_at=T0,
        )
    (draft,) = engine.tick(T0 + timedelta(hours=1, seconds=10))
    assert (draft.level, draft.target) == (EscalationLevel.OVERDUE_SUMMARY, "KEN")
    return draft.to_record()


def incoming(topic: str, e: Escalation) -> Incoming:
    return Incoming(
        topic=topic, partition=0, offset=0, key=e.allegation_id.encode(), value=encode_model(e), headers=[]
    )


def test_the_summary_reaches_the_owing_state_and_pages_on_call_once(smtp: CapturingSmtpServer) -> None:
    record = summary()

    async def scenario() -> dict[str, WebhookReceiver]:
        receivers = {name: WebhookReceiver(secrets=[SECRET]) for name in ("KEN", ONCALL)}
        for r in receivers.values():
            await r.start()
        try:
            sink, index = InMemorySink(), AuditIndex()

            def hook(name: str) -> WebhookEndpoint:
                return WebhookEndpoint(
                    recipient=name, url=receivers[name].url, secrets=(SECRET,), allow_private=True
                )

            ken = RecipientPlan(
                recipient="KEN",
                webhook=hook("KEN"),
                email=EmailTarget(to=(KEN_TO,), recipient_name="Kenya (test)", time_zone="Africa/Nairobi"),
            )
            oncall = OncallPlan(
                plan=RecipientPlan(recipient=ONCALL, webhook=hook(ONCALL)),
                settings=OncallSettings(source="seabus-test"),
                routing_key="synthetic-routing-key-0123456789abcdef",
            )
            pipeline = DeliveryPipeline(
                codec=None,  # type: ignore[arg-type]  # the default codec
                clock=lambda: datetime.now(UTC),
                sink=sink,
                index=index,
                plans=[ken, oncall.plan],
            )
            policy = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, jitter=False)
            pipeline.webhooks = WebhookDeliverer(
                policy=policy,
                on_attempt=pipeline.on_webhook_attempt,
                delivered=ChannelDelivered(index, DeliveryChannel.WEBHOOK),
                endpoint_states=index.endpoint_states,
            )
            pipeline.email = EmailDelivery(
                sender=SmtpSender(
                    host=smtp.host, port=smtp.port, from_address="seabus@bus.example.org", starttls="off"
                ),
                policy=policy,
                delivered=ChannelDelivered(index, DeliveryChannel.EMAIL),
                on_attempt=pipeline.record_attempt,
                gateway_url="http://127.0.0.1:8080",
                clock=lambda: datetime.now(UTC),
            )
            pager = Pager(pipeline=pipeline, oncall=oncall, codec=None)  # type: ignore[arg-type]
            for _ in range(2):  # the second pass is a redelivery after a crash
                await pipeline.process(ken, incoming("sea.notify.KEN", record))
                await pager.process(oncall.plan, incoming("sea.escalations", record))
            await pipeline.webhooks.close()
            return receivers
        finally:
            for r in receivers.values():
                await r.stop()

    receivers = asyncio.run(scenario())
    assert receivers["KEN"].delivered_ids() == [record.escalation_id]
    (delivered,) = [Escalation.model_validate_json(r.body) for r in receivers["KEN"].requests]
    assert delivered.obligation_keys == tuple(f"SYNTH-SUM-000{n}|KEN|ACKNOWLEDGE" for n in range(3))
    (page,) = [json.loads(r.body) for r in receivers[ONCALL].requests]
    assert (page["dedup_key"], page["payload"]["severity"]) == (record.escalation_id, "warning")
    (mail,) = [email.message_from_bytes(m.content, policy=email.policy.default) for m in smtp.messages]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "OVERDUE_SUMMARY - Overdue at import" in text
    assert "Covers:               3 obligation(s): SYNTH-SUM-0000|KEN|ACKNOWLEDGE" in text
