"""From nothing to a routed allegation with the real `seabus run`: by SDK, by file, by outbox.

Proving "no duplicate downstream" needs no waiting: after the repeat, a *later*
event of the same allegation is published. The bus handles an allegation's
events in partition order, so once the later event's notification is out, any
notification the repeat could have caused would be out too.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from publish.publish_support import event, event_ids, read_records
from support import unique_prefix
from support.bus import BusPool, BusProcess, read_topic

from seabus.connectors.publisher import Publisher, stable_event_id
from seabus.deploy.cli import main as cli_main
from seabus.schemas.codec import decode_model, peek_writer
from seabus.schemas.enums import AllegationEventType
from seabus.schemas.models import Notification
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, BusProcess]]:
    prefix = unique_prefix()
    with BusPool() as pool:
        process = pool.start(kafka, prefix, tmp_path_factory.mktemp("bus"))
        yield prefix, process
        process.stop_cleanly()


def notes_until(kafka: KafkaConnection, topic: str, want: set[tuple[str, int]]) -> list[Notification]:
    """Notifications on ``topic`` until every (allegation_id, sequence) in ``want`` has appeared."""

    def seen(values: list[bytes]) -> bool:
        got = {(n.allegation_id, n.sequence) for n in _notes(values)}
        return want <= got

    return _notes(read_topic(kafka, topic, until=seen))


def _notes(values: list[bytes]) -> list[Notification]:
    """The notifications among a notify topic's records: a state's deadline escalations and reply
    notices share its topic, and whether one falls due during the test depends on how fast it runs."""
    return [decode_model(v, Notification) for v in values if peek_writer(v).name == Notification.avro_name]


def counts(notes: list[Notification], allegation_ids: set[str]) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for n in notes:
        if n.allegation_id in allegation_ids:
            out[(n.allegation_id, n.sequence)] = out.get((n.allegation_id, n.sequence), 0) + 1
    return out


def test_by_sdk(kafka: KafkaConnection, bus: tuple[str, BusProcess]) -> None:
    prefix, _ = bus
    e = event("SYNTH-PUB-E2E-SDK", entity="UNMISS", nationality="NPL")
    with Publisher(kafka=kafka, topic=f"{prefix}.allegations") as publisher:
        publisher.publish(e)
    notes = notes_until(kafka, f"{prefix}.notify.NPL", {("SYNTH-PUB-E2E-SDK", 1)})
    [note] = [n for n in notes if n.allegation_id == "SYNTH-PUB-E2E-SDK"]
    assert (note.recipient, note.source_event_id) == ("NPL", e.event_id)


def test_by_file_twice_routes_once(
    kafka: KafkaConnection, bus: tuple[str, BusProcess], tmp_path: Path
) -> None:
    prefix, _ = bus
    env = (
        {k: None for k in os.environ if k.startswith("SEABUS_")}
        | kafka.env()
        | {
            "SEABUS_TOPIC_PREFIX": prefix,
            "SEABUS_DATA_DIR": str(tmp_path),
        }
    )
    path = EXAMPLES / "allegations.csv"
    for _ in range(2):
        result = CliRunner().invoke(cli_main.cli, ["publish", str(path)], env=env)
        assert result.exit_code == 0, result.output

    first_ids = [
        stable_event_id("MINUSCA", "SYNTH-CSV-2025-0001", 1),
        stable_event_id("MONUSCO", "SYNTH-CSV-2025-0002", 1),
        stable_event_id("MINUSCA", "SYNTH-CSV-2025-0001", 2),
    ]
    # the file went out twice with the same ids ...
    records = read_records(
        kafka,
        f"{prefix}.allegations",
        until=lambda rs: sum(i in first_ids for i in event_ids(rs)) >= 6,
    )
    mine = [i for i in event_ids(records) if i in first_ids]
    assert sorted(mine) == sorted(first_ids * 2)

    # ... and after a later event of each allegation, each file row was routed exactly once
    later = [
        event("SYNTH-CSV-2025-0001", sequence=3, event_type=AllegationEventType.UPDATED, nationality="URY"),
        event("SYNTH-CSV-2025-0002", sequence=2, entity="MONUSCO", event_type=AllegationEventType.UPDATED),
    ]
    with Publisher(kafka=kafka, topic=f"{prefix}.allegations") as publisher:
        assert publisher.publish_many(later).ok
    want = {("SYNTH-CSV-2025-0001", 3), ("SYNTH-CSV-2025-0002", 2)}
    notes = notes_until(kafka, f"{prefix}.notify.OSC", want)
    assert counts(notes, {"SYNTH-CSV-2025-0001", "SYNTH-CSV-2025-0002"}) == {
        ("SYNTH-CSV-2025-0001", 1): 1,
        ("SYNTH-CSV-2025-0001", 2): 1,
        ("SYNTH-CSV-2025-0001", 3): 1,
        ("SYNTH-CSV-2025-0002", 1): 1,
        ("SYNTH-CSV-2025-0002", 2): 1,
    }


def _outbox_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("outbox_sqlite", EXAMPLES / "outbox_sqlite.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("outbox_sqlite", module)
    spec.loader.exec_module(module)
    return module


def test_by_outbox_with_a_crash_routes_once(
    kafka: KafkaConnection, bus: tuple[str, BusProcess], tmp_path: Path
) -> None:
    prefix, _ = bus
    outbox = _outbox_example()
    conn = outbox.open_db(tmp_path / "cases.sqlite3")
    report = outbox.demo_event("SYNTH-OUTBOX-E2E-1")
    outbox.record_case(conn, report)
    with Publisher(kafka=kafka, topic=f"{prefix}.allegations", source="outbox-test") as publisher:
        with pytest.raises(outbox.SimulatedCrash):
            outbox.relay_once(conn, publisher, crash_after_publish=True)
        assert outbox.unsent(conn) == [report.event_id]  # acknowledged, but not marked: still pending
        assert outbox.relay_once(conn, publisher) == 1  # the restart publishes it again, same event_id
        assert outbox.unsent(conn) == []

        update = event(
            "SYNTH-OUTBOX-E2E-1",
            sequence=2,
            entity="UNMISS",
            nationality="KEN",
            event_type=AllegationEventType.UPDATED,
        )
        outbox.record_case(conn, update)
        assert outbox.relay_once(conn, publisher) == 1
    assert conn.execute(
        "SELECT sequence FROM cases WHERE allegation_id = 'SYNTH-OUTBOX-E2E-1'"
    ).fetchone() == (2,)

    records = read_records(
        kafka,
        f"{prefix}.allegations",
        until=lambda rs: event_ids(rs).count(report.event_id) >= 2 and update.event_id in event_ids(rs),
    )
    assert event_ids(records).count(report.event_id) == 2  # published twice ...
    notes = notes_until(kafka, f"{prefix}.notify.KEN", {("SYNTH-OUTBOX-E2E-1", 2)})
    assert counts(notes, {"SYNTH-OUTBOX-E2E-1"}) == {
        ("SYNTH-OUTBOX-E2E-1", 1): 1,
        ("SYNTH-OUTBOX-E2E-1", 2): 1,
    }
