"""Every page escapes what the bus was sent: a hostile id never reaches a page as markup.

The pages are Jinja2 templates with autoescape (connectors/dashboard/render.py); this
test sends ``<script>alert(1)</script>`` as an allegation id, a recipient id and a
reporting entity, and reads each page over a real socket.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from dashboard.dashboard_support import TOKEN, MemoryView, NoProducer, write_dashboard_file
from stats.stats_support import allegation
from support import free_port
from views.view_support import T0, escalation, obligation

from seabus.connectors.dashboard import dashboard_routes
from seabus.connectors.gateway import AgencyAuth, build_gateway_app
from seabus.schemas.enums import EscalationLevel
from seabus.streams.config import Settings
from seabus.streams.stats import StatsIndex

SCRIPT = "<script>alert(1)</script>"
HOSTILE_ID = f"SYNTH-{SCRIPT}"
HOSTILE_RECIPIENT = f"X{SCRIPT}"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def hostile_view() -> MemoryView:
    view = MemoryView()
    view.index.add(
        obligation(
            HOSTILE_ID, HOSTILE_RECIPIENT, due_at=T0, entity=HOSTILE_ID, last_level=EscalationLevel.OVERDUE
        )
    )
    view.index.add(
        escalation(
            HOSTILE_ID, EscalationLevel.OVERDUE, at=T0 + timedelta(seconds=5), recipient=HOSTILE_RECIPIENT
        )
    )
    return view


def hostile_stats() -> StatsIndex:
    ix = StatsIndex(prefix="sea")
    for n in range(4):  # above min_cell, so the entity's row is shown, not withheld
        ix.add(allegation(f"SYNTH-ESC-{n}", entity=HOSTILE_ID))
    return ix


def q(value: str) -> str:
    return aiohttp.helpers.quote(value, safe="")


async def pages(settings: Settings, config: Path) -> dict[str, tuple[int, str]]:
    now = T0 + timedelta(seconds=60)
    routes = dashboard_routes(
        view=hostile_view(), settings=settings, config_path=config, clock=lambda: now, stats=hostile_stats()
    )
    app = build_gateway_app(
        settings=settings, producer=NoProducer(), auth=AgencyAuth(tokens={}), extra_routes=routes
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    out: dict[str, tuple[int, str]] = {}
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(f"{url}/dashboard/login?next={q('/dashboard?x=' + SCRIPT)}") as r:
                out["login"] = (r.status, await r.text())
            async with http.post(
                url + "/dashboard/login", data={"token": "not-a-token", "next": f"/dashboard?x={SCRIPT}"}
            ) as r:
                out["login refused"] = (r.status, await r.text())
            async with http.post(url + "/dashboard/login", data={"token": TOKEN}) as r:
                assert r.status == 200
            for name, path in [
                ("dashboard", "/dashboard"),
                (
                    "dashboard filtered",
                    f"/dashboard?recipient={q(HOSTILE_RECIPIENT)}&reporting_entity={q(SCRIPT)}",
                ),
                ("timeline", f"/allegations/{q(HOSTILE_ID)}"),
                ("not found", f"/allegations/{q(HOSTILE_ID + '-unknown')}"),
                ("statistics", "/dashboard/stats?period=2025"),
            ]:
                async with http.get(url + path) as r:
                    out[name] = (r.status, await r.text())
    finally:
        await runner.cleanup()
    return out


def test_a_hostile_id_is_escaped_on_every_page(offline_settings: Settings, tmp_path: Path) -> None:
    answers = asyncio.run(pages(offline_settings, write_dashboard_file(tmp_path)))
    assert {name: status for name, (status, _) in answers.items()} == {
        "login": 200,
        "login refused": 401,
        "dashboard": 200,
        "dashboard filtered": 200,
        "timeline": 200,
        "not found": 404,
        "statistics": 200,
    }
    for name, (_status, html) in answers.items():
        assert SCRIPT not in html, name
        assert ESCAPED in html, name
    # Where each hostile value lands: the row's attributes and link, the band, the filters, the title.
    dashboard = answers["dashboard"][1]
    assert f'data-allegation="SYNTH-{ESCAPED}"' in dashboard
    assert f'data-recipient="X{ESCAPED}"' in dashboard
    assert f'<option value="X{ESCAPED}">X{ESCAPED}</option>' in dashboard
    assert f'href="/dashboard?recipient={q(HOSTILE_RECIPIENT)}&amp;status=OVERDUE"' in dashboard
    assert f"<title>Allegation SYNTH-{ESCAPED} · seabus on-call</title>" in answers["timeline"][1]
    assert f'<td data-label="Reporting entity">SYNTH-{ESCAPED}</td>' in answers["statistics"][1]
