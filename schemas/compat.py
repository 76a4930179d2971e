"""Full transitive compatibility of every schema version, with readable breakages.

For every family and every pair of versions (old, new), two directions must
hold: new readers read old data (backward) and old readers read new data
(forward). The verdict on each pair is Apache ``avro``'s
``ReaderWriterCompatibilityChecker``, the Avro project's own implementation of the
specification's resolution rules; seabus reports each incompatibility it finds
with the field path, the rule it breaks and the fix, e.g.::

    allegation_event: v1 readers cannot read v2 data: field
    allegation.subjects[].gender: ENUM_SYMBOL_WITHOUT_DEFAULT: ...

It also enforces what resolution does not cover: a logical type must not change
(the bytes would be misread), the house rules that keep future changes
compatible (every enum has a default, every type and field has a ``doc``), that a
type shared by several families (``Allegation``) is defined identically in their
latest versions, and that released versions (``released.yaml``) are never edited
or removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from pathlib import Path
from typing import Any, cast

import avro.name
import yaml
from avro.compatibility import (
    ReaderWriter,
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
    schema_name_equals,
)
from avro.schema import EnumSchema, NamedSchema, RecordSchema, Schema, UnionSchema

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

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_Location = list[str]


def _key(tokens: Iterable[str]) -> str:
    """A location as Apache's checker writes it: ``/fields/3/type``."""
    return "/" + "/".join(tokens)


def _branch(union: Schema, branch: Schema) -> int:
    return next(i for i, s in enumerate(cast(UnionSchema, union).schemas) if s is branch)


class _Checker(ReaderWriterCompatibilityChecker):
    """Apache's checker, remembering which schemas it compared at which location.

    Two gaps of the Python checker are closed here, both needed for readable
    findings: stepping into a union branch it restarts the location at the root
    (so a breakage inside ``["null", InvestigatorDetails]`` loses its path), and
    it merges the locations of several incompatibilities into one unordered set,
    apart from their types. This subclass continues the location through unions
    (``w<i>`` and ``r<j>`` name the writer's and reader's branch) and records the
    reader/writer pair at every location, so that each location of a result can
    be read back as one finding. The verdicts are the checker's own.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.pairs: dict[str, tuple[Any, Any]] = {}
        self.order: dict[str, int] = {}
        self._stack: list[tuple[Schema, Schema, _Location]] = []

    def get_compatibility(
        self,
        reader: Schema,
        writer: Schema,
        reference_token: str = ReaderWriterCompatibilityChecker.ROOT_REFERENCE_TOKEN,
        location: _Location | None = None,
    ) -> SchemaCompatibilityResult:
        if location is None and self._stack:  # called for a union's branch
            outer_reader, outer_writer, location = self._stack[-1]
            if writer is not outer_writer:
                reference_token = f"w{_branch(outer_writer, writer)}"
            else:
                reference_token = f"r{_branch(outer_reader, reader)}"
        return super().get_compatibility(reader, writer, reference_token, location)

    def calculate_compatibility(
        self, reader: Schema, writer: Schema, location: _Location
    ) -> SchemaCompatibilityResult:
        key = _key(location[1:])
        self.pairs.setdefault(key, (reader, writer))
        self.order.setdefault(key, len(self.order))
        self._stack.append((reader, writer, location))
        try:
            return super().calculate_compatibility(reader, writer, location)
        finally:
            self._stack.pop()

    def result_of(self, reader: Schema, writer: Schema) -> SchemaCompatibilityResult | None:
        """The result already computed for this pair, if any."""
        result: SchemaCompatibilityResult | None = self.memoize_map.get(ReaderWriter(reader, writer))
        return result


def _logical(schema: Schema) -> str | None:
    logical = schema.get_prop("logicalType")
    return str(logical) if logical else None


def _describe(schema: Schema) -> str:
    if isinstance(schema, NamedSchema):
        return f"{'record' if schema.type == 'error' else schema.type} {schema.fullname}"
    if isinstance(schema, UnionSchema):
        return f"union ({', '.join(_describe(b) for b in schema.schemas)})"
    logical = _logical(schema)
    return f"{schema.type} ({logical})" if logical else str(schema.type)


def _same_identity(reader: Schema, writer: Schema) -> bool:
    """The reader's branch that is meant to read ``writer`` (same kind, same name)."""
    if reader.type != writer.type or reader.type in _PRIMITIVES:
        return False
    return not isinstance(reader, NamedSchema) or bool(schema_name_equals(reader, cast(NamedSchema, writer)))


@dataclass
class _Translation:
    """Seabus findings from the result of Apache's checker for one pair of versions.

    Each location of the result names, by its last token, what broke: ``name``,
    ``size`` and ``symbols`` of a named type, ``fields/<n>`` a reader field missing
    from the writer without a default, ``<i>`` writer union branch ``i`` that the
    reader's union cannot hold, and otherwise the pair recorded there (a type the
    reader cannot read, or a union lacking the writer's type). Paths are written
    in seabus's notation: ``allegation.subjects[].gender``.
    """

    reader: SchemaVersion
    writer: SchemaVersion
    checker: _Checker
    found: list[tuple[int, str, Finding]] = field(default_factory=list)

    def pair(self, tokens: Sequence[str]) -> tuple[Any, Any]:
        return self.checker.pairs[_key(tokens)]

    def add(self, tokens: Sequence[str], rule: Rule, message: str) -> None:
        """A finding at the field ``tokens`` lead to, in the order the checker got there."""
        path, order = "", 0
        for i, token in enumerate(tokens):
            order = max(order, self.checker.order.get(_key(tokens[: i + 1]), 0))
            if token == "fields" and i + 1 < len(tokens):
                name = self.pair(tokens[:i])[0].fields[int(tokens[i + 1])].name
                path = f"{path}.{name}" if path else name
            elif token in ("items", "values"):
                path += "[]" if token == "items" else "{}"
        finding = Finding(
            rule,
            self.reader.family,
            message,
            path=path or "<record>",
            reader_version=self.reader.version,
            writer_version=self.writer.version,
        )
        self.found.append((order, _key(tokens), finding))

    def result(self, result: SchemaCompatibilityResult) -> None:
        if result.compatibility is SchemaCompatibilityType.incompatible:
            for location in result.locations:
                self.location(location.strip("/").split("/") if location != "/" else [])

    def location(self, tokens: list[str]) -> None:
        w, r = self.writer.version, self.reader.version
        last, at = (tokens[-1], tokens[:-1]) if tokens else ("", [])
        if len(tokens) >= 2 and tokens[-2] == "fields":
            self.field_missing(tokens, int(last))
        elif last == "name":
            reader, writer = self.pair(at)
            self.add(
                at,
                Rule.NAME_CHANGED,
                f"type {writer.fullname} (v{w}) is named {reader.fullname} in v{r} without an "
                f'alias; keep the name or add "aliases": ["{writer.fullname}"]',
            )
        elif last == "size":
            reader, writer = self.pair(at)
            self.add(
                at,
                Rule.FIXED_SIZE_CHANGED,
                f"fixed {reader.fullname} is {writer.size} bytes in v{w} and {reader.size} in v{r}",
            )
        elif last == "symbols":
            self.symbols(at, *self.pair(at))
        elif last.isdigit():
            reader, writer = self.pair(at)
            self.union_branch(at, reader, writer.schemas[int(last)])
        else:
            reader, writer = self.pair(tokens)
            if len(tokens) >= 3 and tokens[-3] == "fields" and self.pair(tokens[:-3])[1] is writer:
                # Apache checks a missing field whose enum has a default against the record.
                self.field_missing(tokens[:-1], int(tokens[-2]))
            elif isinstance(reader, UnionSchema):
                self.union_branch(tokens, reader, writer)
            elif reader.type != writer.type:  # else the root's placeholder, no incompatibility
                promotion = (
                    ", which is not an Avro promotion" if {reader.type, writer.type} & _PRIMITIVES else ""
                )
                self.add(
                    tokens,
                    Rule.TYPE_CHANGED,
                    f"v{w} writes {_describe(writer)} and v{r} reads {_describe(reader)}{promotion}; "
                    f"add a new field instead of changing the type",
                )

    def symbols(self, at: Sequence[str], reader: EnumSchema, writer: EnumSchema) -> None:
        w, r = self.writer.version, self.reader.version
        extra = ", ".join(s for s in writer.symbols if s not in reader.symbols)
        if r > w:
            message = (
                f"v{r} drops symbol(s) {extra} of enum {reader.fullname} that v{w} data may "
                f"hold, and its enum has no default; keep the symbols or give the enum a default"
            )
        else:
            message = (
                f"v{w} adds symbol(s) {extra} to enum {reader.fullname}, which v{r} readers do "
                f"not know and v{r} gives the enum no default; an enum needs a default "
                f"(UNKNOWN) before symbols can be added"
            )
        self.add(at, Rule.ENUM_SYMBOL_WITHOUT_DEFAULT, message)

    def field_missing(self, tokens: Sequence[str], index: int) -> None:
        w, r = self.writer.version, self.reader.version
        record: RecordSchema = self.pair(tokens[:-2])[0]
        name = record.fields[index].name
        if r > w:
            self.add(
                tokens,
                Rule.FIELD_ADDED_WITHOUT_DEFAULT,
                f"v{r} adds field {name} to {record.fullname} without a default, so it cannot "
                f"read v{w} data, which lacks it; give the field a default",
            )
        else:
            self.add(
                tokens,
                Rule.FIELD_REMOVED_WITHOUT_DEFAULT,
                f"v{w} removes field {name} of {record.fullname}, which v{r} readers require "
                f"(it has no default there); keep the field",
            )

    def union_branch(self, at: Sequence[str], reader: UnionSchema, writer: Schema) -> None:
        """A writer type the reader's union cannot hold, or what breaks in its counterpart.

        Apache's checker reports a union lacking the writer's type even when the
        union has a branch of the same name that breaks inside (a required field
        added to ``InvestigatorDetails``); seabus reports that breakage instead,
        from the checker's own result for the two branches.
        """
        counterpart = next((b for b in reader.schemas if _same_identity(b, writer)), None)
        inner = self.checker.result_of(counterpart, writer) if counterpart is not None else None
        if inner is not None and inner.compatibility is SchemaCompatibilityType.incompatible:
            self.result(inner)
            return
        self.add(
            at,
            Rule.UNION_BRANCH_MISSING,
            f"v{self.writer.version} may write a {_describe(writer)} here, which the "
            f"v{self.reader.version} union ({', '.join(_describe(b) for b in reader.schemas)}) "
            f"cannot hold; keep every union branch, add new ones instead",
        )

    def logical_types(self) -> None:
        """House rule: a primitive read with another logical type is a breakage.

        Avro resolution ignores logical types, so the checker passes a
        ``timestamp-millis`` read as ``timestamp-micros``; seabus refuses it
        because the bytes would be misread. No walk of its own: every primitive
        pair the checker compared, and found compatible, is looked at.
        """
        for location, (reader, writer) in list(self.checker.pairs.items()):
            if not {reader.type, writer.type} <= _PRIMITIVES or _logical(reader) == _logical(writer):
                continue
            result = self.checker.result_of(reader, writer)
            if result is not None and result.compatibility is SchemaCompatibilityType.compatible:
                self.add(
                    location.strip("/").split("/"),
                    Rule.LOGICAL_TYPE_CHANGED,
                    f"logical type changes from {_logical(writer) or 'none'} (v{self.writer.version}) "
                    f"to {_logical(reader) or 'none'} (v{self.reader.version}); the bytes would be "
                    f"misread, add a new field instead",
                )

    def findings(self) -> list[Finding]:
        unique: dict[str, Finding] = {}
        for _, _, finding in sorted(self.found, key=lambda item: (item[0], item[1])):
            unique.setdefault(str(finding), finding)
        return list(unique.values())


def check_pair(reader: SchemaVersion, writer: SchemaVersion) -> list[Finding]:
    """Breakages preventing ``reader`` from reading data written with ``writer``.

    The verdict is Apache ``avro``'s ``ReaderWriterCompatibilityChecker`` (the Avro
    project's own implementation of the specification's resolution rules); seabus
    writes each incompatibility as a finding with its field path and a fix, and
    adds its logical-type rule.
    """
    checker = _Checker()
    translation = _Translation(reader=reader, writer=writer, checker=checker)
    translation.result(checker.get_compatibility(reader.apache, writer.apache))
    translation.logical_types()
    return translation.findings()


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

    Each type is compared by its own shape: Apache ``avro`` writes its canonical
    form with every other named type of the version already known, so nested
    named types appear as references and a change is reported once, at the type
    that changed. (That form keeps a ``{"type": "long"}`` wrapper where a logical
    type annotates a primitive, so adding or dropping one also counts as a
    difference; Apache writes a nested ``fixed`` in full, there being none in
    seabus's schemas.)
    """
    seen: dict[str, tuple[SchemaVersion, str]] = {}
    out = []
    for family in registry.families:
        sv = registry.latest(family)
        for name, named in sv.apache_named.items():
            others = avro.name.Names()
            others.names = {n: s for n, s in sv.apache_named.items() if n != name}
            form = json.dumps(named.to_canonical_json(others), separators=(",", ":"))
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
