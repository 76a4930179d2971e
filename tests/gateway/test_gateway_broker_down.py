"""With the broker stopped, the gateway answers 503 and claims nothing; once it is back, 202."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from gateway.gateway_support import bearer, event_ids, event_json, has_ids, read_records, serve
from support import JAR_CACHE, TEST_JVM_OPTIONS, free_base_port

from seabus.connectors.gateway import GatewayConfig
from seabus.deploy import topics
from seabus.deploy.kafka import LocalCluster
from seabus.streams.config import Settings

pytestmark = pytest.mark.kafka


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """A broker of this test's own, so stopping it does not disturb the session broker."""
    cluster = LocalCluster(
        directory=tmp_path / "kafka",
        cache_dir=JAR_CACHE,
        jvm_options=TEST_JVM_OPTIONS,
        nodes=1,
        base_port=free_base_port(2),
    )
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()


def test_stopped_broker_gives_503_and_recovery_gives_202(
    settings: Settings, own_cluster: LocalCluster
) -> None:
    kafka = own_cluster.connection()
    topics.apply(settings, ["OSC"], kafka=kafka)
    before = event_json("SYNTH-GW-DOWN-1")
    during = event_json("SYNTH-GW-DOWN-2")
    config = GatewayConfig(ack_timeout_s=3, retry_after_s=7)

    async def scenario() -> list[tuple[int, dict[str, Any], str | None]]:
        out = []
        async with serve(settings, kafka, config=config) as gw, aiohttp.ClientSession() as http:

            async def send(body: Any) -> None:
                async with http.post(f"{gw.url}/v1/allegations", json=body, headers=bearer()) as r:
                    out.append((r.status, await r.json(content_type=None), r.headers.get("Retry-After")))

            await send(before)
            await asyncio.to_thread(own_cluster.down)
            await send([during])
            await asyncio.to_thread(own_cluster.up)
            await send([during])
        return out

    (ok_status, _, _), (down_status, problem, retry_after), (back_status, back, _) = asyncio.run(scenario())
    assert ok_status == 202
    assert down_status == 503
    assert problem["type"] == "urn:seabus:problem:kafka-unavailable"
    assert problem["accepted"] == []
    assert problem["not_accepted"] == [during["event_id"]]
    assert "NOT accepted" in problem["detail"]
    assert retry_after == "7"
    assert back_status == 202
    assert [a["event_id"] for a in back["accepted"]] == [during["event_id"]]
    records = read_records(
        kafka, settings.topic("allegations"), until=has_ids(before["event_id"], during["event_id"])
    )
    assert set(event_ids(records)) == {before["event_id"], during["event_id"]}
