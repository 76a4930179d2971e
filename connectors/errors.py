"""Errors raised by the delivery edges (webhooks, e-mail, delivery service, subscriber client).

Every class derives from :class:`seabus.schemas.errors.SeabusError`; messages say what
happened and what to do.

    SeabusError
    ├── WebhookVerificationError   a webhook or signed reply failed verification
    ├── WebhookConfigError         an endpoint or secret is unusable as configured
    ├── AddressRefused             the endpoint resolves to a forbidden address (SSRF)
    ├── EmailConfigError           an e-mail notice or SMTP setting is invalid
    ├── EmailDeliveryError         the SMTP server did not take the message
    │   ├── EmailTemporaryFailure  try again later (4xx reply, connection lost, timeout)
    │   └── EmailPermanentFailure  will not succeed as is (5xx reply, no STARTTLS when required)
    ├── ConfigError
    │   └── DeliveryConfigError    delivery.yaml, or a recipient's push channel, is unusable
    └── SubscriberError            the subscriber client stopped on a message it cannot process
        ├── NotificationUndecodable  the bytes are not a notification this client can read
        └── HandlerFailed          the application's handler raised; the offset was not committed
"""

from __future__ import annotations

from seabus.schemas.errors import ConfigError, SeabusError


class WebhookVerificationError(SeabusError):
    """A webhook (or a signed reply) is unsigned, stale, or signed with another secret."""


class WebhookConfigError(SeabusError):
    """A webhook endpoint or secret cannot be used as configured."""


class AddressRefused(SeabusError):
    """The endpoint's host resolves to a loopback, private or reserved address (SSRF guard)."""


class EmailConfigError(SeabusError):
    """An e-mail notice or the SMTP configuration is invalid."""


class EmailDeliveryError(SeabusError):
    """The SMTP server did not accept the message."""


class EmailTemporaryFailure(EmailDeliveryError):
    """The SMTP attempt failed in a way that may succeed later; retry."""


class EmailPermanentFailure(EmailDeliveryError):
    """The SMTP attempt failed in a way that retrying will not fix; fix configuration."""


class DeliveryConfigError(ConfigError):
    """``delivery.yaml`` or a recipient's webhook / e-mail channel cannot be used as configured."""


class SubscriberError(SeabusError):
    """The subscriber client cannot go on with a message; its offset is left uncommitted."""

    def __init__(self, message: str, *, notification_id: str | None, partition: int, offset: int) -> None:
        super().__init__(message)
        self.notification_id = notification_id
        self.partition = partition
        self.offset = offset


class NotificationUndecodable(SubscriberError):
    """The record is not a notification this client can read (usually: upgrade seabus)."""


class HandlerFailed(SubscriberError):
    """The application's handler raised; the notification will be offered again."""
