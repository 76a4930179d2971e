"""By HTTP from nothing to a routed allegation: `start_gateway` in front of the real `seabus run`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from gateway.gateway_support import bearer, event_json
from support.bus import BusProcess, read_topic
from support.notify import notifications_among

from seabus.connectors.gateway import AgencyToken, GatewayConfig, start_gateway, token_sha256
from seabus.streams.config import load_settings
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka


def test_http_event_reaches_the_member_state(
    kafka: KafkaConnection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    default_bus: tuple[str, BusProcess],
) -> None:
    prefix, _ = default_bus  # the session's shared bus; this test's ids are its own
    for key in [k for k in os.environ if k.startswith("SEABUS_")]:
        monkeypatch.delenv(key)
    settings = load_settings(
        bootstrap=kafka.bootstrap,
        kafka=kafka.security,
        topic_prefix=prefix,
        app_id=prefix,
        data_dir=tmp_path / "gw",
    )
    token = "sbk_e2e-unmiss-token"
    config = GatewayConfig(agencies=(AgencyToken(entity="UNMISS", token_sha256=token_sha256(token)),))
    event = event_json("SYNTH-GW-E2E-1", entity="UNMISS", nationality="KEN")

    async def scenario() -> tuple[int, dict[str, Any], int]:
        handle = await start_gateway(settings=settings, port=0, config=config)
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{handle.url}/v1/allegations", json=event, headers=bearer(token)) as r:
                    answer = (r.status, await r.json())
                async with http.post(f"{handle.url}/v1/allegations", json=event, headers=bearer()) as r:
                    return (*answer, r.status)
        finally:
            await handle.stop()

    status, body, other_token_status = asyncio.run(scenario())
    assert status == 202
    assert body["accepted"][0]["event_id"] == event["event_id"]
    assert other_token_status == 401  # only the configured token is known to this gateway

    def routed(values: list[bytes]) -> bool:
        return any(n.source_event_id == event["event_id"] for n in notifications_among(values))

    values = read_topic(kafka, f"{prefix}.notify.KEN", until=routed)
    [note] = [n for n in notifications_among(values) if n.source_event_id == event["event_id"]]
    assert (note.recipient, note.allegation_id) == ("KEN", "SYNTH-GW-E2E-1")
