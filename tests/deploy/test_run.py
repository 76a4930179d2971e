"""`seabus run`: the main job comes up, stays healthy, and Ctrl-C leaves nothing running."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import JAR_CACHE, TEST_JVM_OPTIONS, bus_env, free_base_port, unique_prefix, wait_for
from support.bus import BusPool

from seabus.deploy.kafka import LocalCluster
from seabus.streams.kafka_connection import KafkaConnection


@pytest.mark.kafka
def test_run_against_configured_cluster(kafka: KafkaConnection, tmp_path: Path, buses: BusPool) -> None:
    prefix = unique_prefix()
    run = buses.spawn(bus_env(kafka=kafka, prefix=prefix, data_dir=tmp_path / "data"))
    try:
        wait_for(
            lambda: run.saw("seabus worker ready") or run.proc.poll() is not None,
            timeout=120,
            what="worker ready",
        )
        assert run.proc.poll() is None, "".join(run.lines)
        admin = kafka.kafka_admin()
        topics = set(admin.list_topics())
        admin.close()
        assert {f"{prefix}.allegations", f"{prefix}.responses", f"{prefix}.notify.OSC"} <= topics
    finally:
        code = run.interrupt()
    assert code == 0, "".join(run.lines[-30:])
    assert not (tmp_path / "data" / "kafka").exists()  # no local broker when one is configured
    assert not any("Traceback" in line for line in run.lines)


def _stop_local_kafka(directory: Path) -> None:
    """Whatever the test found, no broker of this run stays up (its JVM has a session of its own,
    so stopping the bus's process group does not reach it)."""
    cluster = LocalCluster.existing(directory=directory, cache_dir=JAR_CACHE)
    if cluster is not None:
        cluster.down()


@pytest.mark.kafka
def test_run_starts_and_stops_its_own_local_kafka(
    tmp_path: Path, buses: BusPool, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    port = free_base_port(2)
    request.addfinalizer(lambda: _stop_local_kafka(data / "kafka"))
    run = buses.spawn(
        bus_env(kafka=None, prefix=unique_prefix(), data_dir=data, SEABUS_LOCAL_KAFKA_PORT=port)
    )
    try:
        wait_for(
            lambda: run.saw("seabus worker ready") or run.proc.poll() is not None,
            timeout=180,
            what="worker ready",
        )
        assert run.proc.poll() is None, "".join(run.lines)
        assert run.saw("local kafka ready")
        ready = next(line for line in run.lines if "local kafka ready" in line)
        assert "SASL_SSL" in ready
        assert "SCRAM-SHA-512" in ready
        pid = int((data / "kafka" / "node-1" / "node.pid").read_text())
        # local_kafka_jvm_options (here the suite's, from SEABUS_LOCAL_KAFKA_JVM_OPTIONS) reach the JVM
        jvm_args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert [a.decode() for a in jvm_args if a.startswith(b"-XX:")] == list(TEST_JVM_OPTIONS)
    finally:
        code = run.interrupt()
    assert code == 0, "".join(run.lines[-30:])
    assert run.saw("stopping the local kafka this run started")
    password = (data / "kafka" / "security" / "seabus.password").read_text().strip()
    assert not any(password in line for line in run.lines)  # the worker used it, never logged it
    assert (
        not Path(f"/proc/{pid}").exists() or b"kafka.Kafka" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    assert not (data / "kafka" / "node-1" / "node.pid").exists()
