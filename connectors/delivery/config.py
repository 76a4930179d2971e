"""``delivery.yaml``: retry pacing, the SMTP relay, what e-mails tell recipients, who is paged.

Which recipient gets which channel is in the recipients directory; this file
holds what is shared by all of them. The section is part of the one settings tree
(``Settings.delivery``, read once at start-up, models in
:mod:`seabus.streams.config.sections`): the file sits next to the main configuration
unless ``delivery_file`` (``SEABUS_DELIVERY_FILE``) names another, and
``SEABUS_DELIVERY__<KEY>`` overrides a key (``SEABUS_DELIVERY__SMTP__HOST``). The SMTP
password is only ever read from ``SEABUS_DELIVERY__SMTP__PASSWORD``.

The ``oncall`` section names the receivers paged for every escalation: a
webhook speaking PagerDuty Events v2 and/or e-mail addresses
(``SEABUS_DELIVERY__ONCALL__WEBHOOK__URL``, ``..._ALLOW_PRIVATE``,
``SEABUS_DELIVERY__ONCALL__EMAIL__TO`` override the file; the routing key and signing
secrets are read from the environment variables it names).
"""

from __future__ import annotations

from pathlib import Path

from seabus.streams.config import Settings
from seabus.streams.config.sections import SECTION_FILES, DeliveryConfig, OncallSettings
from seabus.streams.config.settings import load_section

# The models themselves (RetrySettings, SmtpSettings, ...) are in seabus.streams.config.sections
# and exported by seabus.connectors.delivery.
__all__ = [
    "DEFAULT_DELIVERY_FILE",
    "DeliveryConfig",
    "OncallSettings",
    "delivery_config_path",
    "load_delivery_config",
]

DEFAULT_DELIVERY_FILE = SECTION_FILES["delivery"]


def delivery_config_path(settings: Settings) -> Path:
    """Where the delivery section comes from: ``delivery_file`` (``SEABUS_DELIVERY_FILE``) beside seabus.yaml."""
    return settings.section_file("delivery")


def load_delivery_config(settings: Settings, *, path: Path | None = None) -> DeliveryConfig:
    """The delivery section as loaded at start-up, or read from ``path`` (with its overrides) when given.

    A missing file means all defaults; problems raise :class:`DeliveryConfigError`.
    """
    if path is None:
        return settings.delivery
    loaded = load_section("delivery", path)
    assert isinstance(loaded, DeliveryConfig)
    return loaded
