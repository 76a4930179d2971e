"""What each contract value is called in a notice, in English and in French.

The words are in ``wording.yaml`` (sections ``labels`` and ``asked``); this module
keys them by the contract's enums.

Every member of every enum a notice shows has a label in both languages
(``tests/notices`` checks it), so a new symbol in ``schemas/enums.py`` fails the
tests until it is described here, rather than appearing as a raw code in a
diplomatic note. What is asked of a recipient (:data:`ASKED`) is keyed by the
contract's own :class:`~seabus.schemas.enums.ObligationKind`, which the e-mail notice
uses too.
"""

from __future__ import annotations

from enum import StrEnum

from seabus.connectors.notices.wording import section
from seabus.schemas.enums import (
    AgeGroup,
    AllegationEventType,
    AllegationStatus,
    AllegationSubType,
    AllegationType,
    DisciplinaryAction,
    Gender,
    InterimActionKind,
    ObligationKind,
    OutcomeResult,
    PersonnelCategory,
    Sex,
    SourceStream,
    UpdateKind,
)

__all__ = ["ASKED", "LABELS", "label"]

ASKED: dict[ObligationKind, dict[str, str]] = {
    ObligationKind(kind): texts for kind, texts in section("asked").items()
}

_LABELLED: tuple[type[StrEnum], ...] = (
    AllegationEventType,
    UpdateKind,
    SourceStream,
    PersonnelCategory,
    Gender,
    AllegationType,
    AllegationSubType,
    Sex,
    AgeGroup,
    AllegationStatus,
    InterimActionKind,
    OutcomeResult,
    DisciplinaryAction,
)

LABELS: dict[type[StrEnum], dict[str, dict[str, str]]] = {
    **{enum: section("labels", nested=enum.__name__) for enum in _LABELLED},
    ObligationKind: {kind.value: text for kind, text in ASKED.items()},
}


def label(value: StrEnum, lang: str) -> str:
    """The label of one contract value; the raw symbol only for a value newer than this table."""
    table = LABELS.get(type(value), {})
    entry = table.get(value.value)
    return entry[lang] if entry else value.value
