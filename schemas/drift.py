"""Does a pydantic model still mirror its Avro schema?

The ``.avsc`` files are the source of truth and :mod:`seabus.schemas.models` is
written by hand for readable, typed application code. :func:`model_drift`
compares the two field by field (names, types, nullability, defaults, enum
symbols, nested records) and lists every difference; the test suite requires
an empty list for each shipped record, so neither can change alone.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from seabus.schemas.registry import SchemaVersion

__all__ = ["model_drift", "version_drift"]

_PRIMITIVE_TYPES: Mapping[str, type] = {
    "string": str,
    "int": int,
    "long": int,
    "boolean": bool,
    "bytes": bytes,
    "float": float,
    "double": float,
}
_LOGICAL_TYPES: Mapping[str, type] = {"timestamp-millis": datetime, "date": date}


def _name(type_: Any) -> str:
    return getattr(type_, "__name__", repr(type_))


class _Comparer:
    def __init__(self, names: Mapping[str, Any]) -> None:
        self.names = names
        self.problems: list[str] = []
        self.done: set[tuple[type, str]] = set()

    def resolve(self, schema: Any) -> Any:
        while isinstance(schema, str) and schema not in _PRIMITIVE_TYPES and schema != "null":
            schema = self.names[schema]
        return schema

    def record(self, model: type[BaseModel], schema: Mapping[str, Any], path: str) -> None:
        if (model, schema["name"]) in self.done:
            return
        self.done.add((model, schema["name"]))
        short = str(schema["name"]).rpartition(".")[2]
        where = path or short
        if model.__name__ != short:
            self.problems.append(f"{where}: model {model.__name__} mirrors record {short}")
        avro_fields = {f["name"]: f for f in schema["fields"]}
        model_fields = model.model_fields
        prefix = f"{path}." if path else ""
        for missing in sorted(avro_fields.keys() - model_fields.keys()):
            self.problems.append(f"{prefix}{missing}: in the schema but not in {model.__name__}")
        for extra in sorted(model_fields.keys() - avro_fields.keys()):
            self.problems.append(f"{prefix}{extra}: in {model.__name__} but not in the schema")
        for name, avro_field in avro_fields.items():
            info = model_fields.get(name)
            if info is None:
                continue
            fpath = f"{path}.{name}" if path else name
            self.type(info.annotation, avro_field["type"], fpath)
            self.default(info.default, info.is_required(), avro_field, fpath)

    def default(self, default: Any, required: bool, avro_field: Mapping[str, Any], path: str) -> None:
        if "default" not in avro_field:
            if not required:
                self.problems.append(f"{path}: has a model default but no Avro default")
            return
        if required:
            self.problems.append(f"{path}: has an Avro default but is required in the model")
            return
        expected = avro_field["default"]
        actual = default
        if default is PydanticUndefined:
            actual = None
        if isinstance(actual, Enum):
            actual = actual.value
        if isinstance(actual, tuple):
            actual = list(actual)
        if actual != expected or type(actual) is not type(expected):
            self.problems.append(f"{path}: model default {actual!r} differs from Avro default {expected!r}")

    def type(self, annotation: Any, schema: Any, path: str) -> None:
        schema = self.resolve(schema)
        while get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        origin = get_origin(annotation)
        if isinstance(schema, list):
            branches = [b for b in schema if b != "null"]
            if "null" not in schema or len(branches) != 1:
                self.problems.append(f'{path}: only ["null", T] unions are supported in models')
                return
            args = get_args(annotation)
            if origin not in (Union, types.UnionType) or type(None) not in args:
                self.problems.append(f"{path}: nullable in the schema, not Optional in the model")
                return
            inner = [a for a in args if a is not type(None)]
            if len(inner) != 1:
                self.problems.append(f"{path}: model union has several non-null types")
                return
            self.type(inner[0], branches[0], path)
            return
        if origin in (Union, types.UnionType):
            self.problems.append(f"{path}: Optional in the model but not nullable in the schema")
            return
        if isinstance(schema, str) or schema["type"] in _PRIMITIVE_TYPES:
            kind = schema if isinstance(schema, str) else schema["type"]
            logical = None if isinstance(schema, str) else schema.get("logicalType")
            expected = _LOGICAL_TYPES.get(logical or "", _PRIMITIVE_TYPES.get(kind))
            if annotation is not expected:
                self.problems.append(
                    f"{path}: model type {_name(annotation)}, schema {logical or kind} "
                    f"needs {_name(expected)}"
                )
            return
        kind = schema["type"]
        if kind == "array":
            args = get_args(annotation)
            if origin is not tuple or len(args) != 2 or args[1] is not Ellipsis:
                self.problems.append(f"{path}: Avro array must be tuple[T, ...] in the model")
                return
            self.type(args[0], schema["items"], f"{path}[]")
        elif kind == "enum":
            short = str(schema["name"]).rpartition(".")[2]
            if not (isinstance(annotation, type) and issubclass(annotation, Enum)):
                self.problems.append(f"{path}: Avro enum {short} is {_name(annotation)} in the model")
                return
            if annotation.__name__ != short:
                self.problems.append(f"{path}: enum class {annotation.__name__} mirrors {short}")
            values = [m.value for m in annotation]
            if values != list(schema["symbols"]):
                self.problems.append(
                    f"{path}: enum {annotation.__name__} has {values}, schema {short} has "
                    f"{list(schema['symbols'])}"
                )
        elif kind in ("record", "error"):
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                self.problems.append(f"{path}: Avro record is {_name(annotation)} in the model")
                return
            self.record(annotation, schema, path)
        else:
            self.problems.append(f"{path}: Avro {kind} has no model mapping")


def model_drift(model: type[BaseModel], schema: Mapping[str, Any], names: Mapping[str, Any]) -> list[str]:
    """Every difference between ``model`` and the parsed record ``schema``."""
    comparer = _Comparer(names)
    comparer.record(model, schema, "")
    return comparer.problems


def version_drift(model: type[BaseModel], version: SchemaVersion) -> list[str]:
    """Every difference between ``model`` and one registry version."""
    return model_drift(model, version.parsed, version.named_types)
