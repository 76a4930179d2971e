"""Intake of one message from ``sea.allegations``: decode, validate, order, route.

Pure: given the bytes, the allegation's stored state and the clock, it returns
the new state and the messages to send (notifications, dead letters,
escalations). The Faust agent in :mod:`seabus.streams.agents.intake` only moves bytes.

Ordering rule (documented in docs/ROUTING.md):

* every event carries the complete snapshot, so applying a newer sequence after a
  gap loses nothing; it is applied and the gap logged;
* an update (UPDATED, CLOSED, WITHDRAWN) that arrives before its allegation's
  REPORTED event is *held* in the allegation's state and applied, in sequence
  order, as soon as the report arrives; on-call is told an update is waiting;
* an event whose sequence is not above the last applied one (and is not a
  duplicate ``event_id``) is stale: it goes to the dead-letter topic as
  ``OUT_OF_SEQUENCE`` — the newer snapshot stands and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from seabus.schemas.codec import Codec, decode_model, encode_model
from seabus.schemas.enums import AllegationEventType, DeadLetterReason, EscalationLevel, RecipientClass
from seabus.schemas.envelopes import (
    Headers,
    Outbound,
    Received,
    Source,
    dead_letter_reason,
    escalation_out,
    headers_for,
)
from seabus.schemas.errors import CodecError, Problem, ValidationFailed
from seabus.schemas.ids import stable_id
from seabus.schemas.limits import preview
from seabus.schemas.models import (
    AllegationEvent,
    Escalation,
    Notification,
    Obligation,
    OwnershipTransfer,
    SeabusRecord,
)
from seabus.schemas.validation import (
    allegation_event_problems,
    ownership_transfer_problems,
    recipient_class_of,
)
from seabus.streams.origin import OriginUnclear, origin_of
from seabus.streams.routing.notifications import EARLIER, build_notifications
from seabus.streams.routing.rules import RouteChoice, RoutingRules

MAX_HELD = 500
M = TypeVar("M", bound=SeabusRecord)
SOURCE = "seabus/router"


class Outcome(StrEnum):
    ROUTED = "routed"
    DUPLICATE = "duplicate"
    HELD = "held"
    DEAD_LETTERED = "dead_lettered"
    TRANSFERRED = "transferred"


class AllegationState(BaseModel):
    """What the bus remembers of one allegation (stored as JSON in a Faust table).

    The snapshot is kept without its confidential record: routing never needs it.
    """

    model_config = ConfigDict(extra="forbid")

    allegation_id: str
    reported: bool = False
    last_sequence: int | None = None
    last_event_type: str | None = None
    reporting_entity: str | None = None
    status: str | None = None
    snapshot: dict[str, object] | None = None
    recipients: list[str] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    held: list[dict[str, object]] = Field(default_factory=list)


@dataclass(kw_only=True)
class IntakeResult:
    outcome: Outcome
    state: AllegationState | None
    outbound: list[Outbound] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    reason: DeadLetterReason | None = None
    event: AllegationEvent | None = None
    applied: list[AllegationEvent] = field(default_factory=list)


class ObligationHook(Protocol):
    """Creates (or cancels) obligations for an applied event; returns each recipient's open ones."""

    def on_event(
        self, event: AllegationEvent, recipients: dict[str, RecipientClass], now: datetime
    ) -> dict[str, list[Obligation]]: ...

    def on_transfer(self, allegation_id: str, entity: str) -> None:
        """The allegation belongs to ``entity`` from now on (who hears of replies follows it)."""


class Intake:
    """The routing step, configured once; :meth:`handle` is called per message."""

    def __init__(
        self,
        *,
        rules: RoutingRules,
        codec: Codec,
        known_entities: frozenset[str] | None,
        directory: frozenset[str],
        max_bytes: int,
        obligations: ObligationHook | None = None,
    ) -> None:
        self.obligations = obligations
        self.rules = rules
        self.codec = codec
        self.known_entities = known_entities
        self.directory = directory
        self.max_bytes = max_bytes

    # -- entry point -------------------------------------------------------

    def handle(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        source: Source,
        state: AllegationState | None,
        now: datetime,
    ) -> IntakeResult:
        rec = Received(key=key, value=value, headers=headers, source=source)
        if self._writer_of(value) == "OwnershipTransfer":
            return self._transfer(rec, state, now)
        event = self._decoded(AllegationEvent, rec, now)
        if isinstance(event, IntakeResult):
            return event
        problems = allegation_event_problems(event, known_entities=self.known_entities, now=now)
        text_key = key.decode("utf-8", "replace") if key is not None else None
        if text_key != event.allegation_id:
            problems.insert(
                0,
                Problem(
                    "(record key)",
                    f"{preview(text_key)} is not the allegation_id; key every event by its allegation_id",
                ),
            )
        if problems:
            message = str(ValidationFailed(problems, subject="AllegationEvent"))
            return self._dead(rec, DeadLetterReason.VALIDATION_FAILED, message, now, event)
        if state is not None and state.allegation_id != event.allegation_id:  # pragma: no cover - keyed table
            raise AssertionError("state of another allegation passed in")
        refused = self._refused_origin(event, headers, state)
        if refused is not None:
            reason, message = refused
            return self._refuse(rec, reason, message, now, event)
        state = state.model_copy(deep=True) if state else AllegationState(allegation_id=event.allegation_id)
        # Only the owner's events get this far, so its event ids cannot be pre-empted by anyone else's.
        if event.event_id in state.seen_event_ids or any(
            h.get("event_id") == event.event_id and h.get("reporting_entity") == event.reporting_entity
            for h in state.held
        ):
            return IntakeResult(outcome=Outcome.DUPLICATE, state=None, event=event)

        if not state.reported and event.event_type is not AllegationEventType.REPORTED:
            if len(state.held) >= MAX_HELD:
                message = (
                    f"OUT_OF_SEQUENCE: {MAX_HELD} updates of allegation {event.allegation_id} already wait for its "
                    "REPORTED event; publish the report, then republish this update."
                )
                return self._dead(rec, DeadLetterReason.OUT_OF_SEQUENCE, message, now, event)
            return self._hold(event, state, now)
        if state.last_sequence is not None and event.sequence <= state.last_sequence:
            message = (
                f"OUT_OF_SEQUENCE: event {event.event_id} has sequence {event.sequence} but sequence "
                f"{state.last_sequence} of allegation {event.allegation_id} was already applied; the newer "
                f"snapshot stands. Republish with a sequence above {state.last_sequence} if this change is still needed."
            )
            return self._dead(rec, DeadLetterReason.OUT_OF_SEQUENCE, message, now, event)

        result = IntakeResult(outcome=Outcome.ROUTED, state=state, event=event)
        self._apply(event, state, now, result)
        if event.event_type is AllegationEventType.REPORTED and state.held:
            self._release_held(state, now, result)
        return result

    # -- transfers between entities ------------------------------------------

    def _writer_of(self, value: bytes | None) -> str | None:
        try:
            return None if value is None else self.codec.peek_writer(value).name
        except CodecError:
            return None  # decoding as an event reports why

    def _transfer(self, rec: Received, state: AllegationState | None, now: datetime) -> IntakeResult:
        """Hand an allegation to another entity: only with the bus's credentials, only from its owner.

        The record stays on ``sea.allegations`` with the allegation's events, which is
        the audit trail; the owners topic and the deadline engine follow the new owner.
        """
        transfer = self._decoded(OwnershipTransfer, rec, now)
        if isinstance(transfer, IntakeResult):
            return transfer
        problems = ownership_transfer_problems(transfer, known_entities=self.known_entities, now=now)
        if (rec.key.decode("utf-8", "replace") if rec.key is not None else None) != transfer.allegation_id:
            problems.insert(0, Problem("(record key)", "is not the allegation_id; key the transfer by it"))
        if problems:
            message = str(ValidationFailed(problems, subject="OwnershipTransfer"))
            return self._dead(rec, DeadLetterReason.VALIDATION_FAILED, message, now)
        aid = transfer.allegation_id
        try:
            origin = origin_of(rec.headers)
        except OriginUnclear:
            origin = "(several)"
        refusal: tuple[DeadLetterReason, str] | None = None
        if origin is not None:
            refusal = (
                DeadLetterReason.ORIGIN_MISMATCH,
                (
                    f"ORIGIN_MISMATCH: transfer {transfer.transfer_id} of allegation {aid} was written by "
                    f"{preview(origin)}; only the bus's operators transfer allegations (seabus transfer). "
                    "Nothing changed hands."
                ),
            )
        elif state is None or not state.reported:
            refusal = (
                DeadLetterReason.UNKNOWN_ALLEGATION,
                (
                    f"UNKNOWN_ALLEGATION: transfer {transfer.transfer_id}: allegation {aid} has not been reported, "
                    "so it has no owner to transfer it from."
                ),
            )
        elif transfer.transfer_id in state.seen_event_ids:
            return IntakeResult(outcome=Outcome.DUPLICATE, state=None)
        elif state.reporting_entity != transfer.from_entity:
            refusal = (
                DeadLetterReason.NOT_OWNER,
                (
                    f"NOT_OWNER: transfer {transfer.transfer_id}: allegation {aid} belongs to "
                    f"{state.reporting_entity}, not {transfer.from_entity}; nothing changed hands."
                ),
            )
        if refusal is not None:
            reason, message = refusal
            result = self._dead(rec, reason, message, now)
            result.outbound.append(
                self._refused_out(stable_id(transfer.transfer_id, reason.value), aid, message, now)
            )
            return result
        assert state is not None
        state = state.model_copy(deep=True)
        state.reporting_entity = transfer.to_entity
        state.seen_event_ids.append(transfer.transfer_id)
        if self.obligations is not None:
            self.obligations.on_transfer(aid, transfer.to_entity)
        result = IntakeResult(outcome=Outcome.TRANSFERRED, state=state)
        result.outbound.append(_owner_out(aid, transfer.to_entity))
        return result

    # -- origin and ownership ------------------------------------------------

    @staticmethod
    def _refused_origin(
        event: AllegationEvent, headers: Headers, state: AllegationState | None
    ) -> tuple[DeadLetterReason, str] | None:
        """Why the event may not be applied as written by its writer, or None when it may."""
        try:
            origin = origin_of(headers)
        except OriginUnclear as exc:
            return DeadLetterReason.ORIGIN_MISMATCH, (
                f"ORIGIN_MISMATCH: event {event.event_id} of allegation {event.allegation_id} carries {exc}; "
                "nobody can say who wrote it, so nothing was applied"
            )
        if origin is not None and origin != event.reporting_entity:
            return DeadLetterReason.ORIGIN_MISMATCH, (
                f"ORIGIN_MISMATCH: event {event.event_id} of allegation {event.allegation_id} was written by "
                f"{preview(origin)} but claims reporting_entity {event.reporting_entity}; an agency may "
                "publish only its own allegations. Nothing was applied."
            )
        owner = state.reporting_entity if state is not None and state.reported else None
        if owner is not None and event.reporting_entity != owner:
            return DeadLetterReason.NOT_OWNER, _not_owner(event, owner)
        return None

    def _refuse(
        self, rec: Received, reason: DeadLetterReason, message: str, now: datetime, event: AllegationEvent
    ) -> IntakeResult:
        """Dead letter with the reason, and on-call told: a refused origin is a security matter."""
        result = self._dead(rec, reason, message, now, event)
        result.outbound.append(self._refusal_escalation(event, reason, message, now))
        return result

    def _refusal_escalation(
        self, event: AllegationEvent, reason: DeadLetterReason, message: str, now: datetime
    ) -> Outbound:
        escalation_id = stable_id(event.event_id, event.reporting_entity, reason.value)
        return self._refused_out(escalation_id, event.allegation_id, message, now)

    def _refused_out(self, escalation_id: str, allegation_id: str, message: str, now: datetime) -> Outbound:
        """On-call told of a refused writer or owner: a security matter, whatever was refused."""
        return self._escalation_out(
            Escalation(
                escalation_id=escalation_id,
                allegation_id=allegation_id,
                level=EscalationLevel.REFUSED_ORIGIN,
                fired_at=now,
                reason=message,
            )
        )

    # -- steps -------------------------------------------------------------

    def _apply(
        self, event: AllegationEvent, state: AllegationState, now: datetime, result: IntakeResult
    ) -> None:
        decision = self.rules.decide(event)
        recipients: dict[str, list[RouteChoice]] = {r: list(c) for r, c in decision.recipients.items()}
        for earlier in state.recipients:
            recipients.setdefault(earlier, [EARLIER])
        unroutable = not any(recipient_class_of(r) is RecipientClass.MEMBER_STATE for r in recipients)
        classes = {r: c for r in recipients if (c := recipient_class_of(r)) is not None}
        owed = self.obligations.on_event(event, classes, now) if self.obligations else {}
        notifications = build_notifications(
            event, recipients=recipients, rules=self.rules, routed_at=now, obligations=owed
        )
        for n in notifications:
            result.outbound.append(self._notification_out(n))
        result.notifications.extend(notifications)
        if unroutable and self.rules.unroutable.escalate:
            result.outbound.append(
                self._escalation_out(
                    Escalation(
                        escalation_id=stable_id(event.event_id, "UNROUTABLE"),
                        allegation_id=event.allegation_id,
                        level=EscalationLevel.UNROUTABLE,
                        fired_at=now,
                        reason=(
                            f"allegation {event.allegation_id} from {event.reporting_entity} (event {event.event_id}): "
                            "no Member State could be determined (no subject nationality or contributing state); "
                            "routed to " + ", ".join(self.rules.unroutable.recipients)
                        ),
                    )
                )
            )
        for recipient in recipients:
            new = recipient not in state.recipients
            if (
                new
                and recipient_class_of(recipient) is RecipientClass.MEMBER_STATE
                and recipient not in self.directory
            ):
                result.outbound.append(
                    self._escalation_out(
                        Escalation(
                            escalation_id=stable_id(event.allegation_id, recipient, "NO_CHANNEL"),
                            allegation_id=event.allegation_id,
                            recipient=recipient,
                            level=EscalationLevel.UNROUTABLE,
                            fired_at=now,
                            reason=(
                                f"Member State {recipient} is concerned by allegation {event.allegation_id} but is not in "
                                "the recipients directory: the notification is on its Kafka topic and no push channel "
                                "delivers it. Add the state to recipients.yaml or inform it by other means."
                            ),
                        )
                    )
                )
        if state.reporting_entity is None:
            # The owners topic tells the gateway whose allegation this is (compacted, keyed by id).
            result.outbound.append(_owner_out(event.allegation_id, event.reporting_entity))
        state.reported = True
        state.last_sequence = event.sequence
        state.last_event_type = event.event_type.value
        state.reporting_entity = event.reporting_entity
        state.status = event.allegation.status.value
        state.snapshot = event.allegation.model_copy(update={"confidential": None}).model_dump(mode="json")
        state.recipients = list(recipients)
        state.seen_event_ids.append(event.event_id)
        result.applied.append(event)

    def _hold(self, event: AllegationEvent, state: AllegationState, now: datetime) -> IntakeResult:
        state.held.append(event.model_dump(mode="json"))
        esc = Escalation(
            escalation_id=stable_id(event.event_id, "HELD"),
            allegation_id=event.allegation_id,
            level=EscalationLevel.UNROUTABLE,
            fired_at=now,
            reason=(
                f"{event.event_type.value} event {event.event_id} (sequence {event.sequence}) of allegation "
                f"{event.allegation_id} from {event.reporting_entity} arrived before the allegation was reported; "
                "it is held and will be routed when the REPORTED event arrives. Ask the entity to publish the report."
            ),
        )
        return IntakeResult(
            outcome=Outcome.HELD, state=state, outbound=[self._escalation_out(esc)], event=event
        )

    def _release_held(self, state: AllegationState, now: datetime, result: IntakeResult) -> None:
        held = sorted((AllegationEvent.model_validate(h) for h in state.held), key=lambda e: e.sequence)
        state.held = []
        for event in held:
            if event.reporting_entity != state.reporting_entity:
                message = _not_owner(event, state.reporting_entity or "(unknown)")
                result.outbound.append(
                    self._held_dead_letter(event, DeadLetterReason.NOT_OWNER, message, now)
                )
                result.outbound.append(
                    self._refusal_escalation(event, DeadLetterReason.NOT_OWNER, message, now)
                )
                continue
            if state.last_sequence is not None and event.sequence <= state.last_sequence:
                message = (
                    f"OUT_OF_SEQUENCE: held event {event.event_id} has sequence {event.sequence}, not above the "
                    f"report's {state.last_sequence}; the newer snapshot stands."
                )
                result.outbound.append(
                    self._held_dead_letter(event, DeadLetterReason.OUT_OF_SEQUENCE, message, now)
                )
                continue
            self._apply(event, state, now, result)

    # -- records -----------------------------------------------------------

    def _decoded(self, model: type[M], rec: Received, now: datetime) -> M | IntakeResult:
        """The record as ``model``, or the dead letter saying why it is not one."""
        try:
            return decode_model(
                rec.value,  # type: ignore[arg-type]
                model,
                codec=self.codec,
                max_bytes=self.max_bytes,
                headers=rec.headers,
            )
        except (CodecError, ValidationFailed) as exc:
            return self._dead(rec, *dead_letter_reason(exc), now)

    def _held_dead_letter(
        self, event: AllegationEvent, reason: DeadLetterReason, message: str, now: datetime
    ) -> Outbound:
        """A held update that cannot be applied once its report came: its source offset is long done."""
        held = Received(
            key=event.allegation_id.encode(),
            value=encode_model(event, codec=self.codec),
            headers=[],
            source=Source(topic="(held)", partition=-1, offset=-1),
        )
        return held.dead_letter(reason, message, now=now, codec=self.codec, producer=SOURCE)

    def _notification_out(self, n: Notification) -> Outbound:
        return Outbound(
            route="notify",
            recipient=n.recipient,
            key=n.allegation_id.encode(),
            value=encode_model(n, codec=self.codec),
            headers=headers_for(n, n.notification_id, n.allegation_id, n.routed_at, SOURCE),
        )

    def _escalation_out(self, e: Escalation) -> Outbound:
        return escalation_out(e, codec=self.codec, source=SOURCE)

    def _dead(
        self,
        rec: Received,
        reason: DeadLetterReason,
        message: str,
        now: datetime,
        event: AllegationEvent | None = None,
    ) -> IntakeResult:
        out = rec.dead_letter(reason, message, now=now, codec=self.codec, producer=SOURCE)
        return IntakeResult(
            outcome=Outcome.DEAD_LETTERED, state=None, outbound=[out], reason=reason, event=event
        )


def _not_owner(event: AllegationEvent, owner: str) -> str:
    return (
        f"NOT_OWNER: allegation {event.allegation_id} belongs to {owner}, which reported it; "
        f"{event.reporting_entity} may not update, close or withdraw it (event {event.event_id}, "
        f"{event.event_type.value}). Nothing was applied and on-call was told."
    )


def _owner_out(allegation_id: str, entity: str) -> Outbound:
    """The owners topic tells the gateway whose allegation this is (compacted, keyed by id)."""
    return Outbound(
        route="owners", recipient=None, key=allegation_id.encode(), value=entity.encode(), headers=[]
    )


def recipients_of(outbound: Iterable[Outbound]) -> list[str]:
    return [o.recipient for o in outbound if o.route == "notify" and o.recipient]
