"""Run the real bus (`seabus run`) in a subprocess and talk to it through Kafka."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from support import bus_env, wait_for


class BusProcess:
    """`seabus run` with its stderr collected line by line."""

    def __init__(self, env: dict[str, str], *, args: tuple[str, ...] = ("run",)) -> None:
        self.env = env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli.main", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr
        for line in self.proc.stderr:
            self.lines.append(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_ready(self, timeout: float = 120) -> None:
        wait_for(
            lambda: self.saw("seabus worker ready") or self.proc.poll() is not None,
            timeout=timeout,
            what="worker ready",
        )
        if self.proc.poll() is not None:
            raise AssertionError("bus exited during start-up:\n" + "".join(self.lines[-40:]))

    def interrupt(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=120)
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def start_bus(bootstrap: str, prefix: str, data_dir: Path, **extra: object) -> BusProcess:
    bus = BusProcess(bus_env(bootstrap=bootstrap, prefix=prefix, data_dir=data_dir, **extra))
    bus.wait_ready()
    return bus


def producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[bytes]], bool],
    timeout: float = 60.0,
) -> list[bytes]:
    """Every value on ``topic`` from the beginning, polling until ``until(values)`` holds."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    deadline = time.monotonic() + timeout
    try:
        partitions: set[int] | None = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} never appeared")
            if not partitions:
                time.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        values: list[bytes] = []
        while True:
            for records in consumer.poll(timeout_ms=200).values():
                values.extend(r.value for r in records)
            if until(values):
                return values
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out on {topic} with {len(values)} record(s)")
    finally:
        consumer.close()
