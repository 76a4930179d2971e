"""``gateway.yaml``: where the gateway listens, its limits, and who owns which token.

Agencies publish with their tokens (``agencies:``); Member States and offices
answer with theirs (``recipients:``, used by ``POST /v1/responses``). The file
holds only SHA-256 hashes of tokens, never a token, so it can be kept in
version control; ``seabus gateway token ENTITY`` (or ``--recipient FRA``) makes
a token and prints the lines to paste.

The section is part of the one settings tree (``Settings.gateway``, read once at
start-up, models in :mod:`seabus.streams.config.sections`): the file sits next to the
main configuration unless ``gateway_file`` (``SEABUS_GATEWAY_FILE``) names another, and
``SEABUS_GATEWAY__<KEY>`` overrides a key (``SEABUS_GATEWAY__PORT``).
"""

from __future__ import annotations

from pathlib import Path

from seabus.connectors.publisher.errors import GatewayConfigError
from seabus.streams.config import Settings
from seabus.streams.config.sections import (
    SECTION_FILES,
    AgencyToken,
    GatewayConfig,
    IdempotencyConfig,
    RateLimitConfig,
    RecipientToken,
    check_agencies,
)
from seabus.streams.config.settings import load_section

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

DEFAULT_GATEWAY_FILE = SECTION_FILES["gateway"]


def gateway_config_path(settings: Settings) -> Path:
    """Where the gateway section comes from: ``gateway_file`` (``SEABUS_GATEWAY_FILE``) beside seabus.yaml."""
    return settings.section_file("gateway")


def load_gateway_config(
    settings: Settings, *, path: Path | None = None, known_entities: frozenset[str] | None = None
) -> GatewayConfig:
    """The gateway section as loaded at start-up, or read from ``path`` (with its overrides) when given.

    With ``known_entities`` every agency must be one of them. Problems raise :class:`GatewayConfigError`.
    """
    if path is None:
        config, source = settings.gateway_config(), gateway_config_path(settings)
    else:
        loaded = load_section("gateway", path)
        if loaded is None:
            raise GatewayConfigError(
                f"{path}: cannot read the gateway configuration (No such file or directory). Create it "
                "from deploy/config/gateway.yaml or set SEABUS_GATEWAY_FILE."
            )
        assert isinstance(loaded, GatewayConfig)
        config, source = loaded, path
    if known_entities is not None:
        check_agencies(config, known_entities, source)
    return config
