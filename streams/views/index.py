"""The read model itself: records from the bus's topics in, overdue view and timelines out.

Pure and synchronous: :meth:`ViewIndex.ingest` takes one record's topic, key and
value bytes; the consumer loop (:mod:`seabus.streams.views.reader`) only moves bytes, so
everything here is tested without Kafka.

What is kept is chosen field by field: allegation events contribute their type,
sequence, reporting entity and time; notifications their recipient and rule
names; responses their kind and responding office. Subjects, narratives, victims
and free-text notes are decoded (the codec reads whole records) and dropped at
once.

Every record type carries an id the bus keeps stable across redeliveries, so a
record seen twice (at-least-once delivery, a replay) is indexed once.

Memory: timeline entries are kept as their JSON (with a 64-bit digest of their
identity for de-duplication within the allegation), not as models; a model per
entry cost ~1.8 kB, the JSON a fifth of that. They are decoded only when a
timeline is asked for.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Unpack

from pydantic import TypeAdapter
from sortedcontainers import SortedList

from seabus.schemas.copying import copy_fields
from seabus.schemas.enums import EscalationLevel, ObligationState
from seabus.schemas.errors import CodecError, ValidationFailed
from seabus.schemas.models import (
    AllegationEvent,
    DeadLetter,
    DeliveryAttempt,
    Escalation,
    Notification,
    ObligationUpdate,
    Response,
    SeabusRecord,
)
from seabus.streams.deadlines.obligations import obligation_key
from seabus.streams.views.lean import DecodingIndex, IndexOptions, NotificationFacts
from seabus.streams.views.models import (
    NO_LEVEL,
    DeadLetterEntry,
    DeliveryEntry,
    DueStatus,
    EscalationEntry,
    EventEntry,
    LevelCount,
    NotificationEntry,
    ObligationSummary,
    OverdueItem,
    OverdueReport,
    OverdueSummary,
    OwedItem,
    RecipientCount,
    RecipientObligations,
    ResponseEntry,
    Timeline,
    TimelineEntry,
    TrendDay,
)
from seabus.streams.views.overdue import OverdueFilter, current_level, overdue_item
from seabus.streams.views.stored import StoredObligation
from seabus.streams.views.summary import TREND_DAYS, LateClosures, day_date, day_of, day_start
from seabus.streams.views.topics import SourceTopic, TopicKind, classify

__all__ = ["Ingested", "ViewIndex"]

_MODELS: dict[TopicKind, type[SeabusRecord]] = {
    TopicKind.ALLEGATIONS: AllegationEvent,
    TopicKind.NOTIFY: Notification,
    TopicKind.RESPONSES: Response,
    TopicKind.ESCALATIONS: Escalation,
    TopicKind.DEADLETTER: DeadLetter,
    TopicKind.AUDIT: DeliveryAttempt,
    TopicKind.OBLIGATIONS: ObligationUpdate,
}

# The band lists levels from "not escalated" up, in the order the steps happen.
_LEVEL_ORDER = {name: i for i, name in enumerate((NO_LEVEL, *(level.value for level in EscalationLevel)))}

_ENTRY: TypeAdapter[TimelineEntry] = TypeAdapter(TimelineEntry)
_MAX = chr(0x10FFFF)  # sorts after every reference: (t, _MAX) follows every entry due at t

# (time, rank, arrival, identity digest, entry JSON): sorting on the first three is the timeline order.
_Row = tuple[float, int, int, int, bytes]

# Entries sharing a time keep the order in which things happen on the bus.
_RANK = {"event": 0, "notification": 1, "delivery": 2, "response": 3, "escalation": 4, "deadletter": 5}


class Ingested(StrEnum):
    """What :meth:`ViewIndex.ingest` did with one record."""

    INDEXED = "indexed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    UNDECODABLE = "undecodable"


class ViewIndex(DecodingIndex):
    """In-memory overdue view and timelines of every allegation on one topic prefix."""

    def __init__(self, **options: Unpack[IndexOptions]) -> None:
        super().__init__(**options)
        self.caught_up = False
        """Set by the reader once it has read every topic up to where it stood at start."""
        self._obligations: dict[str, StoredObligation] = {}
        # Open obligations in the overdue list's order (due time, then reference): the list's
        # first page and its counts need no pass over everything that is open.
        self._open_order: SortedList = SortedList()
        self._open_recipients: Counter[str] = Counter()
        self._open_entities: Counter[str] = Counter()
        self._escalated_open: set[str] = set()
        self._late = LateClosures()  # obligations closed after their due time, by day: the trend's past
        self._obligations_of: dict[str, list[str]] = {}  # a few per allegation: a list is smallest
        # A state asks for its own obligations over HTTP: by recipient, so the answer costs what it owns.
        self._by_recipient: dict[str, set[str]] = {}
        self._escalations: dict[str, Escalation] = {}
        self._entities: dict[str, str] = {}
        self._entries: dict[str, list[_Row]] = {}
        self._arrivals = 0
        self._deliveries: Counter[tuple[str, str]] = Counter()

    # -- in ---------------------------------------------------------------------

    def ingest(self, topic: str, *, key: bytes | None, value: bytes | None) -> Ingested:
        """Index one record of ``topic`` (a topic outside the prefix is ignored)."""
        source = classify(topic, self.prefix)
        outcome = Ingested.IGNORED if source is None else self._ingest(source, key, value)
        self.counts[outcome.value] += 1
        return outcome

    def _ingest(self, source: SourceTopic, key: bytes | None, value: bytes | None) -> Ingested:
        if value is None:
            if source.kind is TopicKind.OBLIGATIONS and key is not None:
                gone = self._obligations.pop(key.decode("utf-8", "replace"), None)  # compaction tombstone
                if gone is not None:
                    self._unindex_open(gone)
                    self._late.discard(gone)
                    keys = self._obligations_of.get(gone.allegation_id, [])
                    if gone.obligation_key in keys:
                        keys.remove(gone.obligation_key)
                    owned = self._by_recipient.get(gone.recipient)
                    if owned is not None:
                        owned.discard(gone.obligation_key)
                        if not owned:
                            del self._by_recipient[gone.recipient]
            return Ingested.IGNORED
        try:
            writer = self.writer_of(value)
            if source.kind is TopicKind.NOTIFY and writer in ("Escalation", "ReplyNotice"):
                return Ingested.IGNORED  # indexed from the escalations and responses topics
            if source.kind is TopicKind.ALLEGATIONS and writer == "OwnershipTransfer":
                return (
                    Ingested.IGNORED
                )  # whether it applied is the intake's call; obligations carry the entity
            if source.kind is TopicKind.NOTIFY:
                # Only the fields a timeline shows; the minimised allegation is skipped, not decoded.
                return self._add_notification(self.decoder.notification(value))
            record = self.decoder.model(value, _MODELS[source.kind])
        except (CodecError, ValidationFailed):
            return Ingested.UNDECODABLE  # the bus dead-letters such records itself
        return self.add(record, key=key)

    def add(self, record: SeabusRecord, *, key: bytes | None = None) -> Ingested:
        """Index one decoded record (``key`` matters only for dead letters without an original key)."""
        if isinstance(record, ObligationUpdate):
            self._add_obligation(record)
            return Ingested.INDEXED
        if isinstance(record, AllegationEvent):
            # An event on the topic may still be refused (NOT_OWNER): it never relabels an allegation.
            self._set_entity(record.allegation_id, record.reporting_entity, overwrite=False)
            return self._entry(record.allegation_id, f"event:{record.event_id}", _event_entry(record))
        if isinstance(record, Notification):
            return self._add_notification(NotificationFacts.of(record))
        if isinstance(record, DeliveryAttempt):
            outcome = self._entry(
                record.allegation_id, f"delivery:{record.attempt_id}", _delivery_entry(record)
            )
            if outcome is Ingested.INDEXED:
                self._deliveries[(record.channel.value, record.outcome.value)] += 1
            return outcome
        if isinstance(record, Response):
            return self._entry(
                record.allegation_id, f"response:{record.response_id}", _response_entry(record)
            )
        if isinstance(record, Escalation):
            outcome = self._entry(
                record.allegation_id, f"escalation:{record.escalation_id}", _escalation_entry(record)
            )
            if outcome is Ingested.INDEXED and record.recipient and record.obligation:
                okey = obligation_key(record.allegation_id, record.recipient, record.obligation)
                latest = self._escalations.get(okey)
                if latest is None or record.fired_at >= latest.fired_at:
                    self._escalations[okey] = record
                stored = self._obligations.get(okey)
                if stored is not None and stored.state is ObligationState.OPEN:
                    self._escalated_open.add(okey)
            return outcome
        if isinstance(record, DeadLetter):
            raw = record.original_key if record.original_key is not None else key
            if not raw:
                return Ingested.IGNORED
            # Held events share coordinates; v4 dead letters carry the digest instead of the bytes.
            digest = (record.original_value_sha256 or hashlib.sha256(record.original_value).hexdigest())[:16]
            identity = ":".join(
                (
                    record.source_topic,
                    str(record.source_partition),
                    str(record.source_offset),
                    record.reason,
                    digest,
                )
            )
            entry = copy_fields(DeadLetterEntry, record, at=record.dead_lettered_at)
            return self._entry(raw.decode("utf-8", "replace"), f"deadletter:{identity}", entry)
        return Ingested.IGNORED

    def _add_notification(self, n: NotificationFacts) -> Ingested:
        return self._entry(n.allegation_id, f"notification:{n.notification_id}", _notification_entry(n))

    def _add_obligation(self, update: ObligationUpdate) -> None:
        known = self._obligations.get(update.obligation_key)
        if update.reporting_entity:
            # Obligations are the bus's own records: the owner the intake accepted.
            self._set_entity(update.allegation_id, update.reporting_entity, overwrite=True)
        if known is None or update.updated_at >= known.updated_at:
            stored = StoredObligation.of(update)
            if known is not None:
                self._unindex_open(known)
                self._late.discard(known)
            self._obligations[stored.obligation_key] = stored
            self._late.add(stored)
            keys = self._obligations_of.setdefault(update.allegation_id, [])
            if stored.obligation_key not in keys:
                keys.append(stored.obligation_key)
            self._by_recipient.setdefault(stored.recipient, set()).add(stored.obligation_key)
            self._index_open(stored)

    def _set_entity(self, allegation_id: str, entity: str, *, overwrite: bool) -> None:
        """Record an allegation's entity; open obligations without their own move in the counts."""
        known = self._entities.get(allegation_id)
        if known == entity or (known is not None and not overwrite):
            return
        affected = [
            o
            for o in (self._obligations[k] for k in self._obligations_of.get(allegation_id, ()))
            if not o.reporting_entity
        ]
        for o in affected:
            self._unindex_open(o)
        self._entities[allegation_id] = entity
        for o in affected:
            self._index_open(o)

    @staticmethod
    def _order_key(o: StoredObligation) -> tuple[float, str, str, str, str]:
        return (o.due_at.timestamp(), o.allegation_id, o.recipient, o.kind.value, o.obligation_key)

    def _entity_of(self, o: StoredObligation) -> str | None:
        return o.reporting_entity or self._entities.get(o.allegation_id)

    def _index_open(self, o: StoredObligation) -> None:
        if o.state is not ObligationState.OPEN:
            return
        self._open_order.add(self._order_key(o))
        self._open_recipients[o.recipient] += 1
        entity = self._entity_of(o)
        if entity:
            self._open_entities[entity] += 1
        if o.last_level is not None or o.obligation_key in self._escalations:
            self._escalated_open.add(o.obligation_key)

    def _unindex_open(self, o: StoredObligation) -> None:
        if o.state is not ObligationState.OPEN:
            return
        self._open_order.discard(self._order_key(o))
        self._open_recipients[o.recipient] -= 1
        if self._open_recipients[o.recipient] <= 0:
            del self._open_recipients[o.recipient]
        entity = self._entity_of(o)
        if entity and entity in self._open_entities:
            self._open_entities[entity] -= 1
            if self._open_entities[entity] <= 0:
                del self._open_entities[entity]
        self._escalated_open.discard(o.obligation_key)

    def _entry(self, allegation_id: str, identity: str, entry: TimelineEntry) -> Ingested:
        digest = int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=8).digest(), "big")
        rows = self._entries.setdefault(allegation_id, [])
        if any(row[3] == digest for row in rows):
            return Ingested.DUPLICATE
        self._arrivals += 1
        rows.append(
            (entry.at.timestamp(), _RANK[entry.kind], self._arrivals, digest, _ENTRY.dump_json(entry))
        )
        return Ingested.INDEXED

    # -- out --------------------------------------------------------------------

    def overdue(
        self, now: datetime, where: OverdueFilter | None = None, *, limit: int | None = None
    ) -> OverdueReport:
        """Open obligations at ``now``: overdue first (longest overdue first), then by due time.

        ``limit`` keeps the first items only; the counts still cover every match.
        Unfiltered, the work is the page plus a binary search; filtered, one pass
        of cheap comparisons, with items built for the page only.
        """
        order = self._open_order
        cut = order.bisect_right((now.timestamp(), _MAX))  # due at or before now: overdue
        items: list[OverdueItem] = []
        wanted = len(order) if limit is None else limit
        if where is None or where.is_empty():
            overdue, due = cut, len(order) - cut
            for *_, okey in order.islice(0, wanted):
                items.append(self._item(self._obligations[okey], now))
        else:
            overdue = due = 0
            for position, (*_, okey) in enumerate(order):
                o = self._obligations[okey]
                status = DueStatus.OVERDUE if position < cut else DueStatus.DUE
                level, _, _ = current_level(o, self._escalations.get(okey))
                if not where.matches_fields(
                    recipient=o.recipient, entity=self._entity_of(o), level=level, status=status
                ):
                    continue
                if status is DueStatus.OVERDUE:
                    overdue += 1
                else:
                    due += 1
                if len(items) < wanted:
                    items.append(self._item(o, now))
        return OverdueReport(
            as_of=now,
            caught_up=self.caught_up,
            overdue=overdue,
            due=due,
            items=items,
            truncated=len(items) < overdue + due,
            recipients=sorted(self._open_recipients),
            reporting_entities=sorted(self._open_entities),
        )

    def _item(self, o: StoredObligation, now: datetime) -> OverdueItem:
        return overdue_item(
            o,
            escalation=self._escalations.get(o.obligation_key),
            reporting_entity=self._entities.get(o.allegation_id),
            now=now,
        )

    def timeline(self, allegation_id: str) -> Timeline | None:
        """Everything seen about one allegation, oldest first; None if nothing was."""
        rows = self._entries.get(allegation_id)
        obligations = [self._obligations[k] for k in self._obligations_of.get(allegation_id, ())]
        if rows is None and not obligations:
            return None
        return Timeline(
            allegation_id=allegation_id,
            reporting_entity=self._entities.get(allegation_id),
            caught_up=self.caught_up,
            entries=[_ENTRY.validate_json(row[4]) for row in sorted(rows or [], key=lambda r: r[:3])],
            obligations=[
                self._summary(u)
                for u in sorted(obligations, key=lambda u: (u.due_at, u.recipient, u.kind.value))
            ],
        )

    def recipient_obligations(self, recipient: str) -> list[StoredObligation]:
        """Every obligation ``recipient`` owes or owed, from its own index (never another's), by due time."""
        keys = self._by_recipient.get(recipient, ())
        return sorted(
            (self._obligations[k] for k in keys),
            key=lambda o: (o.due_at, o.allegation_id, o.kind.value, o.obligation_key),
        )

    def reporting_entity(self, allegation_id: str) -> str | None:
        """The entity that owns the allegation, as far as the view knows (None: not seen yet)."""
        return self._entities.get(allegation_id)

    def last_notified_at(self, allegation_id: str, recipient: str) -> datetime | None:
        """When ``recipient`` was last told about the allegation (its latest notification's ``routed_at``).

        A bound for reading the recipient's topic from there instead of from its start; None
        when the view has not seen such a notification (not told, or not read yet).
        """
        rank = _RANK["notification"]
        latest: datetime | None = None
        for row in self._entries.get(allegation_id, ()):
            if row[1] != rank:
                continue
            entry = _ENTRY.validate_json(row[4])
            if isinstance(entry, NotificationEntry) and entry.recipient == recipient:
                latest = entry.at if latest is None or entry.at > latest else latest
        return latest

    def obligations_of(
        self, recipient: str, now: datetime, *, open_only: bool = False
    ) -> RecipientObligations:
        """What ``recipient`` owes, by when, and what it answered: open first (soonest due first), then the rest."""
        owned = self.recipient_obligations(recipient)
        opened = [o for o in owned if o.state is ObligationState.OPEN]
        closed = [] if open_only else [o for o in owned if o.state is not ObligationState.OPEN]
        items = [self._owed(o, now) for o in (*opened, *closed)]
        return RecipientObligations(
            recipient=recipient,
            as_of=now,
            caught_up=self.caught_up,
            open=len(opened),
            overdue=sum(1 for item in items if item.overdue),
            items=items,
        )

    def _owed(self, o: StoredObligation, now: datetime) -> OwedItem:
        level, repeat, fired_at = current_level(o, self._escalations.get(o.obligation_key))
        is_open = o.state is ObligationState.OPEN
        return copy_fields(
            OwedItem,
            o,
            obligation=o.kind,
            answered=o.state is ObligationState.SATISFIED,
            overdue=is_open and o.due_at <= now,
            overdue_by_s=round((now - o.due_at).total_seconds(), 3) if is_open else None,
            level=level,
            repeat=repeat,
            last_escalated_at=fired_at,
        )

    def level_counts(self, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
        """Open and overdue obligation counts by current level (``NONE``: not escalated yet).

        Only escalated obligations are looked at one by one; the rest are counted
        from the ordered index, so a scrape costs what has escalated, not what is open.
        """
        opened: Counter[str] = Counter()
        overdue: Counter[str] = Counter()
        now_s = now.timestamp()
        for okey in self._escalated_open:
            o = self._obligations[okey]
            level, _, _ = current_level(o, self._escalations.get(okey))
            name = level.value if level is not None else NO_LEVEL
            opened[name] += 1
            if o.due_at.timestamp() <= now_s:
                overdue[name] += 1
        escalated, escalated_overdue = sum(opened.values()), sum(overdue.values())
        cut = self._open_order.bisect_right((now_s, _MAX))
        if len(self._open_order) > escalated:
            opened[NO_LEVEL] += len(self._open_order) - escalated
        if cut > escalated_overdue:
            overdue[NO_LEVEL] += cut - escalated_overdue
        return dict(opened), dict(overdue)

    def summary(self, now: datetime, *, top: int = 8, days: int = TREND_DAYS) -> OverdueSummary:
        """The dashboard's band at ``now``: overdue by recipient (``top`` of them) and level, and the trend.

        By recipient costs one pass over what is overdue (the recipient is part
        of the ordered key, so no obligation is looked up); by level is
        :meth:`level_counts`; the trend is a binary search per day plus the
        late-closure counters (see :mod:`seabus.streams.views.summary`).
        """
        order = self._open_order
        now_s = now.timestamp()
        cut = order.bisect_right((now_s, _MAX))
        per_recipient: Counter[str] = Counter(key[2] for key in order.islice(0, cut))
        ranked = sorted(per_recipient.items(), key=lambda kv: (-kv[1], kv[0]))
        shown, rest = ranked[:top], ranked[top:]
        _, by_level = self.level_counts(now)
        return OverdueSummary(
            as_of=now,
            caught_up=self.caught_up,
            overdue=cut,
            due=len(order) - cut,
            by_recipient=[RecipientCount(recipient=r, overdue=n) for r, n in shown],
            others=sum(n for _, n in rest),
            other_recipients=len(rest),
            by_level=[
                LevelCount(level=name, overdue=n)
                for name, n in sorted(
                    by_level.items(), key=lambda kv: _LEVEL_ORDER.get(kv[0], len(_LEVEL_ORDER))
                )
                if n > 0
            ],
            trend=self.trend(now, days=days),
        )

    def trend(self, now: datetime, *, days: int = TREND_DAYS) -> list[TrendDay]:
        """Per UTC day, the last ``days`` of them up to today: what was overdue at the day's end.

        Today ends at ``now``. Open obligations come from the ordered open list;
        closed ones count only if they closed after their due time. Records dated
        after ``now`` (a clock behind the bus's) are taken as already happened.
        """
        order = self._open_order
        today = day_of(now)
        first = today - days + 1
        still, due_late, closed_late = self._late.window(first, today)
        out: list[TrendDay] = []
        for i, day in enumerate(range(first, today + 1)):
            start = day_start(day).timestamp()
            end = day_start(day + 1) if day < today else now
            if day < today:
                open_overdue = order.bisect_left((end.timestamp(),))  # due before midnight
            else:
                open_overdue = order.bisect_right((now.timestamp(), _MAX))  # due at or before now
            open_new = open_overdue - order.bisect_left((start,))
            out.append(
                TrendDay(
                    day=day_date(day),
                    at=end,
                    overdue=open_overdue + still[i],
                    newly_overdue=open_new + due_late[i],
                    closed_late=closed_late[i],
                )
            )
        return out

    def delivery_counts(self) -> Mapping[tuple[str, str], int]:
        """Delivery attempts on the audit topic by (channel, outcome), each attempt once."""
        return dict(self._deliveries)

    def _summary(self, update: StoredObligation) -> ObligationSummary:
        level, _, _ = current_level(update, self._escalations.get(update.obligation_key))
        return copy_fields(ObligationSummary, update, obligation=update.kind, level=level)


def _event_entry(e: AllegationEvent) -> EventEntry:
    return copy_fields(EventEntry, e, at=e.published_at, status=e.allegation.status, changes=list(e.changes))


def _notification_entry(n: NotificationFacts) -> NotificationEntry:
    return copy_fields(NotificationEntry, n, at=n.routed_at, rules=list(n.rules))


def _delivery_entry(d: DeliveryAttempt) -> DeliveryEntry:
    return copy_fields(DeliveryEntry, d, at=d.attempted_at)


def _response_entry(r: Response) -> ResponseEntry:
    return copy_fields(ResponseEntry, r, at=r.responded_at, response_kind=r.kind)


def _escalation_entry(e: Escalation) -> EscalationEntry:
    return copy_fields(EscalationEntry, e, at=e.fired_at)
