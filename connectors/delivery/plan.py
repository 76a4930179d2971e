"""Who gets a push delivery and how, worked out once at start-up.

Every problem a recipient's channel could cause later (a secret variable not
set, a plain-http URL without ``allow_private``, an e-mail channel with no SMTP
relay configured) stops start-up here, naming the file and the recipient, so it
never surfaces as a failed delivery of a real allegation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seabus.connectors.delivery.config import DeliveryConfig
from seabus.connectors.errors import DeliveryConfigError, WebhookConfigError
from seabus.connectors.webhooks import WebhookEndpoint
from seabus.schemas.errors import ConfigError
from seabus.streams.config.recipients import Recipient, RecipientsDirectory, WebhookChannel

__all__ = ["EmailTarget", "RecipientPlan", "plan_delivery"]


@dataclass(frozen=True, kw_only=True)
class EmailTarget:
    """Where a recipient's e-mail notices go, and how their due dates are shown."""

    to: tuple[str, ...] = field(repr=False)
    recipient_name: str
    time_zone: str


@dataclass(frozen=True, kw_only=True)
class RecipientPlan:
    recipient: str
    webhook: WebhookEndpoint | None = None
    email: EmailTarget | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, on in (("webhook", self.webhook), ("email", self.email)) if on)


def webhook_endpoint(recipient: str, channel: WebhookChannel) -> WebhookEndpoint:
    """A configured webhook channel as an endpoint (recipients and on-call alike); raises
    ConfigError/WebhookConfigError for the caller to name the file and entry."""
    return WebhookEndpoint(
        recipient=recipient,
        url=str(channel.url),
        secrets=channel.secrets(),
        allow_private=channel.allow_private,
        timeout_s=channel.timeout_s,
        max_attempts=channel.max_attempts,
    )


def _webhook(recipient: Recipient, where: str) -> WebhookEndpoint | None:
    channel = recipient.channels.webhook
    if channel is None:
        return None
    try:
        return webhook_endpoint(recipient.id, channel)
    except (ConfigError, WebhookConfigError) as exc:
        raise DeliveryConfigError(f"{where}: recipient {recipient.id}: webhook channel: {exc}") from exc


def plan_delivery(
    directory: RecipientsDirectory, *, config: DeliveryConfig, recipients_file: Path
) -> list[RecipientPlan]:
    """One plan per recipient with a webhook and/or e-mail channel, in directory order."""
    plans: list[RecipientPlan] = []
    for recipient in directory.recipients:
        webhook = _webhook(recipient, str(recipients_file))
        email: EmailTarget | None = None
        if recipient.channels.email is not None:
            if not config.smtp.host:
                raise DeliveryConfigError(
                    f"{recipients_file}: recipient {recipient.id} has an e-mail channel, but no SMTP relay "
                    f"is configured; set smtp.host in {config.source or 'delivery.yaml'} or "
                    "SEABUS_DELIVERY__SMTP__HOST, or remove the e-mail channel."
                )
            email = EmailTarget(
                to=tuple(recipient.channels.email.to),
                recipient_name=recipient.name,
                time_zone=recipient.timezone,
            )
        if webhook is not None or email is not None:
            plans.append(RecipientPlan(recipient=recipient.id, webhook=webhook, email=email))
    return plans
