"""Clearly synthetic allegation events for demos, benchmarks and start-up checks.

Nothing here resembles a real case: subject references are ``SYNTH-SUBJ-…``,
allegation ids ``SYNTH-…``, narratives say they are synthetic.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from seabus.schemas.enums import (
    AgeGroup,
    AllegationEventType,
    AllegationStatus,
    AllegationSubType,
    AllegationType,
    Gender,
    IncidentDatePrecision,
    PersonnelCategory,
    Sex,
    SourceStream,
    UpdateKind,
)
from seabus.schemas.ids import synthetic_event_id
from seabus.schemas.models import Allegation, AllegationEvent, Confidential, Subject, VictimCount

STATES = ("FRA", "KEN", "URY", "NPL", "BGD")
ENTITIES = ("MINUSCA", "MONUSCO", "UNMISS", "UNIFIL")


def synthetic_allegation(
    *,
    subjects: Sequence[tuple[str, str | None, str | None, PersonnelCategory]],
    minors: int = 0,
    adults: int = 1,
    reported_at: datetime,
    status: AllegationStatus = AllegationStatus.UNDER_PRELIMINARY_ASSESSMENT,
) -> Allegation:
    """An allegation with the given (ref, nationality, contributing state, category) subjects."""
    victims = []
    if adults:
        victims.append(VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.ADULT, count=adults))
    if minors:
        victims.append(VictimCount(sex=Sex.FEMALE, age_group=AgeGroup.UNDER_18, count=minors))
    return Allegation(
        reported_at=reported_at,
        incident_date=(reported_at - timedelta(days=30)).date().replace(day=1),
        incident_date_precision=IncidentDatePrecision.MONTH,
        location_country="CAF",
        source_stream=SourceStream.UN_PERSONNEL,
        subjects=tuple(
            Subject(
                subject_ref=ref,
                personnel_category=category,
                nationality=nationality,
                contributing_state=contributing,
                gender=Gender.MALE,
            )
            for ref, nationality, contributing, category in subjects
        ),
        allegation_type=AllegationType.SEXUAL_EXPLOITATION,
        sub_types=(AllegationSubType.TRANSACTIONAL_SEX,),
        victims=tuple(victims),
        victim_assistance_referred=True,
        status=status,
        investigating_entity=None,
        confidential=Confidential(narrative="SYNTHETIC NARRATIVE - not a real case - test data only"),
    )


def synthetic_event(
    *,
    allegation_id: str,
    sequence: int = 1,
    event_type: AllegationEventType = AllegationEventType.REPORTED,
    reporting_entity: str = "MINUSCA",
    allegation: Allegation,
    published_at: datetime | None = None,
    changes: tuple[UpdateKind, ...] = (),
    event_id: str | None = None,
) -> AllegationEvent:
    return AllegationEvent(
        event_id=event_id or synthetic_event_id(allegation_id, sequence),
        event_type=event_type,
        allegation_id=allegation_id,
        sequence=sequence,
        reporting_entity=reporting_entity,
        published_at=published_at or datetime.now(UTC),
        changes=changes,
        allegation=allegation,
    )


def example_allegation_event() -> AllegationEvent:
    """One fully populated event: two subjects of two states, victims including a minor."""
    at = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    allegation = synthetic_allegation(
        subjects=[
            ("SYNTH-SUBJ-0001", "FRA", None, PersonnelCategory.STAFF_MEMBER),
            ("SYNTH-SUBJ-0002", "URY", "URY", PersonnelCategory.MILITARY_CONTINGENT),
        ],
        minors=1,
        reported_at=at,
    )
    allegation = allegation.model_copy(update={"incident_date": date(2025, 12, 1)})
    return synthetic_event(allegation_id="SYNTH-2026-0001", allegation=allegation, published_at=at)


def random_event(rng: random.Random, *, index: int, now: datetime) -> AllegationEvent:
    """A random synthetic report with 1-2 subjects (fan-out about three recipients)."""
    categories = list(PersonnelCategory)
    categories.remove(PersonnelCategory.UNKNOWN)
    subjects = []
    for n in range(rng.choice((1, 1, 2))):
        state = rng.choice(STATES)
        category = rng.choice(categories)
        contributing = state if category is PersonnelCategory.MILITARY_CONTINGENT else None
        subjects.append((f"SYNTH-SUBJ-{index:06d}-{n}", state, contributing, category))
    allegation = synthetic_allegation(
        subjects=subjects, minors=rng.choice((0, 0, 1)), adults=rng.choice((0, 1, 2)), reported_at=now
    )
    return synthetic_event(
        allegation_id=f"SYNTH-{now:%Y}-{index:06d}",
        reporting_entity=rng.choice(ENTITIES),
        allegation=allegation,
        published_at=now,
    )
