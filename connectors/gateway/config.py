"""``gateway.yaml``: where the gateway listens, its limits, and who owns which token.

Agencies publish with their tokens (``agencies:``); Member States and offices
answer with theirs (``recipients:``, used by ``POST /v1/responses``). The file
holds only SHA-256 hashes of tokens, never a token, so it can be kept in
version control; ``seabus gateway token ENTITY`` (or ``--recipient FRA``) makes
a token and prints the lines to paste. The file sits next to the main configuration (``gateway.yaml``
in the folder of ``SEABUS_CONFIG``) unless ``SEABUS_GATEWAY_FILE`` names
another; ``SEABUS_GATEWAY_HOST``, ``SEABUS_GATEWAY_PORT`` and
``SEABUS_GATEWAY_ENABLED`` override those three keys, ``SEABUS_GATEWAY_PUBLIC_URL``
the ``public_url``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seabus.connectors.publisher.errors import GatewayConfigError
from seabus.streams.config import Settings

__all__ = [
    "DEFAULT_GATEWAY_FILE",
    "AgencyToken",
    "GatewayConfig",
    "IdempotencyConfig",
    "RateLimitConfig",
    "RecipientToken",
    "gateway_config_path",
    "load_gateway_config",
]

DEFAULT_GATEWAY_FILE = Path("gateway.yaml")
FILE_ENV = "SEABUS_GATEWAY_FILE"
_OVERRIDES = {
    "host": "SEABUS_GATEWAY_HOST",
    "port": "SEABUS_GATEWAY_PORT",
    "enabled": "SEABUS_GATEWAY_ENABLED",
    "public_url": "SEABUS_GATEWAY_PUBLIC_URL",
}


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


def gateway_config_path(settings: Settings) -> Path:
    """``$SEABUS_GATEWAY_FILE``, else ``gateway.yaml`` beside the main configuration file."""
    named = os.environ.get(FILE_ENV)
    return Path(named) if named else settings.resolve(DEFAULT_GATEWAY_FILE)


def load_gateway_config(
    settings: Settings, *, path: Path | None = None, known_entities: frozenset[str] | None = None
) -> GatewayConfig:
    """Read and check the file; every problem becomes one :class:`GatewayConfigError`."""
    source = path or gateway_config_path(settings)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise GatewayConfigError(
            f"{source}: cannot read the gateway configuration ({exc.strerror or exc}). Create it from "
            f"deploy/config/gateway.yaml or set {FILE_ENV}."
        ) from exc
    except yaml.YAMLError as exc:
        raise GatewayConfigError(f"{source}: not valid YAML ({exc}). Fix the syntax.") from exc
    if not isinstance(data, dict):
        raise GatewayConfigError(f"{source}: the top level must be a mapping of settings.")
    for key, env in _OVERRIDES.items():
        if os.environ.get(env):
            data[key] = os.environ[env]
    for listed in ("agencies", "recipients"):
        if data.get(listed) is None:
            data[listed] = ()
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        lines = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<file>'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise GatewayConfigError(f"{source}: {lines}. Fix these entries.") from exc
    hashes = [a.token_sha256 for a in config.agencies] + [r.token_sha256 for r in config.recipients]
    repeated = sorted({h[:12] for h in hashes if hashes.count(h) > 1})
    if repeated:
        raise GatewayConfigError(
            f"{source}: token hash(es) {', '.join(h + '…' for h in repeated)} are listed more than once; "
            f"each token belongs to exactly one agency or recipient. Remove the extra entries."
        )
    if known_entities is not None:
        unknown = sorted({a.entity for a in config.agencies} - known_entities)
        if unknown:
            raise GatewayConfigError(
                f"{source}: agencies {', '.join(unknown)} are not configured reporting entities; "
                f"use codes from the reporting entities list (schemas/reporting_entities.yaml)."
            )
    return config
