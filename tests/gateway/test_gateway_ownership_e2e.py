"""At the gateway, an agency updates only its own allegations (403), and every event it
accepts carries the origin it authenticated (the real gateway in front of the real bus)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from gateway.gateway_support import bearer, event_json
from support.bus import BusProcess
from support.reading import read_records

from seabus.connectors.gateway import AgencyToken, GatewayConfig, start_gateway, token_sha256
from seabus.streams.config import load_settings
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import ORIGIN_HEADER

pytestmark = pytest.mark.kafka


def test_another_agencys_update_is_refused_with_403(
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
    unmiss, monusco = "sbk_e2e-unmiss-owner", "sbk_e2e-monusco-other"
    config = GatewayConfig(
        agencies=(
            AgencyToken(entity="UNMISS", token_sha256=token_sha256(unmiss)),
            AgencyToken(entity="MONUSCO", token_sha256=token_sha256(monusco)),
        )
    )
    aid = "SYNTH-GW-OWNER-1"
    report = event_json(aid, entity="UNMISS", nationality="KEN")
    takeover = event_json(aid, entity="MONUSCO", nationality="KEN", sequence=2) | {"event_type": "UPDATED"}

    async def scenario() -> tuple[int, int, dict[str, Any], str | None]:
        handle = await start_gateway(settings=settings, port=0, config=config)
        try:
            async with aiohttp.ClientSession() as http:
                url = f"{handle.url}/v1/allegations"
                async with http.post(url, json=report, headers=bearer(unmiss)) as r:
                    first = r.status
                assert await handle.owners.wait_for(aid, timeout_s=120) == "UNMISS"
                async with http.post(url, json=takeover, headers=bearer(monusco)) as r:
                    return first, r.status, await r.json(), r.headers.get("Content-Type")
        finally:
            await handle.stop()

    first, status, problem, ctype = asyncio.run(scenario())
    assert first == 202
    assert status == 403
    assert ctype is not None
    assert ctype.startswith("application/problem+json")
    assert problem["type"] == "urn:seabus:problem:not-owner"
    assert f"{aid} belongs to UNMISS" in problem["detail"]
    records = [r for r in read_records(kafka, f"{prefix}.allegations") if r.key == aid.encode()]
    assert len(records) == 1  # MONUSCO's event was never sent
    assert [v for k, v in records[0].headers if k == ORIGIN_HEADER] == [b"UNMISS"]
