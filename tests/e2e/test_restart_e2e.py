"""Kill the worker mid-stream (SIGKILL), restart it: every event is routed, in order.

Redeliveries after the crash are allowed only with the same notification_id. The
events go straight to ``<prefix>.allegations`` (the bus's own writers) or through
each agency's ``<prefix>.inbound.<ENTITY>`` and the forwarder, which then is killed
mid-stream too.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import unique_prefix
from support.bus import BusPool, producer, read_all, read_topic
from support.notify import notifications_among

from seabus.schemas.codec import encode_model
from seabus.schemas.enums import AllegationEventType
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.synthetic import random_event, synthetic_event

pytestmark = pytest.mark.kafka

ALLEGATIONS = 120
SEQUENCES = 3


def _events() -> list[tuple[str, str, bytes]]:
    """(allegation id, reporting entity, value) in send order."""
    rng = random.Random(7)
    now = datetime.now(UTC) - timedelta(minutes=1)
    out = []
    for i in range(ALLEGATIONS):
        report = random_event(rng, index=i, now=now)
        out.append((report.allegation_id, report.reporting_entity, encode_model(report)))
        for seq in range(2, SEQUENCES + 1):
            update = synthetic_event(
                allegation_id=report.allegation_id,
                sequence=seq,
                event_type=AllegationEventType.UPDATED,
                reporting_entity=report.reporting_entity,
                allegation=report.allegation,
                published_at=now,
            )
            out.append((report.allegation_id, report.reporting_entity, encode_model(update)))
    return out


@pytest.mark.parametrize("path", ["allegations", "inbound"])
def test_sigkill_mid_stream_loses_and_reorders_nothing(
    kafka: KafkaConnection, tmp_path: Path, buses: BusPool, path: str
) -> None:
    prefix = unique_prefix()
    data = tmp_path / "data"
    bus = buses.start(kafka, prefix, data)
    events = _events()
    p = producer(kafka)

    def publish() -> None:
        for key, entity, value in events:
            topic = f"{prefix}.allegations" if path == "allegations" else f"{prefix}.inbound.{entity}"
            p.send(topic, key=key.encode(), value=value)
        p.flush()

    publisher = threading.Thread(target=publish)
    publisher.start()
    osc = f"{prefix}.notify.OSC"
    try:
        # Kill once some, but not all, notifications are out.
        read_topic(kafka, osc, until=lambda vs: len(vs) >= 40, timeout=120)
        bus.kill()
    finally:
        publisher.join()
        p.close()
    seen_before = len(read_all(kafka, osc))  # everything the killed worker got out
    assert seen_before < len(events), "the worker finished before it was killed; the test proves nothing"

    restarted = buses.start(kafka, prefix, data)
    try:

        def complete(values: list[bytes]) -> bool:
            return len({n.source_event_id for n in notifications_among(values)}) >= len(events)

        values = read_topic(kafka, osc, until=complete, timeout=240)
    finally:
        restarted.stop_cleanly()
    notes = notifications_among(values)
    ids_per_event: dict[str, set[str]] = defaultdict(set)
    for n in notes:
        ids_per_event[n.source_event_id].add(n.notification_id)
    assert len(ids_per_event) == len(events)  # every event routed to OSC
    assert all(len(ids) == 1 for ids in ids_per_event.values())  # redeliveries reuse the id
    first_seen: dict[str, list[int]] = defaultdict(list)
    delivered: set[str] = set()
    for n in notes:
        if n.notification_id in delivered:
            continue
        delivered.add(n.notification_id)
        first_seen[n.allegation_id].append(n.sequence)
    assert all(seqs == list(range(1, SEQUENCES + 1)) for seqs in first_seen.values())
