"""Table changelog records are sent when the agent flushes, and awaited, not left to Faust's buffer.

The progress record of a batch must not reach Kafka before the state it stands for; the
real-broker path (recovery of state and obligations after restarts) is in tests/e2e.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any

import pytest

from seabus.streams import faust_compat
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.tables import PartitionedTable, UnknownPartition, flush_changelogs


class Refused(Exception):
    """What an unacknowledged changelog record raises."""


def _table(name: str) -> PartitionedTable:
    # Never started: nothing connects, the table only needs an app to belong to.
    app = KafkaConnection(bootstrap="127.0.0.1:9").faust_app(f"synth-acked-{name}", store="memory://")
    return PartitionedTable(app, name=name, default=None, partitions=4, key_type=str)


class _Event:
    """What a table write reads of Faust's current event (weak-referenced, so a class)."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition, topic="synth.allegations")


def _event(partition: int) -> Any:
    return _Event(partition)


def test_writes_are_sent_at_the_flush_in_order_and_awaited(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, int, Any, Any]] = []
    acked: list[Any] = []

    async def send(table: Any, partition: int, key: Any, value: Any) -> Awaitable[Any]:
        sent.append((table.name, partition, key, value))

        async def ack() -> Any:
            await asyncio.sleep(0)
            acked.append(key)
            return key

        return asyncio.ensure_future(ack())

    monkeypatch.setattr(faust_compat, "send_changelog", send)
    state, obligations = _table("state"), _table("obligations")

    async def scenario() -> None:
        with faust_compat.as_current_event(_event(2)):
            state["SYNTH-A"] = {"v": 1}
            obligations["SYNTH-A|KEN|ACK"] = b"open"
            state["SYNTH-A"] = {"v": 2}
        with faust_compat.as_current_event(_event(3)):
            state["SYNTH-B"] = {"v": 1}
        assert sent == []  # nothing reaches Kafka before the flush
        assert state["SYNTH-A"] == {"v": 2}  # while reads see the writes
        await flush_changelogs(state, obligations)
        assert set(acked) == {"SYNTH-A", "SYNTH-B", "SYNTH-A|KEN|ACK"}  # returned only once acked

    asyncio.run(scenario())
    assert [s for s in sent if s[0] == "state"] == [
        ("state", 2, "SYNTH-A", {"v": 1}),
        ("state", 2, "SYNTH-A", {"v": 2}),
        ("state", 3, "SYNTH-B", {"v": 1}),
    ]
    assert ("obligations", 2, "SYNTH-A|KEN|ACK", b"open") in sent
    assert not state.unsent
    assert not obligations.unsent


def test_a_refused_record_keeps_the_flush_for_the_next_one_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[list[str]] = []
    refuse = {"first": True}

    async def send(table: Any, partition: int, key: Any, value: Any) -> Awaitable[Any]:
        attempts[-1].append(key)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if refuse["first"] and key == "SYNTH-B":
            fut.set_exception(Refused("NOT_ENOUGH_REPLICAS"))
        else:
            fut.set_result(key)
        return fut

    monkeypatch.setattr(faust_compat, "send_changelog", send)
    state = _table("state")

    async def scenario() -> None:
        with faust_compat.as_current_event(_event(1)):
            state["SYNTH-A"] = 1
            state["SYNTH-B"] = 1
        attempts.append([])
        with pytest.raises(Refused):
            await state.flush_changelog()
        refuse["first"] = False
        with faust_compat.as_current_event(_event(1)):
            state["SYNTH-A"] = 2  # a later write, behind the ones kept
        attempts.append([])
        await state.flush_changelog()

    asyncio.run(scenario())
    assert attempts == [["SYNTH-A", "SYNTH-B"], ["SYNTH-A", "SYNTH-B", "SYNTH-A"]]
    assert not state.unsent


def test_a_key_without_a_partition_is_refused_before_the_store_is_written() -> None:
    state = _table("state")
    with pytest.raises(UnknownPartition):
        state["SYNTH-C"] = 1  # no current event, never written from an agent
    assert state.unsent == []
    assert "SYNTH-C" not in state.data
