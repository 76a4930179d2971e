"""Turn pydantic validation errors into one ConfigError a person can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

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


def validate_entries(
    source: Path | str, entries: Sequence[Any], model: type[BaseModel], *, key: str, entry: str
) -> None:
    """Check each entry of a list alone first, so an error names the one at fault: ``entry`` with
    ``{}`` for the entry's ``key`` (its id or name) or, without one, its position (``#1``, ...)."""
    for index, raw in enumerate(entries):
        label = raw.get(key, f"#{index + 1}") if isinstance(raw, Mapping) else f"#{index + 1}"
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            raise config_error(source, exc, entry=entry.format(label)) from exc
