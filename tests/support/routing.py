"""Synthetic events and a configured Intake for the routing tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from seabus.schemas.codec import default_codec
from seabus.schemas.enums import AllegationEventType, PersonnelCategory
from seabus.schemas.models import AllegationEvent
from seabus.streams.intake import Intake
from seabus.streams.routing import RoutingRules, load_rules
from seabus.streams.synthetic import synthetic_allegation, synthetic_event
from support import REPO

ROUTES = REPO / "deploy" / "config" / "routes.yaml"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def default_rules() -> RoutingRules:
    return load_rules(ROUTES)


def make_intake(rules: RoutingRules | None = None, directory: frozenset[str] | None = None) -> Intake:
    return Intake(
        rules=rules or default_rules(),
        codec=default_codec(),
        known_entities=frozenset({"MINUSCA", "MONUSCO"}),
        directory=directory or frozenset({"OSC", "OIOS", "VRA", "FRA", "URY", "KEN"}),
        max_bytes=1_000_000,
    )


def event(
    allegation_id: str = "SYNTH-2026-0100",
    *,
    sequence: int = 1,
    event_type: AllegationEventType = AllegationEventType.REPORTED,
    subjects: list[tuple[str, str | None, str | None, PersonnelCategory]] | None = None,
    minors: int = 0,
    adults: int = 1,
    published_at: datetime | None = None,
) -> AllegationEvent:
    at = published_at or NOW - timedelta(minutes=5)
    return synthetic_event(
        allegation_id=allegation_id,
        sequence=sequence,
        event_type=event_type,
        allegation=synthetic_allegation(
            subjects=subjects
            if subjects is not None
            else [("SYNTH-SUBJ-A", "FRA", None, PersonnelCategory.STAFF_MEMBER)],
            minors=minors,
            adults=adults,
            reported_at=at - timedelta(hours=1),
        ),
        published_at=at,
    )


def write(tmp: Path, text: str) -> Path:
    path = tmp / "routes.yaml"
    path.write_text(text)
    return path
