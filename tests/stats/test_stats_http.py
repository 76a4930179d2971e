"""``GET /v1/stats`` and ``/dashboard/stats`` over a real socket, from an in-memory index."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from dashboard.dashboard_support import TOKEN, MemoryView, NoProducer, write_dashboard_file
from stats.stats_support import allegation
from support import free_port

from seabus.connectors.dashboard import dashboard_routes
from seabus.connectors.gateway import AgencyAuth, build_gateway_app
from seabus.schemas.enums import PersonnelCategory
from seabus.streams.config import Settings
from seabus.streams.stats import StatsIndex

NOW = datetime(2025, 12, 1, tzinfo=UTC)


def stats_index() -> StatsIndex:
    ix = StatsIndex(prefix="sea")
    for n in range(4):
        ix.add(allegation(f"SYNTH-STATS-H{n}"))
    ix.add(allegation("SYNTH-STATS-H9", state="URY", category=PersonnelCategory.UN_POLICE_OFFICER))
    return ix


async def _serve_and(settings: Settings, config: Path, paths: list[tuple[str, dict[str, str]]]) -> list[Any]:
    routes = dashboard_routes(
        view=MemoryView(), settings=settings, config_path=config, clock=lambda: NOW, stats=stats_index()
    )
    app = build_gateway_app(
        settings=settings, producer=NoProducer(), auth=AgencyAuth(tokens={}), extra_routes=routes
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    out = []
    try:
        async with aiohttp.ClientSession() as http:
            for path, headers in paths:
                async with http.get(
                    f"http://127.0.0.1:{port}{path}", headers=headers, allow_redirects=False
                ) as r:
                    out.append((r.status, r.content_type, await r.text()))
    finally:
        await runner.cleanup()
    return out


def test_stats_api_and_page(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answers = asyncio.run(
        _serve_and(
            offline_settings,
            config,
            [
                ("/v1/stats", {}),
                ("/v1/stats", auth),
                ("/v1/stats?period=2025-Q3&format=csv", auth),
                ("/v1/stats?period=yesterday", auth),
                ("/dashboard/stats", {}),
                ("/openapi.json", {}),
            ],
        )
    )
    assert answers[0][0] == 401
    status, content_type, body = answers[1]
    assert (status, content_type) == (200, "application/json")
    report = json.loads(body)
    assert set(report) == {"period", "tables", "suppressed_cells"}
    assert report["period"] == "2025"
    categories = {r["personnel_category"]: r["count"] for r in report["tables"]["by_personnel_category"]}
    assert categories == {"MILITARY_CONTINGENT": 4, "UN_POLICE_OFFICER": None}
    assert answers[2][1] == "text/csv"
    assert answers[2][2].splitlines()[0].startswith("table,period,")
    assert all(",2025-Q3," in line for line in answers[2][2].splitlines()[1:])
    assert answers[3][0] == 400
    assert "2025-Q3" in answers[3][2]
    assert answers[4][0] == 303  # the page wants a signed-in session
    paths = json.loads(answers[5][2])["paths"]
    assert "/v1/stats" in paths
    assert "/dashboard/stats" in paths
