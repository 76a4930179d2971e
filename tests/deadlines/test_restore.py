"""Bulk restore of RocksDB tables from a real changelog topic, and where Faust then starts reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from faust.types import TP
from support import create_topic, unique_prefix
from support.bus import producer

from seabus.streams.agents.deadlines import partitioned_table
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.restore import restore_tables
from seabus.streams.stores import ROCKSDB_URL, SeabusRocksStore

pytestmark = pytest.mark.kafka

PARTITIONS = 3


def changelog(kafka: KafkaConnection, app_id: str) -> str:
    topic = f"{app_id}-obligations-changelog"
    return create_topic(kafka, topic, PARTITIONS, configs={"cleanup.policy": "compact"})


def key(i: int) -> bytes:
    return json.dumps(f"SYNTH-RS-{i:04d}:KEN:ACKNOWLEDGE").encode()


def test_restore_applies_values_and_tombstones_then_records_the_offset(
    kafka: KafkaConnection, tmp_path: Path
) -> None:
    app_id = unique_prefix()
    topic = changelog(kafka, app_id)
    send = producer(kafka)
    for i in range(300):
        send.send(topic, key=key(i), value=f"v1:{i}".encode(), partition=i % PARTITIONS)
    for i in range(0, 300, 10):  # later values win
        send.send(topic, key=key(i), value=f"v2:{i}".encode(), partition=i % PARTITIONS)
    for i in range(5, 300, 50):  # tombstones delete
        send.send(topic, key=key(i), value=None, partition=i % PARTITIONS)
    send.flush()
    send.close()

    app = kafka.faust_app(app_id, store=ROCKSDB_URL, datadir=str(tmp_path))
    table = partitioned_table(app, "obligations", PARTITIONS)
    report = restore_tables(app, kafka=kafka, min_records=0)
    assert report.records == {topic: 300 + 30 + 6}

    store = table.data
    assert isinstance(store, SeabusRocksStore)
    got = dict(table.items_in(set(range(PARTITIONS))))
    want = {
        f"SYNTH-RS-{i:04d}:KEN:ACKNOWLEDGE": (f"v2:{i}" if i % 10 == 0 else f"v1:{i}").encode()
        for i in range(300)
        if i % 50 != 5
    }
    assert got == want
    for p in range(PARTITIONS):  # Faust's recovery starts from here: nothing left to replay
        last = sum(1 for i in range(300) if i % PARTITIONS == p)
        last += sum(1 for i in range(0, 300, 10) if i % PARTITIONS == p)
        last += sum(1 for i in range(5, 300, 50) if i % PARTITIONS == p)
        assert store.persisted_offset(TP(topic, p)) == last - 1

    again = restore_tables(app, kafka=kafka, min_records=0)
    assert again.records == {}


def test_small_gaps_are_left_to_faust(kafka: KafkaConnection, tmp_path: Path) -> None:
    app_id = unique_prefix()
    topic = changelog(kafka, app_id)
    send = producer(kafka)
    for i in range(30):
        send.send(topic, key=key(i), value=b"v", partition=i % PARTITIONS)
    send.flush()
    send.close()
    app = kafka.faust_app(app_id, store=ROCKSDB_URL, datadir=str(tmp_path))
    table = partitioned_table(app, "obligations", PARTITIONS)
    assert restore_tables(app, kafka=kafka, min_records=50).records == {}
    assert dict(table.items_in(set(range(PARTITIONS)))) == {}


def test_a_first_start_without_changelogs_restores_nothing(kafka: KafkaConnection, tmp_path: Path) -> None:
    app = kafka.faust_app(unique_prefix(), store=ROCKSDB_URL, datadir=str(tmp_path))
    partitioned_table(app, "obligations", PARTITIONS)
    assert restore_tables(app, kafka=kafka, min_records=0).records == {}


def test_a_data_dir_in_use_by_another_worker_is_a_clear_error(kafka: KafkaConnection, tmp_path: Path) -> None:
    app_id = unique_prefix()
    topic = changelog(kafka, app_id)
    send = producer(kafka)
    send.send(topic, key=key(1), value=b"v", partition=0)
    send.flush()
    send.close()
    holder = kafka.faust_app(app_id, store=ROCKSDB_URL, datadir=str(tmp_path))
    held = partitioned_table(holder, "obligations", PARTITIONS).data
    assert isinstance(held, SeabusRocksStore)
    for p in range(PARTITIONS):
        held._db_for_partition(p)  # this "worker" holds every partition's lock
    locked = subprocess.run(
        [sys.executable, "-c", RESTORE_IN_A_SECOND_PROCESS, app_id, str(tmp_path)],
        env={k: v for k, v in os.environ.items() if not k.startswith("SEABUS_")} | kafka.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert locked.returncode == 3, locked.stderr[-2000:]
    assert "give each worker its own SEABUS_DATA_DIR" in locked.stdout


RESTORE_IN_A_SECOND_PROCESS = """
import sys
from seabus.streams.agents.deadlines import partitioned_table
from seabus.streams.config import load_settings
from seabus.streams.restore import DataDirInUse, restore_tables
from seabus.streams.stores import ROCKSDB_URL

app_id, datadir = sys.argv[1:3]
kafka = load_settings().connection()  # SEABUS_BOOTSTRAP and SEABUS_KAFKA__* from the parent
app = kafka.faust_app(app_id, store=ROCKSDB_URL, datadir=datadir)
partitioned_table(app, "obligations", 3)
try:
    restore_tables(app, kafka=kafka, min_records=0)
except DataDirInUse as exc:
    print(exc)
    sys.exit(3)
"""
