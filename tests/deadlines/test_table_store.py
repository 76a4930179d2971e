"""The RocksDB table store: timers write to the partition holding a key, and only active partitions are read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.streams import _current_event

from seabus.streams.agents.deadlines import partitioned_table
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.stores import ROCKSDB_URL, SeabusRocksStore
from seabus.streams.tables import PartitionedTable, UnknownPartition

KEYS = {f"SYNTH-TS-{i:03d}:KEN:ACKNOWLEDGE": i % 4 for i in range(40)}


def as_event(partition: int) -> Any:
    """What Faust keeps in its context variable: a weak reference (a callable) to the event."""
    event = SimpleNamespace(message=SimpleNamespace(partition=partition, topic="sea-test.allegations"))
    return lambda: event


@pytest.fixture
def table(tmp_path: Path) -> PartitionedTable:
    # Never connects: the broker is a closed port, only the table's local store is used.
    app = KafkaConnection(bootstrap="127.0.0.1:1").faust_app(
        "store-test", store=ROCKSDB_URL, datadir=str(tmp_path)
    )
    table = partitioned_table(app, "obligations", 4)
    store = table.data
    assert isinstance(store, SeabusRocksStore)
    for key, partition in KEYS.items():  # what an agent does: write under the current event
        token = _current_event.set(as_event(partition))
        try:
            store[key] = f"v0:{key}".encode()
        finally:
            _current_event.reset(token)
    return table


def test_agent_writes_land_in_their_partition_database(table: PartitionedTable) -> None:
    store = table.data
    assert isinstance(store, SeabusRocksStore)
    for partition in range(4):
        on_disk = {store._decode_key(k) for k, _ in store.items_in({partition})}
        assert on_disk == {k for k, p in KEYS.items() if p == partition}


def test_timer_finds_the_partition_of_an_existing_key(table: PartitionedTable) -> None:
    assert faust.current_event() is None
    for key, partition in KEYS.items():
        assert table.partition_for_key(key) == partition
    with pytest.raises(UnknownPartition):
        table.partition_for_key("SYNTH-TS-999:KEN:ACKNOWLEDGE")


def test_timer_writes_update_the_key_where_it_lives(table: PartitionedTable) -> None:
    store = table.data
    assert isinstance(store, SeabusRocksStore)
    key = "SYNTH-TS-005:KEN:ACKNOWLEDGE"
    store[key] = b"v1:fired"  # no current event: the deadline tick's write
    assert store[key] == b"v1:fired"
    assert dict(table.items_in({KEYS[key]}))[key] == b"v1:fired"
    others = set(range(4)) - {KEYS[key]}
    assert key not in dict(table.items_in(others))
    with pytest.raises(KeyError):
        store["SYNTH-TS-999:KEN:ACKNOWLEDGE"] = b"nowhere"


def test_items_in_reads_only_the_partitions_asked_for(table: PartitionedTable) -> None:
    got = dict(table.items_in({1, 3}))
    assert set(got) == {k for k, p in KEYS.items() if p in (1, 3)}
    assert all(v == f"v0:{k}".encode() for k, v in got.items())
    assert dict(table.items_in(set())) == {}
