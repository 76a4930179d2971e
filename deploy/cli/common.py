"""Helpers shared by the CLI commands: settings, the local cluster, the Kafka connection."""

from __future__ import annotations

from pathlib import Path

from seabus.deploy.kafka import LocalCluster
from seabus.streams.config import Settings, load_settings
from seabus.streams.config.recipients import RecipientsDirectory, load_recipients
from seabus.streams.kafka_connection import KafkaConnection


def settings() -> Settings:
    return load_settings()


def local_cluster(s: Settings, *, nodes: int | None = None, insecure: bool | None = None) -> LocalCluster:
    directory = s.data_dir / "kafka"
    existing = LocalCluster.existing(directory=directory, cache_dir=s.cache_dir)
    if existing is not None and nodes is None and insecure is None:
        return existing
    return LocalCluster(
        directory=directory,
        cache_dir=s.cache_dir,
        nodes=nodes or s.local_kafka_nodes,
        base_port=s.local_kafka_port,
        insecure=s.local_kafka_insecure if insecure is None else insecure,
    )


def recipients(s: Settings) -> RecipientsDirectory:
    return load_recipients(s.resolve(s.recipients_file))


def connection_or_local(s: Settings) -> KafkaConnection:
    """The configured cluster (SEABUS_BOOTSTRAP, SEABUS_KAFKA__*), or the local one as the bus's principal."""
    if s.bootstrap:
        return s.connection()
    return local_cluster(s).connection()


def data_path(s: Settings, *parts: str) -> Path:
    return s.data_dir.joinpath(*parts)
