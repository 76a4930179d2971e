"""A 3-node local KRaft cluster whose single nodes can be SIGKILLed and started again.

:class:`seabus.deploy.kafka.LocalCluster` starts and stops every node together (a lone
survivor waits for quorum on shutdown); it has no public way to restart one
node. The harness therefore calls its ``_start_node`` with the same java and
classpath ``up`` used, so a restarted node runs the exact command line of the
first start. At the end every node is stopped together with ``down``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from support import JAR_CACHE, TEST_JVM_OPTIONS, free_base_port

from seabus.deploy.kafka import LocalCluster
from seabus.deploy.kafka.jars import ensure_jars, require_program
from seabus.deploy.kafka.layout import NodeLayout
from seabus.streams.kafka_connection import KafkaConnection


def admin_client(kafka: KafkaConnection, *, timeout_ms: int = 5000) -> KafkaAdminClient:
    return kafka.kafka_admin(client_id="seabus-faults", request_timeout_ms=timeout_ms)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - not ours
        return True
    # A zombie (killed child not yet reaped by LocalCluster's Popen) is dead for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class FaultCluster:
    """Three combined broker+controller nodes on loopback, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.cluster = LocalCluster(
            directory=directory,
            cache_dir=JAR_CACHE,
            jvm_options=TEST_JVM_OPTIONS,
            nodes=3,
            base_port=free_base_port(6),
        )
        self._java: str | None = None
        self._classpath: str | None = None

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap

    @property
    def connection(self) -> KafkaConnection:
        """The bus's principal on this (SASL_SSL + SCRAM) cluster."""
        return self.cluster.connection()

    @property
    def node_ids(self) -> list[int]:
        return [n.node_id for n in self.cluster.layout.node_layouts]

    def node(self, node_id: int) -> NodeLayout:
        return next(n for n in self.cluster.layout.node_layouts if n.node_id == node_id)

    def up(self, timeout_s: float = 180.0) -> None:
        self._java = require_program("java", purpose="run the local Kafka broker")
        self._classpath = f"{ensure_jars(JAR_CACHE)}/*"
        self.cluster.up(timeout_s=timeout_s)

    def down(self) -> None:
        """Every node together (SIGTERM, SIGKILL after a minute)."""
        self.cluster.down()

    def pid_of(self, node_id: int) -> int | None:
        status = next(n for n in self.cluster.status().nodes if n.node_id == node_id)
        return status.pid if status.running else None

    def answering(self, node_id: int) -> bool:
        status = next(n for n in self.cluster.status().nodes if n.node_id == node_id)
        return status.running and status.answering

    def kill(self, node_id: int, timeout_s: float = 30.0) -> int:
        """SIGKILL one node's JVM and wait until it is gone; returns its pid."""
        pid = self.pid_of(node_id)
        if pid is None:
            raise RuntimeError(f"kafka node {node_id} is not running; cannot kill it")
        os.kill(pid, signal.SIGKILL)
        # Reap it if we are its parent (LocalCluster keeps the Popen), so no zombie lingers.
        proc = self.cluster._procs.get(node_id)
        deadline = time.monotonic() + timeout_s
        while _alive(pid):
            if proc is not None:
                proc.poll()
            if time.monotonic() > deadline:
                raise RuntimeError(f"kafka node {node_id} (pid {pid}) survived SIGKILL for {timeout_s:.0f}s")
            time.sleep(0.05)
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        return pid

    def restart(self, node_id: int) -> None:
        """Start one stopped node with the command line ``up`` used (its properties file, same jars)."""
        if not (self._java and self._classpath):
            raise RuntimeError("up() first")
        if self.pid_of(node_id) is not None:
            raise RuntimeError(f"kafka node {node_id} is still running")
        self.cluster._start_node(self._java, self._classpath, self.node(node_id))

    # --- metadata ---------------------------------------------------------------

    def describe(self, topics: list[str] | None = None) -> list[dict[str, Any]]:
        admin = admin_client(self.connection)
        try:
            return list(admin.describe_topics(topics))
        finally:
            admin.close()

    def leader_of_most(self, topic: str) -> tuple[int, dict[Any, int]]:
        """The node leading most partitions of ``topic``, and the leader count of each node."""
        (described,) = self.describe([topic])
        counts = Counter(p["leader_id"] for p in described["partitions"] if p["leader_id"] >= 0)
        if not counts:
            raise RuntimeError(f"{topic} has no partition with a leader")
        node_id = max(sorted(counts), key=lambda n: counts[n])
        return node_id, dict(counts)

    def registered_brokers(self) -> int:
        admin = admin_client(self.connection)
        try:
            return len(admin.describe_cluster().get("brokers", []))
        finally:
            admin.close()

    def under_replicated(self, prefixes: tuple[str, ...]) -> list[str]:
        """``topic/partition`` of every partition of topics starting with ``prefixes`` lacking a full ISR or a leader."""
        out = []
        for topic in self.describe():
            if not topic["name"].startswith(prefixes):
                continue
            for p in topic["partitions"]:
                if p["leader_id"] < 0 or set(p["isr_nodes"]) != set(p["replica_nodes"]):
                    out.append(f"{topic['name']}/{p['partition_index']}")
        return out

    def healthy(self, prefixes: tuple[str, ...]) -> bool:
        """All three brokers registered and every partition of our topics fully in sync."""
        try:
            return self.registered_brokers() == 3 and not self.under_replicated(prefixes)
        except Exception:  # a node just restarted: metadata may fail for a moment
            return False

    def set_min_isr(self, topics: list[str], value: int) -> list[str]:
        """Set ``min.insync.replicas`` where it differs; returns the topics changed."""
        if not topics:
            return []
        admin = admin_client(self.connection, timeout_ms=15000)
        try:
            raw = admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics], config_filter="all"
            ).get("topic", {})
            changed = [
                t
                for t in topics
                if str(raw.get(t, {}).get("min.insync.replicas", {}).get("value")) != str(value)
            ]
            if changed:
                admin.alter_configs(
                    [
                        ConfigResource(
                            ConfigResourceType.TOPIC, t, configs={"min.insync.replicas": str(value)}
                        )
                        for t in changed
                    ],
                    incremental=True,
                )
            return changed
        finally:
            admin.close()

    def topic_configs(self, topics: list[str], key: str) -> dict[str, str]:
        admin = admin_client(self.connection, timeout_ms=15000)
        try:
            raw = admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics], config_filter="all"
            ).get("topic", {})
            return {t: str(raw.get(t, {}).get(key, {}).get("value")) for t in topics}
        finally:
            admin.close()

    def replication(self, topics: list[str]) -> dict[str, int]:
        return {
            t["name"]: min(len(p["replica_nodes"]) for p in t["partitions"]) for t in self.describe(topics)
        }
