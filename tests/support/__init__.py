"""Helpers for the test suite: free ports, polling, a settings factory per test."""

from __future__ import annotations

import json
import os
import random
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.retry import poll_until

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
JAR_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seabus"
# The suite's brokers live for minutes: the serial collector and the quick JIT take about half
# the CPU of the shipped G1 and optimising JIT (docs/TESTING.md), which is the suite's wall time
# on two cores. One launcher test runs the shipped options.
TEST_JVM_OPTIONS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(count: int) -> int:
    """A run of ``count`` free consecutive ports below the ephemeral range."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - count)
        if all(port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free port run found")


def free_port() -> int:
    return free_base_port(1)


def unique_prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


def create_topic(
    kafka: KafkaConnection,
    name: str,
    partitions: int = 1,
    *,
    configs: dict[str, str] | None = None,
    wait: bool = False,
) -> str:
    """Create one topic (replication 1) through ``kafka``'s admin; ``wait`` until every broker
    reports it. Returns the name."""
    from kafka.admin import NewTopic

    admin = kafka.kafka_admin()
    try:
        admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})])
        if wait:
            admin.wait_for_topics([name], timeout_ms=30000)
    finally:
        admin.close()
    return name


def wait_for(
    predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll until ``predicate`` returns something truthy; fail with ``what`` otherwise."""
    return poll_until(
        predicate,
        timeout_s=timeout,
        interval_s=interval,
        timed_out=lambda _: AssertionError(f"timed out after {timeout}s waiting for {what or predicate}"),
    )


# bus_env(..., **WITH_VIEW): `seabus run` also serves the on-call view (its child process), for
# the tests that read the dashboard, /v1/overdue, /v1/stats or a state's own view through it.
WITH_VIEW = {"SEABUS_VIEW__CHILD_PROCESS": "true"}


def bus_env(*, kafka: KafkaConnection | None, prefix: str, data_dir: Path, **extra: Any) -> dict[str, str]:
    """Environment for a `seabus` subprocess isolated to one test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEABUS_")}
    env.update(
        {
            "SEABUS_TOPIC_PREFIX": prefix,
            "SEABUS_APP_ID": prefix,
            "SEABUS_DATA_DIR": str(data_dir),
            "SEABUS_CACHE_DIR": str(JAR_CACHE),
            "SEABUS_LOCAL_KAFKA_JVM_OPTIONS": json.dumps(TEST_JVM_OPTIONS),
            # No on-call view process unless the test reads the view (WITH_VIEW): it re-reads the
            # bus's topics and costs about 1.4 CPU-s per start, a seventh of the suite's bus CPU.
            "SEABUS_VIEW__CHILD_PROCESS": "false",
            "SEABUS_WEB_PORT": str(free_port()),
            "SEABUS_GATEWAY__PORT": str(free_port()),
        }
    )
    if kafka:
        env.update(kafka.env())  # SEABUS_BOOTSTRAP and SEABUS_KAFKA__*: the same principal and CA
    env.update({k: str(v) for k, v in extra.items()})
    return env
