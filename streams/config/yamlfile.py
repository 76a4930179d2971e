"""Read one YAML data file, failing with the file named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from seabus.schemas.errors import ConfigError


def read_yaml_mapping(path: Path, *, what: str) -> dict[str, Any]:
    """The file's top-level mapping; a missing or malformed file is a ConfigError."""
    if not path.exists():
        raise ConfigError(f"{path}: {what} file not found. Create it or point the setting at one.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}). Fix the syntax.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level of the {what} file must be a mapping.")
    return data
