"""Page on-call for every escalation on ``sea.escalations``: one more lane of push delivery.

The on-call receivers (``oncall`` in delivery.yaml) are a plan like a
recipient's, under the pseudo-recipient ``ONCALL`` (six letters, so never a
Member State or an office): its lane of the
:class:`~seabus.connectors.delivery.DeliveryConsumer` reads the escalations topic and
hands each record here. Everything else is the notifications' path: Standard
Webhooks signing, retries, a 410 disabling the endpoint, every attempt on
``sea.audit`` under the ``escalation_id`` (so a step re-read after a crash is
not paged again), a dead letter and an escalation when a page fails.

Those escalations name ``ONCALL`` as their recipient and are not paged
(paging on-call that paging on-call failed would loop); the dashboard and
``/metrics`` show them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import structlog

from seabus.connectors.delivery.config import DeliveryConfig, OncallSettings
from seabus.connectors.delivery.pagerduty import pagerduty_event
from seabus.connectors.delivery.pipeline import DeliveryPipeline, Incoming
from seabus.connectors.delivery.plan import EmailTarget, RecipientPlan, webhook_endpoint
from seabus.connectors.delivery.pushed import Pushed
from seabus.connectors.delivery.records import ChannelOutcome
from seabus.connectors.errors import DeliveryConfigError, WebhookConfigError
from seabus.connectors.webhooks import WebhookEndpoint
from seabus.schemas.codec import Codec, decode_model
from seabus.schemas.errors import CodecError, ConfigError, ValidationFailed
from seabus.schemas.models import Escalation

__all__ = ["ONCALL", "OncallPlan", "Pager", "plan_oncall"]

log = structlog.get_logger(__name__)

ONCALL = "ONCALL"
"""The recipient name of on-call in audit records, dead letters and escalations."""


@dataclass(frozen=True, kw_only=True)
class OncallPlan:
    """The on-call channels as a recipient plan, with what the webhook body needs."""

    plan: RecipientPlan
    settings: OncallSettings
    routing_key: str | None = field(default=None, repr=False)


def plan_oncall(config: DeliveryConfig) -> OncallPlan | None:
    """Check the ``oncall`` section at start-up; None when no receiver is configured.

    Raises :class:`DeliveryConfigError` naming the file, the entry and the fix.
    """
    where = f"{config.source or 'delivery.yaml'}: oncall"
    oncall = config.oncall
    webhook: WebhookEndpoint | None = None
    routing_key: str | None = None
    if oncall.webhook is not None:
        channel = oncall.webhook
        try:
            webhook = webhook_endpoint(ONCALL, channel)
        except (ConfigError, WebhookConfigError) as exc:
            raise DeliveryConfigError(
                f"{where}.webhook: {exc}; or remove oncall.webhook (and SEABUS_DELIVERY__ONCALL__WEBHOOK__URL)."
            ) from exc
        routing_key = _env(channel.routing_key_env)
        if routing_key is None:
            raise DeliveryConfigError(
                f"{where}.webhook.routing_key_env: the variable {channel.routing_key_env} is not set; "
                "export the PagerDuty Events v2 integration (routing) key in it before starting the bus."
            )
    email: EmailTarget | None = None
    if oncall.email is not None:
        if not config.smtp.host:
            raise DeliveryConfigError(
                f"{where}.email: on-call has e-mail addresses, but no SMTP relay is configured; set "
                "smtp.host (or SEABUS_DELIVERY__SMTP__HOST), or remove oncall.email (and SEABUS_DELIVERY__ONCALL__EMAIL__TO)."
            )
        email = EmailTarget(to=tuple(oncall.email.to), recipient_name=oncall.name, time_zone=oncall.time_zone)
    if webhook is None and email is None:
        return None
    return OncallPlan(
        plan=RecipientPlan(recipient=ONCALL, webhook=webhook, email=email),
        settings=oncall,
        routing_key=routing_key,
    )


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


class Pager:
    """The on-call lane's processor: decode, filter, page on every channel, report failures."""

    def __init__(
        self, *, pipeline: DeliveryPipeline, oncall: OncallPlan, codec: Codec, max_bytes: int | None = None
    ) -> None:
        self.oncall = oncall
        self.paged = 0
        self._pipeline = pipeline
        self._codec = codec
        self._max_bytes = max_bytes
        self._levels = frozenset(oncall.settings.levels)

    def body(self, e: Escalation) -> bytes:
        assert self.oncall.routing_key is not None
        event = pagerduty_event(e, routing_key=self.oncall.routing_key, source=self.oncall.settings.source)
        return json.dumps(event, separators=(",", ":")).encode()

    async def process(self, plan: RecipientPlan, incoming: Incoming) -> list[ChannelOutcome]:
        """Page for one record of the escalations topic; returns when its offset may be committed."""
        if incoming.value is None:
            return []
        try:
            e = decode_model(incoming.value, Escalation, codec=self._codec, max_bytes=self._max_bytes)
        except (CodecError, ValidationFailed) as exc:
            # Only the bus writes this topic; an unreadable record is a newer bus's, not a page.
            log.warning(
                "unreadable record on the escalations topic not paged",
                partition=incoming.partition,
                offset=incoming.offset,
                error=type(exc).__name__,
            )
            return []
        if e.recipient == ONCALL or e.level not in self._levels:
            return []
        item = Pushed(e)
        body = self.body(e) if plan.webhook is not None else None
        outcomes = await self._pipeline.push(plan, item, body=body, page=True)
        await self._pipeline.report(plan, item, incoming, outcomes)
        self.paged += 1
        return outcomes
