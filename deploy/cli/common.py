"""Helpers shared by the CLI commands: settings, the local cluster, the bootstrap address."""

from __future__ import annotations

from pathlib import Path

from deploy.kafka import LocalCluster
from streams.config import Settings, load_settings
from streams.config.recipients import RecipientsDirectory, load_recipients


def settings() -> Settings:
    return load_settings()


def local_cluster(s: Settings, *, nodes: int | None = None) -> LocalCluster:
    directory = s.data_dir / "kafka"
    existing = LocalCluster.existing(directory=directory, cache_dir=s.cache_dir)
    if existing is not None and nodes is None:
        return existing
    return LocalCluster(
        directory=directory,
        cache_dir=s.cache_dir,
        nodes=nodes or s.local_kafka_nodes,
        base_port=s.local_kafka_port,
    )


def recipients(s: Settings) -> RecipientsDirectory:
    return load_recipients(s.resolve(s.recipients_file))


def bootstrap_or_local(s: Settings) -> str:
    """The configured cluster, or the local one (which must be running)."""
    if s.bootstrap:
        return s.bootstrap
    return local_cluster(s).bootstrap


def data_path(s: Settings, *parts: str) -> Path:
    return s.data_dir.joinpath(*parts)
