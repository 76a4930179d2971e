"""Errors of the agency side: the publisher SDK, the bulk importer and the HTTP gateway.

Every class derives from :class:`seabus.schemas.errors.SeabusError`; messages say what
happened and what to do. Invalid events raise the contract's own
:class:`~seabus.schemas.errors.ValidationFailed` (every problem at once).

    SeabusError
    ├── KafkaUnavailable
    │   └── PublishFailed      the broker did not acknowledge; the event was NOT accepted
    ├── PublisherClosed        publish was called after close()
    ├── ImportFileError        a bulk-import file cannot be read at all (bad header, bad JSON)
    └── GatewayConfigError     gateway.yaml is unusable (a ConfigError)
"""

from __future__ import annotations

from seabus.schemas.errors import ConfigError, KafkaUnavailable, SeabusError

__all__ = ["GatewayConfigError", "ImportFileError", "PublishFailed", "PublisherClosed"]


class PublishFailed(KafkaUnavailable):
    """Kafka did not acknowledge the event in time; resend it with the same event_id (safe)."""


class PublisherClosed(SeabusError):
    """The publisher was closed; create a new one to publish again."""


class ImportFileError(SeabusError):
    """A bulk-import file cannot be read as a whole; nothing from it was published."""


class GatewayConfigError(ConfigError):
    """The gateway configuration (agencies, tokens, limits) is invalid."""
