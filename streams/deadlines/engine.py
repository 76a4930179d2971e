"""The deadline engine: obligations in, escalations out, over two key-value stores.

The engine holds no state of its own except the due-time index, which is
derived: the lead passes two tables (obligations by obligation key, and one
small record per allegation), and after a restart rebuilds the index from the
stored obligation values. Each tick reads only the obligations the index says
are due, never the whole store. Time is always passed in.

Besides what notifications plan, obligations are opened by what happens later:
a status (SUBSTANTIATED opens "report the action taken"), a response
(INVESTIGATION_DECLINED opens a UN-side investigation) or an obligation going
overdue (an unanswered NIO request); see ``opened_by`` in the policy file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from seabus.schemas.models import AllegationEvent
from seabus.streams.deadlines.calendar import WorkingCalendar
from seabus.streams.deadlines.codec import ValueFormat, decode, encode
from seabus.streams.deadlines.due_index import DueIndex
from seabus.streams.deadlines.obligations import (
    EscalationDraft,
    Obligation,
    PendingResponse,
    apply_pending,
    apply_response,
    cancel,
    fast_forward,
    fire_due,
    next_step,
    plan_obligations,
    summary_draft,
    summary_time,
)
from seabus.streams.deadlines.policy import CaseFacts, Policy, PolicySet, Trigger
from seabus.streams.deadlines.vocabulary import EscalationLevel, RecipientClass, ResponseKind

__all__ = [
    "AllegationRecord",
    "DeadlineEngine",
    "ResponseOutcome",
    "ResponseResult",
    "Store",
]


class Store(Protocol):
    """The part of a Faust table (or a dict) the engine uses."""

    def get(self, key: str, /) -> Any: ...

    def __setitem__(self, key: str, value: Any, /) -> None: ...


class ResponseOutcome(StrEnum):
    """What became of a response; the two UNKNOWN outcomes go to the dead-letter topic."""

    APPLIED = "APPLIED"
    KEPT_PENDING = "KEPT_PENDING"
    UNKNOWN_ALLEGATION = "UNKNOWN_ALLEGATION"
    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"


def _facts_to_json(case: CaseFacts) -> dict[str, Any]:
    return {
        "victim_under_18": case.victim_under_18,
        "urgent": case.urgent,
        "paternity_claim": case.paternity_claim,
        "has_victims": case.has_victims,
        "source_stream": case.source_stream,
        "status": case.status,
        "personnel_categories": sorted(case.personnel_categories),
    }


def _facts_from_json(data: Mapping[str, Any] | None) -> CaseFacts:
    if not data:
        return CaseFacts()
    return CaseFacts(
        victim_under_18=bool(data.get("victim_under_18")),
        urgent=bool(data.get("urgent")),
        paternity_claim=bool(data.get("paternity_claim")),
        has_victims=bool(data.get("has_victims")),
        source_stream=data.get("source_stream"),
        status=data.get("status"),
        personnel_categories=frozenset(data.get("personnel_categories") or ()),
    )


@dataclass(frozen=True, slots=True)
class ResponseResult:
    """The outcome, plus the obligations the response changed (satisfied or released)."""

    outcome: ResponseOutcome
    changed: tuple[Obligation, ...] = ()


class AllegationRecord(BaseModel):
    """Per allegation: who was routed to, who was notified, its obligations, early answers.

    ``routed`` recipients are expected to be notified; a response from one of
    them before its notification is kept in ``pending`` and applied when the
    obligation is born. A response from anyone else is unknown.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    allegation_id: str
    routed: dict[str, RecipientClass] = {}
    notified: dict[str, AwareDatetime] = {}
    obligations: tuple[str, ...] = ()
    pending: tuple[PendingResponse, ...] = ()
    closed_at: AwareDatetime | None = None
    close_reason: str | None = None
    closed_status: str | None = None
    reporting_entity: str | None = None
    facts: dict[str, Any] | None = None

    @field_validator("closed_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)


class DeadlineEngine:
    """Turns notifications, responses and closings into obligations, and ticks into escalations."""

    def __init__(
        self,
        *,
        policies: PolicySet,
        obligations: Store,
        allegations: Store,
        calendar_for: Callable[[str], WorkingCalendar] | None = None,
        value_format: ValueFormat = ValueFormat.JSON_BYTES,
        adopt: Callable[[str, str], None] | None = None,
    ) -> None:
        """``adopt(new_key, sibling_key)`` tells the obligations table that a key the
        tick creates (an obligation opened by another going overdue) lives in the
        partition of its sibling; a tick has no current event to say so."""
        self._policies = policies
        self._obligations = obligations
        self._allegations = allegations
        self._calendar_for = calendar_for or (lambda _recipient: policies.calendar())
        self._format = value_format
        self._adopt = adopt
        self._index = DueIndex()

    # ------------------------------------------------------------------ inputs

    def on_routed(
        self,
        *,
        allegation_id: str,
        recipients: Mapping[str, RecipientClass],
        reporting_entity: str | None = None,
        case: CaseFacts | None = None,
    ) -> None:
        """Record who the router will notify, so their early responses are kept, not dropped.

        The reporting entity is kept too: obligation updates carry it for the
        dashboards' filters, also after a restart. ``case`` (the facts as a UN
        office sees them) is kept for the policies that responses and overdue
        obligations open later, when the allegation itself is not at hand.
        """
        record = self._record(allegation_id)
        update: dict[str, Any] = {}
        routed = {**record.routed, **recipients}
        if routed != record.routed:
            update["routed"] = routed
        if reporting_entity is not None and reporting_entity != record.reporting_entity:
            update["reporting_entity"] = reporting_entity
        if case is not None and _facts_to_json(case) != record.facts:
            update["facts"] = _facts_to_json(case)
        if update:
            self._save_record(record.model_copy(update=update))

    def on_notification(
        self,
        *,
        allegation_id: str,
        recipient: str,
        recipient_class: RecipientClass,
        case: CaseFacts,
        notified_at: datetime,
        reported_at: datetime | None = None,
        published_at: datetime | None = None,
    ) -> list[Obligation]:
        """Create the obligations a notification brings; returns the recipient's obligations.

        The list holds every obligation this recipient has on the allegation,
        new or earlier (open ones belong in the notification's ``obligations``).
        Later notifications (updates) never reset an existing obligation. A
        closed allegation gets no new ones, except those its closing status
        opens (a policy whose ``when.status`` names it: SUBSTANTIATED opens
        "report the action taken").

        With ``count_from: reported_at`` a recipient's first obligations count
        from the allegation's ``reported_at`` and those a later event opens from
        its ``published_at`` (both never after ``notified_at``).
        """
        record = self._record(allegation_id)
        created: list[Obligation] = []
        current: list[Obligation] = []
        chosen: list[Policy] | None = None
        if record.closed_at is not None:
            status = record.closed_status
            chosen = (
                [p for p in self._policies.plan(recipient_class, case) if status in p.statuses]
                if status is not None and status == case.status
                else []
            )
        start: datetime | None = None
        if self._policies.count_from == "reported_at":
            start = reported_at if recipient not in record.notified else published_at
        if record.closed_at is None or chosen:
            early = [p for p in record.pending if p.recipient == recipient]
            for planned in plan_obligations(
                allegation_id=allegation_id,
                recipient=recipient,
                recipient_class=recipient_class,
                case=case,
                notified_at=notified_at,
                policies=self._policies,
                calendar=self._calendar_for(recipient),
                window_start=start,
                chosen=chosen,
            ):
                key = planned.key
                existing = self._load(key)
                if existing is not None:
                    current.append(existing)
                    continue
                obligation = apply_pending(planned, early)
                self._save(key, obligation)
                created.append(obligation)
                current.append(obligation)
        self._save_record(
            record.model_copy(
                update={
                    "routed": {**record.routed, recipient: recipient_class},
                    "notified": {recipient: notified_at.astimezone(UTC), **record.notified},
                    "obligations": record.obligations + tuple(o.key for o in created),
                    "pending": tuple(p for p in record.pending if p.recipient != recipient),
                }
            )
        )
        return current

    def on_event(
        self, event: AllegationEvent, recipients: Mapping[str, RecipientClass], now: datetime
    ) -> dict[str, list[Obligation]]:
        """One allegation event routed to ``recipients``: cancel what it closes, then plan.

        Each recipient's facts are its own (a state owes according to how it
        relates to the subjects); returns each recipient's obligations.
        """
        urgency = self._policies.urgency
        self.on_allegation_event(
            allegation_id=event.allegation_id,
            event_type=str(event.event_type),
            status=str(event.allegation.status),
            at=now,
        )
        self.on_routed(
            allegation_id=event.allegation_id,
            recipients=recipients,
            reporting_entity=event.reporting_entity,
            case=CaseFacts.of(event.allegation, urgency=urgency),
        )
        out: dict[str, list[Obligation]] = {}
        for recipient, rclass in recipients.items():
            out[recipient] = self.on_notification(
                allegation_id=event.allegation_id,
                recipient=recipient,
                recipient_class=rclass,
                case=CaseFacts.of(
                    event.allegation, recipient=recipient, recipient_class=rclass, urgency=urgency
                ),
                notified_at=now,
                reported_at=event.allegation.reported_at,
                published_at=event.published_at,
            )
        return out

    def on_response(
        self,
        *,
        allegation_id: str,
        recipient: str,
        kind: ResponseKind,
        responded_at: datetime,
        responder: str | None = None,
        response_id: str | None = None,
        received_at: datetime | None = None,
    ) -> ResponseResult:
        """Apply a response to the recipient's obligations, or keep it, or say it is unknown.

        ``recipient`` is who answers (an alpha-3 code or an office); ``responder``
        and ``response_id`` are recorded on what the response satisfies. A
        response kind that opens policies (``opened_by: {response: ...}``; with
        ``answering: KIND`` only when it answered such an obligation of the
        responder) creates their obligations, counted from ``responded_at``.
        """
        record = self._allegations.get(allegation_id)
        if record is None:
            return ResponseResult(ResponseOutcome.UNKNOWN_ALLEGATION)
        current = decode(AllegationRecord, record, self._format)
        if recipient in current.notified:
            changed = []
            prefix = f"{allegation_id}|{recipient}|"
            for key in current.obligations:
                if not key.startswith(prefix):
                    continue
                before = self._load(key)
                if before is None:
                    continue
                after = apply_response(
                    before,
                    kind=kind,
                    recipient=recipient,
                    responded_at=responded_at,
                    responder=responder,
                    response_id=response_id,
                )
                if after != before:
                    self._save(key, after)
                    changed.append(after)
            opened: list[Obligation] = []
            answered = sorted({str(o.kind) for o in changed})
            for trigger in (
                Trigger(response=str(kind)),
                *(Trigger(str(kind), answering=k) for k in answered),
            ):
                opened += self._open_triggered(
                    allegation_id, trigger, by=recipient, start=responded_at, now=received_at or responded_at
                )
            return ResponseResult(ResponseOutcome.APPLIED, (*changed, *opened))
        if recipient in current.routed:
            early = PendingResponse(
                recipient=recipient,
                kind=kind,
                responded_at=responded_at,
                responder=responder,
                response_id=response_id,
            )
            if early not in current.pending:
                self._save_record(current.model_copy(update={"pending": (*current.pending, early)}))
            return ResponseResult(ResponseOutcome.KEPT_PENDING)
        return ResponseResult(ResponseOutcome.UNKNOWN_RECIPIENT)

    def on_closing(
        self,
        *,
        allegation_id: str,
        at: datetime,
        reason: str = "allegation closed",
        status: str | None = None,
    ) -> list[Obligation]:
        """Cancel every open obligation of the allegation; later notifications create none.

        A closing ``status`` (not event) spares what that status opened, and
        later notifications still create what it opens.
        """
        record = self._record(allegation_id)
        cancelled: list[Obligation] = []
        for key in record.obligations:
            before = self._load(key)
            if before is None or not before.is_open:
                continue
            if status is not None and status in self._policy(before).statuses:
                continue
            after = cancel(before, reason=reason, at=at)
            self._save(key, after)
            cancelled.append(after)
        if record.closed_at is None:
            self._save_record(
                record.model_copy(
                    update={"closed_at": at.astimezone(UTC), "close_reason": reason, "closed_status": status}
                )
            )
        elif status is None and record.closed_status is not None:
            self._save_record(record.model_copy(update={"close_reason": reason, "closed_status": None}))
        return cancelled

    def on_allegation_event(
        self, *, allegation_id: str, event_type: str, status: str | None, at: datetime
    ) -> list[Obligation]:
        """Cancel open obligations when the event or status is in the policy's closing set."""
        if not self._policies.is_closing(event_type=event_type, status=status):
            return []
        reason = f"allegation {event_type}" + (f" with status {status}" if status else "")
        by_event = self._policies.is_closing(event_type=event_type)
        return self.on_closing(
            allegation_id=allegation_id, at=at, reason=reason, status=None if by_event else status
        )

    # ------------------------------------------------------------------ time

    def tick(self, now: datetime, limit: int | None = None) -> list[EscalationDraft]:
        """Escalations due at ``now``: reads only the obligations the index says are due
        (at most ``limit`` of them, earliest first; :meth:`due` says whether more are).

        Obligations born overdue (``summary_pending``) are not escalated one by
        one: their steps up to now are marked done and each recipient gets one
        ``OVERDUE_SUMMARY`` for all of them that fell due in this tick. An
        obligation passing its due time opens what ``opened_by: {overdue: ...}``
        names.
        """
        drafts: list[EscalationDraft] = []
        summaries: dict[str, list[Obligation]] = defaultdict(list)
        for key in self._index.pop_due(now.timestamp(), limit):
            obligation = self._load(key)
            if obligation is None:
                continue
            policy = self._policy(obligation)
            if obligation.summary_pending:
                updated, steps = fast_forward(obligation, policy, now)
                went_overdue = any(s.level == EscalationLevel.OVERDUE and s.repeat == 0 for s in steps)
                self._obligations[key] = encode(updated, self._format)
                if updated.is_open:
                    summaries[updated.recipient].append(updated)
            else:
                updated, emitted = fire_due(obligation, policy, now)
                went_overdue = any(d.level == EscalationLevel.OVERDUE and d.repeat == 0 for d in emitted)
                if emitted:
                    self._obligations[key] = encode(updated, self._format)
                    drafts.extend(emitted)
            self._reindex(key, updated, policy)
            if went_overdue:
                self._open_triggered(
                    updated.allegation_id,
                    Trigger(overdue=str(updated.kind)),
                    by=updated.recipient,
                    start=updated.due_at,
                    now=now,
                    sibling=key,
                )
        drafts.extend(summary_draft(group, now) for _, group in sorted(summaries.items()))
        return drafts

    def due(self, now: datetime) -> bool:
        """Whether a step is due at ``now`` (what a tick with a ``limit`` left for the next)."""
        at = self._index.peek()
        return at is not None and at <= now.timestamp()

    def next_due(self) -> datetime | None:
        """When the next step falls due, so the caller can sleep until then."""
        at = self._index.peek()
        return None if at is None else datetime.fromtimestamp(at, UTC)

    def rebuild_index(self, values: Iterable[Any]) -> int:
        """Rebuild the due-time index from stored obligation values alone; returns its size."""
        return self.rebuild_index_from_items((None, raw) for raw in values)

    def rebuild_index_from_items(self, items: Iterable[tuple[str | None, Any]]) -> int:
        """As :meth:`rebuild_index`, from ``table.items()``: the table's key strings are
        shared with the index instead of copied (about 80 MB less for a million)."""

        def entries() -> Iterable[tuple[str, float]]:
            for stored_key, raw in items:
                obligation = decode(Obligation, raw, self._format)
                at = self._next_at(obligation, self._policy(obligation))
                if at is not None:
                    key = obligation.key
                    yield (stored_key if stored_key == key else key), at.timestamp()

        self._index.rebuild(entries())
        return len(self._index)

    @property
    def index(self) -> DueIndex:
        return self._index

    # ------------------------------------------------------------------ reads for callers

    def obligation(self, key: str) -> Obligation | None:
        return self._load(key)

    def on_transfer(self, allegation_id: str, entity: str) -> None:
        """Record the allegation's new owner (an audited transfer by the intake)."""
        record = self._record(allegation_id)
        if record.reporting_entity != entity:
            self._save_record(record.model_copy(update={"reporting_entity": entity}))

    def reporting_entity(self, allegation_id: str) -> str | None:
        raw = self._allegations.get(allegation_id)
        return None if raw is None else decode(AllegationRecord, raw, self._format).reporting_entity

    def obligations_of(self, allegation_id: str) -> list[Obligation]:
        record = self._allegations.get(allegation_id)
        if record is None:
            return []
        keys = decode(AllegationRecord, record, self._format).obligations
        return [o for o in (self._load(k) for k in keys) if o is not None]

    # ------------------------------------------------------------------ internals

    def _policy(self, obligation: Obligation) -> Policy:
        return self._policies.for_obligation(obligation.policy, obligation.kind, obligation.recipient_class)

    def _record(self, allegation_id: str) -> AllegationRecord:
        raw = self._allegations.get(allegation_id)
        if raw is None:
            return AllegationRecord(allegation_id=allegation_id)
        return decode(AllegationRecord, raw, self._format)

    def _save_record(self, record: AllegationRecord) -> None:
        self._allegations[record.allegation_id] = encode(record, self._format)

    def _load(self, key: str) -> Obligation | None:
        raw = self._obligations.get(key)
        return None if raw is None else decode(Obligation, raw, self._format)

    def _save(self, key: str, obligation: Obligation) -> None:
        self._obligations[key] = encode(obligation, self._format)
        self._reindex(key, obligation, self._policy(obligation))

    def _next_at(self, obligation: Obligation, policy: Policy) -> datetime | None:
        """When the obligation next needs the tick: its summary time, or its next step."""
        if obligation.summary_pending and obligation.is_open:
            return summary_time(obligation, self._policies.summary_every)
        step = next_step(obligation, policy)
        return None if step is None else step.fire_at

    def _reindex(self, key: str, obligation: Obligation, policy: Policy) -> None:
        at = self._next_at(obligation, policy)
        if at is None:
            self._index.remove(key)
        else:
            self._index.schedule(key, at.timestamp())

    def _open_triggered(
        self,
        allegation_id: str,
        trigger: Trigger,
        *,
        by: str,
        start: datetime,
        now: datetime,
        sibling: str | None = None,
    ) -> list[Obligation]:
        """Create what ``trigger`` opens; the party ``by`` caused it (responded, or is overdue).

        A policy's office classes (OIOS, OSC, VRA) owe under their own id; its
        MEMBER_STATE class means ``by`` itself, when ``by`` is a state. The
        office is recorded as notified, so that its answer counts.
        """
        classes = self._policies.triggered_classes(trigger)
        if not classes:
            return []
        record = self._record(allegation_id)
        if record.closed_at is not None:
            return []
        case = _facts_from_json(record.facts)
        by_class = record.routed.get(by)
        created: list[Obligation] = []
        notified = dict(record.notified)
        routed = dict(record.routed)
        window_start = start if self._policies.count_from == "reported_at" else now
        for rclass in sorted(classes):
            if rclass == RecipientClass.MEMBER_STATE:
                if by_class != RecipientClass.MEMBER_STATE:
                    continue
                recipient = by
            else:
                recipient = rclass.value
            for planned in plan_obligations(
                allegation_id=allegation_id,
                recipient=recipient,
                recipient_class=rclass,
                case=case,
                notified_at=now,
                policies=self._policies,
                calendar=self._calendar_for(recipient),
                window_start=window_start,
                chosen=self._policies.plan(rclass, case, trigger=trigger),
                opened_by=f"{trigger.response or trigger.overdue} ({by})",
            ):
                key = planned.key
                if self._load(key) is not None:
                    continue
                if sibling is not None and self._adopt is not None:
                    self._adopt(key, sibling)
                self._save(key, planned)
                created.append(planned)
                notified.setdefault(recipient, now.astimezone(UTC))
                routed.setdefault(recipient, rclass)
        if created:
            self._save_record(
                record.model_copy(
                    update={
                        "obligations": record.obligations + tuple(o.key for o in created),
                        "notified": notified,
                        "routed": routed,
                    }
                )
            )
        return created
