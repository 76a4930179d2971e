"""The pydantic models and the .avsc files cannot drift apart."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

import pytest

from seabus.schemas import enums
from seabus.schemas.drift import version_drift
from seabus.schemas.enums import EscalationLevel
from seabus.schemas.models import RECORD_MODELS, SeabusModel, SeabusRecord
from seabus.schemas.registry import default_registry

REGISTRY = default_registry()


def test_every_record_type_has_a_model() -> None:
    assert set(RECORD_MODELS) == {REGISTRY.latest(f).name for f in REGISTRY.families}


@pytest.mark.parametrize("name", sorted(RECORD_MODELS))
def test_model_mirrors_the_latest_schema(name: str) -> None:
    assert version_drift(RECORD_MODELS[name], REGISTRY.latest(name)) == []


def test_every_enum_class_mirrors_an_avro_enum() -> None:
    avro_enums = {
        full.rpartition(".")[2]: named["symbols"]
        for family in REGISTRY.families
        for full, named in REGISTRY.latest(family).named_types.items()
        if named["type"] == "enum"
    }
    classes = {
        name: cls
        for name, cls in vars(enums).items()
        if isinstance(cls, type) and issubclass(cls, StrEnum) and cls is not StrEnum
    }
    assert set(classes) == set(avro_enums)
    for name, cls in classes.items():
        assert [m.value for m in cls] == avro_enums[name], name


# Deliberately drifted copies of the Escalation model: the check must see each change.


class Gone(StrEnum):
    REMINDER = "REMINDER"
    UNKNOWN = "UNKNOWN"


def _drift(model: type[SeabusModel]) -> list[str]:
    return version_drift(model, REGISTRY.latest("Escalation"))


def test_drift_is_detected_field_by_field() -> None:
    class Escalation(SeabusRecord):
        avro_name: ClassVar[str] = "Escalation"
        escalation_id: str
        allegation_id: str
        recipient: str  # nullable in the schema
        obligation: enums.ObligationKind | None = None
        level: Gone  # other symbols
        repeat: int = 1  # other default
        due_at: datetime | None = None
        fired_at: str  # wrong type
        reason: str
        obligation_keys: tuple[str, ...] = ()
        severity: int = 0  # not in the schema

    assert sorted(_drift(Escalation)) == sorted(
        [
            "severity: in Escalation but not in the schema",
            "recipient: nullable in the schema, not Optional in the model",
            "recipient: has an Avro default but is required in the model",
            "level: enum class Gone mirrors EscalationLevel",
            "level: enum Gone has ['REMINDER', 'UNKNOWN'], schema EscalationLevel has "
            f"{[level.value for level in EscalationLevel]}",
            "repeat: model default 1 differs from Avro default 0",
            "fired_at: model type str, schema timestamp-millis needs datetime",
        ]
    )


def test_a_missing_field_and_a_wrong_record_name_are_detected() -> None:
    class Alarm(SeabusRecord):
        avro_name: ClassVar[str] = "Escalation"
        escalation_id: str
        allegation_id: str
        recipient: str | None = None
        obligation: enums.ObligationKind | None = None
        level: enums.EscalationLevel
        repeat: int = 0
        due_at: datetime | None = None
        fired_at: datetime
        reason: str | None  # required in the schema, not nullable
        obligation_keys: tuple[str, ...] = ()

    problems = _drift(Alarm)
    assert "Escalation: model Alarm mirrors record Escalation" in problems
    assert "reason: Optional in the model but not nullable in the schema" in problems
    assert len(problems) == 2
