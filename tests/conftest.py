"""Session fixtures: one real Kafka broker for the whole run, a topic prefix per test.

Set SEABUS_BOOTSTRAP to run the suite against an existing cluster instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import JAR_CACHE, free_base_port, unique_prefix

from deploy.kafka import LocalCluster
from streams.config import Settings, load_settings


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("SEABUS_BOOTSTRAP")
    if external:
        yield external
        return
    cluster = LocalCluster(
        directory=tmp_path_factory.mktemp("kafka"), cache_dir=JAR_CACHE, nodes=1, base_port=free_base_port(2)
    )
    info = cluster.up()
    try:
        yield info.bootstrap
    finally:
        cluster.down()


@pytest.fixture
def prefix() -> str:
    """A topic prefix (and app id) of this test's own, so tests never see each other's data."""
    return unique_prefix()


@pytest.fixture
def settings(prefix: str, tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    return load_settings(
        bootstrap=kafka_bootstrap,
        topic_prefix=prefix,
        app_id=prefix,
        data_dir=tmp_path / "data",
        cache_dir=JAR_CACHE,
    )
