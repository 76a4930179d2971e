"""The summary band and a table that fits, in headless Chromium, over a read model filled by the test.

The gateway serves the real routes on a real socket with a fixed clock, so the
band's counts and the 30-day trend are exact; the ids are long on purpose
(the longest the bus accepts: 64-character allegations, 32-character recipient and entity codes) and every column
must still be inside a 1,280 px viewport. Screenshot: test-artifacts/dashboard-summary.png.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dashboard.dashboard_support import TOKEN, MemoryView, serve, write_dashboard_file
from dashboard.test_dashboard_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    CONTRAST_JS,
    FIT_JS,
    sync_playwright,
)
from views.view_support import escalation, obligation

from seabus.schemas.enums import EscalationLevel, ObligationKind, ObligationState
from seabus.schemas.limits import ALLEGATION_ID, ENTITY_CODE
from seabus.streams.config import Settings

NOW = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
D, H = timedelta(days=1), timedelta(hours=1)
# The longest ids the bus accepts (schemas.limits): allegations 64 characters, entity codes 32.
LONG_RECIPIENT = "SYNTH-RECIPIENT-OFFICE-LONG-0001"
LONG_ENTITY = "SYNTH-ENTITY-MULTIDIMENSIONAL-01"


def long_id(n: int) -> str:
    return f"SYNTH-2026-MINUSCA-BANGUI-SECTOR-CENTRE-ALLEGATION-REF-{n:09d}"


assert len(long_id(1)) == ALLEGATION_ID.max_length
assert len(LONG_RECIPIENT) == len(LONG_ENTITY) == ENTITY_CODE.max_length


# (recipient, overdue open obligations): KEN 3, FRA 2, the rest 1 each; top 8 leaves IND and LONG as others.
OVERDUE = {"KEN": 3, "FRA": 2, "BGD": 1, "BRA": 1, "CAN": 1, "DEU": 1, "EGY": 1, "GHA": 1, "IND": 1}
OVERDUE[LONG_RECIPIENT] = 1


def filled() -> MemoryView:
    view = MemoryView()
    n = 0
    for recipient, count in OVERDUE.items():
        for _ in range(count):
            n += 1
            view.index.add(
                obligation(
                    long_id(n),
                    recipient,
                    due_at=NOW - n * 22 * H,  # spread over the last three weeks
                    entity=LONG_ENTITY if n % 4 == 0 else "MINUSCA",
                    last_level=EscalationLevel.OVERDUE if n % 3 == 0 else None,
                )
            )
    # 13 overdue in all: 4 at OVERDUE (n = 3, 6, 9, 12), one raised to SECOND_LEVEL, 9 not escalated.
    view.index.add(escalation(long_id(3), EscalationLevel.SECOND_LEVEL, at=NOW - H, recipient="KEN"))
    # Not yet due: in the table, not in the band.
    view.index.add(obligation("SYNTH-DUE-1", "KEN", ObligationKind.DECIDE, due_at=NOW + 3 * H))
    view.index.add(obligation("SYNTH-DUE-2", "FRA", due_at=NOW + 30 * H, last_level=EscalationLevel.REMINDER))
    # Due 25 to 6 days ago, answered 20 to 11 days ago (the later ones on time): the trend's past.
    for k in range(20):
        view.index.add(
            obligation(
                f"SYNTH-PAST-{k:02d}",
                "KEN",
                due_at=NOW - (25 - k) * D,
                state=ObligationState.SATISFIED,
                answered_at=NOW - (20 - k // 2) * D,
                updated_at=NOW - (20 - k // 2) * D,
            )
        )
    return view


@pytest.fixture
def dashboard_url(offline_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The dashboard over the filled view, served from a thread's event loop for the sync browser."""
    config = write_dashboard_file(tmp_path, poll_s=1.0)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    url: list[str] = []

    async def main() -> None:
        async with serve(offline_settings, filled(), config, clock=NOW) as base:
            url.append(base)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the test gateway did not start"
    try:
        yield url[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


def band_counts(page: Any, list_id: str) -> list[tuple[str, str]]:
    return [
        (
            li.locator(".name, .badge").inner_text(),
            li.locator(".n").inner_text().replace("overdue", "").strip(),
        )
        for li in page.locator(f"#{list_id} li").all()
    ]


def test_band_and_a_table_that_fits_1280(dashboard_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(dashboard_url + "/dashboard")
            page.get_by_label("Dashboard token").fill(TOKEN)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(dashboard_url + "/dashboard")
            # The script's first refresh redraws the band: wait for it, so both renderings are checked.
            page.wait_for_selector("#band[data-updated]")
            page.wait_for_selector("#overdue[data-updated]")

            expected_recipients = [
                ("KEN", "3"),
                ("FRA", "2"),
                ("BGD", "1"),
                ("BRA", "1"),
                ("CAN", "1"),
                ("DEU", "1"),
                ("EGY", "1"),
                ("GHA", "1"),
                ("2 other recipients", "2"),
            ]
            assert band_counts(page, "band-recipients") == expected_recipients
            assert band_counts(page, "band-levels") == [
                ("Not escalated", "9"),
                ("Overdue", "3"),
                ("Second level", "1"),
            ]
            chart = page.get_by_role("img", name="Overdue at the end of each day")
            assert chart.count() == 1
            assert page.locator("#band-chart rect.bar").count() == 30
            name = chart.get_attribute("aria-labelledby")
            assert page.locator(f"[id='{name}']").text_content() == (
                "Overdue at the end of each day, 2026-03-02 to 2026-03-31: lowest 0, highest 13, now 13"
            )
            assert (
                page.locator("#band-note").inner_text()
                == "Highest 13 · now 13 (the dark red bar is today, so far)"
            )
            page.screenshot(path=str(ARTIFACTS / "dashboard-summary.png"), full_page=True)
            page.get_by_text("The numbers, day by day").click()
            trend = page.locator("#band-trend tbody tr").evaluate_all(
                "rows => rows.map(r => [...r.children].map(c => c.textContent))"
            )
            assert len(trend) == 30
            assert trend[0] == ["2026-03-31", "13", "0", "0"]  # newest first; today counted at NOW
            assert trend[20] == ["2026-03-11", "4", "1", "2"]  # late answers: 1 fell due, 2 answered
            assert trend[16] == ["2026-03-15", "0", "0", "1"]  # one answered exactly when due: never late
            assert trend[-1] == ["2026-03-02", "0", "0", "0"]
            assert "2026-03-11" in page.locator("#band-chart rect.bar").nth(9).inner_html()

            # Every column inside the viewport, nothing cut or overflowing its cell.
            fit = page.evaluate(FIT_JS)
            assert fit["lastRight"] <= fit["viewport"], fit
            assert max(fit["lastCells"]) <= fit["viewport"], fit
            assert fit["tableScroll"] <= fit["tableClient"], fit
            assert fit["wrapScroll"] <= fit["wrapClient"], fit
            assert fit["pageScroll"] <= fit["viewport"], fit
            assert fit["overflowing"] == [], fit
            assert page.locator("#overdue thead th").last.inner_text() == "Reporting entity"
            assert page.locator(f'#overdue a.ref[title="{long_id(1)}"]').count() == 1
            assert page.locator(f'#overdue .long[title="{LONG_ENTITY}"]').count() >= 1
            readable = ["#band .name", "#band .n", "#band .badge", "#band h3", ".chart-axis", "#overdue td"]
            ratios = {s: min(page.evaluate(CONTRAST_JS, s), default=21) for s in readable}
            assert all(r >= 4.5 for r in ratios.values()), ratios

            # A count in the band filters the table in place.
            page.evaluate("window.seabusNoReload = 'same page'")
            page.locator("#band-recipients a", has_text="FRA").click()
            page.wait_for_function(
                "() => { const r = [...document.querySelectorAll('#overdue tbody tr[data-allegation]')];"
                " return r.length === 2 && r.every(x => x.dataset.recipient === 'FRA'"
                " && x.dataset.status === 'OVERDUE'); }"
            )
            assert page.url == dashboard_url + "/dashboard?recipient=FRA&status=OVERDUE"
            assert page.evaluate("window.seabusNoReload") == "same page"
            assert page.get_by_label("Status").input_value() == "OVERDUE"
            page.locator("#band-levels a", has_text="Second level").click()
            page.wait_for_function(
                "() => { const r = [...document.querySelectorAll('#overdue tbody tr[data-allegation]')];"
                " return r.length === 1 && r[0].dataset.level === 'SECOND_LEVEL'; }"
            )
            assert page.url == dashboard_url + "/dashboard?level=SECOND_LEVEL&status=OVERDUE"

            # Without the script the links are plain filters the server applies.
            page.goto(dashboard_url + "/dashboard?recipient=KEN&status=OVERDUE")
            assert page.locator("#overdue tbody tr[data-allegation]").count() == 3

            # A phone: the band stacks, the rows become cards, nothing scrolls sideways.
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(dashboard_url + "/dashboard")
            page.wait_for_selector("#band[data-updated]")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "dashboard-summary-phone.png"))
        finally:
            browser.close()
