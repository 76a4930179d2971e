"""The configured reporting entities (missions and agencies allowed to publish).

Which entities exist is configuration, not contract: a deployment points
``reporting_entities_file`` in seabus.yaml (``SEABUS_REPORTING_ENTITIES_FILE``; the
``path`` argument here) at its own YAML file with a ``reporting_entities:`` list; the
shipped file is the default. The bus reads it once, into its context.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from seabus.schemas.errors import ConfigError

__all__ = ["DEFAULT_ENTITIES_FILE", "load_reporting_entities"]

DEFAULT_ENTITIES_FILE = Path(__file__).resolve().parent / "reporting_entities.yaml"
_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")


def load_reporting_entities(path: Path | None = None) -> frozenset[str]:
    """Codes from ``path``, else the shipped file."""
    source = path or DEFAULT_ENTITIES_FILE
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read reporting entities file {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"reporting entities file {source} is not valid YAML: {exc}") from exc
    entries = document.get("reporting_entities") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"reporting entities file {source} must hold a non-empty list under 'reporting_entities:'"
        )
    bad = [str(e) for e in entries if not isinstance(e, str) or not _CODE.match(e)]
    if bad:
        raise ConfigError(
            f"reporting entities file {source} has invalid codes {bad}; use upper-case "
            f"letters, digits and hyphens (e.g. MINUSCA, UN-WOMEN)"
        )
    return frozenset(entries)
