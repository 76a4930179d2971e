"""A worker started while Kafka is down waits for it, then routes: it does not exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import JAR_CACHE, TEST_JVM_OPTIONS, bus_env, free_base_port, unique_prefix, wait_for
from support.bus import BusPool, producer, read_topic
from support.notify import notifications_among
from support.routing import event

from seabus.deploy.kafka import LocalCluster
from seabus.schemas.codec import encode_model
from seabus.schemas.enums import PersonnelCategory as P

pytestmark = pytest.mark.kafka


def test_worker_started_before_the_cluster_waits_and_then_routes(tmp_path: Path) -> None:
    cluster = LocalCluster(
        directory=tmp_path / "kafka",
        cache_dir=JAR_CACHE,
        jvm_options=TEST_JVM_OPTIONS,
        nodes=1,
        base_port=free_base_port(2),
    )
    prefix = unique_prefix()
    with BusPool() as pool:
        try:
            bus = pool.spawn(bus_env(kafka=cluster.connection(), prefix=prefix, data_dir=tmp_path / "data"))
            wait_for(
                lambda: bus.saw("waiting for the Kafka cluster") or not bus.running,
                timeout=60,
                what="the worker waiting",
            )
            # it keeps waiting (a second retry), alive
            wait_for(
                lambda: (
                    len([line for line in bus.lines if "waiting for the Kafka cluster" in line]) >= 2
                    or not bus.running
                ),
                timeout=60,
                what="a second retry",
            )
            assert bus.running, "the worker exited while Kafka was down:\n" + bus.tail()
            cluster.up()
            bus.wait_ready(timeout=180)
            p = producer(cluster.connection())
            aid = "SYNTH-OUTAGE-0001"
            subjects = [("SYNTH-SUBJ-OUTAGE-FRA", "FRA", None, P.STAFF_MEMBER)]
            p.send(
                f"{prefix}.allegations", key=aid.encode(), value=encode_model(event(aid, subjects=subjects))
            )
            p.flush()
            p.close()
            read_topic(
                cluster.connection(),
                f"{prefix}.notify.OSC",
                until=lambda vs: any(n.allegation_id == aid for n in notifications_among(vs)),
                timeout=120,
            )
            bus.stop_cleanly()
        finally:
            pool.stop_all()
            cluster.down()
