"""Field paths over an event's JSON view: ``allegation.subjects.nationality``.

A path walks mappings by key and fans out over lists, so one path names every
subject's nationality at once; matchers then use "any value matches".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def resolve(document: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at ``path`` (lists flattened, missing keys and nulls skipped)."""
    return [v for v in _walk(document, path.split(".")) if v is not None]


def _walk(node: Any, parts: list[str]) -> Iterator[Any]:
    if isinstance(node, list | tuple):
        for item in node:
            yield from _walk(item, parts)
        return
    if not parts:
        yield node
        return
    if isinstance(node, Mapping) and parts[0] in node:
        yield from _walk(node[parts[0]], parts[1:])


def path_exists(example: Mapping[str, Any], path: str) -> bool:
    """Whether ``path`` names a field of the example document (for start-up checks)."""
    node: Any = example
    for part in path.split("."):
        while isinstance(node, list | tuple):
            if not node:
                return True  # cannot look inside an empty example list; accept
            node = node[0]
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True
