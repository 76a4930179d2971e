"""Obligations and their escalation ladder, as pure functions over frozen values.

An obligation is what one recipient owes on one allegation (acknowledge,
decide on investigation, report the outcome). Its stored value says everything
needed after a restart: the due time, the policy it was made under, and which
escalation steps were already emitted (``fired`` and ``repeats_done``), so
replaying a tick is idempotent and the due-time index can be rebuilt from the
values alone.

The ladder: reminders before the due time (to the recipient who owes), OVERDUE
(to that recipient, paging on-call) at it, SECOND_LEVEL (to the Special
Coordinator) some time after, then repeats of the
last level every ``repeat_every`` until answered (at most ``max_repeats``).
Steps fire in that order, each once. After downtime every pending reminder and
level still fires once, in order, but only the latest repeat that fell due is
emitted; the repeats skipped over are recorded as done, so an outage of weeks
does not flood on-call with a burst of identical escalations.

An obligation already overdue when it is created (a case reported in the past,
imported now) is ``summary_pending``: its steps up to now are not sent one by
one but marked as done, and it is counted in one ``OVERDUE_SUMMARY`` per
recipient (:func:`summary_draft`); its later steps fire as usual.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from seabus.schemas.copying import copy_fields
from seabus.schemas.ids import escalation_id
from seabus.schemas.models import Escalation
from seabus.streams.deadlines.calendar import WorkingCalendar
from seabus.streams.deadlines.policy import CaseFacts, Policy, PolicySet
from seabus.streams.deadlines.vocabulary import (
    EscalationLevel,
    ObligationKind,
    ObligationState,
    RecipientClass,
    ResponseKind,
)

__all__ = [
    "RELEASES",
    "SATISFIES",
    "EscalationDraft",
    "Obligation",
    "PendingResponse",
    "Step",
    "apply_pending",
    "apply_response",
    "cancel",
    "fast_forward",
    "fire_due",
    "merge_planned",
    "next_step",
    "notify_target",
    "obligation_key",
    "plan_obligations",
    "schedule",
    "summary_draft",
    "summary_time",
]


_DECISIONS = frozenset(
    {
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        ResponseKind.INVESTIGATION_JOINT_OIOS,
        ResponseKind.INVESTIGATION_DECLINED,
    }
)
SATISFIES: dict[ObligationKind, frozenset[ResponseKind]] = {
    # Any substantive reply proves receipt, so it also acknowledges.
    ObligationKind.ACKNOWLEDGE: _DECISIONS
    | {
        ResponseKind.ACKNOWLEDGED,
        ResponseKind.INTERIM_ACTION_TAKEN,
        ResponseKind.PROGRESS_REPORTED,
        ResponseKind.OUTCOME_REPORTED,
        ResponseKind.ACTION_TAKEN_REPORTED,
        ResponseKind.REFERRAL_DECIDED,
    },
    # A reported outcome implies the state did investigate, hence decided.
    ObligationKind.DECIDE: _DECISIONS | {ResponseKind.OUTCOME_REPORTED},
    ObligationKind.REPORT_OUTCOME: frozenset({ResponseKind.OUTCOME_REPORTED}),
    ObligationKind.REPORT_ACTION_TAKEN: frozenset({ResponseKind.ACTION_TAKEN_REPORTED}),
    # The UN-side investigation is answered by its outcome.
    ObligationKind.INVESTIGATE: frozenset({ResponseKind.OUTCOME_REPORTED}),
    ObligationKind.DECIDE_REFERRAL: frozenset({ResponseKind.REFERRAL_DECIDED}),
}
"""Which response kinds answer (satisfy) which obligation."""

RELEASES: dict[ObligationKind, frozenset[ResponseKind]] = {
    # A state that declines to investigate is not the investigating party.
    ObligationKind.REPORT_OUTCOME: frozenset({ResponseKind.INVESTIGATION_DECLINED}),
}
"""Response kinds that make an obligation moot (cancelled, with who and when recorded)."""

_VERBS = {
    ObligationKind.ACKNOWLEDGE: ("acknowledge receipt of", "acknowledged receipt of"),
    ObligationKind.DECIDE: ("decide on investigating", "decided on investigating"),
    ObligationKind.REPORT_OUTCOME: (
        "report the investigation outcome of",
        "reported the investigation outcome of",
    ),
    ObligationKind.REPORT_ACTION_TAKEN: (
        "report the action taken on",
        "reported the action taken on",
    ),
    ObligationKind.INVESTIGATE: (
        "investigate and report the outcome of",
        "reported the outcome of its investigation of",
    ),
    ObligationKind.DECIDE_REFERRAL: (
        "decide on referral for criminal accountability of",
        "decided on referral for criminal accountability of",
    ),
}


def obligation_key(allegation_id: str, recipient: str, kind: ObligationKind) -> str:
    """Store key of an obligation: one per allegation, recipient and kind."""
    return f"{allegation_id}|{recipient}|{kind}"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class PendingResponse(_Value):
    """A response kept until the obligation it answers exists."""

    recipient: str
    kind: ResponseKind
    responded_at: AwareDatetime
    responder: str | None = None
    response_id: str | None = None

    _to_utc = field_validator("responded_at")(_utc)


class Obligation(_Value):
    """What one recipient owes on one allegation; JSON-serialisable for a changelog table."""

    allegation_id: str
    recipient: str
    recipient_class: RecipientClass
    kind: ObligationKind
    policy: str
    created_at: AwareDatetime
    due_at: AwareDatetime
    state: ObligationState = ObligationState.OPEN
    fired: tuple[str, ...] = ()
    repeats_done: int = 0
    answered_by: str | None = None
    answered_at: AwareDatetime | None = None
    answered_kind: ResponseKind | None = None
    answered_response_id: str | None = None
    cancelled_at: AwareDatetime | None = None
    cancel_reason: str | None = None
    window_start: AwareDatetime | None = None
    summary_pending: bool = False
    opened_by: str | None = None

    _to_utc = field_validator("created_at", "due_at", "answered_at", "cancelled_at", "window_start")(_utc)

    @property
    def key(self) -> str:
        return obligation_key(self.allegation_id, self.recipient, self.kind)

    @property
    def is_open(self) -> bool:
        return self.state == ObligationState.OPEN

    @property
    def answered_late(self) -> bool | None:
        """True when answered after the due time; None while unanswered."""
        return None if self.answered_at is None else self.answered_at > self.due_at


@dataclass(frozen=True, slots=True)
class Step:
    """One rung of the ladder; ``repeat`` counts repeats of a level (reminders: ordinal)."""

    step_id: str
    level: EscalationLevel
    repeat: int
    fire_at: datetime


class EscalationDraft(_Value):
    """An escalation to publish on ``sea.escalations`` and on ``target``'s notify topic.

    It carries no confidential data: ids, recipient, step and due time only.
    """

    escalation_id: str
    obligation_key: str
    allegation_id: str
    recipient: str
    recipient_class: RecipientClass
    obligation: ObligationKind | None
    policy: str
    level: EscalationLevel
    repeat: int
    target: str
    due_at: AwareDatetime
    fire_at: AwareDatetime
    fired_at: AwareDatetime
    reason: str
    obligation_keys: tuple[str, ...] = ()

    def to_record(self) -> Escalation:
        """The contract record for ``sea.escalations`` (key: ``allegation_id``)."""
        return copy_fields(Escalation, self)


# --------------------------------------------------------------------------- planning


def plan_obligations(
    *,
    allegation_id: str,
    recipient: str,
    recipient_class: RecipientClass,
    case: CaseFacts,
    notified_at: datetime,
    policies: PolicySet,
    calendar: WorkingCalendar | None = None,
    window_start: datetime | None = None,
    chosen: Sequence[Policy] | None = None,
    opened_by: str | None = None,
) -> list[Obligation]:
    """The obligations a notification (or a trigger) creates, due by the recipient's calendar.

    Windows count from ``window_start`` (a past ``reported_at``; never after
    ``notified_at``), else from ``notified_at``; one already over by then is
    born ``summary_pending``. ``chosen`` replaces the policy selection (the
    caller picked what a status or a trigger opens).

    Pure: calling it again yields the same values; use :func:`merge_planned` so
    an obligation that already exists keeps its due time and history.
    """
    working = calendar if calendar is not None else policies.calendar()
    start = notified_at if window_start is None else min(window_start, notified_at)
    selected = chosen if chosen is not None else policies.plan(recipient_class, case)
    out = []
    for policy in selected:
        due = policy.window.due(start, working)
        out.append(
            Obligation(
                allegation_id=allegation_id,
                recipient=recipient,
                recipient_class=recipient_class,
                kind=policy.obligation,
                policy=policy.name,
                created_at=notified_at,
                due_at=due,
                window_start=None if start == notified_at else start,
                summary_pending=due <= notified_at,
                opened_by=opened_by,
            )
        )
    return out


def merge_planned(existing: Obligation | None, planned: Obligation) -> Obligation:
    """A later notification never resets an obligation: the first one wins."""
    return existing if existing is not None else planned


def apply_pending(obligation: Obligation, pending: Iterable[PendingResponse]) -> Obligation:
    """Apply responses that arrived before the obligation existed, oldest first."""
    for response in sorted(pending, key=lambda r: r.responded_at):
        obligation = apply_response(
            obligation,
            kind=response.kind,
            recipient=response.recipient,
            responded_at=response.responded_at,
            responder=response.responder,
            response_id=response.response_id,
        )
    return obligation


# --------------------------------------------------------------------------- answers


def apply_response(
    obligation: Obligation,
    *,
    kind: ResponseKind,
    recipient: str,
    responded_at: datetime,
    responder: str | None = None,
    response_id: str | None = None,
) -> Obligation:
    """Satisfy (or release) an open obligation if this response answers it.

    Only the obligated ``recipient`` can answer; ``responder`` (the person or
    principal, default the recipient) and ``response_id`` are recorded. The first
    answer is kept: a closed obligation, or a response that does not answer it,
    is returned unchanged.
    """
    if not obligation.is_open or recipient != obligation.recipient:
        return obligation
    answer = {
        "answered_by": responder or recipient,
        "answered_at": responded_at.astimezone(UTC),
        "answered_kind": kind,
        "answered_response_id": response_id,
    }
    if kind in SATISFIES.get(obligation.kind, frozenset()):
        return obligation.model_copy(update={"state": ObligationState.SATISFIED, **answer})
    if kind in RELEASES.get(obligation.kind, frozenset()):
        return obligation.model_copy(
            update={
                "state": ObligationState.CANCELLED,
                "cancelled_at": responded_at.astimezone(UTC),
                "cancel_reason": f"released by {kind}",
                **answer,
            }
        )
    return obligation


def cancel(obligation: Obligation, *, reason: str, at: datetime) -> Obligation:
    """Cancel an open obligation (the allegation closed); closed ones stay as they are."""
    if not obligation.is_open:
        return obligation
    return obligation.model_copy(
        update={
            "state": ObligationState.CANCELLED,
            "cancelled_at": at.astimezone(UTC),
            "cancel_reason": reason,
        }
    )


# --------------------------------------------------------------------------- the ladder


_REMINDER = EscalationLevel.REMINDER
_OVERDUE_0 = f"{EscalationLevel.OVERDUE}:0"
_SECOND_0 = f"{EscalationLevel.SECOND_LEVEL}:0"


def _base_steps(obligation: Obligation, policy: Policy) -> list[Step]:
    """Reminders, OVERDUE and SECOND_LEVEL: the finite head of the ladder, in time order.

    A reminder that would fall at or before the notification is left out.
    """
    due = obligation.due_at
    steps: list[Step] = []
    if policy.reminders:
        times = [(lead.before(due), lead.text) for lead in policy.reminders]
        if len(times) > 1:
            times.sort(key=lambda pair: pair[0])
        for at, text in times:
            if at > obligation.created_at:
                steps.append(Step(f"{_REMINDER}:{text}", _REMINDER, len(steps), at))
    steps.append(Step(_OVERDUE_0, EscalationLevel.OVERDUE, 0, due))
    if policy.second_level_after is not None:
        second = policy.second_level_after.after(due)
        steps.append(Step(_SECOND_0, EscalationLevel.SECOND_LEVEL, 0, second))
    return steps


def _repeat_step(last: Step, policy: Policy, repeat: int) -> Step | None:
    if policy.repeat_every is None or repeat < 1:
        return None
    if policy.max_repeats is not None and repeat > policy.max_repeats:
        return None
    at = policy.repeat_every.after(last.fire_at, repeat)
    return Step(f"{last.level}:{repeat}", last.level, repeat, at)


def _pending_base(obligation: Obligation, base: list[Step]) -> list[Step]:
    """Base steps after the last one already fired (a ladder only moves up)."""
    if obligation.repeats_done > 0:
        return []
    fired = set(obligation.fired)
    last = max((i for i, step in enumerate(base) if step.step_id in fired), default=-1)
    return base[last + 1 :]


def schedule(obligation: Obligation, policy: Policy) -> Iterator[Step]:
    """Every step of the ladder in time order, fired or not; lazy, since repeats may not end."""
    base = _base_steps(obligation, policy)
    yield from base
    repeat = 1
    while (step := _repeat_step(base[-1], policy, repeat)) is not None:
        yield step
        repeat += 1


def next_step(obligation: Obligation, policy: Policy) -> Step | None:
    """The first step not yet fired; None once the obligation is closed or the ladder ends."""
    if not obligation.is_open:
        return None
    base = _base_steps(obligation, policy)
    pending = _pending_base(obligation, base)
    if pending:
        return pending[0]
    return _repeat_step(base[-1], policy, obligation.repeats_done + 1)


def _repeats_due(last: Step, policy: Policy, after: int, now: datetime) -> int:
    """The highest repeat number whose time has come (``after`` when none has)."""
    interval = policy.repeat_every
    if interval is None or last.fire_at > now:
        return after
    if interval.months == 0:
        count = (now - last.fire_at) // interval.delta if interval.delta > timedelta(0) else 0
    else:
        count = after
        while interval.after(last.fire_at, count + 1) <= now:
            count += 1
    if policy.max_repeats is not None:
        count = min(count, policy.max_repeats)
    return max(count, after)


def fire_due(
    obligation: Obligation, policy: Policy, now: datetime
) -> tuple[Obligation, list[EscalationDraft]]:
    """Emit every step due by ``now`` that has not fired, and record it as fired.

    Idempotent: a second call with the same ``now`` emits nothing. See the module
    docstring for the catch-up rule after downtime.
    """
    if not obligation.is_open:
        return obligation, []
    base = _base_steps(obligation, policy)
    pending = _pending_base(obligation, base)
    due_now = [step for step in pending if step.fire_at <= now]  # a prefix: pending is in order
    steps = list(due_now)
    fired = obligation.fired + tuple(step.step_id for step in due_now)
    repeats_done = obligation.repeats_done
    if len(due_now) == len(pending):  # the head of the ladder is done: repeats may be due
        latest = _repeats_due(base[-1], policy, repeats_done, now)
        if latest > repeats_done:
            step = _repeat_step(base[-1], policy, latest)
            assert step is not None
            steps.append(step)
            repeats_done = latest
    if not steps:
        return obligation, []
    updated = obligation.model_copy(update={"fired": fired, "repeats_done": repeats_done})
    return updated, [_draft(updated, policy, step, now) for step in steps]


def fast_forward(obligation: Obligation, policy: Policy, now: datetime) -> tuple[Obligation, list[Step]]:
    """Mark every step due by ``now`` as done without sending it (for the summary).

    Returns the obligation, no longer ``summary_pending``, and the steps it passed.
    """
    updated, drafts = fire_due(obligation, policy, now)
    steps = [Step(d.escalation_id, d.level, d.repeat, d.fire_at) for d in drafts]
    return updated.model_copy(update={"summary_pending": False}), steps


def summary_time(obligation: Obligation, every: timedelta) -> datetime:
    """When a ``summary_pending`` obligation is summarised: the end of the interval of
    ``every`` (counted from the epoch) in which it was created, so that everything
    one import creates within an interval is due in the same tick. One created
    exactly at a boundary waits for the next (the tick at that boundary may be over)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + every * ((obligation.created_at - epoch) // every + 1)


def summary_draft(obligations: Sequence[Obligation], now: datetime) -> EscalationDraft:
    """One ``OVERDUE_SUMMARY`` for one recipient's obligations already overdue at creation.

    Its id is a UUIDv5 of the recipient and the sorted obligation keys: a tick
    repeated after a crash (same obligations, still pending) sends the same id.
    """
    assert obligations, "a summary needs at least one obligation"
    ordered = sorted(obligations, key=lambda o: o.key)
    first = ordered[0]
    keys = tuple(o.key for o in ordered)
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    summary_key = f"summary|{first.recipient}|{digest}"
    allegations = sorted({o.allegation_id for o in ordered})
    shown = ", ".join(allegations[:10]) + (
        f" and {len(allegations) - 10} more" if len(allegations) > 10 else ""
    )
    reason = (
        f"{first.recipient_class} {first.recipient}: {len(ordered)} obligation(s) on "
        f"{len(allegations)} allegation(s) were already overdue when the bus learnt of them "
        f"(cases reported in the past): {shown}. Sent once as this summary instead of one "
        "escalation each; see obligation_keys or `seabus obligations`."
    )
    return EscalationDraft(
        escalation_id=escalation_id(summary_key, EscalationLevel.OVERDUE_SUMMARY),
        obligation_key=summary_key,
        allegation_id=first.allegation_id,
        recipient=first.recipient,
        recipient_class=first.recipient_class,
        obligation=None,
        policy="overdue-at-import",
        level=EscalationLevel.OVERDUE_SUMMARY,
        repeat=0,
        target=first.recipient,
        due_at=min(o.due_at for o in ordered),
        fire_at=now,
        fired_at=now,
        reason=reason,
        obligation_keys=keys,
    )


def _draft(obligation: Obligation, policy: Policy, step: Step, now: datetime) -> EscalationDraft:
    key = obligation.key
    return EscalationDraft(
        escalation_id=escalation_id(key, step.step_id),
        obligation_key=key,
        allegation_id=obligation.allegation_id,
        recipient=obligation.recipient,
        recipient_class=obligation.recipient_class,
        obligation=obligation.kind,
        policy=policy.name,
        level=step.level,
        repeat=step.repeat,
        target=notify_target(obligation.recipient, step.level),
        due_at=obligation.due_at,
        fire_at=step.fire_at,
        fired_at=now,
        reason=_reason(obligation, step),
    )


def notify_target(recipient: str, level: EscalationLevel) -> str:
    """Whose ``sea.notify.<ID>`` topic (and channels) an escalation step goes to.

    Reminders and OVERDUE (and their repeats) go to the recipient who owes the
    answer; SECOND_LEVEL (and its repeats) to the Special Coordinator. On-call is
    paged for every step besides, from ``sea.escalations``.
    """
    if level == EscalationLevel.SECOND_LEVEL:
        return RecipientClass.OSC.value
    return recipient


def _reason(obligation: Obligation, step: Step) -> str:
    """Who owes what on which allegation, and since when: ids and times only."""
    to_do, done = _VERBS.get(obligation.kind, ("answer", "answered"))
    who = f"{obligation.recipient_class} {obligation.recipient}"
    due = obligation.due_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if step.level == EscalationLevel.REMINDER:
        return f"Reminder: {who} is asked to {to_do} allegation {obligation.allegation_id} by {due}."
    text = f"{who} has not {done} allegation {obligation.allegation_id}, due {due}"
    if step.level == EscalationLevel.SECOND_LEVEL:
        text += "; raised to the Special Coordinator"
    if step.repeat > 0:
        text += f" (repeat {step.repeat})"
    return text + "."
