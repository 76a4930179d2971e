"""Transactional outbox with SQLite: an agency's case row and its event never disagree.

The problem: an agency system updates its own database *and* publishes an event.
Doing one after the other loses the event when the process dies in between (the
case is saved, Member States are never told), or announces a change the
database then rolls back. The outbox fixes it with one rule:

1. In ONE database transaction, write the case row and an *outbox* row holding
   the complete event (with its event_id). Either both are saved or neither.
2. A relay reads unsent outbox rows in order, publishes each with the seabus
   SDK, and marks it sent only after Kafka acknowledged it.

If the relay dies between "Kafka acknowledged" and "marked sent", the row is
published again on restart with the *same* event_id, and the bus drops the
duplicate. Nothing is lost, nothing is routed twice.

Run the demo against a running bus (``seabus run``)::

    python docs/examples/outbox_sqlite.py --db /tmp/cases.sqlite3 --topic sea.allegations

It connects as seabus does: to SEABUS_BOOTSTRAP with SEABUS_KAFKA__* (TLS, SASL), or
to the local cluster ``seabus run`` started, with its generated credentials.

It records one synthetic allegation and relays the outbox once.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from seabus.connectors.publisher import Publisher, PublishFailed, check_event
from seabus.deploy.cli.common import connection_or_local, settings
from seabus.schemas.enums import PersonnelCategory
from seabus.schemas.errors import ValidationFailed
from seabus.schemas.models import AllegationEvent
from seabus.streams.synthetic import synthetic_allegation, synthetic_event

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    allegation_id    TEXT PRIMARY KEY,
    reporting_entity TEXT NOT NULL,
    sequence         INTEGER NOT NULL,
    status           TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- publication order
    event_id      TEXT NOT NULL UNIQUE,
    allegation_id TEXT NOT NULL,
    payload       TEXT NOT NULL,                      -- the complete event as JSON
    created_at    TEXT NOT NULL,
    sent_at       TEXT,                               -- set only after Kafka acknowledged
    kafka_partition INTEGER,
    kafka_offset    INTEGER,
    rejected      TEXT                                -- why the bus contract refused it, if it did
);
"""


class SimulatedCrash(RuntimeError):
    """Stands for the relay process dying after Kafka acknowledged but before the row was marked."""


def open_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
    conn.executescript(SCHEMA)
    return conn


def record_case(conn: sqlite3.Connection, event: AllegationEvent) -> None:
    """Save the agency's case row and the event to announce, atomically.

    The event is validated first, so nothing the bus would refuse enters the outbox.
    """
    check_event(event, known_entities=None, now=datetime.now(UTC))
    now = datetime.now(UTC).isoformat()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            """
            INSERT INTO cases (allegation_id, reporting_entity, sequence, status, updated_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (allegation_id) DO UPDATE
               SET sequence = excluded.sequence, status = excluded.status, updated_at = excluded.updated_at
             WHERE excluded.sequence > cases.sequence
            """,
            (event.allegation_id, event.reporting_entity, event.sequence, event.allegation.status.value, now),
        )
        conn.execute(
            "INSERT INTO outbox (event_id, allegation_id, payload, created_at) VALUES (?, ?, ?, ?)",
            (event.event_id, event.allegation_id, event.model_dump_json(), now),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def relay_once(
    conn: sqlite3.Connection, publisher: Publisher, *, limit: int = 100, crash_after_publish: bool = False
) -> int:
    """Publish unsent outbox rows in order; returns how many were marked sent.

    Stops at the first row Kafka does not acknowledge (raising PublishFailed), so
    a later event of an allegation never overtakes an earlier one. The row stays
    unsent and is published again next time.
    """
    rows = conn.execute(
        "SELECT id, payload FROM outbox WHERE sent_at IS NULL AND rejected IS NULL ORDER BY id LIMIT ?",
        (limit,),
    ).fetchall()
    sent = 0
    for row_id, payload in rows:
        try:
            receipt = publisher.publish(AllegationEvent.model_validate_json(payload))
        except ValidationFailed as exc:  # the contract changed since the row was written
            conn.execute("UPDATE outbox SET rejected = ? WHERE id = ?", (str(exc), row_id))
            continue
        if crash_after_publish:
            raise SimulatedCrash(f"relay died after Kafka acknowledged outbox row {row_id}")
        conn.execute(
            "UPDATE outbox SET sent_at = ?, kafka_partition = ?, kafka_offset = ? WHERE id = ?",
            (datetime.now(UTC).isoformat(), receipt.partition, receipt.offset, row_id),
        )
        sent += 1
    return sent


def relay_forever(
    conn: sqlite3.Connection, publisher: Publisher, *, stop: threading.Event, interval_s: float = 1.0
) -> None:
    """The relay loop of a real deployment: run it as its own process or thread."""
    while not stop.is_set():
        try:
            relay_once(conn, publisher)
        except PublishFailed as exc:
            print(f"outbox relay: {exc}")  # retried on the next round, same event ids
        stop.wait(interval_s)


def unsent(conn: sqlite3.Connection) -> list[str]:
    """Event ids still waiting in the outbox."""
    return [r[0] for r in conn.execute("SELECT event_id FROM outbox WHERE sent_at IS NULL ORDER BY id")]


def demo_event(allegation_id: str = "SYNTH-OUTBOX-0001") -> AllegationEvent:
    now = datetime.now(UTC)
    allegation = synthetic_allegation(
        subjects=[("SYNTH-SUBJ-OUTBOX-1", "KEN", "KEN", PersonnelCategory.MILITARY_CONTINGENT)],
        reported_at=now,
    )
    return synthetic_event(allegation_id=allegation_id, reporting_entity="UNMISS", allegation=allegation)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--topic", default="sea.allegations")
    args = parser.parse_args(argv)
    conn = open_db(args.db)
    try:
        record_case(conn, demo_event())
    except sqlite3.IntegrityError:
        print("the demo allegation is already in this database; relaying what is unsent")
    kafka = connection_or_local(settings())  # never a password on the command line
    with Publisher(kafka=kafka, topic=args.topic, source="outbox-demo") as publisher:
        print(f"relayed {relay_once(conn, publisher)} event(s); unsent: {unsent(conn)}")


if __name__ == "__main__":
    main()
