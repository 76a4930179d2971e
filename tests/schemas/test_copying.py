"""copy_fields: a record made from another by its same-named fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest
from pydantic import BaseModel

from seabus.schemas.copying import copy_fields


@dataclass(frozen=True)
class _Source:
    ref: str
    count: int
    kind: str


class _Entry(BaseModel):
    kind: Literal["entry"] = "entry"
    ref: str
    total: int


@dataclass(frozen=True)
class _Narrow:
    ref: str
    count: int


def test_same_named_fields_are_copied_and_given_ones_win() -> None:
    source = _Source(ref="SYNTH-1", count=3, kind="OTHER")
    assert copy_fields(_Narrow, source) == _Narrow(ref="SYNTH-1", count=3)
    assert copy_fields(_Narrow, source, count=4) == _Narrow(ref="SYNTH-1", count=4)


def test_a_tag_with_a_default_is_the_targets_own() -> None:
    entry = copy_fields(_Entry, _Source(ref="SYNTH-2", count=1, kind="OTHER"), total=1)
    assert entry.kind == "entry"
    assert entry.ref == "SYNTH-2"


def test_a_field_the_source_lacks_is_an_error_not_a_default() -> None:
    with pytest.raises(AttributeError, match="total"):
        copy_fields(_Entry, _Source(ref="SYNTH-3", count=1, kind="OTHER"))
