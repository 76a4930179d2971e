"""Statistics from the real bus: `seabus stats` as a subprocess and /dashboard/stats in Chromium.

Synthetic allegations and replies go through `seabus run` on a real broker;
the statistics are then read back (1) by the CLI, which reads the topics itself,
and (2) by the page the running bus serves, signed in like a person would, with
a screenshot kept in test-artifacts/stats.png.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dashboard.dashboard_support import TOKEN
from dashboard.e2e_support import RunningBus, get, get_json, publish, respond, running_bus
from dashboard.test_dashboard_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, sync_playwright
from stats.stats_support import allegation
from support import bus_env, wait_for

from seabus.schemas.codec import encode_model
from seabus.schemas.enums import AllegationStatus, PersonnelCategory, ResponseKind
from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

KEN = [f"SYNTH-STATS-E2E-K{n:02d}" for n in range(8)]
FRA = [f"SYNTH-STATS-E2E-F{n:02d}" for n in range(4)]
URY = ["SYNTH-STATS-E2E-U00"]
ALL = len(KEN) + len(FRA) + len(URY)


@pytest.fixture(scope="module")
def bus(kafka: KafkaConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBus]:
    tmp = tmp_path_factory.mktemp("stats-bus")
    with running_bus(kafka, tmp, due=30, poll_s=1.0) as running:
        at = datetime.now(UTC) - timedelta(hours=2)
        for n, aid in enumerate(KEN):
            status = AllegationStatus.SUBSTANTIATED if n < 4 else AllegationStatus.UNDER_INVESTIGATION
            publish(
                running, "allegations", aid, encode_model(allegation(aid, state="KEN", at=at, status=status))
            )
        for aid in FRA:
            e = allegation(aid, state="FRA", category=PersonnelCategory.STAFF_MEMBER, at=at, entity="MONUSCO")
            publish(running, "allegations", aid, encode_model(e))
        e = allegation(
            URY[0], state="URY", category=PersonnelCategory.UN_POLICE_OFFICER, at=at, entity="MONUSCO"
        )
        publish(running, "allegations", URY[0], encode_model(e))

        # KEN acknowledges six and decides four once it was told; the others stay silent.
        def told(aid: str) -> bool:
            status, _, body = get(running, f"/v1/allegations/{aid}/timeline", token=TOKEN)
            entries = json.loads(body)["entries"] if status == 200 else []
            return any(e["kind"] == "notification" and e["recipient"] == "KEN" for e in entries)

        for aid in KEN[:6]:
            wait_for(lambda aid=aid: told(aid), timeout=60, interval=0.5, what=f"KEN told of {aid}")
            respond(running, aid, "KEN", ResponseKind.ACKNOWLEDGED)
        for aid in KEN[:4]:
            respond(running, aid, "KEN", ResponseKind.INVESTIGATION_ACCEPTED_NIO)

        def settled() -> bool:
            report = get_json(running, "/v1/stats?period=all")
            ken = [
                r
                for r in report["tables"]["timeliness"]
                if r["member_state"] == "KEN" and "-Q" in r["period"]
            ]
            totals = [r["count"] for r in report["tables"]["allegations"]]
            return bool(ken) and ken[0]["median_hours_to_decision"] is not None and ALL in totals

        wait_for(settled, timeout=90, interval=0.5, what="the statistics to count every record")
        yield running


def seabus(bus: RunningBus, *args: str) -> subprocess.CompletedProcess[str]:
    env = bus_env(kafka=bus.kafka, prefix=bus.prefix, data_dir=bus.data_dir)
    return subprocess.run(
        [sys.executable, "-m", "seabus.deploy.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def counts(tables: dict[str, list[dict[str, Any]]]) -> list[int | None]:
    return [row["count"] for rows in tables.values() for row in rows]


def test_seabus_stats_json_and_csv(bus: RunningBus) -> None:
    out = seabus(bus, "stats", "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report) == {"period", "tables", "suppressed_cells"}
    assert report["period"] == f"{datetime.now(UTC):%Y}"
    tables = report["tables"]
    for name in (
        "allegations",
        "by_entity",
        "by_personnel_category",
        "by_nationality",
        "by_type",
        "by_sub_type",
        "victims",
        "by_status",
        "by_investigating_entity",
        "by_outcome",
        "by_action_taken",
        "by_interim_action",
        "paternity_claims",
        "referrals",
        "timeliness",
    ):
        assert name in tables
    # No published count below the threshold (3); URY's single allegation is withheld.
    assert all(c is None or c >= 3 for c in counts(tables))
    assert ALL in [r["count"] for r in tables["allegations"]]
    categories = {
        r["personnel_category"]: r["count"]
        for r in tables["by_personnel_category"]
        if "-Q" not in r["period"]
    }
    assert categories["MILITARY_CONTINGENT"] == 8
    assert categories["STAFF_MEMBER"] == 4
    assert categories["UN_POLICE_OFFICER"] is None
    assert report["suppressed_cells"] >= 1
    ken = next(r for r in tables["timeliness"] if r["member_state"] == "KEN" and "-Q" not in r["period"])
    assert ken["count"] == 8
    assert ken["median_hours_to_acknowledgement"] is not None
    assert ken["median_hours_to_acknowledgement"] >= 2  # reported two hours before the replies
    assert ken["median_hours_to_decision"] is not None
    assert ken["median_hours_to_outcome"] is None  # nobody reported an outcome
    ury = [r for r in tables["timeliness"] if r["member_state"] == "URY"]
    assert ury
    assert all(r["count"] is None and r["median_hours_to_notification"] is None for r in ury)

    out_csv = seabus(bus, "stats", "--format", "csv")
    assert out_csv.returncode == 0, out_csv.stderr
    rows = list(csv.DictReader(io.StringIO(out_csv.stdout)))
    assert len(rows) == sum(len(r) for r in tables.values())
    assert [(r["table"], r["period"], r["count"]) for r in rows] == [
        (name, row["period"], "" if row["count"] is None else str(row["count"]))
        for name, table in tables.items()
        for row in table
    ]
    assert all(r["count"] == "" or int(r["count"]) >= 3 for r in rows)

    assert seabus(bus, "stats", "--min-cell", "20").returncode == 0
    stricter = json.loads(seabus(bus, "stats", "--min-cell", "20", "--period", "all").stdout)
    assert all(c is None for c in counts(stricter["tables"]))
    bad = seabus(bus, "stats", "--period", "last-year")
    assert bad.returncode == 2
    assert "2025-Q3" in bad.stderr


def test_stats_page_in_a_browser(bus: RunningBus) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(bus.url + "/dashboard/stats")
            assert "/dashboard/login" in page.url
            page.get_by_label("Dashboard token").fill(TOKEN)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(bus.url + "/dashboard/stats")

            assert page.get_by_role("heading", name="Statistics", exact=True).is_visible()
            assert "withheld" in page.get_by_role("status").inner_text()
            charts = page.locator("svg.chart[role=img]")
            assert charts.count() >= 10
            # Bars are drawn for published counts only; withheld ones say so instead.
            assert page.locator("#t-by_personnel_category svg .bar").count() == 2
            assert page.locator("#t-by_personnel_category svg .bar-withheld").count() == 1
            ken = page.locator('#t-timeliness tr[data-table="timeliness"]').filter(has_text="KEN")
            assert ken.count() >= 1
            html = page.content()
            for marker in ("SYNTH-SUBJ", "NARRATIVE", "SYNTHETIC-NOTE"):
                assert marker not in html
            page.screenshot(path=str(ARTIFACTS / "stats.png"), full_page=True)
            page.locator("#t-timeliness").screenshot(path=str(ARTIFACTS / "stats-timeliness.png"))

            # Choosing a period shows it, and the same counts as the JSON.
            quarter = f"{datetime.now(UTC):%Y}-Q{(datetime.now(UTC).month - 1) // 3 + 1}"
            page.get_by_label("Period").select_option(quarter)
            page.get_by_role("button", name="Show").click()
            page.wait_for_url(f"{bus.url}/dashboard/stats?period={quarter}")
            assert quarter in page.get_by_role("status").inner_text()

            # The dashboard links to it.
            page.goto(bus.url + "/dashboard")
            page.get_by_role("link", name="Statistics").click()
            page.wait_for_url(bus.url + "/dashboard/stats")

            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "stats-phone.png"))
        finally:
            browser.close()


def test_after_the_readme_demo(bus: RunningBus) -> None:
    """The README's `seabus demo` (12 allegations) then `seabus stats --format json`: the promised shape.

    Runs last in this module (it adds the demo's allegations to the shared bus).
    """
    before = json.loads(seabus(bus, "stats", "--min-cell", "1").stdout)["tables"]["allegations"]
    demo = seabus(
        bus, "demo", "--count", "12", "--interval", "0", "--answer-after", "0", "--seed", "7", "--no-token"
    )
    assert demo.returncode == 0, demo.stderr
    expected = max((r["count"] for r in before if "-Q" not in r["period"]), default=0) + 12

    def counted() -> dict[str, Any] | None:
        out = seabus(bus, "stats", "--min-cell", "1")
        report = json.loads(out.stdout) if out.returncode == 0 else {"tables": {"allegations": []}}
        years = [r["count"] for r in report["tables"]["allegations"] if "-Q" not in r["period"]]
        return report if years == [expected] else None

    wait_for(counted, timeout=90, interval=1.0, what="the demo's allegations in the statistics")
    out = seabus(bus, "stats", "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert list(report) == ["period", "tables", "suppressed_cells"]
    assert isinstance(report["suppressed_cells"], int)
    assert all(isinstance(rows, list) for rows in report["tables"].values())
    assert report["tables"]["timeliness"]
    assert all(c is None or c >= 3 for c in counts(report["tables"]))
    lines = seabus(bus, "stats", "--format", "csv").stdout.splitlines()
    assert len(lines) - 1 == sum(len(rows) for rows in report["tables"].values())
