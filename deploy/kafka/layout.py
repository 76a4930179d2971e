"""Pure description of a local cluster: ports, node configs, where files live."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

from seabus.deploy.kafka.security import ADMIN, BUS, MECHANISM, LocalSecrets, node_principal

KAFKA_VERSION = "4.4.0"
HEAP = "512m"
# The broker JVM's options besides heap and classpath (``local_kafka_jvm_options``). G1 and the
# optimising JIT suit a broker that runs for days; a short-lived one (the test suite's, a demo)
# spends about half the CPU with ``-XX:+UseSerialGC -XX:TieredStopAtLevel=1`` (docs/TESTING.md).
DEFAULT_JVM_OPTIONS: tuple[str, ...] = ("-XX:+UseG1GC",)


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
    secure: bool = True  # SASL_SSL + SCRAM and the StandardAuthorizer; False only for --insecure

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

    @property
    def secrets(self) -> LocalSecrets:
        return LocalSecrets(self.directory / "security")

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
            **(self._secure_listeners(node) if self.secure else self._plaintext_listeners(node)),
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

    @staticmethod
    def _plaintext_listeners(node: NodeLayout) -> dict[str, str]:
        return {
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        }

    def _secure_listeners(self, node: NodeLayout) -> dict[str, str]:
        """Clients and brokers on SASL_SSL (SCRAM-SHA-512); controllers on mutual TLS.

        The controller listener cannot use SCRAM (its credentials live in the metadata the
        controllers serve), and a plaintext one would have to make ANONYMOUS a super user,
        so nodes authenticate to it with their certificates.
        """
        sec = self.secrets
        nodes = [node_principal(n.node_id) for n in self.node_layouts]
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{sec.password(ADMIN)}";'
        )
        return {
            "listeners": (
                f"SASL_SSL://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}"
            ),
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{node.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "CONTROLLER:SSL,SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "listener.name.controller.ssl.client.auth": "required",
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(sec.keystore(node.node_id)),
            "ssl.keystore.password": sec.keystore_password,
            "ssl.key.password": sec.keystore_password,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(sec.ca_file),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            # The bus is a super user for now; per-principal ACLs are issue 13, item 3.
            "super.users": ";".join(f"User:{p}" for p in (ADMIN, BUS, *nodes)),
        }

    def scram_arguments(self) -> list[str]:
        """The storage tool's ``--add-scram`` arguments (KIP-900): the credentials KRaft starts with."""
        sec = self.secrets
        args = []
        for principal in (ADMIN, BUS):
            args += ["--add-scram", f"{MECHANISM}=[name={principal},password={sec.password(principal)}]"]
        return args


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
