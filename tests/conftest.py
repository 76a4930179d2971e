"""Session fixtures: one real Kafka broker for the whole run, a topic prefix per test.

Set SEABUS_BOOTSTRAP to run the suite against an existing cluster instead.

Bus processes (`seabus run`, `seabus gateway`) never outlive their test: start them with
the ``buses`` fixture (or a ``BusPool``), and whatever a test still leaves running is
stopped when it ends (``_stop_leftover_buses``) and, for module fixtures, when the
session ends.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import JAR_CACHE, free_base_port, unique_prefix
from support.bus import BusPool, live_buses, stop_buses

from seabus.deploy.kafka import LocalCluster
from seabus.streams.config import Settings, load_settings
from seabus.streams.kafka_connection import KafkaConnection


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaConnection]:
    """The session's cluster as the bus's principal: a local SASL_SSL + SCRAM-SHA-512 broker,
    or the one SEABUS_BOOTSTRAP and SEABUS_KAFKA__* name."""
    if os.environ.get("SEABUS_BOOTSTRAP"):
        yield load_settings().connection()
        return
    cluster = LocalCluster(
        directory=tmp_path_factory.mktemp("kafka"), cache_dir=JAR_CACHE, nodes=1, base_port=free_base_port(2)
    )
    info = cluster.up()
    try:
        yield info.connection
    finally:
        stop_buses(grace=10)  # while the broker is still there to shut down against
        cluster.down()


@pytest.fixture(scope="session", autouse=True)
def _stop_buses_at_session_end() -> Iterator[None]:
    yield
    stop_buses(grace=10)


@pytest.fixture(autouse=True)
def _stop_leftover_buses() -> Iterator[None]:
    """The safety net: a bus process started during a test (by its body or its function-scoped
    fixtures) and still running when the test is over is interrupted, then SIGKILLed with its
    process group. Module-scoped buses, started before the test, are left to their fixtures."""
    before = {id(b) for b in live_buses()}
    yield
    leftovers = [b for b in live_buses() if id(b) not in before]
    running = stop_buses(leftovers, grace=10)
    if running:
        warnings.warn(f"stopped bus process(es) the test left running: {running}", stacklevel=1)


@pytest.fixture
def buses() -> Iterator[BusPool]:
    """Start bus processes with ``buses.start(kafka, prefix, data_dir, **env)`` or
    ``buses.spawn(env)``; each is interrupted, then SIGKILLed with its process group, when
    the test ends, pass or fail."""
    with BusPool() as pool:
        yield pool


@pytest.fixture
def prefix() -> str:
    """A topic prefix (and app id) of this test's own, so tests never see each other's data."""
    return unique_prefix()


@pytest.fixture
def settings(
    prefix: str, tmp_path: Path, kafka: KafkaConnection, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    return load_settings(
        bootstrap=kafka.bootstrap,
        kafka=kafka.security,
        topic_prefix=prefix,
        app_id=prefix,
        data_dir=tmp_path / "data",
        cache_dir=JAR_CACHE,
    )
