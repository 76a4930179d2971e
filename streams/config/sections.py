"""The gateway, delivery and dashboard sections of the one settings tree (``Settings``).

Why here and not in the connectors: the root ``Settings`` nests these models, and the
connectors import ``Settings``; keeping the models beside it (with no connector import at
module level) lets one tree hold every section without an import cycle. The connectors'
``config`` modules re-export them under their old names.

Each section lives in its own file named from seabus.yaml (``gateway_file``,
``delivery_file``, ``dashboard_file``); ``SEABUS_<SECTION>__<KEY>`` overrides a key.
:func:`read_section_file` and :func:`validate_section` give the messages each file
always gave (the file, the entry, the fix).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from seabus.schemas.enums import EscalationLevel
from seabus.schemas.errors import ConfigError
from seabus.streams.config.recipients import EmailChannel, WebhookChannel, known_time_zone

if TYPE_CHECKING:
    from seabus.connectors.webhooks import RetryPolicy

__all__ = [
    "SECTION_FILES",
    "AgencyToken",
    "DashboardConfig",
    "DashboardUser",
    "DeliveryConfig",
    "EmailSettings",
    "GatewayConfig",
    "IdempotencyConfig",
    "LocalToken",
    "OncallSettings",
    "OncallWebhook",
    "RateLimitConfig",
    "RecipientToken",
    "RetrySettings",
    "SmtpSettings",
    "check_agencies",
    "read_section_file",
    "read_yaml_or_none",
    "validate_section",
]

_HASH = r"^[0-9a-f]{64}$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


# -- gateway.yaml ------------------------------------------------------------


class AgencyToken(BaseModel):
    """One bearer token (by its hash) and the reporting entity it may publish as."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    note: str | None = None


class RecipientToken(BaseModel):
    """One bearer token (by its hash) and the recipient it answers for (``POST /v1/responses``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient: str = Field(pattern=r"^([A-Z]{3}|OSC|OIOS|VRA)$")
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    note: str | None = None


class IdempotencyConfig(BaseModel):
    """How long and how many ``Idempotency-Key`` answers are remembered (in memory)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_s: float = Field(default=86_400, gt=0)
    max_keys: int = Field(default=10_000, ge=1)


class RateLimitConfig(BaseModel):
    """Requests per client address on the authenticated routes (``/v1/``); see connectors.gateway.ratelimit.

    Off unless configured: the shipped gateway.yaml (what ``seabus run`` reads) turns it on, while a
    gateway embedded in code (benchmarks, tests) builds ``GatewayConfig()`` and is not throttled.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    requests_per_minute: float = Field(default=600, gt=0, le=1_000_000)
    burst: int = Field(default=60, ge=1, le=100_000)
    max_clients: int = Field(default=10_000, ge=1, le=10_000_000)


class GatewayConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_batch: int = Field(default=500, ge=1, le=10_000)
    ack_timeout_s: float = Field(default=30, gt=0)
    retry_after_s: int = Field(default=10, ge=1)
    idempotency: IdempotencyConfig = IdempotencyConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    agencies: tuple[AgencyToken, ...] = ()
    recipients: tuple[RecipientToken, ...] = ()
    public_url: str | None = None
    """The address recipients reach the gateway at (``https://seabus.example.org``), as links name it.

    E-mail notices link to a recipient's formal notice under it; unset, they say
    how to fetch the notice instead, since the listening ``host:port`` is often
    not what a Member State can reach.
    """

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError(
                f"{value!r} is not an http(s) base URL; write e.g. https://seabus.example.org "
                "(no query or fragment), or leave it empty"
            )
        return value.rstrip("/")


# -- delivery.yaml -----------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetrySettings(_Strict):
    """Backoff between attempts (full jitter); how many attempts is per recipient (webhook.max_attempts)."""

    base_delay_s: float = Field(default=1.0, ge=0)
    max_delay_s: float = Field(default=300.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: bool = True

    def policy(self, *, max_attempts: int) -> RetryPolicy:
        from seabus.connectors.webhooks import RetryPolicy  # the connectors import this package

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
    password: SecretStr | None = None
    """Only from ``SEABUS_DELIVERY__SMTP__PASSWORD``: a delivery file that writes it is refused."""


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
        return known_time_zone(v, example="Europe/Geneva")


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
        return self.smtp.password.get_secret_value() or None if self.smtp.password else None


# -- dashboard.yaml ----------------------------------------------------------


class DashboardUser(BaseModel):
    """One person (or team) who may see the dashboard, by the hash of their token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    token_sha256: str = Field(pattern=_HASH)
    note: str | None = None


class LocalToken(BaseModel):
    """A token issued on this machine (``seabus demo``), valid until ``expires_at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    token_sha256: str = Field(pattern=_HASH)
    expires_at: AwareDatetime


class DashboardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    poll_interval_s: float = Field(default=5.0, ge=0.5, le=300)
    session_ttl_s: int = Field(default=12 * 3600, ge=60, le=30 * 86400)
    secure_cookie: bool = False
    metrics_public: bool = True
    local_tokens_file: Path | None = Path("dashboard-tokens.yaml")
    users: tuple[DashboardUser, ...] = ()


# -- reading and checking a section's file ----------------------------------------------------

SECTION_FILES: dict[str, Path] = {
    "gateway": Path("gateway.yaml"),
    "delivery": Path("delivery.yaml"),
    "dashboard": Path("dashboard.yaml"),
}
"""Each section and its file's default name (beside seabus.yaml); ``<section>_file`` names another."""

FILE_MISSING = "__file_missing__"
"""Marks a gateway section whose file does not exist: an error once the gateway is used, as before."""

_FILE_ENV = {name: f"SEABUS_{name.upper()}_FILE" for name in SECTION_FILES}


def _error(section: str, message: str) -> ConfigError:
    """The section's own error class (what callers and tests catch), imported late: no cycle."""
    if section == "gateway":
        from seabus.connectors.publisher.errors import GatewayConfigError

        return GatewayConfigError(message)
    if section == "delivery":
        from seabus.connectors.errors import DeliveryConfigError

        return DeliveryConfigError(message)
    from seabus.connectors.dashboard.errors import DashboardConfigError

    return DashboardConfigError(message)


_UNREADABLE = {
    "gateway": "{source}: cannot read the gateway configuration ({why}). Create it from "
    f"deploy/config/gateway.yaml or set {_FILE_ENV['gateway']}.",
    "delivery": "{source}: cannot read the delivery configuration ({why}); fix its permissions or set "
    f"{_FILE_ENV['delivery']} to another file.",
    "dashboard": "{source}: cannot read it ({why}); check its permissions.",
}


def read_yaml_or_none(source: Path, *, section: str = "dashboard") -> dict[str, Any] | None:
    """The file's top-level mapping, or None when it does not exist; other problems name the file."""
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _error(section, _UNREADABLE[section].format(source=source, why=exc.strerror or exc)) from exc
    except yaml.YAMLError as exc:
        raise _error(section, f"{source}: not valid YAML ({exc}). Fix the syntax.") from exc
    if not isinstance(data, dict):
        raise _error(section, f"{source}: the top level must be a mapping of settings.")
    return data


def read_section_file(section: str, source: Path) -> dict[str, Any]:
    """A section file's raw mapping, read once; a missing delivery or dashboard file means defaults.

    Secrets are refused here, before the environment is merged in: the SMTP password is
    read only from ``SEABUS_DELIVERY__SMTP__PASSWORD``.
    """
    data = read_yaml_or_none(source, section=section)
    if data is None:
        return {FILE_MISSING: str(source)} if section == "gateway" else {}
    smtp = data.get("smtp") if section == "delivery" else None
    if isinstance(smtp, dict) and smtp.get("password") is not None:
        raise _error(
            section,
            f"{source}: smtp.password must not be written in a configuration file. Put it in "
            "SEABUS_DELIVERY__SMTP__PASSWORD.",
        )
    return data


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<file>'}: {e['msg']}"
        for e in exc.errors(include_input=False)
    )


_MODELS: dict[str, type[BaseModel]] = {
    "gateway": GatewayConfig,
    "delivery": DeliveryConfig,
    "dashboard": DashboardConfig,
}
_EMPTY_WHEN_NULL: dict[str, dict[str, Any]] = {  # `agencies:` with nothing under it, and the like
    "gateway": {"agencies": (), "recipients": ()},
    "delivery": {"smtp": {}, "email": {}, "retry": {}, "oncall": {}},
    "dashboard": {"users": ()},
}
_TOKEN_OWNER = {"gateway": "exactly one agency or recipient", "dashboard": "one user"}


def _token_hashes(model: BaseModel) -> list[str]:
    if isinstance(model, GatewayConfig):
        return [a.token_sha256 for a in model.agencies] + [r.token_sha256 for r in model.recipients]
    if isinstance(model, DashboardConfig):
        return [u.token_sha256 for u in model.users]
    return []


def validate_section(section: str, data: dict[str, Any], source: Path) -> BaseModel | None:
    """The section's model from its file merged with ``SEABUS_<SECTION>__*``; problems name ``source``.

    None only for a gateway whose file is missing (:data:`FILE_MISSING`).
    """
    if FILE_MISSING in data:
        return None
    data = {**data, **{k: v for k, v in _EMPTY_WHEN_NULL[section].items() if data.get(k) is None}}
    if section == "delivery":
        data["source"] = source  # for messages; not a setting
    try:
        model = _MODELS[section].model_validate(data)
    except ValidationError as exc:
        # Delivery's message names its variables, as it always did; the others name the file only.
        where = f"{source} (or SEABUS_DELIVERY__*)" if section == "delivery" else f"{source}"
        raise _error(section, f"{where}: {_problems(exc)}. Fix these entries.") from exc
    hashes = _token_hashes(model)
    repeated = sorted({h[:12] for h in hashes if hashes.count(h) > 1})
    if repeated:
        raise _error(
            section,
            f"{source}: token hash(es) {', '.join(h + '…' for h in repeated)} are listed more than once; "
            f"each token belongs to {_TOKEN_OWNER[section]}. Remove the extra entries.",
        )
    return model


def check_agencies(gateway: GatewayConfig, known_entities: frozenset[str], source: Path) -> None:
    """Every agency token publishes as a configured reporting entity (checked with the entities list)."""
    unknown = sorted({a.entity for a in gateway.agencies} - known_entities)
    if unknown:
        raise _error(
            "gateway",
            f"{source}: agencies {', '.join(unknown)} are not configured reporting entities; "
            f"use codes from the reporting entities list (schemas/reporting_entities.yaml).",
        )
