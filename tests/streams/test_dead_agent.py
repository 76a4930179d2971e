"""Issue 16: a crashed agent never leaves a live-looking worker, and a fatal error is no dead letter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.structs import TopicPartition

from seabus.schemas.envelopes import Outbound
from seabus.streams import faust_compat, metrics
from seabus.streams.agents.guard import RecordGuard, agent_lifecycle
from seabus.streams.config import load_settings
from seabus.streams.context import BusContext, load_context
from seabus.streams.progress import SourceProgress, progress_key

TOPIC = "SYNTH.allegations"


class SettledApp:
    """What the self-check reads of a Faust app: settled, one active source partition."""

    rebalancing = False
    in_recovery = False

    def __init__(self) -> None:
        done = asyncio.Event()
        done.set()
        self.tables = SimpleNamespace(recovery=SimpleNamespace(completed=done))
        self.assignor = SimpleNamespace(assigned_actives=lambda: {TopicPartition(TOPIC, 0)})
        self.crashes: list[BaseException] = []
        self.partitions = {TOPIC: 6}
        self.consumer = SimpleNamespace(topic_partitions=self.partitions.get)

    async def crash(self, exc: BaseException) -> None:
        self.crashes.append(exc)


async def crash(agent: str) -> None:
    with pytest.raises(RuntimeError):
        async with agent_lifecycle(agent, not_ready_s=0.01):
            raise RuntimeError("boom")


def test_a_dead_agent_keeps_the_worker_not_ready_until_it_runs_again() -> None:
    app = SettledApp()
    check = metrics.HealthCheck(app=app, sources=frozenset({TOPIC}))
    assert check.sample().ready is True

    async def scenario() -> None:
        await crash("SYNTH-intake")
        metrics.set_problem("SYNTH-intake-crashed", None)  # the short "crashed recently" problem is over
        health = check.sample()
        assert health.ready is False
        assert "SYNTH-intake agent crashed (RuntimeError)" in health.reason
        async with agent_lifecycle("SYNTH-intake", not_ready_s=0.01):
            metrics.set_problem("SYNTH-intake-crashed", None)
            assert check.sample().ready is True  # restarted: running again

    asyncio.run(scenario())
    assert "SYNTH-intake" not in metrics.crashed_agents()  # a normal exit is not a dead agent
    assert app.crashes == []


def test_an_agent_dead_for_longer_than_allowed_stops_the_worker_once() -> None:
    app = SettledApp()
    check = metrics.HealthCheck(app=app, sources=frozenset({TOPIC}), stop_after_s=0.0)

    async def scenario() -> None:
        await crash("SYNTH-dead")
        try:
            check.sample()
            check.sample()
            await asyncio.sleep(0)  # the crash was handed to the loop
        finally:
            async with agent_lifecycle("SYNTH-dead", not_ready_s=0.01):  # leave no dead agent behind
                pass

    asyncio.run(scenario())
    [stopped] = app.crashes
    assert isinstance(stopped, faust_compat.WorkerMustStop)
    assert "SYNTH-dead agent crashed" in str(stopped)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BusContext:
    for key in [k for k in __import__("os").environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    return load_context(load_settings(data_dir=tmp_path, not_ready_after_s=0.05))


class Reader:
    async def start_offsets(self, tps: object) -> dict[TopicPartition, int]:
        return {TopicPartition(TOPIC, 0): 0}


def test_a_worker_must_stop_error_is_neither_retried_nor_dead_lettered(ctx: BusContext) -> None:
    sent: list[Outbound] = []
    table: dict[str, int] = {}

    async def send(records: list[Outbound]) -> None:
        sent.extend(records)

    guard = RecordGuard(
        agent="intake",
        ctx=ctx,
        progress=SourceProgress(table=table, seeker=Reader(), reader=Reader()),  # type: ignore[arg-type]
        send=send,
        producer="seabus/test",
        should_stop=lambda: False,
    )
    attempts: list[int] = []

    async def step(message: Any) -> None:
        attempts.append(message.offset)
        raise faust_compat.PartitionCountMismatch("SYNTH mismatch")

    message = SimpleNamespace(
        tp=TopicPartition(TOPIC, 0), topic=TOPIC, partition=0, offset=0, key=b"k", value=b"v", headers=[]
    )
    with pytest.raises(faust_compat.PartitionCountMismatch):
        asyncio.run(guard.handle(message, step))
    assert attempts == [0]
    assert sent == []  # the record is fine: no dead letter
    assert table.get(progress_key(TopicPartition(TOPIC, 0))) == 0  # not recorded as processed


def test_a_source_topic_without_metadata_is_not_ready_and_a_refresh_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The assignor skips a topic its metadata lacks: settled, yet nothing of it is routed."""
    app = SettledApp()
    app.partitions[TOPIC] = 0
    asked: list[object] = []

    def refresh(consumer: object, **_: object) -> bool:
        asked.append(consumer)
        return True

    monkeypatch.setattr(faust_compat, "request_metadata_refresh", refresh)
    check = metrics.HealthCheck(app=app, sources=frozenset({TOPIC}))
    health = check.sample()
    assert health.ready is False
    assert f"no partition metadata yet for {TOPIC}" in health.reason
    assert asked == [app.consumer]
    app.partitions[TOPIC] = 6
    assert check.sample().ready is True
    del app.partitions[TOPIC]  # a member that is not the group's leader tracks no counts
    assert check.sample().ready is True
    assert asked == [app.consumer]
