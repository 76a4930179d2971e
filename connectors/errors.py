"""Errors raised by the delivery edges (webhooks, e-mail).

Every class derives from :class:`schemas.errors.SeabusError`; messages say what
happened and what to do.

    SeabusError
    ├── WebhookVerificationError   a webhook or signed reply failed verification
    ├── WebhookConfigError         an endpoint or secret is unusable as configured
    ├── AddressRefused             the endpoint resolves to a forbidden address (SSRF)
    ├── DispatcherClosed           a delivery was submitted after shutdown began
    ├── EmailConfigError           an e-mail notice or SMTP setting is invalid
    └── EmailDeliveryError         the SMTP server did not take the message
        ├── EmailTemporaryFailure  try again later (4xx reply, connection lost, timeout)
        └── EmailPermanentFailure  will not succeed as is (5xx reply, no STARTTLS when required)
"""

from __future__ import annotations

from schemas.errors import SeabusError


class WebhookVerificationError(SeabusError):
    """A webhook (or a signed reply) is unsigned, stale, or signed with another secret."""


class WebhookConfigError(SeabusError):
    """A webhook endpoint or secret cannot be used as configured."""


class AddressRefused(SeabusError):
    """The endpoint's host resolves to a loopback, private or reserved address (SSRF guard)."""


class DispatcherClosed(SeabusError):
    """The webhook dispatcher is closing and takes no new deliveries."""


class EmailConfigError(SeabusError):
    """An e-mail notice or the SMTP configuration is invalid."""


class EmailDeliveryError(SeabusError):
    """The SMTP server did not accept the message."""


class EmailTemporaryFailure(EmailDeliveryError):
    """The SMTP attempt failed in a way that may succeed later; retry."""


class EmailPermanentFailure(EmailDeliveryError):
    """The SMTP attempt failed in a way that retrying will not fix; fix configuration."""
