"""Synthetic records for the statistics tests (SYNTH-STATS-... ids, no real case)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from views.view_support import notifications

from seabus.schemas.enums import (
    AgeGroup,
    AllegationStatus,
    InterimActionKind,
    ObligationKind,
    ObligationState,
    OutcomeResult,
    PersonnelCategory,
    RecipientClass,
    ResponseKind,
    Sex,
)
from seabus.schemas.models import (
    AllegationEvent,
    InterimAction,
    InvestigationOutcome,
    ObligationUpdate,
    Response,
    VictimCount,
)
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

Q3 = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)


def allegation(
    aid: str,
    *,
    state: str = "KEN",
    category: PersonnelCategory = PersonnelCategory.MILITARY_CONTINGENT,
    at: datetime = Q3,
    entity: str = "MINUSCA",
    sequence: int = 1,
    status: AllegationStatus = AllegationStatus.UNDER_INVESTIGATION,
    minors: int = 0,
    adults: int = 1,
    outcome: OutcomeResult | None = None,
    interim: bool = False,
    paternity: bool = False,
) -> AllegationEvent:
    contributing = state if category is PersonnelCategory.MILITARY_CONTINGENT else None
    a = synthetic_allegation(
        subjects=[(f"SYNTH-SUBJ-STATS-{aid}", state, contributing, category)],
        minors=minors,
        adults=adults,
        reported_at=at,
        status=status,
    )
    a = a.model_copy(
        update={
            "outcome": InvestigationOutcome(result=outcome) if outcome else None,
            "interim_actions": (InterimAction(kind=InterimActionKind.REPATRIATED),) if interim else (),
            "paternity_claim": paternity,
        }
    )
    return synthetic_event(
        allegation_id=aid,
        sequence=sequence,
        reporting_entity=entity,
        allegation=a,
        published_at=at + timedelta(minutes=sequence),
    )


def victims(*counts: tuple[Sex, AgeGroup, int]) -> tuple[VictimCount, ...]:
    return tuple(VictimCount(sex=s, age_group=g, count=n) for s, g, n in counts)


def reply(aid: str, state: str, kind: ResponseKind, *, at: datetime) -> Response:
    return Response(
        response_id=str(uuid.uuid4()),
        allegation_id=aid,
        recipient=state,
        kind=kind,
        responded_at=at,
        responder=f"SYNTH-OFFICE-{state}",
        note="SYNTHETIC-NOTE-STATS-MARKER",
    )


def obligation(
    aid: str,
    state: str,
    *,
    due_at: datetime,
    answered_at: datetime | None = None,
    kind: ObligationKind = ObligationKind.ACKNOWLEDGE,
    updated_at: datetime | None = None,
) -> ObligationUpdate:
    return ObligationUpdate(
        obligation_key=f"{aid}|{state}|{kind.value}",
        allegation_id=aid,
        recipient=state,
        recipient_class=RecipientClass.MEMBER_STATE,
        kind=kind,
        policy="synthetic",
        reporting_entity="MINUSCA",
        created_at=due_at - timedelta(days=5),
        due_at=due_at,
        state=ObligationState.SATISFIED if answered_at else ObligationState.OPEN,
        answered_by=f"SYNTH-OFFICE-{state}" if answered_at else None,
        answered_at=answered_at,
        answered_kind=ResponseKind.ACKNOWLEDGED if answered_at else None,
        updated_at=updated_at or answered_at or due_at - timedelta(days=5),
    )


__all__ = ["Q3", "allegation", "notifications", "obligation", "reply", "victims"]
