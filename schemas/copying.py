"""One record made from another by its same-named fields.

The bus keeps many narrower or wider copies of a record (an audit record of a
webhook attempt, a timeline entry of an event, what the read model keeps of a
notification); their fields are named after the record's on purpose. Copying by
name in one place keeps those copies from being written out field by field at
each site, where a field added to both is easy to forget at one of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["copy_fields"]

_T = TypeVar("_T")

_NAMES: dict[type, tuple[str, ...]] = {}
"""The fields to copy, by target class, worked out once (the read model copies records by the million)."""


def copy_fields(target: type[_T], source: object, **given: Any) -> _T:
    """A ``target`` (pydantic model or dataclass) from ``source``'s same-named attributes and ``given``.

    ``given`` holds the fields that are renamed, converted or not on ``source``;
    every other field of ``target`` must be an attribute of ``source`` (an
    :class:`AttributeError` otherwise, not a silent default). A discriminator
    field ``kind`` of a ``target`` whose ``kind`` has a default (the timeline's
    entry tags) is the target's own, never copied.
    """
    names = _NAMES.get(target)
    if names is None:
        names = _NAMES[target] = _field_names(target)
    copied = {name: getattr(source, name) for name in names if name not in given}
    return target(**copied, **given)


def _field_names(target: Any) -> tuple[str, ...]:
    if issubclass(target, BaseModel):
        return tuple(n for n, f in target.model_fields.items() if not (n == "kind" and not f.is_required()))
    return tuple(f.name for f in dataclasses.fields(target))
