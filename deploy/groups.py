"""Give the worker group a committed offset on every source partition before it starts.

Why: when a rebalance interrupts a fetch, Faust drops the fetched records and
seeks back to the *committed* offsets; a partition with no committed offset yet
is not sought back, so those records would be skipped until the next restart
(seen in a two-worker test: allegations fetched during the rebalance were never
routed). Committing the earliest offset for partitions that have none closes
that gap. Kafka only accepts this while the group is empty, i.e. when the first
worker starts — exactly when no offsets exist yet.
"""

from __future__ import annotations

import time

import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError, NotCoordinatorError
from kafka.structs import OffsetAndMetadata

from deploy.topics import _admin
from schemas.errors import KafkaUnavailable

log = structlog.get_logger(__name__)


def seed_group_offsets(
    *, bootstrap: str, group_id: str, topics: list[str], timeout_s: float = 60.0
) -> dict[TopicPartition, int]:
    """Commit the earliest offset for every partition of ``topics`` the group has none for.

    Retries while the group coordinator is not available yet (a fresh cluster
    creates its offsets topic on first use).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _seed(bootstrap=bootstrap, group_id=group_id, topics=topics)
        except (CoordinatorNotAvailableError, NotCoordinatorError, CoordinatorLoadInProgressError) as exc:
            if time.monotonic() > deadline:
                raise KafkaUnavailable(
                    f"the group coordinator for {group_id} did not become available in {timeout_s:.0f}s "
                    f"({exc.__class__.__name__}); check the cluster's health"
                ) from exc
            time.sleep(0.5)


def _seed(*, bootstrap: str, group_id: str, topics: list[str]) -> dict[TopicPartition, int]:
    admin = _admin(bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        group = admin.describe_groups([group_id]).get(group_id, {})
        if group.get("members"):
            return {}  # another worker runs; Kafka refuses offset changes for an active group
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        committed = admin.list_group_offsets({group_id: tps}).get(group_id, {})
        missing = [
            tp
            for tp in tps
            if tp not in committed or committed[tp].offset is None or committed[tp].offset < 0
        ]
        if not missing:
            return {}
        earliest = consumer.beginning_offsets(missing)
        admin.alter_group_offsets(group_id, {tp: OffsetAndMetadata(earliest[tp], "", -1) for tp in missing})
        log.info("seeded committed offsets", group=group_id, partitions=len(missing))
        return {tp: earliest[tp] for tp in missing}
    finally:
        consumer.close()
        admin.close()
