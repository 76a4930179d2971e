"""Why a datum does not fit an Avro schema, field by field.

fastavro's writer fails on the first misfit and its validator names records
rather than fields, so when encoding fails the codec asks this module for the
full list, with paths like ``allegation.subjects[0].gender``. Messages name the
expected and actual *types*, never values, so confidential text cannot leak.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from seabus.schemas.errors import Problem

__all__ = ["datum_problems", "range_problems"]

_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    return str(schema["type"])


def _label(schema: Any) -> str:
    if isinstance(schema, dict):
        if "logicalType" in schema:
            return str(schema["logicalType"])
        if schema["type"] in ("record", "enum", "fixed"):
            return f"{schema['type']} {str(schema['name']).rpartition('.')[2]}"
        return str(schema["type"])
    if isinstance(schema, list):
        return " or ".join(_label(b) for b in schema)
    return str(schema).rpartition(".")[2]


class _Checker:
    def __init__(self, names: Mapping[str, Any]) -> None:
        self.names = names
        self.problems: list[Problem] = []

    def bad(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def wrong_type(self, path: str, schema: Any, datum: Any) -> None:
        name = type(datum).__name__
        article = "an" if name[:1] in "aeiou" else "a"
        what = "missing" if datum is None else f"{article} {name}"
        self.bad(path, f"is {what}, the schema wants {_label(schema)}")

    def fits(self, schema: Any, datum: Any) -> bool:
        probe = _Checker(self.names)
        probe.check(schema, datum, "")
        return not probe.problems

    def check(self, schema: Any, datum: Any, path: str) -> None:
        if isinstance(schema, str) and schema in self.names:
            schema = self.names[schema]
        kind = _kind(schema)
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if kind == "union":
            if any(self.fits(branch, datum) for branch in schema):
                return
            others = [b for b in schema if b != "null"]
            if datum is not None and len(others) == 1:
                self.check(others[0], datum, path)  # say what is wrong inside
            else:
                self.wrong_type(path, schema, datum)
        elif kind == "null":
            if datum is not None:
                self.wrong_type(path, schema, datum)
        elif kind == "boolean":
            if not isinstance(datum, bool):
                self.wrong_type(path, schema, datum)
        elif kind in ("int", "long"):
            if logical == "timestamp-millis" and isinstance(datum, datetime):
                if datum.tzinfo is None:
                    self.bad(path, "is a datetime without time zone; use UTC")
            elif logical == "date" and isinstance(datum, date) and not isinstance(datum, datetime):
                pass
            elif not isinstance(datum, int) or isinstance(datum, bool):
                self.wrong_type(path, schema, datum)
            else:
                low, high = _INT_RANGE[kind]
                if not low <= datum <= high:
                    self.bad(path, f"is out of range for Avro {kind}")
        elif kind in ("float", "double"):
            if not isinstance(datum, int | float) or isinstance(datum, bool):
                self.wrong_type(path, schema, datum)
        elif kind == "string":
            if not isinstance(datum, str):
                self.wrong_type(path, schema, datum)
        elif kind == "bytes":
            if not isinstance(datum, bytes | bytearray):
                self.wrong_type(path, schema, datum)
        elif kind == "fixed":
            if not isinstance(datum, bytes | bytearray) or len(datum) != schema["size"]:
                self.bad(path, f"must be exactly {schema['size']} bytes")
        elif kind == "enum":
            if not isinstance(datum, str):
                self.wrong_type(path, schema, datum)
            elif datum not in schema["symbols"]:
                self.bad(path, f"is not a symbol of enum {_label(schema).split()[-1]}")
        elif kind == "array":
            if not isinstance(datum, list | tuple):
                self.wrong_type(path, schema, datum)
                return
            for i, item in enumerate(datum):
                self.check(schema["items"], item, f"{path}[{i}]")
        elif kind == "map":
            if not isinstance(datum, Mapping):
                self.wrong_type(path, schema, datum)
                return
            for key, value in datum.items():
                if not isinstance(key, str):
                    self.bad(path, "has a key that is not a string")
                self.check(schema["values"], value, f"{path}[{key!r}]")
        elif kind in ("record", "error"):
            self.record(schema, datum, path)

    def record(self, schema: Mapping[str, Any], datum: Any, path: str) -> None:
        if not isinstance(datum, Mapping):
            self.wrong_type(path, schema, datum)
            return
        prefix = f"{path}." if path else ""
        known = {f["name"] for f in schema["fields"]}
        for key in datum:
            if key not in known:
                self.bad(f"{prefix}{key}", f"is not a field of {_label(schema)}")
        for f in schema["fields"]:
            if f["name"] in datum:
                self.check(f["type"], datum[f["name"]], prefix + f["name"])
            elif "default" not in f:
                self.bad(prefix + f["name"], "is required and missing")


def datum_problems(
    schema: Mapping[str, Any], datum: Any, names: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Every way ``datum`` fails to fit the parsed ``schema`` (empty if it fits)."""
    checker = _Checker(names or {})
    checker.check(schema, datum, "")
    return checker.problems


def range_problems(
    schema: Any, datum: Any, names: Mapping[str, Any] | None = None, path: str = ""
) -> list[Problem]:
    """Every Avro ``int``/``long`` in ``datum`` that is out of its range (a fast walk for every encode).

    fastavro writes and reads any Python int as a zig-zag varint without
    checking the range, so ``2**40`` in an ``int`` field is accepted on both
    sides and becomes a value that Java (and any strict) Avro reader refuses.
    Type mismatches are left to the writer and :func:`datum_problems`.
    """
    names = names or {}
    fits = _fast_check(schema, names)
    if fits is None or fits(datum):
        return []  # the common case: no paths built, no problems
    found: list[Problem] = []
    _ranges(schema, datum, names, path, found)
    return found


_Fits = Callable[[Any], bool]
_FAST: dict[tuple[int, int], tuple[Any, Any, _Fits | None]] = {}
"""Compiled range checks by the ids of the schema and of its named types; both objects are kept
beside the check, so neither id can be reused by another object while cached."""


def _fast_check(schema: Any, names: Mapping[str, Any]) -> _Fits | None:
    """A check that says only *whether* :func:`_ranges` would find a problem, compiled once per schema:
    no path strings, no schema dispatch per value, and the parts that hold no int skipped. The walk
    ran on every encode (~58 µs a record, the largest seabus function in the worker's profile);
    it now runs only to name the problems of a datum that fails. ``None``: nothing to check."""
    key = (id(schema), id(names))
    cached = _FAST.get(key)
    if cached is not None and cached[0] is schema and cached[1] is names:
        return cached[2]
    check = _Compiler(names).compile(schema)
    _FAST[key] = (schema, names, check)
    return check


def _int_fits(kind: str) -> _Fits:
    low, high = _INT_RANGE[kind]

    def fits(datum: Any) -> bool:
        return not isinstance(datum, int) or isinstance(datum, bool) or low <= datum <= high

    return fits


class _Compiler:
    """Builds the bool twin of :func:`_ranges`, branch for branch (tests/schemas/test_datum_ranges.py
    holds them equal on every shipped schema)."""

    def __init__(self, names: Mapping[str, Any]) -> None:
        self.names = names
        self.named: dict[str, _Fits | None] = {}

    def compile(self, schema: Any) -> _Fits | None:
        if isinstance(schema, str):
            if schema in _INT_RANGE:
                return _int_fits(schema)
            if schema not in self.names:
                return None
            if schema in self.named:
                return self.named[schema]
            slot: list[_Fits | None] = []
            self.named[schema] = lambda d: slot[0] is None or slot[0](d)  # a recursive reference
            slot.append(self.compile(self.names[schema]))
            self.named[schema] = slot[0]
            return slot[0]
        if isinstance(schema, list):
            return self._union(schema)
        kind = schema.get("type")
        if kind in _INT_RANGE:
            plain = _int_fits(kind)
            if "logicalType" not in schema:
                return plain
            return lambda d: not isinstance(d, int) or plain(d)
        if kind in ("record", "error"):
            fields = [(f["name"], c) for f in schema["fields"] if (c := self.compile(f["type"])) is not None]
            if not fields:
                return None

            def record(datum: Any) -> bool:
                if not isinstance(datum, Mapping):
                    return True
                return all(name not in datum or c(datum[name]) for name, c in fields)

            return record
        if kind == "array":
            item = self.compile(schema["items"])
            if item is None:
                return None
            return lambda d: not isinstance(d, list | tuple) or all(item(i) for i in d)
        if kind == "map":
            value = self.compile(schema["values"])
            if value is None:
                return None
            return lambda d: not isinstance(d, Mapping) or all(value(v) for v in d.values())
        return None

    def _union(self, schema: list[Any]) -> _Fits | None:
        ints = [b for b in schema if b in ("int", "long")]
        walked = [
            c
            for b in schema
            if (isinstance(b, dict) and b.get("type") in ("record", "array", "map"))
            or (isinstance(b, str) and b in self.names)
            if (c := self.compile(b)) is not None
        ]
        if not ints and not walked:
            return None
        ranges = [_INT_RANGE[b] for b in ints]

        def union(datum: Any) -> bool:
            if datum is None or isinstance(datum, bool):
                return True
            if isinstance(datum, int):
                return not ranges or any(low <= datum <= high for low, high in ranges)
            return all(c(datum) for c in walked)

        return union


def _ranges(schema: Any, datum: Any, names: Mapping[str, Any], path: str, found: list[Problem]) -> None:
    if isinstance(schema, str):
        if schema in _INT_RANGE:
            if isinstance(datum, int) and not isinstance(datum, bool):
                low, high = _INT_RANGE[schema]
                if not low <= datum <= high:
                    found.append(Problem(path or "(value)", f"is out of range for Avro {schema}"))
            return
        if schema in names:
            _ranges(names[schema], datum, names, path, found)
        return
    if isinstance(schema, list):
        if datum is None or isinstance(datum, bool):
            return
        if isinstance(datum, int):
            branches = [b for b in schema if b in ("int", "long")]
            if branches and not any(_INT_RANGE[b][0] <= datum <= _INT_RANGE[b][1] for b in branches):
                found.append(Problem(path or "(value)", f"is out of range for Avro {branches[-1]}"))
            return
        for branch in schema:
            if isinstance(branch, dict) and branch.get("type") in ("record", "array", "map"):
                _ranges(branch, datum, names, path, found)
            elif isinstance(branch, str) and branch in names:
                _ranges(names[branch], datum, names, path, found)
        return
    kind = schema.get("type")
    if kind in _INT_RANGE:
        if "logicalType" not in schema or isinstance(datum, int):
            _ranges(kind, datum, names, path, found)
    elif kind in ("record", "error") and isinstance(datum, Mapping):
        prefix = f"{path}." if path else ""
        for f in schema["fields"]:
            if f["name"] in datum:
                _ranges(f["type"], datum[f["name"]], names, prefix + f["name"], found)
    elif kind == "array" and isinstance(datum, list | tuple):
        for i, item in enumerate(datum):
            _ranges(schema["items"], item, names, f"{path}[{i}]", found)
    elif kind == "map" and isinstance(datum, Mapping):
        for key, value in datum.items():
            _ranges(schema["values"], value, names, f"{path}[{key!r}]", found)
