"""The local KRaft launcher against real JVMs: up, status, down, restart, 3 nodes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka.admin import NewTopic
from support import JAR_CACHE, TEST_JVM_OPTIONS, bus_env, free_base_port, unique_prefix
from support.reading import read_all

from seabus.deploy.kafka import LocalCluster
from seabus.deploy.kafka.layout import ClusterLayout
from seabus.schemas.errors import DependencyMissing, KafkaUnavailable, ProvisioningError
from seabus.streams.kafka_connection import KafkaConnection


def _java_processes_for(directory: Path) -> list[str]:
    # -ww: without it ps cuts each line at 80 columns when its output is not a terminal (as under
    # pytest), which hid every broker's path and made the "no JVM left" checks unable to fail.
    out = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "kafka.Kafka" in line and str(directory) in line]


@pytest.mark.kafka
def test_up_status_down_and_restart_on_existing_data(tmp_path: Path) -> None:
    # The shipped JVM options (the rest of the suite runs its brokers on TEST_JVM_OPTIONS).
    cluster = LocalCluster(
        directory=tmp_path / "k", cache_dir=JAR_CACHE, nodes=1, base_port=free_base_port(2)
    )
    try:
        info = cluster.up()
        assert info.running
        assert [line for line in _java_processes_for(tmp_path / "k") if " -XX:+UseG1GC " in line]
        assert info.bootstrap == f"127.0.0.1:{cluster.layout.base_port}"
        topic = "launcher." + uuid.uuid4().hex[:6]
        admin = info.connection.kafka_admin()
        admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)])
        admin.close()
        producer = info.connection.kafka_producer(acks="all")
        producer.send(topic, b"synthetic-before-restart").get(timeout=30)
        producer.close()

        cluster.down()
        status = cluster.status()
        assert status.stopped
        assert not _java_processes_for(tmp_path / "k")

        # Restart on the existing data: same cluster id, the record is still there (and only it:
        # the topic is read to its end offsets).
        again = cluster.up()
        assert again.running
        assert again.cluster_id == info.cluster_id
        assert read_all(again.connection, topic) == [b"synthetic-before-restart"]
    finally:
        cluster.down()
    assert not _java_processes_for(tmp_path / "k")


@pytest.mark.kafka
def test_three_nodes_accept_acks_all_with_min_isr_two(tmp_path: Path) -> None:
    cluster = LocalCluster(
        directory=tmp_path / "k3",
        cache_dir=JAR_CACHE,
        jvm_options=TEST_JVM_OPTIONS,
        nodes=3,
        base_port=free_base_port(6),
    )
    try:
        info = cluster.up()
        assert len(info.nodes) == 3
        assert info.running
        admin = info.connection.kafka_admin()
        assert len(admin.describe_cluster()["brokers"]) == 3
        topic = "replicated." + uuid.uuid4().hex[:6]
        admin.create_topics(
            [
                NewTopic(
                    name=topic,
                    num_partitions=3,
                    replication_factor=3,
                    topic_configs={"min.insync.replicas": "2"},
                )
            ]
        )
        described = admin.describe_topics([topic])[0]
        assert all(len(p["replica_nodes"]) == 3 for p in described["partitions"])
        admin.close()
        producer = info.connection.kafka_producer(acks="all", enable_idempotence=True)
        metadata = [producer.send(topic, key=f"k{i}".encode(), value=b"x").get(timeout=30) for i in range(30)]
        producer.close()
        assert {m.partition for m in metadata} == {0, 1, 2}
    finally:
        cluster.down()
    assert cluster.status().stopped
    assert not _java_processes_for(tmp_path / "k3")


@pytest.mark.kafka
def test_shape_mismatch_on_existing_data_is_refused(tmp_path: Path) -> None:
    base = free_base_port(6)
    one = LocalCluster(
        directory=tmp_path / "k", cache_dir=JAR_CACHE, jvm_options=TEST_JVM_OPTIONS, nodes=1, base_port=base
    )
    one.up()
    one.down()
    three = LocalCluster(
        directory=tmp_path / "k", cache_dir=JAR_CACHE, jvm_options=TEST_JVM_OPTIONS, nodes=3, base_port=base
    )
    try:
        with pytest.raises(ProvisioningError, match=r"holds a 1-node cluster.*kafka down --purge"):
            three.up()
    finally:
        three.down()  # nothing to stop unless the refusal failed


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    import socket

    base = free_base_port(2)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", base))
        blocker.listen()
        cluster = LocalCluster(
            directory=tmp_path / "k",
            cache_dir=JAR_CACHE,
            jvm_options=TEST_JVM_OPTIONS,
            nodes=1,
            base_port=base,
        )
        with pytest.raises(KafkaUnavailable, match=f"port {base} .* already in use"):
            cluster.up()


def test_missing_java_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: neither java nor mvn
    cluster = LocalCluster(
        directory=tmp_path / "k",
        cache_dir=tmp_path / "cache",
        jvm_options=TEST_JVM_OPTIONS,
        nodes=1,
        base_port=free_base_port(2),
    )
    with pytest.raises(DependencyMissing) as err:
        cluster.up()
    message = str(err.value)
    assert "`java` was not found" in message
    assert "install a Java 17+" in message
    assert "SEABUS_BOOTSTRAP" in message


def test_missing_maven_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = shutil.which("java")
    assert java
    (bin_dir / "java").symlink_to(java)
    monkeypatch.setenv("PATH", str(bin_dir))
    cluster = LocalCluster(
        directory=tmp_path / "k",
        cache_dir=tmp_path / "empty-cache",
        jvm_options=TEST_JVM_OPTIONS,
        nodes=1,
        base_port=free_base_port(2),
    )
    with pytest.raises(DependencyMissing, match=r"`mvn` was not found.*install Maven 3\.8\+"):
        cluster.up()


@pytest.mark.kafka
def test_cli_up_status_down(tmp_path: Path) -> None:
    env = bus_env(
        kafka=None,
        prefix=unique_prefix(),
        data_dir=tmp_path / "data",
        SEABUS_LOCAL_KAFKA_PORT=free_base_port(2),
    )
    cmd = [sys.executable, "-m", "seabus.deploy.cli.main"]
    up = subprocess.run([*cmd, "kafka", "up"], env=env, capture_output=True, text=True, timeout=180)
    try:
        assert up.returncode == 0, up.stderr
        assert "kafka ready in" in up.stdout
        port = env["SEABUS_LOCAL_KAFKA_PORT"]
        assert f"bootstrap 127.0.0.1:{port}" in up.stdout
        status = subprocess.run(
            [*cmd, "kafka", "status"], env=env, capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0
        assert "node 1: up" in status.stdout
        as_json = subprocess.run(
            [*cmd, "kafka", "status", "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert as_json.returncode == 0, as_json.stderr
        info = json.loads(as_json.stdout)
        assert info["bootstrap"] == f"127.0.0.1:{port}"
        assert (info["security_protocol"], info["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
        assert info["username"] == "seabus"
        security = tmp_path / "data" / "kafka" / "security"
        assert Path(info["ca_file"]) == security / "ca.pem"
        assert "BEGIN CERTIFICATE" in Path(info["ca_file"]).read_text()
        password_file = Path(info["password_file"])
        assert password_file.parent == security
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(security.stat().st_mode) == 0o700
        password = password_file.read_text().strip()
        assert len(password) >= 24
        for out in (up, status, as_json):  # printed and logged: where the secret is, never the secret
            assert password not in out.stdout + out.stderr
    finally:
        down = subprocess.run([*cmd, "kafka", "down"], env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    status = subprocess.run([*cmd, "kafka", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 1
    assert "node 1: down" in status.stdout


def test_cli_refuses_local_kafka_when_a_cluster_is_configured(tmp_path: Path) -> None:
    env = bus_env(
        kafka=KafkaConnection(bootstrap="127.0.0.1:1"), prefix=unique_prefix(), data_dir=tmp_path / "data"
    )
    result = subprocess.run(
        [sys.executable, "-m", "seabus.deploy.cli.main", "kafka", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "names an existing cluster (127.0.0.1:1)" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_secure_layout_has_no_plaintext_listener_and_denies_by_default(tmp_path: Path) -> None:
    layout = ClusterLayout(directory=tmp_path, nodes=3, base_port=30000)
    layout.secrets.ensure(3)
    props = dict(line.split("=", 1) for line in layout.server_properties(layout.node_layouts[1]).splitlines())
    assert props["listeners"] == "SASL_SSL://127.0.0.1:30002,CONTROLLER://127.0.0.1:30003"
    assert props["listener.security.protocol.map"] == "CONTROLLER:SSL,SASL_SSL:SASL_SSL"
    assert "PLAINTEXT" not in props["listener.security.protocol.map"].replace("SASL_SSL", "")
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert "User:ANONYMOUS" not in props["super.users"]
    assert props["super.users"].split(";")[:2] == ["User:admin", "User:seabus"]
    assert [a for a in layout.scram_arguments() if a != "--add-scram"] == [
        f"SCRAM-SHA-512=[name={p},password={layout.secrets.password(p)}]" for p in ("admin", "seabus")
    ]
    insecure = ClusterLayout(directory=tmp_path / "plain", nodes=1, base_port=30000, secure=False)
    assert "authorizer.class.name" not in insecure.server_properties(insecure.node_layouts[0])


def test_a_cluster_keeps_the_security_it_was_formatted_with(tmp_path: Path) -> None:
    directory = tmp_path / "k"
    directory.mkdir()
    (directory / "cluster.json").write_text(
        json.dumps({"cluster_id": "x", "nodes": 1, "base_port": 30000, "security": "sasl_ssl"})
    )
    assert LocalCluster.existing(directory=directory, cache_dir=JAR_CACHE).secure  # type: ignore[union-attr]
    insecure = LocalCluster(
        directory=directory,
        cache_dir=JAR_CACHE,
        jvm_options=TEST_JVM_OPTIONS,
        nodes=1,
        base_port=30000,
        insecure=True,
    )
    with pytest.raises(ProvisioningError, match="holds a sasl_ssl cluster; you asked for a plaintext one"):
        insecure.up()
    # Data from before the local cluster was secured is plaintext: `seabus run` and `kafka up`
    # ask for security explicitly, so they refuse to bring it back without --insecure.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "cluster.json").write_text(json.dumps({"cluster_id": "x", "nodes": 1, "base_port": 30010}))
    asked = LocalCluster.wanted(directory=legacy, cache_dir=JAR_CACHE, nodes=3, base_port=1, insecure=False)
    assert (asked.layout.nodes, asked.layout.base_port, asked.secure) == (1, 30010, True)
    with pytest.raises(ProvisioningError, match=r"holds a plaintext cluster.*kafka down --purge"):
        asked.up()
