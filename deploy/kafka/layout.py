"""Pure description of a local cluster: ports, node configs, where files live."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.4.0"
HEAP = "512m"


@dataclass(frozen=True, kw_only=True)
class NodeLayout:
    node_id: int
    broker_port: int
    controller_port: int
    directory: Path

    @property
    def log_dir(self) -> Path:
        return self.directory / "data"

    @property
    def properties_file(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log_file(self) -> Path:
        return self.directory / "node.log"

    @property
    def pid_file(self) -> Path:
        return self.directory / "node.pid"


@dataclass(frozen=True, kw_only=True)
class ClusterLayout:
    """``nodes`` combined broker+controller nodes on loopback, ports from ``base_port`` up."""

    directory: Path
    nodes: int
    base_port: int

    @property
    def node_layouts(self) -> list[NodeLayout]:
        return [
            NodeLayout(
                node_id=i + 1,
                broker_port=self.base_port + 2 * i,
                controller_port=self.base_port + 2 * i + 1,
                directory=self.directory / f"node-{i + 1}",
            )
            for i in range(self.nodes)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.broker_port}" for n in self.node_layouts)

    @property
    def state_file(self) -> Path:
        return self.directory / "cluster.json"

    def quorum_voters(self) -> str:
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.node_layouts)

    def server_properties(self, node: NodeLayout) -> str:
        """server.properties for one combined-mode node (static quorum, no --standalone)."""
        replicas = min(self.nodes, 3)
        isr = 2 if replicas >= 3 else 1
        lines = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": self.quorum_voters(),
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(node.log_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": str(replicas),
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(isr),
            "share.coordinator.state.topic.replication.factor": str(replicas),
            "share.coordinator.state.topic.min.isr": str(isr),
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": str(4 * 1024 * 1024),
            "log.segment.bytes": str(64 * 1024 * 1024),
            "delete.topic.enable": "true",
        }
        return "".join(f"{k}={v}\n" for k, v in lines.items())


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
