"""The notices' wording catalogue: ``wording.yaml``, every entry in English and in French.

The words of a notice are data, not code: a translator reads and corrects one file
where each entry gives both languages side by side, and the Python modules keep only
how a notice is put together. The file ships with the package and is read once, at
import; a malformed one stops the import with the section and entry to fix, rather
than a notice later printing a raw code or a ``KeyError``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import yaml

__all__ = ["LANGUAGES", "Entries", "section"]

LANGUAGES: tuple[str, ...] = ("en", "fr")
_FILE = "wording.yaml"

Entries = dict[str, dict[str, str]]
"""Entries of one section: key -> language -> text."""


def _entries(where: str, raw: object) -> Entries:
    if not isinstance(raw, dict):
        raise ValueError(f"{_FILE}: {where} must map keys to {{en: ..., fr: ...}} entries")
    out: Entries = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) != set(LANGUAGES):
            raise ValueError(
                f"{_FILE}: {where}.{key} must give exactly {', '.join(LANGUAGES)}; "
                f"add the missing language (or remove the extra one)"
            )
        texts = {lang: entry[lang] for lang in LANGUAGES}
        if not all(isinstance(t, str) and t for t in texts.values()):
            raise ValueError(f"{_FILE}: {where}.{key}: every language needs a non-empty text")
        out[str(key)] = texts
    return out


@cache
def _catalogue() -> dict[str, object]:
    loaded = yaml.safe_load(files(__package__).joinpath(_FILE).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{_FILE}: expected sections (asked, labels, text, ...) at the top level")
    return loaded


def section(name: str, *, nested: str | None = None) -> Entries:
    """One section of the catalogue (``labels`` is nested: pass the enum's name as ``nested``)."""
    raw = _catalogue().get(name)
    where = name
    if nested is not None:
        raw = raw.get(nested) if isinstance(raw, dict) else None
        where = f"{name}.{nested}"
    if raw is None:
        raise ValueError(f"{_FILE}: section {where} is missing")
    return _entries(where, raw)
