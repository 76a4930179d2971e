"""The verdict: every acknowledged event reached every recipient the routing rules name.

Expected recipients come from the project's own rules (``routes.yaml`` through
:func:`seabus.streams.routing.rules.load_rules` and :meth:`RoutingRules.decide`); an
update is also owed to everyone its allegation's report went to (the bus keeps
earlier recipients informed). A notification is matched to its event by
``source_event_id`` and ``recipient``, and checked against its allegation id and
sequence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from faults.events import Planned
from faults.observe import Record, decode_notification, is_escalation
from faults.publisher import Acked
from seabus.schemas.models import AllegationEvent, Notification
from seabus.streams.routing.rules import RoutingRules, load_rules

ROUTES = Path(__file__).resolve().parents[2] / "deploy" / "config" / "routes.yaml"


@dataclass(frozen=True, slots=True)
class Missing:
    allegation_id: str
    sequence: int
    event_type: str
    event_id: str
    recipient: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return (
            f"{self.allegation_id} seq {self.sequence} ({self.event_type}, event {self.event_id}) -> "
            f"{self.recipient}; acknowledged at allegations/{self.partition}@{self.offset}"
        )


@dataclass
class Verdict:
    events_acked: int = 0
    expected: int = 0
    found: int = 0
    missing: list[Missing] = field(default_factory=list)
    notifications_raw: int = 0
    notifications_distinct: int = 0
    undecodable: int = 0
    mismatched: list[str] = field(default_factory=list)  # right event id, wrong allegation id / sequence
    unexpected: int = 0  # a notification for a pair the rules do not name (or an unacknowledged event)
    order_violations: int = 0
    recipients: Counter[str] = field(default_factory=Counter)

    @property
    def duplicates(self) -> int:
        return self.notifications_raw - self.notifications_distinct

    @property
    def events_missing(self) -> int:
        return len({m.event_id for m in self.missing})

    @property
    def missing_by_partition(self) -> dict[int, int]:
        out: Counter[int] = Counter()
        for eid, part in {(m.event_id, m.partition) for m in self.missing}:
            del eid
            out[part] += 1
        return dict(sorted(out.items()))


def load_routing() -> RoutingRules:
    return load_rules(ROUTES)


def expected_pairs(
    acked: list[Acked], planned: dict[str, Planned], rules: RoutingRules
) -> dict[tuple[str, str], Acked]:
    """(event_id, recipient) -> the acknowledged event that owes it."""
    first_recipients: dict[str, set[str]] = {}
    for p in planned.values():
        if p.event.sequence == 1:
            first_recipients[p.event.allegation_id] = set(rules.decide(p.event).recipients)
    out: dict[tuple[str, str], Acked] = {}
    for ack in acked:
        event: AllegationEvent = planned[ack.event_id].event
        recipients = set(rules.decide(event).recipients)
        if event.sequence > 1:
            recipients |= first_recipients.get(event.allegation_id, set())
        for r in recipients:
            out[(ack.event_id, r)] = ack
    return out


def verify(acked: list[Acked], planned: dict[str, Planned], records: list[Record]) -> Verdict:
    rules = load_routing()
    want = expected_pairs(acked, planned, rules)
    verdict = Verdict(events_acked=len(acked), expected=len(want))
    ids: list[str] = []
    got: set[tuple[str, str]] = set()
    first_seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    delivered: set[str] = set()
    for rec in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        if is_escalation(rec.value):
            continue
        n: Notification | None = decode_notification(rec.value)
        if n is None:
            verdict.undecodable += 1
            continue
        ids.append(n.notification_id)
        pair = (n.source_event_id, n.recipient)
        ack = want.get(pair)
        if ack is None:
            verdict.unexpected += 1
        elif n.allegation_id != ack.allegation_id or n.sequence != ack.sequence:
            verdict.mismatched.append(
                f"{n.notification_id}: event {n.source_event_id} says {n.allegation_id} seq {n.sequence}, "
                f"published as {ack.allegation_id} seq {ack.sequence}"
            )
        else:
            got.add(pair)
        if n.notification_id not in delivered:
            delivered.add(n.notification_id)
            first_seen[(n.recipient, n.allegation_id)].append(n.sequence)
    verdict.notifications_raw = len(ids)
    verdict.notifications_distinct = len(set(ids))
    verdict.found = len(got)
    verdict.order_violations = sum(seqs != sorted(seqs) for seqs in first_seen.values())
    for (event_id, recipient), ack in sorted(
        want.items(), key=lambda kv: (kv[1].allegation_id, kv[1].sequence, kv[0][1])
    ):
        verdict.recipients[recipient] += 1
        if (event_id, recipient) not in got:
            verdict.missing.append(
                Missing(
                    allegation_id=ack.allegation_id,
                    sequence=ack.sequence,
                    event_type=ack.event_type,
                    event_id=event_id,
                    recipient=recipient,
                    partition=ack.partition,
                    offset=ack.offset,
                )
            )
    return verdict
