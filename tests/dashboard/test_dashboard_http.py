"""The dashboard routes over HTTP on a real socket, with an in-memory read model (no broker)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from dashboard.dashboard_support import OTHER_TOKEN, TOKEN, MemoryView, serve, write_dashboard_file
from views.view_support import T0, escalation, obligation

from seabus.connectors.dashboard import (
    issue_local_token,
    local_tokens_path,
    read_local_tokens,
    write_local_tokens,
)
from seabus.connectors.dashboard.config import LocalToken, load_dashboard_config
from seabus.connectors.dashboard.pages import safe_next
from seabus.schemas.enums import EscalationLevel, ObligationState
from seabus.streams.config import Settings

NOW = T0 + timedelta(seconds=60)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def filled_view() -> MemoryView:
    view = MemoryView()
    view.index.add(obligation("SYNTH-A", "KEN", due_at=T0, last_level=EscalationLevel.OVERDUE))
    view.index.add(escalation("SYNTH-A", EscalationLevel.SECOND_LEVEL, at=T0 + timedelta(seconds=30)))
    view.index.add(obligation("SYNTH-B", "FRA", due_at=T0 + timedelta(seconds=20), entity="MONUSCO"))
    view.index.add(obligation("SYNTH-C", "KEN", due_at=T0 + timedelta(seconds=600)))
    return view


Scenario = Callable[[aiohttp.ClientSession, str], Awaitable[Any]]


def run(settings: Settings, config: Path, scenario: Scenario, *, view: MemoryView | None = None) -> Any:
    async def main() -> Any:
        async with serve(settings, view or filled_view(), config, clock=NOW) as url:
            jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                return await scenario(http, url)

    return asyncio.run(main())


def test_api_needs_a_dashboard_token(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> list[tuple[int, str, str]]:
        out = []
        for headers in ({}, bearer("sbd_not-a-known-token"), bearer("sbk_an-agency-token"), bearer()):
            for path in ("/v1/overdue", "/v1/allegations/SYNTH-A/timeline"):
                async with http.get(url + path, headers=headers) as r:
                    out.append((r.status, r.content_type, r.headers.get("WWW-Authenticate", "")))
        return out

    answers = run(offline_settings, config, scenario)
    assert [status for status, _, _ in answers] == [401] * 6 + [200, 200]
    assert all(ct == "application/problem+json" for _, ct, _ in answers[:6])
    assert 'error="invalid_token"' in answers[2][2]
    assert answers[0][2] == 'Bearer realm="seabus-dashboard"'


def test_overdue_api_orders_and_filters(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, query in {
            "all": "",
            "ken": "?recipient=ken",
            "two": "?recipient=KEN,FRA&status=OVERDUE",
            "repeated": "?level=SECOND_LEVEL&level=NONE",
            "entity": "?reporting_entity=MONUSCO",
            "bad": "?level=LATE",
            "first": "?limit=1",
            "first-ken": "?recipient=KEN&limit=1",
            "bad-limit": "?limit=0",
            "huge-limit": "?limit=10001",
        }.items():
            async with http.get(url + "/v1/overdue" + query, headers=bearer()) as r:
                out[name] = (r.status, await r.json(content_type=None), r.headers.get("Cache-Control"))
        return out

    got = run(offline_settings, config, scenario)
    status, body, cache = got["all"]
    assert (status, cache) == (200, "no-store")
    assert [(i["allegation_id"], i["status"], i["level"]) for i in body["items"]] == [
        ("SYNTH-A", "OVERDUE", "SECOND_LEVEL"),
        ("SYNTH-B", "OVERDUE", None),
        ("SYNTH-C", "DUE", None),
    ]
    assert body["items"][0]["overdue_by_s"] == 60.0
    assert (body["overdue"], body["due"], body["caught_up"]) == (2, 1, True)
    assert [i["allegation_id"] for i in got["ken"][1]["items"]] == ["SYNTH-A", "SYNTH-C"]
    assert [i["allegation_id"] for i in got["two"][1]["items"]] == ["SYNTH-A", "SYNTH-B"]
    assert [i["allegation_id"] for i in got["repeated"][1]["items"]] == ["SYNTH-A", "SYNTH-B", "SYNTH-C"]
    assert [i["allegation_id"] for i in got["entity"][1]["items"]] == ["SYNTH-B"]
    assert got["entity"][1]["reporting_entities"] == ["MINUSCA", "MONUSCO"]
    bad_status, bad, _ = got["bad"]
    assert bad_status == 400
    assert "LATE is not a filter value" in bad["detail"]
    assert body["truncated"] is False
    _, first, _ = got["first"]  # a page: the first item in order, the counts still of all
    assert [i["allegation_id"] for i in first["items"]] == ["SYNTH-A"]
    assert (first["overdue"], first["due"], first["truncated"]) == (2, 1, True)
    _, first_ken, _ = got["first-ken"]
    assert [i["allegation_id"] for i in first_ken["items"]] == ["SYNTH-A"]
    assert (first_ken["overdue"], first_ken["due"], first_ken["truncated"]) == (1, 1, True)
    for name in ("bad-limit", "huge-limit"):
        limit_status, limit_body, _ = got[name]
        assert limit_status == 400, name
        assert "limit must be a whole number from 1 to 10000" in limit_body["detail"]


def test_summary_api_counts_by_recipient_and_level_with_a_trend(
    offline_settings: Settings, tmp_path: Path
) -> None:
    config = write_dashboard_file(tmp_path)
    view = filled_view()
    view.index.add(
        obligation(
            "SYNTH-D",
            "FRA",
            due_at=T0 - timedelta(days=3),
            state=ObligationState.SATISFIED,
            answered_at=T0 - timedelta(days=1),
            updated_at=T0 - timedelta(days=1),
        )
    )

    async def scenario(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, query, headers in [
            ("anonymous", "", {}),
            ("all", "", bearer()),
            ("top1", "?top=1", bearer()),
            ("bad", "?top=0", bearer()),
        ]:
            async with http.get(url + "/v1/overdue/summary" + query, headers=headers) as r:
                out[name] = (r.status, await r.json(content_type=None), r.headers.get("Cache-Control"))
        return out

    got = run(offline_settings, config, scenario, view=view)
    assert got["anonymous"][0] == 401
    status, body, cache = got["all"]
    assert (status, cache) == (200, "no-store")
    assert (body["overdue"], body["due"], body["caught_up"]) == (2, 1, True)
    assert body["by_recipient"] == [{"recipient": "FRA", "overdue": 1}, {"recipient": "KEN", "overdue": 1}]
    assert (body["others"], body["other_recipients"]) == (0, 0)
    assert body["by_level"] == [{"level": "NONE", "overdue": 1}, {"level": "SECOND_LEVEL", "overdue": 1}]
    trend = body["trend"]
    assert len(trend) == 30
    assert trend[-1]["day"] == "2026-03-02"
    assert trend[-1]["at"] == "2026-03-02T12:01:00Z"
    # SYNTH-D: overdue at the ends of 27 and 28 February, answered on 1 March.
    assert [(d["day"], d["overdue"], d["newly_overdue"], d["closed_late"]) for d in trend[-5:]] == [
        ("2026-02-26", 0, 0, 0),
        ("2026-02-27", 1, 1, 0),
        ("2026-02-28", 1, 0, 0),
        ("2026-03-01", 0, 0, 1),
        ("2026-03-02", 2, 2, 0),
    ]
    _, top1, _ = got["top1"]
    assert [r["recipient"] for r in top1["by_recipient"]] == ["FRA"]
    assert (top1["others"], top1["other_recipients"]) == (1, 1)
    bad_status, bad, _ = got["bad"]
    assert bad_status == 400
    assert "top must be a whole number from 1 to 100" in bad["detail"]


def test_the_page_renders_the_band_without_a_script(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> str:
        async with http.post(url + "/dashboard/login", data={"token": TOKEN}) as r:
            assert r.status == 200
        async with http.get(url + "/dashboard?recipient=KEN&status=OVERDUE") as r:
            return await r.text()

    html = run(offline_settings, config, scenario)
    assert '<a href="/dashboard?recipient=KEN&amp;status=OVERDUE" title="KEN: 1 overdue">' in html
    assert (
        '<a href="/dashboard?level=SECOND_LEVEL&amp;status=OVERDUE" title="Second level: 1 overdue">' in html
    )
    assert html.count('<rect class="bar') == 30
    assert '<rect class="bar today"' in html
    assert "Overdue at the end of each day, 2026-02-01 to 2026-03-02: lowest 0, highest 2, now 2" in html
    # The table honours the status filter the band's links carry: KEN's overdue row only.
    assert html.count('data-recipient="KEN"') == 1
    assert '<option value="OVERDUE" selected>Overdue</option>' in html


def test_unknown_allegation_is_404(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> tuple[int, int]:
        async with http.get(url + "/v1/allegations/SYNTH-NOWHERE/timeline", headers=bearer()) as r:
            api = r.status
        async with http.post(url + "/dashboard/login", data={"token": TOKEN}) as r:
            assert r.status == 200
        async with http.get(url + "/allegations/SYNTH-NOWHERE") as r:
            return api, r.status

    assert run(offline_settings, config, scenario) == (404, 404)


def test_sign_in_sets_an_httponly_cookie_that_pages_and_api_accept(
    offline_settings: Settings, tmp_path: Path
) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with http.get(url + "/dashboard?recipient=KEN", allow_redirects=False) as r:
            out["anonymous"] = (r.status, r.headers.get("Location"))
        async with http.post(
            url + "/dashboard/login", data={"token": "sbd_wrong", "next": "/dashboard"}
        ) as r:
            out["wrong"] = (r.status, await r.text())
        async with http.post(
            url + "/dashboard/login",
            data={"token": TOKEN, "next": "/dashboard?recipient=KEN"},
            allow_redirects=False,
        ) as r:
            out["signed"] = (r.status, r.headers.get("Location"), r.headers.getall("Set-Cookie", []))
        async with http.get(url + "/dashboard?recipient=KEN") as r:
            out["page"] = (r.status, await r.text(), dict(r.headers))
        async with http.get(url + "/v1/overdue") as r:
            out["api"] = r.status
        async with http.post(url + "/dashboard/logout", allow_redirects=False) as r:
            out["logout"] = r.status
        async with http.get(url + "/dashboard", allow_redirects=False) as r:
            out["after"] = r.status
        return out

    got = run(offline_settings, config, scenario)
    status, location = got["anonymous"]
    assert status == 303
    assert urlsplit(location).path == "/dashboard/login"
    assert parse_qs(urlsplit(location).query) == {"next": ["/dashboard?recipient=KEN"]}
    assert got["wrong"][0] == 401
    assert 'role="alert"' in got["wrong"][1]
    status, location, cookies = got["signed"]
    assert (status, location) == (303, "/dashboard?recipient=KEN")
    (cookie,) = cookies
    assert cookie.startswith("seabus_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert TOKEN not in cookie
    page_status, html, headers = got["page"]
    assert page_status == 200
    assert "<caption>" in html
    assert 'scope="col"' in html
    assert 'data-allegation="SYNTH-A"' in html
    assert 'data-allegation="SYNTH-B"' not in html  # FRA, filtered out
    assert '<option value="KEN" selected>KEN</option>' in html
    assert "Signed in as oncall" in html
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert (got["api"], got["logout"], got["after"]) == (200, 303, 303)


def test_a_cross_site_sign_in_is_refused(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> tuple[int, int]:
        async with http.post(
            url + "/dashboard/login",
            data={"token": TOKEN},
            headers={"Origin": "http://elsewhere.example"},
            allow_redirects=False,
        ) as r:
            foreign = r.status
        async with http.post(
            url + "/dashboard/login", data={"token": TOKEN}, headers={"Origin": url}, allow_redirects=False
        ) as r:
            return foreign, r.status

    assert run(offline_settings, config, scenario) == (403, 303)


def test_after_sign_in_only_paths_of_this_server() -> None:
    assert safe_next("/allegations/SYNTH-A") == "/allegations/SYNTH-A"
    for hostile in (
        "https://elsewhere.example/",
        "//elsewhere.example/x",
        "/\\elsewhere",
        "",
        None,
        "dashboard",
    ):
        assert safe_next(hostile) == "/dashboard"


def test_removing_a_user_ends_their_sessions_without_a_restart(
    offline_settings: Settings, tmp_path: Path
) -> None:
    config = write_dashboard_file(tmp_path, users={"oncall": TOKEN, "second": OTHER_TOKEN})

    async def scenario(http: aiohttp.ClientSession, url: str) -> tuple[int, int]:
        async with http.post(url + "/dashboard/login", data={"token": TOKEN}) as r:
            assert r.status == 200
        write_dashboard_file(tmp_path, users={"second": OTHER_TOKEN})

        async def status() -> int:
            async with http.get(url + "/v1/overdue") as r:
                return r.status

        for _ in range(100):  # the file is looked at again at most once a second
            if await status() == 401:
                break
            await asyncio.sleep(0.1)
        async with http.get(url + "/v1/overdue", headers=bearer(OTHER_TOKEN)) as r:
            return await status(), r.status

    assert run(offline_settings, config, scenario) == (401, 200)


def test_locally_issued_tokens_work_until_they_expire(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path, users={})
    token, path = issue_local_token(offline_settings, name="demo", ttl=timedelta(hours=1), config_path=config)
    assert path == local_tokens_path(offline_settings, load_dashboard_config(offline_settings, path=config))
    assert token not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0

    async def scenario(http: aiohttp.ClientSession, url: str) -> tuple[int, int]:
        async with http.get(url + "/v1/overdue", headers=bearer(token)) as r:
            fresh = r.status
        (entry,) = read_local_tokens(path)
        expired = entry.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
        path.write_text(f"tokens:\n  - {expired.model_dump_json()}\n")

        async def status() -> int:
            async with http.get(url + "/v1/overdue", headers=bearer(token)) as r:
                return r.status

        for _ in range(100):
            if await status() == 401:
                break
            await asyncio.sleep(0.1)
        return fresh, await status()

    assert run(offline_settings, config, scenario) == (200, 401)
    write_local_tokens(path, [LocalToken(name="old", token_sha256="0" * 64, expires_at=T0)])
    assert read_local_tokens(path) == []  # expired entries are dropped on write


def test_values_are_escaped_on_pages(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)
    view = MemoryView()
    hostile = 'SYNTH-<script>alert("x")</script>'
    view.index.add(obligation(hostile, due_at=T0))

    async def scenario(http: aiohttp.ClientSession, url: str) -> tuple[str, str]:
        async with http.post(url + "/dashboard/login", data={"token": TOKEN}) as r:
            page = await r.text()
        async with http.get(url + "/allegations/" + aiohttp.helpers.quote(hostile, safe="")) as r:
            return page, await r.text()

    dashboard, timeline = run(offline_settings, config, scenario, view=view)
    for html in (dashboard, timeline):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_openapi_describes_the_dashboard_routes(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        async with http.get(url + "/openapi.json") as r:
            return dict(await r.json())

    doc = run(offline_settings, config, scenario)
    paths = doc["paths"]
    for path, method in [
        ("/v1/overdue", "get"),
        ("/v1/overdue/summary", "get"),
        ("/v1/allegations/{allegation_id}/timeline", "get"),
        ("/dashboard", "get"),
        ("/allegations/{allegation_id}", "get"),
        ("/dashboard/login", "post"),
        ("/metrics", "get"),
        ("/readyz", "get"),
    ]:
        assert method in paths[path], (path, method)
    overdue = paths["/v1/overdue"]["get"]
    assert {p["name"] for p in overdue["parameters"]} == {
        "recipient",
        "reporting_entity",
        "level",
        "status",
        "limit",
    }
    assert overdue["security"] == [{"dashboardToken": []}, {"dashboardSession": []}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["dashboardSession"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "seabus_session",
        "description": schemes["dashboardSession"]["description"],
    }
    assert "OverdueReport" in doc["components"]["schemas"]
    assert "OverdueSummary" in doc["components"]["schemas"]
    assert "agencyToken" in schemes  # the gateway's own scheme is still there


def test_disabled_dashboard_keeps_metrics_and_readiness(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path, extra="enabled: false\nmetrics_public: false")

    async def scenario(http: aiohttp.ClientSession, url: str) -> list[int]:
        out = []
        for path, headers in [
            ("/dashboard", {}),
            ("/v1/overdue", bearer()),
            ("/metrics", {}),
            ("/metrics", bearer()),
            ("/readyz", {}),
        ]:
            async with http.get(url + path, headers=headers, allow_redirects=False) as r:
                out.append(r.status)
        return out

    # /readyz: 503, as no worker runs in this process
    assert run(offline_settings, config, scenario) == [404, 404, 401, 200, 503]


def test_static_files_and_nothing_else(offline_settings: Settings, tmp_path: Path) -> None:
    config = write_dashboard_file(tmp_path)

    async def scenario(http: aiohttp.ClientSession, url: str) -> list[tuple[int, str]]:
        out = []
        for name in ("dashboard.js", "dashboard.css", "page.html", "..%2Fauth.py"):
            async with http.get(url + "/dashboard/static/" + name) as r:
                out.append((r.status, r.content_type))
        return out

    assert run(offline_settings, config, scenario) == [
        (200, "text/javascript"),
        (200, "text/css"),
        (404, "application/problem+json"),
        (404, "application/problem+json"),
    ]
