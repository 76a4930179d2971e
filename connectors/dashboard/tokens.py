"""Issuing dashboard tokens on the bus's machine (what ``seabus demo`` does).

The token is shown once; only its hash is written, with an expiry, to the local
token file in the data directory, which a running bus reads again when it
changes. Deleting that file revokes every token issued this way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from seabus.connectors.dashboard.auth import new_dashboard_token
from seabus.connectors.dashboard.config import (
    LocalToken,
    load_dashboard_config,
    local_tokens_path,
    read_local_tokens,
    write_local_tokens,
)
from seabus.connectors.dashboard.errors import DashboardConfigError
from seabus.connectors.gateway.auth import token_sha256
from seabus.streams.config import Settings

__all__ = ["issue_local_token"]


def issue_local_token(
    settings: Settings, *, name: str, ttl: timedelta, config_path: Path | None = None
) -> tuple[str, Path]:
    """A new token for ``name`` valid for ``ttl``, and the file its hash was added to."""
    config = load_dashboard_config(settings, path=config_path)
    path = local_tokens_path(settings, config)
    if path is None:
        raise DashboardConfigError(
            "dashboard.yaml sets no local_tokens_file, so tokens cannot be issued on this machine; set it "
            "(e.g. `local_tokens_file: dashboard-tokens.yaml`) or add a user's token hash under `users:`."
        )
    token = new_dashboard_token()
    entry = LocalToken(name=name, token_sha256=token_sha256(token), expires_at=datetime.now(UTC) + ttl)
    write_local_tokens(path, [*read_local_tokens(path), entry])
    return token, path
