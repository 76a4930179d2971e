"""``delivery.yaml``: retry pacing, the SMTP relay, what e-mails tell recipients, who is paged.

Which recipient gets which channel is in the recipients directory; this file
holds what is shared by all of them. It sits next to the main configuration
(``delivery.yaml`` in the folder of ``SEABUS_CONFIG``) unless
``SEABUS_DELIVERY_FILE`` names another. The SMTP settings can come from the
environment instead (``SEABUS_SMTP_HOST``, ``_PORT``, ``_FROM``, ``_STARTTLS``,
``_USERNAME``, ``_PASSWORD``); the password is only ever read from there.

The ``oncall`` section names the receivers paged for every escalation: a
webhook speaking PagerDuty Events v2 and/or e-mail addresses
(``SEABUS_ONCALL_WEBHOOK_URL``, ``SEABUS_ONCALL_WEBHOOK_ALLOW_PRIVATE``,
``SEABUS_ONCALL_EMAIL_TO`` override the file; the routing key and signing
secrets are read from the environment variables it names).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seabus.connectors.errors import DeliveryConfigError
from seabus.connectors.webhooks import RetryPolicy
from seabus.schemas.enums import EscalationLevel
from seabus.streams.config import Settings
from seabus.streams.config.recipients import EmailChannel, WebhookChannel

__all__ = [
    "DEFAULT_DELIVERY_FILE",
    "DeliveryConfig",
    "EmailSettings",
    "OncallSettings",
    "OncallWebhook",
    "RetrySettings",
    "SmtpSettings",
    "delivery_config_path",
    "load_delivery_config",
]

DEFAULT_DELIVERY_FILE = Path("delivery.yaml")
FILE_ENV = "SEABUS_DELIVERY_FILE"
PASSWORD_ENV = "SEABUS_SMTP_PASSWORD"
URL_ENV = "SEABUS_ONCALL_WEBHOOK_URL"
PRIVATE_ENV = "SEABUS_ONCALL_WEBHOOK_ALLOW_PRIVATE"
EMAIL_ENV = "SEABUS_ONCALL_EMAIL_TO"
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
    """Where e-mails tell recipients to reply; empty: the gateway's ``public_url``, else its host and port."""


class OncallWebhook(WebhookChannel):
    """The on-call webhook: a PagerDuty Events v2 endpoint (or anything that speaks it)."""

    secrets_env: list[str] = Field(default=["SEABUS_ONCALL_WEBHOOK_SECRET"], min_length=1)
    routing_key_env: str = "SEABUS_ONCALL_ROUTING_KEY"
    """The variable holding the Events v2 integration (routing) key; it is a secret."""


PAGED_BY_DEFAULT: list[EscalationLevel] = [
    level for level in EscalationLevel if level is not EscalationLevel.UNKNOWN
]


class OncallSettings(_Strict):
    """Who is paged for escalations, and for which levels."""

    name: str = Field(default="on-call", min_length=1, max_length=200)
    source: str = Field(default="seabus", min_length=1, max_length=255)
    """PagerDuty ``payload.source``: where the page comes from."""
    levels: list[EscalationLevel] = Field(default_factory=lambda: list(PAGED_BY_DEFAULT))
    webhook: OncallWebhook | None = None
    email: EmailChannel | None = None
    time_zone: str = "UTC"
    """How due times are shown in on-call e-mails (UTC always, this zone besides)."""

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Europe/Geneva") from exc
        return v


class DeliveryConfig(_Strict):
    enabled: bool = True
    retry: RetrySettings = RetrySettings()
    max_in_flight: int = Field(default=100, ge=1)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    smtp: SmtpSettings = SmtpSettings()
    email: EmailSettings = EmailSettings()
    oncall: OncallSettings = OncallSettings()
    source: Path | None = None
    """The file this came from (for messages); not a setting."""

    @property
    def smtp_password(self) -> str | None:
        return os.environ.get(PASSWORD_ENV) or None


def _oncall_overrides(raw: object) -> object:
    """The file's ``oncall`` section with the SEABUS_ONCALL_* variables applied."""
    if raw is not None and not isinstance(raw, dict):
        return raw  # validation names the entry
    oncall = dict(raw or {})
    url, private = os.environ.get(URL_ENV), os.environ.get(PRIVATE_ENV)
    if url or private:
        webhook = oncall.get("webhook")
        webhook = dict(webhook) if isinstance(webhook, dict) else {}
        if url:
            webhook["url"] = url
        if private:
            webhook["allow_private"] = private
        oncall["webhook"] = webhook
    if to := os.environ.get(EMAIL_ENV):
        oncall["email"] = {"to": [a.strip() for a in to.split(",") if a.strip()]}
    return oncall


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
    data = {
        **data,
        "smtp": smtp,
        "email": data.get("email") or {},
        "retry": data.get("retry") or {},
        "oncall": _oncall_overrides(data.get("oncall")),
    }
    try:
        return DeliveryConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<file>'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise DeliveryConfigError(
            f"{source} (or SEABUS_SMTP_*, SEABUS_ONCALL_*): {lines}. Fix these entries."
        ) from exc
