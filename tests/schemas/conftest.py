"""Fixtures for the schema tests: a private copy of the shipped schemas to edit.

(``tests/schemas`` cannot be imported as a package, its name is taken by the
real ``schemas``; helpers therefore come as fixtures.)
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from seabus.schemas.registry import SCHEMA_DIR

Mutation = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class SchemaCopy:
    """A copy of the shipped schema directory (with released.yaml) to edit freely."""

    dir: Path

    def load(self, family: str, version: int = 1) -> dict[str, Any]:
        raw: dict[str, Any] = json.loads((self.dir / family / f"v{version}.avsc").read_text())
        return raw

    def write(self, family: str, version: int, raw: dict[str, Any]) -> Path:
        path = self.dir / family / f"v{version}.avsc"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(raw, indent=2))
        return path

    def latest_version(self, family: str) -> int:
        return len(list((self.dir / family).glob("v*.avsc")))

    def only_first(self, family: str) -> SchemaCopy:
        """The copy with ``family`` cut back to its v1 (files and released pins).

        For tests that use a shipped family as the example of "a second version":
        their expected messages stay the same whatever the family has grown to since.
        """
        for path in (self.dir / family).glob("v*.avsc"):
            if path.name != "v1.avsc":
                path.unlink()
        released_file = self.dir / "released.yaml"
        released = yaml.safe_load(released_file.read_text())
        pins = released["released"].get(family, {})
        released["released"][family] = {v: pin for v, pin in pins.items() if int(v) == 1}
        released_file.write_text(yaml.safe_dump(released, sort_keys=False))
        return self

    def add_version(self, family: str, mutate: Mutation) -> dict[str, Any]:
        """Write ``v<N+1>.avsc``: the latest version with ``mutate`` applied."""
        latest = self.latest_version(family)
        raw = copy.deepcopy(self.load(family, latest))
        mutate(raw)
        self.write(family, latest + 1, raw)
        return raw


def field_of(record: dict[str, Any], path: str) -> dict[str, Any]:
    """The field dict at a dotted path, stepping through unions and arrays of records."""
    current: dict[str, Any] = record
    found: dict[str, Any] = {}
    for name in path.split("."):
        found = next(f for f in current["fields"] if f["name"] == name)
        current = _record_in(found["type"])
    return found


def _record_in(schema: Any) -> dict[str, Any]:
    if isinstance(schema, list):
        return next((_record_in(b) for b in schema if isinstance(b, dict)), {})
    if isinstance(schema, dict):
        return _record_in(schema["items"]) if schema.get("type") == "array" else schema
    return {}


@pytest.fixture
def schema_copy(tmp_path: Path) -> SchemaCopy:
    target = tmp_path / "avro"
    shutil.copytree(SCHEMA_DIR, target)
    return SchemaCopy(dir=target)


@pytest.fixture
def field() -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """``field(raw, "allegation.subjects.gender")`` -> that field's dict, to edit in place."""
    return field_of
