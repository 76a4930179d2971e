"""Start, stop and inspect a local KRaft cluster of 1 or 3 nodes on loopback.

State lives in the cluster directory (``cluster.json`` plus one folder per node),
so ``up`` after ``down`` restarts on the existing data and ``status`` works from
another process. Nodes are always stopped together: a lone surviving controller
would wait for quorum on shutdown. Unless ``insecure``, the cluster is SASL_SSL with
SCRAM-SHA-512 and the StandardAuthorizer, its secrets made by :mod:`seabus.deploy.kafka.security`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from seabus.deploy.kafka.jars import ensure_jars, require_program
from seabus.deploy.kafka.layout import (
    DEFAULT_JVM_OPTIONS,
    HEAP,
    KAFKA_VERSION,
    ClusterLayout,
    NodeLayout,
    new_cluster_id,
)
from seabus.deploy.kafka.security import ADMIN, BUS, MECHANISM, write_private
from seabus.schemas.errors import KafkaUnavailable, ProvisioningError
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity
from seabus.streams.retry import poll_until

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class NodeStatus:
    node_id: int
    pid: int | None
    running: bool
    answering: bool
    port: int


@dataclass(frozen=True, kw_only=True)
class ClusterInfo:
    directory: Path
    bootstrap: str
    cluster_id: str | None
    nodes: list[NodeStatus]
    connection: KafkaConnection  # the bus's own principal

    def as_json(self) -> dict[str, object]:
        """What ``seabus kafka status --json`` prints: where and how to connect, never a password."""
        sec = self.connection.security
        return {
            "bootstrap": self.bootstrap,
            "security_protocol": sec.security_protocol,
            "sasl_mechanism": sec.sasl_mechanism,
            "username": sec.username,
            "password_file": str(sec.password_file) if sec.password_file else None,
            "ca_file": str(sec.ca_file) if sec.ca_file else None,
            "running": self.running,
            "directory": str(self.directory),
            "cluster_id": self.cluster_id,
            "nodes": [
                {
                    "node_id": n.node_id,
                    "port": n.port,
                    "pid": n.pid,
                    "running": n.running,
                    "answering": n.answering,
                }
                for n in self.nodes
            ],
        }

    @property
    def running(self) -> bool:
        return bool(self.nodes) and all(n.running and n.answering for n in self.nodes)

    @property
    def stopped(self) -> bool:
        return not any(n.running for n in self.nodes)


def _pid_alive(pid: int, node: NodeLayout) -> bool:
    """True only for our own broker process (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline and str(node.properties_file).encode() in cmdline


def _read_pid(node: NodeLayout) -> int | None:
    try:
        return int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _log_tail(node: NodeLayout, lines: int = 20) -> str:
    try:
        text = node.log_file.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:])


class LocalCluster:
    """A local cluster rooted at ``directory``; nothing runs until :meth:`up`."""

    def __init__(
        self,
        *,
        directory: Path,
        cache_dir: Path,
        nodes: int = 1,
        base_port: int = 19092,
        insecure: bool = False,
        jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS,
    ) -> None:
        if nodes not in (1, 3):
            raise ProvisioningError(f"a local cluster has 1 or 3 nodes, not {nodes}")
        self.layout = ClusterLayout(
            directory=directory, nodes=nodes, base_port=base_port, secure=not insecure
        )
        self.cache_dir = cache_dir
        self.jvm_options = tuple(jvm_options)
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    @classmethod
    def wanted(
        cls,
        *,
        directory: Path,
        cache_dir: Path,
        nodes: int,
        base_port: int,
        insecure: bool,
        jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS,
    ) -> LocalCluster:
        """The cluster to start: the recorded shape if one exists, with the security asked for.

        Asking for the security explicitly (never inheriting it from old data) is what makes
        ``up`` refuse to bring back a plaintext cluster nobody asked for.
        """
        existing = cls.existing(directory=directory, cache_dir=cache_dir)
        if existing is not None:
            nodes, base_port = existing.layout.nodes, existing.layout.base_port
        return cls(
            directory=directory,
            cache_dir=cache_dir,
            nodes=nodes,
            base_port=base_port,
            insecure=insecure,
            jvm_options=jvm_options,
        )

    @classmethod
    def existing(
        cls, *, directory: Path, cache_dir: Path, jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS
    ) -> LocalCluster | None:
        """The cluster recorded in ``directory``, with its own node count and ports."""
        state = directory / "cluster.json"
        if not state.exists():
            return None
        data = json.loads(state.read_text())
        return cls(
            directory=directory,
            cache_dir=cache_dir,
            nodes=data["nodes"],
            base_port=data["base_port"],
            # A cluster recorded before security existed is a plaintext one.
            insecure=data.get("security", "plaintext") == "plaintext",
            jvm_options=jvm_options,
        )

    @property
    def bootstrap(self) -> str:
        return self.layout.bootstrap

    @property
    def secure(self) -> bool:
        return self.layout.secure

    def connection(self, principal: str = BUS) -> KafkaConnection:
        """How a client reaches this cluster as ``principal`` (the bus's, unless the brokers' own)."""
        if not self.secure:
            return KafkaConnection(bootstrap=self.bootstrap)
        sec = self.layout.secrets
        return KafkaConnection(
            bootstrap=self.bootstrap,
            security=KafkaSecurity(
                security_protocol="SASL_SSL",
                sasl_mechanism=MECHANISM,
                username=principal,
                password_file=sec.password_file(principal),
                ca_file=sec.ca_file,
            ),
        )

    @property
    def _security_label(self) -> str:
        return "sasl_ssl" if self.secure else "plaintext"

    def _check_recorded_shape(self) -> str | None:
        state = self.layout.state_file
        if not state.exists():
            return None
        data = json.loads(state.read_text())
        recorded = data.get("security", "plaintext")
        if recorded != self._security_label:
            raise ProvisioningError(
                f"{self.layout.directory} holds a {recorded} cluster; you asked for a "
                f"{self._security_label} one. Its storage cannot change security after it was "
                "formatted: use the same mode (--insecure / SEABUS_LOCAL_KAFKA_INSECURE), or run "
                "`seabus kafka down --purge` to delete its data first."
            )
        if data["nodes"] != self.layout.nodes or data["base_port"] != self.layout.base_port:
            raise ProvisioningError(
                f"{self.layout.directory} holds a {data['nodes']}-node cluster on port "
                f"{data['base_port']}; you asked for {self.layout.nodes} node(s) on port "
                f"{self.layout.base_port}. Use the same shape, or run `seabus kafka down --purge` "
                "to delete its data first."
            )
        return str(data["cluster_id"])

    def status(self) -> ClusterInfo:
        cluster_id = None
        if self.layout.state_file.exists():
            cluster_id = json.loads(self.layout.state_file.read_text()).get("cluster_id")
        nodes = []
        for node in self.layout.node_layouts:
            pid = _read_pid(node)
            running = pid is not None and _pid_alive(pid, node)
            nodes.append(
                NodeStatus(
                    node_id=node.node_id,
                    pid=pid if running else None,
                    running=running,
                    answering=running and _port_open(node.broker_port),
                    port=node.broker_port,
                )
            )
        return ClusterInfo(
            directory=self.layout.directory,
            bootstrap=self.bootstrap,
            cluster_id=cluster_id,
            nodes=nodes,
            connection=self.connection(),
        )

    def up(self, *, timeout_s: float = 90.0) -> ClusterInfo:
        """Format storage if new, start every node, and wait until all answer."""
        java = require_program("java", purpose="run the local Kafka broker")
        # Before anything else, a running cluster included: its shape and security are what was asked.
        cluster_id = self._check_recorded_shape()
        if not self.secure:
            log.warning(
                "INSECURE LOCAL KAFKA: plaintext listeners, no authentication, no authorization; "
                "anyone who can reach the ports reads and writes every topic",
                bootstrap=self.bootstrap,
            )
        current = self.status()
        if current.running:
            return current
        if not current.stopped:
            # Some nodes up, some not: stop the rest together, then start cleanly.
            self.down()
        lib = ensure_jars(self.cache_dir)
        for node in self.layout.node_layouts:
            for port in (node.broker_port, node.controller_port):
                if _port_open(port):
                    raise KafkaUnavailable(
                        f"port {port} on 127.0.0.1 is already in use by another program; stop it "
                        "or choose other ports with SEABUS_LOCAL_KAFKA_PORT."
                    )
        classpath = f"{lib}/*"
        fresh = cluster_id is None
        if cluster_id is None:
            cluster_id = new_cluster_id()
        if self.secure:
            self.layout.secrets.ensure(self.layout.nodes)
        for node in self.layout.node_layouts:
            node.directory.mkdir(parents=True, exist_ok=True)
            # Owner-only: it holds the keystore and inter-broker passwords.
            write_private(node.properties_file, self.layout.server_properties(node).encode())
        if fresh:
            self._format(java, classpath, cluster_id)
            self.layout.state_file.write_text(
                json.dumps(
                    {
                        "cluster_id": cluster_id,
                        "nodes": self.layout.nodes,
                        "base_port": self.layout.base_port,
                        "kafka_version": KAFKA_VERSION,
                        "security": self._security_label,
                    },
                    indent=2,
                )
            )
        for node in self.layout.node_layouts:
            self._start_node(java, classpath, node)
        return self._wait_ready(timeout_s)

    def _format(self, java: str, classpath: str, cluster_id: str) -> None:
        procs = []
        for node in self.layout.node_layouts:
            cmd = [
                java, "-Xmx256m", "-cp", classpath, "kafka.tools.StorageTool", "format",
                f"--cluster-id={cluster_id}", "--config", str(node.properties_file), "--ignore-formatted",
            ]  # fmt: skip
            # KIP-900: the SCRAM credentials go into the storage before any node starts. The
            # storage tool only takes them as arguments; it runs once, on loopback, at formatting.
            if self.secure:
                cmd += self.layout.scram_arguments()
            procs.append((node, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)))
        for node, proc in procs:
            out, _ = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise KafkaUnavailable(
                    f"formatting KRaft storage of node {node.node_id} failed:\n"
                    + out.decode(errors="replace")[-2000:]
                )

    def _start_node(self, java: str, classpath: str, node: NodeLayout) -> None:
        cmd = [
            java, f"-Xms{HEAP}", f"-Xmx{HEAP}", *self.jvm_options, "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-cp", classpath, "kafka.Kafka", str(node.properties_file),
        ]  # fmt: skip
        with node.log_file.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._procs[node.node_id] = proc
        node.pid_file.write_text(f"{proc.pid}\n")
        log.info(
            "kafka node started",
            node_id=node.node_id,
            pid=proc.pid,
            port=node.broker_port,
            security="SASL_SSL/" + MECHANISM if self.secure else "PLAINTEXT (insecure)",
        )

    def _wait_ready(self, timeout_s: float) -> ClusterInfo:
        def ready() -> ClusterInfo | None:
            info = self.status()
            dead = [nid for nid, proc in self._procs.items() if proc.poll() is not None]
            if dead:
                node = self.layout.node_layouts[dead[0] - 1]
                self.down()
                raise KafkaUnavailable(
                    f"local Kafka node {node.node_id} exited during start-up; its log "
                    f"({node.log_file}) ends with:\n{_log_tail(node)}"
                )
            return info if info.running and self._brokers_registered() == self.layout.nodes else None

        def not_ready(_last: ClusterInfo | None) -> KafkaUnavailable:
            self.down()  # nothing half-started is left running
            return KafkaUnavailable(
                f"local Kafka did not become ready within {timeout_s:.0f}s; see the logs under "
                f"{self.layout.directory}"
            )

        info = poll_until(ready, timeout_s=timeout_s, interval_s=0.25, timed_out=not_ready)
        assert info is not None  # poll_until returns only a truthy value
        return info

    def _brokers_registered(self) -> int:
        try:
            admin = self.connection(ADMIN).kafka_admin(request_timeout_ms=3000, client_id="seabus-launcher")
        except Exception:
            return 0
        try:
            return len(admin.describe_cluster().get("brokers", []))
        except Exception:
            return 0
        finally:
            admin.close()

    def down(self, *, timeout_s: float = 60.0, purge: bool = False) -> None:
        """Stop every node at once (SIGTERM, then SIGKILL after ``timeout_s``)."""
        pids = []
        for node in self.layout.node_layouts:
            pid = _read_pid(node)
            if pid is not None and _pid_alive(pid, node):
                pids.append((pid, node))
        for pid, _node in pids:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while any(_pid_alive(pid, node) for pid, node in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid, node in pids:
            if _pid_alive(pid, node):
                log.warning("kafka node did not stop in time; killing it", node_id=node.node_id)
                os.kill(pid, signal.SIGKILL)
        for pid, node in pids:
            while _pid_alive(pid, node):
                time.sleep(0.05)
        for node in self.layout.node_layouts:
            node.pid_file.unlink(missing_ok=True)
        if purge:
            import shutil

            shutil.rmtree(self.layout.directory, ignore_errors=True)


def status_of(directory: Path, cache_dir: Path) -> ClusterInfo | None:
    cluster = LocalCluster.existing(directory=directory, cache_dir=cache_dir)
    return cluster.status() if cluster else None
