"""Every version of every seabus schema, indexed by fingerprint.

The schema directory holds one folder per record family and one file per
version: ``<family>/v1.avsc``, ``v2.avsc``, ... A version, once released, is
never edited or removed (``released.yaml`` pins their fingerprints and
``seabus schema check`` enforces it), so any message ever written stays
readable: the codec looks its writer schema up here by the 8-byte fingerprint
of the Single Object Encoding header and resolves it to the family's latest
version.

Each ``.avsc`` is self-contained (nested named types are defined inline once),
so any Avro library can use a file on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import avro.errors
import avro.name
import avro.schema
import fastavro
from fastavro.schema import SchemaParseException, UnknownType

from seabus.schemas.canonical import apache_schema, canonical_form, fingerprint_of_canonical
from seabus.schemas.errors import SchemaLoadError

__all__ = [
    "SCHEMA_DIR",
    "RecordType",
    "SchemaRegistry",
    "SchemaVersion",
    "default_registry",
]

SCHEMA_DIR = Path(__file__).resolve().parent / "avro"
"""Where the shipped ``.avsc`` files live."""

_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")
_FAMILY_DIR = re.compile(r"^[a-z][a-z0-9_]*$")


class RecordType(StrEnum):
    """Short names of the shipped top-level records, as ``decode`` reports them."""

    ALLEGATION_EVENT = "AllegationEvent"
    NOTIFICATION = "Notification"
    RESPONSE = "Response"
    REPLY_NOTICE = "ReplyNotice"
    OWNERSHIP_TRANSFER = "OwnershipTransfer"
    ESCALATION = "Escalation"
    DEAD_LETTER = "DeadLetter"
    DELIVERY_ATTEMPT = "DeliveryAttempt"
    OBLIGATION_UPDATE = "ObligationUpdate"


@dataclass(frozen=True, slots=True, eq=False)
class SchemaVersion:
    """One ``.avsc`` file: a version of a record family, parsed and fingerprinted."""

    family: str
    version: int
    path: Path
    raw: Mapping[str, Any] = field(repr=False)
    parsed: dict[str, Any] = field(repr=False)
    named_types: Mapping[str, Any] = field(repr=False)
    canonical_form: str = field(repr=False)
    apache: avro.schema.Schema = field(repr=False)
    """The same schema parsed by Apache ``avro``: what the compatibility check compares."""
    apache_named: Mapping[str, avro.schema.NamedSchema] = field(repr=False)
    """Its named types by full name, as Apache ``avro`` parsed them (definition order)."""
    fingerprint: bytes
    alternate_fingerprints: tuple[bytes, ...] = ()

    @property
    def full_name(self) -> str:
        """Avro full name of the top-level record, e.g. ``seabus.AllegationEvent``."""
        name: str = self.parsed["name"]
        return name

    @property
    def name(self) -> str:
        """Short name of the top-level record, e.g. ``AllegationEvent``."""
        return self.full_name.rpartition(".")[2]

    @property
    def label(self) -> str:
        """How people refer to it: ``allegation_event v2``."""
        return f"{self.family} v{self.version}"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaLoadError(f"cannot read schema file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SchemaLoadError(
            f"schema file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); fix the file"
        ) from exc


def load_version(path: Path, *, family: str, version: int) -> SchemaVersion:
    """Parse one ``.avsc`` file; raise :class:`SchemaLoadError` naming the file."""
    raw = _read_json(path)
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise SchemaLoadError(f"schema file {path} must hold one Avro record schema at the top level")
    named: dict[str, Any] = {}
    try:
        parsed = fastavro.parse_schema(raw, named)
    except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError) as exc:
        raise SchemaLoadError(f"schema file {path} is not a valid Avro schema: {exc}") from exc
    if not isinstance(parsed, dict):  # pragma: no cover - a record always parses to a dict
        raise SchemaLoadError(f"schema file {path} did not parse to a record")
    names = avro.name.Names()
    try:
        apache_parsed = apache_schema(raw, names)
    except (avro.errors.AvroException, ValueError, TypeError, KeyError) as exc:
        raise SchemaLoadError(f"schema file {path} is not a valid Avro schema: {exc}") from exc
    _qualify_aliases(names)
    form = canonical_form(raw)
    spec = fingerprint_of_canonical(form)
    apache = bytes(apache_parsed.fingerprint())
    return SchemaVersion(
        family=family,
        version=version,
        path=path,
        raw=raw,
        parsed=parsed,
        named_types=named,
        canonical_form=form,
        fingerprint=spec,
        alternate_fingerprints=() if apache == spec else (apache,),
        apache=apache_parsed,
        apache_named=dict(names.names),
    )


def _qualify_aliases(names: avro.name.Names) -> None:
    """Write the aliases of named types as full names, as the specification reads them.

    An alias without a dot is in the namespace of its type, but Apache ``avro``
    for Python compares a writer's full name with the aliases as written, so
    ``"aliases": ["ResponseKind"]`` would not match ``seabus.ResponseKind``.
    Aliases are not part of the canonical form, so fingerprints do not change.
    """
    for named in names.names.values():
        aliases = named.get_prop("aliases")
        if isinstance(aliases, list) and named.namespace:
            named.set_prop("aliases", [a if "." in a else f"{named.namespace}.{a}" for a in aliases])


class SchemaRegistry:
    """All versions of all families, with lookups by name and by fingerprint."""

    def __init__(self, *, versions: Iterable[SchemaVersion], directory: Path | None = None):
        self.directory = directory
        by_family: dict[str, list[SchemaVersion]] = {}
        for sv in versions:
            by_family.setdefault(sv.family, []).append(sv)
        self._families: dict[str, tuple[SchemaVersion, ...]] = {}
        self._latest_by_name: dict[str, SchemaVersion] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for family, items in sorted(by_family.items()):
            items.sort(key=lambda sv: sv.version)
            numbers = [sv.version for sv in items]
            if numbers != list(range(1, len(items) + 1)):
                raise SchemaLoadError(
                    f"schema family {family!r} has versions {numbers}; versions must run "
                    f"v1, v2, ... without gaps because every released version stays "
                    f"readable. Restore the missing file(s)"
                )
            names = {sv.full_name for sv in items}
            if len(names) != 1:
                raise SchemaLoadError(
                    f"schema family {family!r} changes its record name across versions "
                    f"({', '.join(sorted(names))}); keep one name per family"
                )
            self._families[family] = tuple(items)
            latest = items[-1]
            for key in (latest.full_name, latest.name, family):
                other = self._latest_by_name.get(key)
                if other is not None and other.family != family:
                    raise SchemaLoadError(
                        f"record name {key!r} is used by families {other.family!r} and "
                        f"{family!r}; give each family its own record name"
                    )
                self._latest_by_name[key] = latest
            for sv in items:
                for fp in (sv.fingerprint, *sv.alternate_fingerprints):
                    clash = self._by_fingerprint.get(fp)
                    if clash is not None:
                        raise SchemaLoadError(
                            f"{sv.label} has the same fingerprint as {clash.label} "
                            f"({fp.hex()}): the Parsing Canonical Form ignores docs, "
                            f"defaults, aliases and logical types, so readers could not "
                            f"tell the two apart. A new version must change fields, types "
                            f"or symbols; otherwise delete the duplicate file"
                        )
                    self._by_fingerprint[fp] = sv

    @classmethod
    def load(cls, directory: Path | None = None) -> SchemaRegistry:
        """Load every ``<family>/v<N>.avsc`` under ``directory`` (default: the shipped set)."""
        root = Path(directory) if directory is not None else SCHEMA_DIR
        if not root.is_dir():
            raise SchemaLoadError(f"schema directory {root} does not exist")
        versions: list[SchemaVersion] = []
        for family_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            if not _FAMILY_DIR.match(family_dir.name):
                continue
            for path in sorted(family_dir.glob("*.avsc")):
                match = _VERSION_FILE.match(path.name)
                if match is None:
                    raise SchemaLoadError(
                        f"schema file {path} is not named v<N>.avsc; rename it (v1.avsc, v2.avsc, ...)"
                    )
                versions.append(load_version(path, family=family_dir.name, version=int(match.group(1))))
        if not versions:
            raise SchemaLoadError(f"no <family>/v<N>.avsc files found under {root}")
        return cls(versions=versions, directory=root)

    @property
    def families(self) -> tuple[str, ...]:
        """Family names, sorted."""
        return tuple(self._families)

    def versions(self, family: str) -> tuple[SchemaVersion, ...]:
        """Every version of ``family``, oldest first."""
        try:
            return self._families[family]
        except KeyError:
            raise self._unknown(family) from None

    def all_versions(self) -> tuple[SchemaVersion, ...]:
        """Every version of every family."""
        return tuple(sv for items in self._families.values() for sv in items)

    def latest(self, record_type: str) -> SchemaVersion:
        """Latest version by short name, full name or family name."""
        try:
            return self._latest_by_name[record_type]
        except KeyError:
            raise self._unknown(record_type) from None

    def get(self, record_type: str, version: int) -> SchemaVersion:
        """A given version by short name, full name or family name."""
        items = self.versions(self.latest(record_type).family)
        if not 1 <= version <= len(items):
            raise SchemaLoadError(
                f"{items[0].family} has no version {version}; known versions are 1 to {len(items)}"
            )
        return items[version - 1]

    def by_fingerprint(self, fingerprint: bytes) -> SchemaVersion | None:
        """The writer schema with this 8-byte fingerprint, or None."""
        return self._by_fingerprint.get(fingerprint)

    def _unknown(self, name: str) -> SchemaLoadError:
        known = ", ".join(sorted({sv.name for sv in self._latest_by_name.values()}))
        return SchemaLoadError(f"no schema named {name!r}; known record types: {known}")


@cache
def default_registry() -> SchemaRegistry:
    """The shipped schemas, loaded once per process."""
    return SchemaRegistry.load(SCHEMA_DIR)
