"""How obligation values are held in a table: compact JSON bytes, JSON dicts or models.

Compact JSON bytes (defaults left out) are the smallest in memory and are what
a Faust table with a raw value serializer keeps; dicts suit a JSON-serialised
table; models suit tests. All three round-trip the same value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["ValueFormat", "decode", "encode"]

_M = TypeVar("_M", bound=BaseModel)


class ValueFormat(StrEnum):
    JSON_BYTES = "json-bytes"
    JSON_DICT = "json-dict"
    MODEL = "model"


def encode(value: BaseModel, fmt: ValueFormat) -> Any:
    if fmt == ValueFormat.JSON_BYTES:
        return value.model_dump_json(exclude_defaults=True).encode()
    if fmt == ValueFormat.JSON_DICT:
        return value.model_dump(mode="json", exclude_defaults=True)
    return value


def decode(model: type[_M], raw: Any, fmt: ValueFormat) -> _M:
    if isinstance(raw, model):
        return raw
    if isinstance(raw, bytes | str):
        return model.model_validate_json(raw)
    return model.model_validate(raw)
