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

import asyncio
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


class AckedTable(faust.Table[Any, Any]):
    """A table whose changelog records are sent by :meth:`flush_changelog`, which awaits Kafka.

    Faust hands every changelog record to a buffer that sends one at a time and that
    nobody awaits, so the source-progress record written after a batch could reach Kafka
    before the state it stands for (another partition, not held behind the batch in
    flight): a worker killed in between would have recorded as done an event whose
    allegation state or obligations were never stored. The agents flush after their
    writes and before they record progress. (Faust's buffer also stalled the stream
    whenever it held more than 100 records; one batch writes hundreds.)
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.unsent: list[tuple[int, Any, Any]] = []

    def on_key_set(self, key: Any, value: Any) -> None:
        # Called before the store is written: a key without a partition raises here, unwritten.
        self.unsent.append((self._partition_of(key), key, value))

    def on_key_del(self, key: Any) -> None:
        self.unsent.append((self._partition_of(key), key, None))

    def _partition_of(self, key: Any) -> int:
        partition = self.partition_for_key(key)
        if partition is None:  # Faust's default partitioner: never the case for seabus's tables
            raise UnknownPartition(f"table {self.name}: key {key!r} has no partition")
        return partition

    async def flush_changelog(self) -> None:
        """Send every changelog record written since the last flush, and await their acknowledgements.

        On failure the records are kept, in order, ahead of later ones: the next flush sends
        them again (a changelog is compacted by key, so a copy is harmless).
        """
        await flush_changelogs(self)


async def flush_changelogs(*tables: AckedTable) -> None:
    """:meth:`AckedTable.flush_changelog` of every table: all queued first, then sent at once
    (no linger: the round is complete) and their acknowledgements awaited together."""
    taken = [(t, t.unsent) for t in tables if t.unsent]
    if not taken:
        return
    for t, _ in taken:
        t.unsent = []
    try:
        acks = [await faust_compat.send_changelog(t, p, k, v) for t, records in taken for p, k, v in records]
        faust_compat.send_now(taken[0][0].app)
        await asyncio.gather(*acks)
    except BaseException:
        for t, records in taken:
            t.unsent[:0] = records
        raise


class PartitionedTable(AckedTable):
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
