"""``delivery.yaml``: retry pacing, the SMTP relay and what e-mails tell recipients.

Which recipient gets which channel is in the recipients directory; this file
holds what is shared by all of them. It sits next to the main configuration
(``delivery.yaml`` in the folder of ``SEABUS_CONFIG``) unless
``SEABUS_DELIVERY_FILE`` names another. The SMTP settings can come from the
environment instead (``SEABUS_SMTP_HOST``, ``_PORT``, ``_FROM``, ``_STARTTLS``,
``_USERNAME``, ``_PASSWORD``); the password is only ever read from there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.errors import DeliveryConfigError
from connectors.webhooks import RetryPolicy
from streams.config import Settings

__all__ = [
    "DEFAULT_DELIVERY_FILE",
    "DeliveryConfig",
    "EmailSettings",
    "RetrySettings",
    "SmtpSettings",
    "delivery_config_path",
    "load_delivery_config",
]

DEFAULT_DELIVERY_FILE = Path("delivery.yaml")
FILE_ENV = "SEABUS_DELIVERY_FILE"
PASSWORD_ENV = "SEABUS_SMTP_PASSWORD"
_SMTP_OVERRIDES = {
    "host": "SEABUS_SMTP_HOST",
    "port": "SEABUS_SMTP_PORT",
    "from_address": "SEABUS_SMTP_FROM",
    "starttls": "SEABUS_SMTP_STARTTLS",
    "username": "SEABUS_SMTP_USERNAME",
}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetrySettings(_Strict):
    """Backoff between attempts (full jitter); how many attempts is per recipient (webhook.max_attempts)."""

    base_delay_s: float = Field(default=1.0, ge=0)
    max_delay_s: float = Field(default=300.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: bool = True

    def policy(self, *, max_attempts: int) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=max_attempts,
            base_delay=self.base_delay_s,
            max_delay=self.max_delay_s,
            multiplier=self.multiplier,
            jitter=self.jitter,
        )


class SmtpSettings(_Strict):
    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    from_address: str = "seabus-notifications@example.invalid"
    starttls: Literal["auto", "require", "off"] = "auto"
    username: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)


class EmailSettings(_Strict):
    max_attempts: int = Field(default=5, ge=1, le=50)
    gateway_url: str | None = None
    """Where e-mails tell recipients to reply; empty: the gateway's own host and port."""


class DeliveryConfig(_Strict):
    enabled: bool = True
    retry: RetrySettings = RetrySettings()
    max_in_flight: int = Field(default=100, ge=1)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    smtp: SmtpSettings = SmtpSettings()
    email: EmailSettings = EmailSettings()
    source: Path | None = None
    """The file this came from (for messages); not a setting."""

    @property
    def smtp_password(self) -> str | None:
        return os.environ.get(PASSWORD_ENV) or None


def delivery_config_path(settings: Settings) -> Path:
    """``$SEABUS_DELIVERY_FILE``, else ``delivery.yaml`` beside the main configuration file."""
    named = os.environ.get(FILE_ENV)
    return Path(named) if named else settings.resolve(DEFAULT_DELIVERY_FILE)


def load_delivery_config(settings: Settings, *, path: Path | None = None) -> DeliveryConfig:
    """Read and check the file (a missing file means all defaults); problems are one ConfigError."""
    source = path or delivery_config_path(settings)
    data: object = {}
    if source.exists():
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise DeliveryConfigError(
                f"{source}: cannot read the delivery configuration ({exc.strerror or exc}); fix its "
                f"permissions or set {FILE_ENV} to another file."
            ) from exc
        except yaml.YAMLError as exc:
            raise DeliveryConfigError(f"{source}: not valid YAML ({exc}). Fix the syntax.") from exc
    if not isinstance(data, dict):
        raise DeliveryConfigError(f"{source}: the top level must be a mapping of settings.")
    smtp = dict(data.get("smtp") or {})
    for key, env in _SMTP_OVERRIDES.items():
        if os.environ.get(env):
            smtp[key] = os.environ[env]
    data = {**data, "smtp": smtp, "email": data.get("email") or {}, "retry": data.get("retry") or {}}
    try:
        return DeliveryConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<file>'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise DeliveryConfigError(f"{source} (or SEABUS_SMTP_*): {lines}. Fix these entries.") from exc
