"""``dashboard.yaml``: who may see the on-call dashboard, and how it behaves.

Like ``gateway.yaml`` the file holds only SHA-256 hashes of tokens, never a
token, so it can be kept in version control. The section is part of the one settings
tree (``Settings.dashboard``, read once at start-up, models in
:mod:`seabus.streams.config.sections`): the file sits beside the main configuration
unless ``dashboard_file`` (``SEABUS_DASHBOARD_FILE``) names another, and
``SEABUS_DASHBOARD__<KEY>`` overrides a key; a missing file means the defaults with no
users (every request is refused until one is added).

Tokens can also be issued on the bus's own machine (``seabus demo`` does): their
hashes, each with an expiry, go to a small file in the data directory
(``local_tokens_file``). Both files are read again when they change, so adding
or removing a user needs no restart.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog
import yaml
from pydantic import ValidationError

from seabus.connectors.dashboard.errors import DashboardConfigError
from seabus.streams.config import Settings
from seabus.streams.config.sections import (
    SECTION_FILES,
    DashboardConfig,
    DashboardUser,
    LocalToken,
    read_yaml_or_none,
)
from seabus.streams.config.settings import load_section

__all__ = [
    "DEFAULT_DASHBOARD_FILE",
    "DashboardConfig",
    "DashboardUser",
    "LocalToken",
    "dashboard_config_path",
    "load_dashboard_config",
    "local_tokens_path",
    "read_local_tokens",
    "write_local_tokens",
]

log = structlog.get_logger(__name__)

DEFAULT_DASHBOARD_FILE = SECTION_FILES["dashboard"]


def dashboard_config_path(settings: Settings) -> Path:
    """Where the dashboard section comes from: ``dashboard_file`` (``SEABUS_DASHBOARD_FILE``) beside seabus.yaml."""
    return settings.section_file("dashboard")


def local_tokens_path(settings: Settings, config: DashboardConfig) -> Path | None:
    """Where locally issued token hashes live (in the data directory), or None when disabled."""
    name = config.local_tokens_file
    if name is None or not str(name):
        return None
    return name if name.is_absolute() else settings.data_dir / name


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<file>'}: {e['msg']}"
        for e in exc.errors(include_input=False)
    )


def load_dashboard_config(settings: Settings, *, path: Path | None = None) -> DashboardConfig:
    """The dashboard section as loaded at start-up, or read again from ``path`` (a change, a test).

    Defaults when the file does not exist; problems raise :class:`DashboardConfigError`.
    """
    if path is None:
        return settings.dashboard
    loaded = load_section("dashboard", path)
    assert isinstance(loaded, DashboardConfig)
    return loaded


def read_local_tokens(path: Path) -> list[LocalToken]:
    """The locally issued tokens in ``path`` (none if it does not exist)."""
    data = read_yaml_or_none(path)
    if data is None:
        return []
    try:
        return [LocalToken.model_validate(t) for t in data.get("tokens") or []]
    except ValidationError as exc:
        raise DashboardConfigError(
            f"{path}: {_problems(exc)}. Delete the file to forget every locally issued dashboard token."
        ) from exc


def write_local_tokens(path: Path, tokens: list[LocalToken]) -> None:
    """Replace the file atomically (readable by its owner only), dropping expired tokens."""
    now = datetime.now(UTC)
    keep = [t for t in tokens if t.expires_at > now]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        {"tokens": [t.model_dump(mode="json") for t in keep]}, sort_keys=False, allow_unicode=True
    )
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# Dashboard tokens issued on this machine (hashes only); delete to revoke all.\n")
        handle.write(text)
    os.replace(scratch, path)


class _Watched:
    """A file's parsed content, parsed again when its modification time or size changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None

    def changed(self) -> bool:
        if self.path is None:
            return False
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True


class TokenBook:
    """Every accepted token hash → user name, from dashboard.yaml and the local token file.

    Re-reads a file at most once per ``check_every_s`` and only when it changed; a
    file that became invalid keeps the last good content (and says so in the log),
    so a typo while editing cannot lock on-call out.
    """

    def __init__(
        self, *, settings: Settings, config_path: Path | None = None, check_every_s: float = 1.0
    ) -> None:
        self.settings = settings
        self.config_path = config_path or dashboard_config_path(settings)
        self.check_every_s = check_every_s
        # The section loaded at start-up, unless another file is named; read again only on change.
        self.config = load_dashboard_config(settings, path=config_path)
        if not self.config_path.exists():
            log.warning(
                "no dashboard configuration; nobody can sign in until users are added",
                file=str(self.config_path),
            )
        self._config_file = _Watched(self.config_path)
        self._config_file.changed()
        self._local_file = _Watched(local_tokens_path(settings, self.config))
        self._local: list[LocalToken] = []
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._refresh(force=True)

    def user_for(self, token_sha256: str) -> str | None:
        """The user name of a token hash, or None (unknown or expired)."""
        self._refresh()
        for user in self.config.users:
            if user.token_sha256 == token_sha256:
                return user.name
        now = datetime.now(UTC)
        for token in self._local:
            if token.token_sha256 == token_sha256 and token.expires_at > now:
                return token.name
        return None

    @property
    def user_count(self) -> int:
        return len(self.config.users) + len(self._local)

    def _refresh(self, *, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._checked < self.check_every_s:
                return
            self._checked = time.monotonic()
            if self._config_file.changed():
                try:
                    self.config = load_dashboard_config(self.settings, path=self.config_path)
                    self._local_file = _Watched(local_tokens_path(self.settings, self.config))
                    log.info(
                        "dashboard users reloaded", file=str(self.config_path), users=len(self.config.users)
                    )
                except DashboardConfigError as exc:
                    log.error(
                        "dashboard configuration not reloaded; keeping the previous one", error=str(exc)
                    )
            if self._local_file.changed() or force:
                path = self._local_file.path
                try:
                    self._local = read_local_tokens(path) if path else []
                except DashboardConfigError as exc:
                    log.error(
                        "local dashboard tokens not reloaded; keeping the previous ones", error=str(exc)
                    )
