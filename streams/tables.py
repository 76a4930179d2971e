"""Faust tables that know each key's partition, so timers can write them too.

Faust decides a changelog partition from the *current event*; a timer has none.
Our tables are keyed so that every key belongs to one allegation, whose
partition is known when the key is first written (in the agent) or recovered
(from the changelog). :class:`PartitionedTable` remembers it — in a dict for
the in-memory store, by asking which partition database holds the key for the
RocksDB store (:mod:`seabus.streams.stores`) — which also lets the deadline timer act
only on *active* partitions: never on standby copies, so two workers never
fire the same obligation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import faust
import structlog
from faust.types import EventT

from seabus.schemas.errors import SeabusError
from seabus.streams import faust_compat
from seabus.streams.stores import SeabusRocksStore

log = structlog.get_logger(__name__)


def changelog_config(settings: Any) -> dict[str, str]:
    """Topic configs for every table's changelog: as durable as the topics it mirrors.

    Faust creates changelogs with the broker's default ``min.insync.replicas`` (1): a
    changelog acknowledged by one replica could lose the bus's own progress record.
    """
    core = settings.topics.allegations.over(settings.topics.defaults)
    return {"min.insync.replicas": str(core.min_insync_replicas)}


class UnknownPartition(SeabusError):
    """A table key was written outside an agent before its partition was known."""


class PartitionedTable(faust.Table[Any, Any]):
    """A table remembering the source partition of every key it holds."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.key_partitions: dict[Any, int] = {}

    @property
    def _rocks(self) -> SeabusRocksStore | None:
        data = self.data
        return data if isinstance(data, SeabusRocksStore) else None

    def partition_for_key(self, key: Any) -> int | None:
        event = faust.current_event()
        rocks = self._rocks
        if event is not None:
            partition = int(event.message.partition)
            if rocks is None:
                self.key_partitions[key] = partition
            return partition
        found = (
            self.key_partitions.get(key)
            if rocks is None
            else rocks.partition_of(faust_compat.encode_key(rocks, key))
        )
        if found is None:
            raise UnknownPartition(
                f"table {self.name}: key {key!r} has no known partition; it must be created from an agent"
            )
        return found

    def adopt(self, key: Any, like: Any) -> None:
        """Place a key that a timer is about to create in the partition of ``like``.

        A timer has no current event; an obligation it opens belongs to the same
        allegation, hence the same partition, as the obligation that caused it.
        """
        if faust.current_event() is not None:
            return
        partition = self.partition_for_key(like)
        assert partition is not None
        rocks = self._rocks
        if rocks is None:
            self.key_partitions[key] = partition
        else:
            faust_compat.key_index(rocks)[faust_compat.encode_key(rocks, key)] = partition

    def apply_changelog_batch(self, batch: Iterable[EventT[Any]]) -> None:
        events = list(batch)
        if self._rocks is None:
            for event in events:
                self.key_partitions[self._to_key(event.key)] = int(event.message.partition)
        super().apply_changelog_batch(events)

    def items_in(self, partitions: set[int]) -> Iterator[tuple[Any, Any]]:
        """Items of the given (active) partitions only; standby data is skipped."""
        rocks = self._rocks
        if rocks is not None:
            for raw_key, raw_value in rocks.items_in(partitions):
                yield faust_compat.decode_key(rocks, raw_key), faust_compat.decode_value(rocks, raw_value)
            return
        for key, partition in list(self.key_partitions.items()):
            if partition in partitions:
                value = self.data.get(key)
                if value is not None:
                    yield key, value


class DeferredWrites:
    """A store view whose writes wait for :meth:`commit`.

    The deadline tick marks steps as fired; the marks reach the table only after
    the escalations were acknowledged by Kafka, so a crash in between fires the
    step again (same escalation id) rather than never.
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self.pending: dict[str, Any] = {}
        #: the Faust event each pending key was written under: a batch commits after all of
        #: its events were read, and each write must still land in its own record's partition
        self.events: dict[str, Any] = {}

    def get(self, key: str, /) -> Any:
        if key in self.pending:
            return self.pending[key]
        return self.table.get(key)

    def __setitem__(self, key: str, value: Any, /) -> None:
        self.pending[key] = value
        self.events.setdefault(key, faust.current_event())

    def commit(self) -> list[str]:
        """Write every pending key once (a key changed by several records of a batch: one write).

        A key whose partition this worker no longer holds (revoked by a rebalance while the
        deadline tick awaited Kafka) is left out, not a crash: its new owner rebuilds the
        deadline index from the changelog and fires the step again, with the same escalation id.
        """
        keys = []
        for key, value in self.pending.items():
            with faust_compat.as_current_event(self.events.get(key)):
                try:
                    self.table[key] = value
                except UnknownPartition:
                    log.warning(
                        "table write left to the partition's new owner",
                        table=getattr(self.table, "name", "?"),
                        key=key,
                    )
                    continue
            keys.append(key)
        self.clear()
        return keys

    def savepoint(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What is pending now, to go back to when one record of a batch fails."""
        return dict(self.pending), dict(self.events)

    def restore(self, saved: tuple[dict[str, Any], dict[str, Any]]) -> None:
        self.pending, self.events = dict(saved[0]), dict(saved[1])

    def clear(self) -> None:
        """Drop the pending writes (a failed step or batch is redone or dead-lettered)."""
        self.pending.clear()
        self.events.clear()
