"""Table storage: RocksDB on local disk, so a million obligations fit in memory and restart fast.

Faust's in-memory store keeps every value on the Python heap and replays the
whole changelog at every start; at a million obligations that is gigabytes and
minutes. Faust's RocksDB store keeps values on disk, one database per partition,
and remembers the changelog offset it has applied, so a restart on the same
data directory reads only what changed since.

Two gaps of Faust's RocksDB store are closed here:

* It writes only from inside an agent (it takes the partition from the current
  event). The deadline timer writes too, to keys that already exist, so
  :meth:`SeabusRocksStore.partition_of` finds the partition database holding a
  key (bloom filters make the misses cheap).
* It opens every partition database with its own block cache of 2 GiB and
  64 MiB write buffers. Here all databases of the process share one cache and
  use small buffers, so memory is bounded whatever the partition count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import rocksdict
from faust import current_event
from faust.stores import STORES
from faust.stores.rocksdb import RocksDBOptions, Store

from seabus.streams import faust_compat

__all__ = ["ROCKSDB_URL", "SeabusRocksStore", "store_url"]

ROCKSDB_URL = "seabus-rocksdb://"

#: One LRU block cache for every partition database of the process.
BLOCK_CACHE_BYTES = 64 * 1024 * 1024
#: Per database: write buffers (memtables) before a flush to disk.
WRITE_BUFFER_BYTES = 4 * 1024 * 1024
WRITE_BUFFERS = 2

_shared_cache: rocksdict.Cache | None = None


def _cache() -> rocksdict.Cache:
    global _shared_cache
    if _shared_cache is None:
        _shared_cache = rocksdict.Cache(BLOCK_CACHE_BYTES)
    return _shared_cache


class _BoundedOptions(RocksDBOptions):
    """Faust's options with a shared block cache and small write buffers."""

    def as_options(self) -> Any:
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(self.max_open_files if self.max_open_files is not None else -1)
        options.set_write_buffer_size(WRITE_BUFFER_BYTES)
        options.set_max_write_buffer_number(WRITE_BUFFERS)
        options.set_target_file_size_base(self.target_file_size_base)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(_cache())
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


class SeabusRocksStore(Store):
    """Faust's RocksDB store (rocksdict driver), writable from timers, with bounded memory."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        options = dict(kwargs.pop("options", None) or {})
        options["driver"] = "rocksdict"
        super().__init__(*args, options=options, **kwargs)
        self.rocksdb_options = _BoundedOptions(use_rocksdict=True)

    def partition_of(self, key: bytes) -> int | None:
        """The partition whose local database holds ``key``, or None."""
        index = faust_compat.key_index(self)
        known = index.get(key)
        dbs = dict(faust_compat.partition_dbs(self))
        if known is not None and known in dbs:
            return known
        for partition, db in dbs.items():
            if db.key_may_exist(key) and db.get(key) is not None:
                index[key] = partition
                return partition
        return None

    def _set(self, key: bytes, value: bytes | None) -> None:  # Faust's Store extension point
        if current_event() is not None:
            super()._set(key, value)
            return
        partition = self.partition_of(key)
        if partition is None:
            raise KeyError(f"table {self.table.name}: no local partition holds key {key!r}")
        faust_compat.db_for_partition(self, partition).put(key, value)

    def items_in(self, partitions: Iterable[int]) -> Iterator[tuple[bytes, bytes]]:
        """Raw items of the given partitions' databases (opened if need be: they are the active ones)."""
        for partition in sorted(partitions):
            yield from faust_compat.visible_items(self, faust_compat.db_for_partition(self, partition))


STORES.aliases["seabus-rocksdb"] = f"{__name__}:SeabusRocksStore"


def store_url(kind: str) -> str:
    """Faust store URL for the configured kind (``rocksdb`` or ``memory``)."""
    return ROCKSDB_URL if kind == "rocksdb" else "memory://"
