"""Full transitive compatibility of every schema version, with readable breakages.

For every family and every pair of versions (old, new), two directions must
hold: new readers read old data (backward) and old readers read new data
(forward). The checker walks the parsed schemas following the Avro
specification's resolution rules and reports each breakage with the field path
and the rule it breaks, e.g.::

    allegation_event: v1 readers cannot read v2 data: field
    allegation.subjects[].gender: ENUM_SYMBOL_WITHOUT_DEFAULT: ...

It also enforces the house rules that keep future changes compatible (every enum
has a default, every type and field has a ``doc``), that a type shared by several
families (``Allegation``) is defined identically in their latest versions, and
that released versions (``released.yaml``) are never edited or removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml

from seabus.schemas.canonical import canonical_form
from seabus.schemas.errors import SchemaLoadError
from seabus.schemas.registry import SCHEMA_DIR, SchemaRegistry, SchemaVersion

__all__ = [
    "RELEASED_FILE",
    "CompatReport",
    "Finding",
    "Pin",
    "Rule",
    "check_all",
    "check_pair",
    "read_released",
    "release_all",
    "resolution_digest",
]

RELEASED_FILE = "released.yaml"

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_PROMOTIONS: Mapping[str, frozenset[str]] = {
    # writer type -> reader types that can read it (Avro specification, schema resolution)
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


class Rule(StrEnum):
    """What a finding breaks; the first group are Avro resolution rules."""

    FIELD_ADDED_WITHOUT_DEFAULT = "FIELD_ADDED_WITHOUT_DEFAULT"
    FIELD_REMOVED_WITHOUT_DEFAULT = "FIELD_REMOVED_WITHOUT_DEFAULT"
    TYPE_CHANGED = "TYPE_CHANGED"
    LOGICAL_TYPE_CHANGED = "LOGICAL_TYPE_CHANGED"
    ENUM_SYMBOL_WITHOUT_DEFAULT = "ENUM_SYMBOL_WITHOUT_DEFAULT"
    NAME_CHANGED = "NAME_CHANGED"
    FIXED_SIZE_CHANGED = "FIXED_SIZE_CHANGED"
    UNION_BRANCH_MISSING = "UNION_BRANCH_MISSING"
    ENUM_WITHOUT_DEFAULT = "ENUM_WITHOUT_DEFAULT"
    DOC_MISSING = "DOC_MISSING"
    SHARED_TYPE_DIVERGES = "SHARED_TYPE_DIVERGES"
    RELEASED_VERSION_CHANGED = "RELEASED_VERSION_CHANGED"
    RELEASED_VERSION_MISSING = "RELEASED_VERSION_MISSING"
    UNRELEASED_VERSION = "UNRELEASED_VERSION"
    SCHEMA_UNLOADABLE = "SCHEMA_UNLOADABLE"


@dataclass(frozen=True, slots=True)
class Finding:
    """One breakage (``fatal``) or note found by the check."""

    rule: Rule
    family: str
    message: str
    path: str = ""
    reader_version: int | None = None
    writer_version: int | None = None
    fatal: bool = True

    def __str__(self) -> str:
        where = f"field {self.path}: " if self.path else ""
        if self.reader_version is not None and self.writer_version is not None:
            head = f"{self.family}: v{self.reader_version} readers cannot read v{self.writer_version} data: "
        else:
            head = f"{self.family}: " if self.family else ""
        return f"{head}{where}{self.rule.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class CompatReport:
    """Outcome of :func:`check_all`; ``ok`` when nothing fatal was found."""

    findings: tuple[Finding, ...]
    versions: tuple[str, ...] = ()
    pairs_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.breakages

    @property
    def breakages(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.fatal)

    @property
    def notes(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.fatal)

    def lines(self) -> list[str]:
        """The report as people read it, one finding per line, summary last."""
        out = [f"BREAKS  {f}" for f in self.breakages]
        out += [f"NOTE    {f}" for f in self.notes]
        if self.ok:
            out.append(
                f"OK: {len(self.versions)} schema version(s) compatible in both directions "
                f"({self.pairs_checked} reader/writer pairs checked)"
            )
        else:
            out.append(
                f"FAILED: {len(self.breakages)} breakage(s); each new version must be "
                f"readable by every older reader and read every older version's data"
            )
        return out


# --- reader/writer resolution -------------------------------------------------


@dataclass
class _Walk:
    family: str
    reader: SchemaVersion
    writer: SchemaVersion
    findings: list[Finding] = field(default_factory=list)
    in_progress: set[tuple[str, str]] = field(default_factory=set)

    @property
    def reader_is_newer(self) -> bool:
        return self.reader.version > self.writer.version

    def add(self, rule: Rule, path: str, message: str) -> None:
        self.findings.append(
            Finding(
                rule=rule,
                family=self.family,
                message=message,
                path=path or "<record>",
                reader_version=self.reader.version,
                writer_version=self.writer.version,
            )
        )


def _resolve(schema: Any, names: Mapping[str, Any]) -> Any:
    while isinstance(schema, str) and schema not in _PRIMITIVES:
        schema = names[schema]
    if isinstance(schema, dict) and isinstance(schema.get("type"), str | list | dict):
        inner = schema["type"]
        if not (isinstance(inner, str) and (inner in _PRIMITIVES or inner in _COMPLEX)):
            return _resolve(inner, names)
    return schema


_COMPLEX = frozenset({"record", "error", "enum", "fixed", "array", "map"})


def _kind(schema: Any) -> str:
    """``union``, a primitive name, or a complex type name."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    kind: str = schema["type"]
    return "record" if kind == "error" else kind


def _logical(schema: Any) -> str | None:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def _describe(schema: Any) -> str:
    kind = _kind(schema)
    if kind in ("record", "enum", "fixed"):
        return f"{kind} {schema['name']}"
    if kind == "array":
        return "array"
    if kind == "map":
        return "map"
    logical = _logical(schema)
    return f"{kind} ({logical})" if logical else kind


def _aliases(schema: Mapping[str, Any]) -> set[str]:
    namespace = str(schema["name"]).rpartition(".")[0]
    out = set()
    for alias in schema.get("aliases", ()):
        out.add(alias if "." in alias or not namespace else f"{namespace}.{alias}")
    return out


def _names_match(reader: Mapping[str, Any], writer: Mapping[str, Any]) -> bool:
    return bool(reader["name"] == writer["name"] or writer["name"] in _aliases(reader))


def _compatible(walk: _Walk, reader: Any, writer: Any) -> bool:
    probe = _Walk(walk.family, walk.reader, walk.writer, in_progress=set(walk.in_progress))
    _check(probe, reader, writer, "")
    return not probe.findings


def _same_identity(reader: Any, writer: Any) -> bool:
    rk, wk = _kind(reader), _kind(writer)
    if rk != wk:
        return False
    if rk in ("record", "enum", "fixed"):
        return _names_match(reader, writer)
    return True


def _check_union_branch(walk: _Walk, reader_branches: list[Any], writer: Any, path: str) -> None:
    rn = walk.reader.named_types
    resolved = [_resolve(b, rn) for b in reader_branches]
    if any(_compatible(walk, rb, writer) for rb in resolved):
        return
    for rb in resolved:
        if _same_identity(rb, writer):
            _check(walk, rb, writer, path)  # report what inside it breaks
            return
    walk.add(
        Rule.UNION_BRANCH_MISSING,
        path,
        f"v{walk.writer.version} may write a {_describe(writer)} here, which the "
        f"v{walk.reader.version} union ({', '.join(_describe(b) for b in resolved)}) cannot "
        f"hold; keep every union branch, add new ones instead",
    )


def _check(walk: _Walk, reader: Any, writer: Any, path: str) -> None:
    reader = _resolve(reader, walk.reader.named_types)
    writer = _resolve(writer, walk.writer.named_types)
    rk, wk = _kind(reader), _kind(writer)

    if wk == "union":
        for branch in writer:
            branch = _resolve(branch, walk.writer.named_types)
            if rk == "union":
                _check_union_branch(walk, reader, branch, path)
            else:
                _check(walk, reader, branch, path)
        return
    if rk == "union":
        _check_union_branch(walk, reader, writer, path)
        return

    if rk in _PRIMITIVES or wk in _PRIMITIVES:
        if rk != wk and rk not in _PROMOTIONS.get(wk, frozenset()):
            walk.add(
                Rule.TYPE_CHANGED,
                path,
                f"v{walk.writer.version} writes {_describe(writer)} and "
                f"v{walk.reader.version} reads {_describe(reader)}, which is not an Avro "
                f"promotion; add a new field instead of changing the type",
            )
        elif _logical(reader) != _logical(writer):
            walk.add(
                Rule.LOGICAL_TYPE_CHANGED,
                path,
                f"logical type changes from {_logical(writer) or 'none'} "
                f"(v{walk.writer.version}) to {_logical(reader) or 'none'} "
                f"(v{walk.reader.version}); the bytes would be misread, add a new field instead",
            )
        return

    if rk != wk:
        walk.add(
            Rule.TYPE_CHANGED,
            path,
            f"v{walk.writer.version} writes {_describe(writer)} and v{walk.reader.version} "
            f"reads {_describe(reader)}; add a new field instead of changing the type",
        )
        return

    if rk in ("record", "enum", "fixed") and not _names_match(reader, writer):
        walk.add(
            Rule.NAME_CHANGED,
            path,
            f"type {writer['name']} (v{walk.writer.version}) is named {reader['name']} in "
            f"v{walk.reader.version} without an alias; keep the name or add "
            f'"aliases": ["{writer["name"]}"]',
        )
        return

    if rk == "array":
        _check(walk, reader["items"], writer["items"], f"{path}[]")
    elif rk == "map":
        _check(walk, reader["values"], writer["values"], f"{path}{{}}")
    elif rk == "fixed":
        if reader["size"] != writer["size"]:
            walk.add(
                Rule.FIXED_SIZE_CHANGED,
                path,
                f"fixed {reader['name']} is {writer['size']} bytes in v{walk.writer.version} "
                f"and {reader['size']} in v{walk.reader.version}",
            )
    elif rk == "enum":
        _check_enum(walk, reader, writer, path)
    elif rk == "record":
        _check_record(walk, reader, writer, path)


def _check_enum(walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str) -> None:
    extra = [s for s in writer["symbols"] if s not in reader["symbols"]]
    default = reader.get("default")
    if not extra or default in reader["symbols"]:
        return
    symbols = ", ".join(extra)
    if walk.reader_is_newer:
        message = (
            f"v{walk.reader.version} drops symbol(s) {symbols} of enum {reader['name']} that "
            f"v{walk.writer.version} data may hold, and its enum has no default; keep the "
            f"symbols or give the enum a default"
        )
    else:
        message = (
            f"v{walk.writer.version} adds symbol(s) {symbols} to enum {reader['name']}, "
            f"which v{walk.reader.version} readers do not know and v{walk.reader.version} "
            f"gives the enum no default; an enum needs a default (UNKNOWN) before "
            f"symbols can be added"
        )
    walk.add(Rule.ENUM_SYMBOL_WITHOUT_DEFAULT, path, message)


def _check_record(walk: _Walk, reader: Mapping[str, Any], writer: Mapping[str, Any], path: str) -> None:
    key = (str(reader["name"]), str(writer["name"]))
    if key in walk.in_progress:
        return  # recursive type: already being compared further up
    walk.in_progress.add(key)
    writer_fields = {f["name"]: f for f in writer["fields"]}
    for rf in reader["fields"]:
        fpath = f"{path}.{rf['name']}" if path else rf["name"]
        wf = writer_fields.get(rf["name"])
        if wf is None:
            wf = next((writer_fields[a] for a in rf.get("aliases", ()) if a in writer_fields), None)
        if wf is not None:
            _check(walk, rf["type"], wf["type"], fpath)
        elif "default" not in rf:
            if walk.reader_is_newer:
                walk.add(
                    Rule.FIELD_ADDED_WITHOUT_DEFAULT,
                    fpath,
                    f"v{walk.reader.version} adds field {rf['name']} to {reader['name']} "
                    f"without a default, so it cannot read v{walk.writer.version} data, "
                    f"which lacks it; give the field a default",
                )
            else:
                walk.add(
                    Rule.FIELD_REMOVED_WITHOUT_DEFAULT,
                    fpath,
                    f"v{walk.writer.version} removes field {rf['name']} of {reader['name']}, "
                    f"which v{walk.reader.version} readers require (it has no default "
                    f"there); keep the field",
                )
    walk.in_progress.discard(key)


def check_pair(reader: SchemaVersion, writer: SchemaVersion) -> list[Finding]:
    """Breakages preventing ``reader`` from reading data written with ``writer``."""
    walk = _Walk(family=reader.family, reader=reader, writer=writer)
    _check(walk, reader.parsed, writer.parsed, "")
    unique: dict[str, Finding] = {}
    for finding in walk.findings:
        unique.setdefault(str(finding), finding)
    return list(unique.values())


# --- house rules ----------------------------------------------------------------


def _walk_named(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every inline definition of a named type (first occurrence), with its path."""
    if isinstance(schema, list):
        for branch in schema:
            yield from _walk_named(branch, path)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            yield path, schema
        if kind in ("record", "error"):
            for f in schema.get("fields", ()):
                yield from _walk_named(f["type"], f"{path}.{f['name']}" if path else f["name"])
        elif kind == "array":
            yield from _walk_named(schema["items"], f"{path}[]")
        elif kind == "map":
            yield from _walk_named(schema["values"], f"{path}{{}}")
        elif isinstance(kind, dict | list):
            yield from _walk_named(kind, path)


def _house_rules(sv: SchemaVersion) -> list[Finding]:
    out = []
    for path, named in _walk_named(sv.parsed):
        where = f"{sv.label} {named['type']} {named['name']}"
        if not str(named.get("doc", "")).strip():
            out.append(Finding(Rule.DOC_MISSING, sv.family, f"{where} has no doc", path=path))
        if named["type"] == "enum" and named.get("default") not in named["symbols"]:
            out.append(
                Finding(
                    Rule.ENUM_WITHOUT_DEFAULT,
                    sv.family,
                    f"{where} has no default symbol, so no symbol can ever be added "
                    f'compatibly; add "UNKNOWN" to the symbols and "default": "UNKNOWN"',
                    path=path,
                )
            )
        if named["type"] in ("record", "error"):
            for f in named["fields"]:
                if not str(f.get("doc", "")).strip():
                    fpath = f"{path}.{f['name']}" if path else f["name"]
                    out.append(
                        Finding(
                            Rule.DOC_MISSING,
                            sv.family,
                            f"{sv.label} field {named['name']}.{f['name']} has no doc",
                            path=fpath,
                        )
                    )
    return out


def _shared_types(registry: SchemaRegistry) -> list[Finding]:
    """A named type used by several families must mean the same in their latest versions.

    Each type is compared by its own shape (nested named types by reference), so
    a change is reported once, at the type that changed.
    """
    seen: dict[str, tuple[SchemaVersion, str]] = {}
    out = []
    for family in registry.families:
        sv = registry.latest(family)
        for _, named in _walk_named(sv.parsed):
            name = str(named["name"])
            form = canonical_form(named, references=set(sv.named_types) - {name})
            first = seen.get(name)
            if first is None:
                seen[name] = (sv, form)
            elif first[1] != form:
                out.append(
                    Finding(
                        Rule.SHARED_TYPE_DIVERGES,
                        family,
                        f"{name} differs between {first[0].label} and {sv.label}; a type "
                        f"embedded by several families must be defined identically in the "
                        f"latest version of each, so add a new version of every family that "
                        f"embeds it",
                    )
                )
    return out


# --- released versions --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pin:
    """What ``released.yaml`` records about one released version."""

    fingerprint: str
    resolution_sha256: str


def resolution_digest(sv: SchemaVersion) -> str:
    """SHA-256 of everything in a schema that affects reading, i.e. all but ``doc``.

    The fingerprint does not cover defaults, aliases or logical types, yet
    changing them in a released version changes how old data is read.
    """

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "doc"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    text = json.dumps(strip(sv.raw), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def read_released(directory: Path) -> dict[str, dict[int, Pin]] | None:
    """``released.yaml`` as {family: {version: Pin}}, or None if absent."""
    path = directory / RELEASED_FILE
    if not path.exists():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        released = document["released"]
        return {
            str(family): {
                int(version): Pin(
                    fingerprint=str(pin["fingerprint"]),
                    resolution_sha256=str(pin["resolution_sha256"]),
                )
                for version, pin in (versions or {}).items()
            }
            for family, versions in released.items()
        }
    except (yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SchemaLoadError(
            f"{path} is not a valid release list ({type(exc).__name__}: {exc}); restore it "
            f"from version control"
        ) from exc


def _released_findings(registry: SchemaRegistry, directory: Path) -> list[Finding]:
    released = read_released(directory)
    if released is None:
        return [
            Finding(
                Rule.UNRELEASED_VERSION,
                "",
                f"no {RELEASED_FILE} in {directory}; released versions are not pinned",
                fatal=False,
            )
        ]
    out = []
    for family, versions in sorted(released.items()):
        present = {sv.version: sv for sv in registry.versions(family)} if family in registry.families else {}
        for version, pin in sorted(versions.items()):
            sv = present.get(version)
            if sv is None:
                out.append(
                    Finding(
                        Rule.RELEASED_VERSION_MISSING,
                        family,
                        f"v{version} was released (fingerprint {pin.fingerprint}) but its "
                        f"file is gone; restore {family}/v{version}.avsc, old data depends on it",
                    )
                )
            elif sv.fingerprint.hex() != pin.fingerprint:
                out.append(
                    Finding(
                        Rule.RELEASED_VERSION_CHANGED,
                        family,
                        f"v{version} was edited after release: its fingerprint was "
                        f"{pin.fingerprint} and is now {sv.fingerprint.hex()}; restore it and "
                        f"put the change in a new version",
                    )
                )
            elif resolution_digest(sv) != pin.resolution_sha256:
                out.append(
                    Finding(
                        Rule.RELEASED_VERSION_CHANGED,
                        family,
                        f"v{version} was edited after release: its defaults, aliases or "
                        f"logical types changed, which changes how old data is read; restore "
                        f"it (only docs may change) and put the change in a new version",
                    )
                )
    for sv in registry.all_versions():
        if sv.version not in released.get(sv.family, {}):
            out.append(
                Finding(
                    Rule.UNRELEASED_VERSION,
                    sv.family,
                    f"v{sv.version} is not in {RELEASED_FILE} yet; run `seabus schema release` when it ships",
                    fatal=False,
                )
            )
    return out


def release_all(directory: Path | None = None) -> list[str]:
    """Pin every unreleased version in ``released.yaml``; returns the labels added.

    Refuses (``SchemaLoadError``) while ``check_all`` finds breakages, so only a
    compatible set can be released.
    """
    root = Path(directory) if directory is not None else SCHEMA_DIR
    report = check_all(root)
    if not report.ok:
        raise SchemaLoadError("cannot release while the check fails:\n" + "\n".join(report.lines()))
    registry = SchemaRegistry.load(root)
    released = read_released(root) or {}
    added = []
    for sv in registry.all_versions():
        pinned = released.setdefault(sv.family, {})
        if sv.version not in pinned:
            pinned[sv.version] = Pin(
                fingerprint=sv.fingerprint.hex(), resolution_sha256=resolution_digest(sv)
            )
            added.append(sv.label)
    header = (
        "# Released schema versions. A released version is never removed, and only its\n"
        "# docs may change: `seabus schema check` compares the CRC-64-AVRO fingerprint\n"
        "# (hex of the 8 little-endian header bytes) and a SHA-256 of everything but\n"
        "# docs. Add versions with `seabus schema release`.\n"
    )
    document = {
        "released": {
            family: {
                version: {
                    "fingerprint": pin.fingerprint,
                    "resolution_sha256": pin.resolution_sha256,
                }
                for version, pin in sorted(versions.items())
            }
            for family, versions in sorted(released.items())
        }
    }
    (root / RELEASED_FILE).write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return added


# --- everything ---------------------------------------------------------------


def check_all(directory: Path | None = None) -> CompatReport:
    """Check every schema under ``directory`` (default: the shipped ones)."""
    root = Path(directory) if directory is not None else SCHEMA_DIR
    try:
        registry = SchemaRegistry.load(root)
    except SchemaLoadError as exc:
        return CompatReport(findings=(Finding(Rule.SCHEMA_UNLOADABLE, "", str(exc)),))
    findings: list[Finding] = []
    pairs = 0
    for family in registry.families:
        versions = registry.versions(family)
        for sv in versions:
            findings += _house_rules(sv)
        for old, new in combinations(versions, 2):
            findings += check_pair(new, old)  # new readers, old data
            findings += check_pair(old, new)  # old readers, new data
            pairs += 2
    findings += _shared_types(registry)
    try:
        findings += _released_findings(registry, root)
    except SchemaLoadError as exc:
        findings.append(Finding(Rule.SCHEMA_UNLOADABLE, "", str(exc)))
    return CompatReport(
        findings=tuple(findings),
        versions=tuple(sv.label for sv in registry.all_versions()),
        pairs_checked=pairs,
    )
