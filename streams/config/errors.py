"""Turn pydantic validation errors into one ConfigError a person can act on."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from seabus.schemas.errors import ConfigError


def config_error(source: Path | str, exc: ValidationError, *, entry: str | None = None) -> ConfigError:
    """Name the file, the entry at fault and every problem, so one edit fixes them all."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  - {loc}: {err['msg']}")
    where = f"{source}" + (f": {entry}" if entry else "")
    return ConfigError(
        f"{where}: invalid configuration:\n" + "\n".join(lines) + "\nFix these entries and start again."
    )
