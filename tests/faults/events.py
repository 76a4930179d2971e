"""The fault test's load: clearly synthetic allegations (``SYNTH-FAULT-…``) with a varied fan-out.

Every allegation gets a REPORTED event; about a third also get an UPDATED event
(sequence 2, status changed, same subjects), which the publisher sends only
after the report was acknowledged, so a held update can only come from the bus.
Subjects mix nationalities (some outside recipients.yaml, some unknown),
contributing states and personnel categories, so the routing rules name
states, OSC, OIOS and VRA in varying combinations, and a few allegations are
unroutable (OSC only).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seabus.schemas.enums import AllegationEventType, AllegationStatus, PersonnelCategory, UpdateKind
from seabus.schemas.models import AllegationEvent
from seabus.streams.synthetic import ENTITIES, synthetic_allegation, synthetic_event

IN_DIRECTORY = ("FRA", "KEN", "URY", "NPL", "BGD")
"""Member States listed in deploy/config/recipients.yaml (their topics exist before the worker starts)."""

OUTSIDE_DIRECTORY = ("GHA", "PAK")
"""Member States the directory does not list: their notify topics are created on first use."""

DEPLOYED = (PersonnelCategory.MILITARY_CONTINGENT, PersonnelCategory.FORMED_POLICE_UNIT)
UPDATE_LAG = 15
"""An allegation's update is planned this many reports after its report."""


@dataclass(frozen=True, slots=True)
class Planned:
    event: AllegationEvent
    after: str | None = None  # event_id that must be acknowledged before this one is sent

    @property
    def event_id(self) -> str:
        return self.event.event_id


def _subjects(rng: random.Random, index: int) -> list[tuple[str, str | None, str | None, PersonnelCategory]]:
    categories = [c for c in PersonnelCategory if c is not PersonnelCategory.UNKNOWN]
    unroutable = rng.random() < 0.04
    out: list[tuple[str, str | None, str | None, PersonnelCategory]] = []
    for n in range(rng.choice((1, 1, 2, 3))):
        category = rng.choice(categories)
        if unroutable:
            nationality = contributing = None
        else:
            roll = rng.random()
            nationality = (
                rng.choice(OUTSIDE_DIRECTORY)
                if roll < 0.08
                else None
                if roll < 0.12
                else rng.choice(IN_DIRECTORY)
            )
            contributing = None
            if category in DEPLOYED or category is PersonnelCategory.NON_UN_FORCE_MEMBER:
                # Usually the state of nationality deploys its own; sometimes another state did.
                contributing = nationality if rng.random() < 0.7 and nationality else rng.choice(IN_DIRECTORY)
        out.append((f"SYNTH-SUBJ-FAULT-{index:06d}-{n}", nationality, contributing, category))
    return out


def plan_events(
    allegations: int, *, run_tag: str, seed: int = 71278, update_share: float = 1 / 3
) -> list[Planned]:
    """Reports for ``allegations`` allegations, and updates for about ``update_share`` of them, in send order."""
    rng = random.Random(seed)
    now = datetime.now(UTC) - timedelta(minutes=5)
    reports: list[AllegationEvent] = []
    updates: dict[int, AllegationEvent] = {}
    for i in range(allegations):
        allegation = synthetic_allegation(
            subjects=_subjects(rng, i),
            minors=rng.choice((0, 0, 0, 1)),
            adults=rng.choice((0, 1, 1, 2)),
            reported_at=now,
        )
        allegation_id = f"SYNTH-FAULT-{run_tag}-{i:06d}"
        report = synthetic_event(
            allegation_id=allegation_id,
            reporting_entity=rng.choice(ENTITIES),
            allegation=allegation,
            published_at=now,
        )
        reports.append(report)
        if rng.random() < update_share:
            updates[i] = synthetic_event(
                allegation_id=allegation_id,
                sequence=2,
                event_type=AllegationEventType.UPDATED,
                reporting_entity=report.reporting_entity,
                allegation=allegation.model_copy(update={"status": AllegationStatus.UNDER_INVESTIGATION}),
                published_at=now + timedelta(seconds=1),
                changes=(UpdateKind.STATUS_CHANGED,),
            )
    out: list[Planned] = []
    for i, report in enumerate(reports):
        out.append(Planned(report))
        j = i - UPDATE_LAG
        if j in updates:
            out.append(Planned(updates.pop(j), after=reports[j].event_id))
    out.extend(Planned(u, after=reports[j].event_id) for j, u in sorted(updates.items()))
    return out
