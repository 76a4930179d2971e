"""The facts statistics need, gathered from the bus's own records (pure, synchronous).

:class:`StatsIndex` is fed exactly like :class:`seabus.streams.views.ViewIndex`
(``ingest(topic, key=..., value=...)``, by the same reader) and keeps only what
the published breakdowns and the timeliness table count: categories, codes,
counts and times. No narrative, no subject reference, no note, no investigator
detail is kept: each record is decoded (the codec reads whole records) and
reduced at once to the small frozen facts below.

Records arrive at least once and in any order across topics. Nothing here
counts arrivals: an allegation's snapshot is the event with the highest
sequence, a state's answer times are minima, an obligation is its latest
update by ``updated_at`` keyed by ``obligation_key``. A redelivered record
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Unpack

from seabus.schemas.enums import (
    DisciplinaryAction,
    ObligationState,
    PersonnelCategory,
    RecipientClass,
    ResponseKind,
)
from seabus.schemas.errors import CodecError, ValidationFailed
from seabus.schemas.models import AllegationEvent, Notification, ObligationUpdate, Response, SeabusRecord
from seabus.streams.views.lean import DecodingIndex, IndexOptions, NotificationFacts
from seabus.streams.views.topics import TopicKind, classify

__all__ = ["UNIFORMED", "AllegationFacts", "ObligationFacts", "StateFacts", "StatsIndex"]

UNIFORMED = frozenset(
    {
        PersonnelCategory.MILITARY_CONTINGENT,
        PersonnelCategory.FORMED_POLICE_UNIT,
        PersonnelCategory.UN_POLICE_OFFICER,
        PersonnelCategory.MILITARY_STAFF_OFFICER,
        PersonnelCategory.GOVERNMENT_PROVIDED_PERSONNEL,
    }
)
"""Categories the UN counts as uniformed personnel when it publishes nationalities."""

DECISIONS = frozenset(
    {
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        ResponseKind.INVESTIGATION_JOINT_OIOS,
        ResponseKind.INVESTIGATION_DECLINED,
    }
)

_MODELS: dict[TopicKind, type[SeabusRecord]] = {
    TopicKind.ALLEGATIONS: AllegationEvent,
    TopicKind.NOTIFY: Notification,
    TopicKind.RESPONSES: Response,
    TopicKind.OBLIGATIONS: ObligationUpdate,
}


@dataclass(frozen=True, slots=True)
class AllegationFacts:
    """One allegation as its latest event describes it, reduced to what is counted."""

    sequence: int
    reporting_entity: str
    reported_at: datetime
    categories: frozenset[str]
    uniformed_nationalities: frozenset[str]
    allegation_type: str
    sub_types: frozenset[str]
    victims: tuple[tuple[str, str, int], ...]  # (sex, age group, count)
    status: str
    investigating_entity: str
    outcome: str
    actions: frozenset[str]
    interim_actions: frozenset[str]
    paternity_claim: bool

    @classmethod
    def of(cls, e: AllegationEvent) -> AllegationFacts:
        a = e.allegation
        nationalities = frozenset(
            s.nationality or s.contributing_state or "UNKNOWN"
            for s in a.subjects
            if s.personnel_category in UNIFORMED
        )
        return cls(
            sequence=e.sequence,
            reporting_entity=e.reporting_entity,
            reported_at=a.reported_at,
            categories=frozenset(s.personnel_category.value for s in a.subjects) or frozenset({"UNKNOWN"}),
            uniformed_nationalities=nationalities,
            allegation_type=a.allegation_type.value,
            sub_types=frozenset(t.value for t in a.sub_types),
            victims=tuple(
                sorted((v.sex.value, v.age_group.value, v.count) for v in a.victims if v.count > 0)
            ),
            status=a.status.value,
            investigating_entity=a.investigating_entity or "NONE",
            outcome=a.outcome.result.value if a.outcome is not None else "NONE",
            actions=frozenset(x.value for x in a.outcome.actions) if a.outcome is not None else frozenset(),
            interim_actions=frozenset(i.kind.value for i in a.interim_actions),
            paternity_claim=a.paternity_claim,
        )


@dataclass(slots=True)
class StateFacts:
    """What one Member State was told about one allegation and when it first answered each thing."""

    notified_at: datetime | None = None
    acknowledged_at: datetime | None = None
    decided_at: datetime | None = None
    outcome_at: datetime | None = None
    referral_decided: bool = False


@dataclass(frozen=True, slots=True)
class ObligationFacts:
    """The latest state of one obligation a Member State owes."""

    allegation_id: str
    recipient: str
    kind: str
    due_at: datetime
    state: ObligationState
    answered_at: datetime | None
    updated_at: datetime


def _earliest(known: datetime | None, at: datetime) -> datetime:
    return at if known is None or at < known else known


class StatsIndex(DecodingIndex):
    """Facts of every allegation on one topic prefix; :mod:`seabus.streams.stats.tables` counts them."""

    def __init__(self, **options: Unpack[IndexOptions]) -> None:
        super().__init__(**options)
        self.allegations: dict[str, AllegationFacts] = {}
        self.owners: dict[str, str] = {}
        """The entity the bus accepted as owner (from its own obligation records), by allegation."""
        self.states: dict[tuple[str, str], StateFacts] = {}
        self.obligations: dict[str, ObligationFacts] = {}
        self.referrals: set[str] = set()
        self.reported_actions: dict[str, set[str]] = {}

    def ingest(self, topic: str, *, key: bytes | None, value: bytes | None) -> str:
        """Take one record of ``topic``; returns ``kept``, ``ignored`` or ``undecodable``."""
        source = classify(topic, self.prefix)
        outcome = "ignored"
        if source is not None and value is not None and source.kind in _MODELS:
            try:
                writer = self.writer_of(value)
                if writer == _MODELS[source.kind].avro_name:
                    record: SeabusRecord | NotificationFacts = (
                        self.decoder.notification(value)
                        if source.kind is TopicKind.NOTIFY
                        else self.decoder.model(value, _MODELS[source.kind])
                    )
                    outcome = "kept" if self.add(record) else "ignored"
            except (CodecError, ValidationFailed):
                outcome = "undecodable"
        elif source is not None and value is None and source.kind is TopicKind.OBLIGATIONS and key:
            outcome = "kept" if self.obligations.pop(key.decode("utf-8", "replace"), None) else "ignored"
        self.counts[outcome] += 1
        return outcome

    def add(self, record: SeabusRecord | NotificationFacts) -> bool:
        """Keep the facts of one decoded record; False when it holds none statistics need."""
        if isinstance(record, Notification):
            record = NotificationFacts.of(record)
        if isinstance(record, AllegationEvent):
            known = self.allegations.get(record.allegation_id)
            if known is None or record.sequence > known.sequence:
                self.allegations[record.allegation_id] = AllegationFacts.of(record)
            return True
        if isinstance(record, NotificationFacts):
            if record.recipient_class is not RecipientClass.MEMBER_STATE:
                return False
            facts = self.states.setdefault((record.allegation_id, record.recipient), StateFacts())
            facts.notified_at = _earliest(facts.notified_at, record.routed_at)
            return True
        if isinstance(record, Response):
            return self._response(record)
        if isinstance(record, ObligationUpdate):
            if record.reporting_entity:
                self.owners[record.allegation_id] = record.reporting_entity
            if record.recipient_class is not RecipientClass.MEMBER_STATE:
                return True
            known_o = self.obligations.get(record.obligation_key)
            if known_o is None or record.updated_at >= known_o.updated_at:
                self.obligations[record.obligation_key] = ObligationFacts(
                    allegation_id=record.allegation_id,
                    recipient=record.recipient,
                    kind=record.kind.value,
                    due_at=record.due_at,
                    state=record.state,
                    answered_at=record.answered_at,
                    updated_at=record.updated_at,
                )
            return True
        return False

    def _response(self, r: Response) -> bool:
        if r.kind is ResponseKind.REFERRAL_DECIDED:
            self.referrals.add(r.allegation_id)
        if r.actions_taken:
            self.reported_actions.setdefault(r.allegation_id, set()).update(
                a.value for a in r.actions_taken if a is not DisciplinaryAction.UNKNOWN
            )
        facts = self.states.get((r.allegation_id, r.recipient))
        if facts is None:
            # A reply before (or without) its notification on the topics read so far: keep it,
            # the notification may come later in the read.
            facts = self.states.setdefault((r.allegation_id, r.recipient), StateFacts())
        if r.kind is ResponseKind.ACKNOWLEDGED:
            facts.acknowledged_at = _earliest(facts.acknowledged_at, r.responded_at)
        elif r.kind in DECISIONS:
            facts.decided_at = _earliest(facts.decided_at, r.responded_at)
        elif r.kind is ResponseKind.OUTCOME_REPORTED:
            facts.outcome_at = _earliest(facts.outcome_at, r.responded_at)
        elif r.kind is ResponseKind.REFERRAL_DECIDED:
            facts.referral_decided = True
        return True

    def entity_of(self, allegation_id: str) -> str:
        """The owner the bus accepted when it has said so, else the latest event's entity."""
        owner = self.owners.get(allegation_id)
        if owner:
            return owner
        return self.allegations[allegation_id].reporting_entity
