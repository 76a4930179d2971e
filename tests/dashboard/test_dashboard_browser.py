"""The dashboard as a person uses it: headless Chromium against the real bus.

Sign in, read the overdue rows in order, filter, and watch a new overdue item
appear without reloading, in the table and in the summary band; the table fits
1,280 px with a long allegation id; the page stays readable (contrast) at
desktop and phone widths. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard.dashboard_support import TOKEN
from dashboard.e2e_support import RunningBus, get_json, publish_report, running_bus
from support import REPO, wait_for
from views.view_support import NARRATIVE_MARKER, SUBJECT_MARKER

from seabus.streams.kafka_connection import KafkaConnection

pytestmark = pytest.mark.kafka

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
B1, B3 = "SYNTH-BR-0001", "SYNTH-BR-0003"
B2 = "SYNTH-BR-0002-MINUSCA-BANGUI-SECTOR-CENTRE-LONG-REFERENCE-000002"  # 64: the longest allowed

# Where the overdue table's columns end, and whether anything is cut or overflows its cell.
FIT_JS = """
() => {
  const table = document.getElementById('overdue');
  const wrap = table.parentElement;
  const heads = [...table.querySelectorAll('thead th')];
  const cells = [...table.querySelectorAll('thead th, tbody th, tbody td')];
  return {
    viewport: document.documentElement.clientWidth,
    lastRight: heads[heads.length - 1].getBoundingClientRect().right,
    lastCells: [...table.querySelectorAll('tbody tr')].map(r => r.lastElementChild.getBoundingClientRect().right),
    tableScroll: table.scrollWidth, tableClient: table.clientWidth,
    wrapScroll: wrap.scrollWidth, wrapClient: wrap.clientWidth,
    pageScroll: document.documentElement.scrollWidth,
    overflowing: cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent),
  };
}
"""

# WCAG 2 contrast ratio of an element's text against the first opaque background behind it.
CONTRAST_JS = """
(selector) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  return [...document.querySelectorAll(selector)].map((el) => {
    let bg = null;
    for (let node = el; node && !bg; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) bg = c.slice(0, 3);
    }
    const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
    const back = lum(bg || [255, 255, 255]);
    return (Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05);
  });
}
"""
READABLE = [
    "body",
    ".bar a",
    ".lede",
    "caption",
    "thead th",
    "tbody th a",
    "tbody td",
    ".late",
    ".early",
    ".badge",
    "label",
    "button",
    ".summary",
]


def sync_playwright() -> Any:
    """Playwright's entry point; fails (never skips) when the browser setup is missing."""
    try:
        from playwright.sync_api import sync_playwright as entry
    except ImportError:
        pytest.fail("Playwright for Python is not installed: `.venv/bin/pip install -e '.[dev]'` brings it.")
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make browser` (apt-get install -y chromium)."
        )
    return entry()


@pytest.fixture
def bus(kafka: KafkaConnection, tmp_path: Path) -> Iterator[RunningBus]:
    with running_bus(kafka, tmp_path, due=5, poll_s=1.0) as running:
        yield running


def overdue_acks(bus: RunningBus, *ids: str) -> bool:
    report = get_json(bus, "/v1/overdue?status=OVERDUE")
    return {i["allegation_id"] for i in report["items"] if i["obligation"] == "ACKNOWLEDGE"} >= set(ids)


def rows(page: Any, selector: str = "#overdue tbody tr[data-allegation]") -> list[tuple[str, str, str]]:
    return [
        (
            r.get_attribute("data-allegation"),
            r.get_attribute("data-recipient"),
            r.get_attribute("data-status"),
        )
        for r in page.locator(selector).all()
    ]


def test_dashboard_in_a_browser(bus: RunningBus) -> None:
    publish_report(bus, B1, state="KEN")
    publish_report(bus, B2, state="FRA", entity="MONUSCO")
    wait_for(lambda: overdue_acks(bus, B1, B2), timeout=60, interval=0.5, what="B1 and B2 overdue")
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(bus.url + "/dashboard")
            assert "/dashboard/login" in page.url
            page.get_by_label("Dashboard token").fill(TOKEN)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(bus.url + "/dashboard")

            # The table: semantic, overdue first in order, then not yet due.
            table = page.get_by_role("table", name="Open obligations, overdue first")
            assert table.locator("thead th[scope=col]").count() == 7
            assert rows(page)[:2] == [(B1, "KEN", "OVERDUE"), (B2, "FRA", "OVERDUE")]
            assert {status for _, _, status in rows(page)[2:]} == {"DUE"}
            levels = page.locator("#overdue tbody tr[data-status=OVERDUE]").evaluate_all(
                "rows => rows.map(r => r.dataset.level)"
            )
            assert set(levels) <= {"OVERDUE", "SECOND_LEVEL"}
            for label in ("Recipient", "Reporting entity", "Escalation level"):
                assert page.get_by_label(label).is_visible()
            ratios = {
                selector: min(page.evaluate(CONTRAST_JS, selector), default=21) for selector in READABLE
            }
            assert all(r >= 4.5 for r in ratios.values()), ratios

            # Filtering happens in place: no reload, and the address says what is shown.
            page.evaluate("window.seabusNoReload = 'still the same page'")
            page.get_by_label("Recipient").select_option("FRA")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#overdue tbody tr[data-allegation]')]"
                ".every(r => r.dataset.recipient === 'FRA')"
            )
            assert page.url == bus.url + "/dashboard?recipient=FRA"
            assert [r for r in rows(page) if r[2] == "OVERDUE"] == [(B2, "FRA", "OVERDUE")]

            # A new overdue item appears by itself, in its place.
            publish_report(bus, B3, state="FRA")
            page.wait_for_selector(
                f'#overdue tbody tr[data-allegation="{B3}"][data-status="OVERDUE"]', timeout=60_000
            )
            assert page.evaluate("window.seabusNoReload") == "still the same page"
            assert [r for r in rows(page) if r[2] == "OVERDUE"][:2] == [
                (B2, "FRA", "OVERDUE"),
                (B3, "FRA", "OVERDUE"),
            ]
            assert "overdue" in page.get_by_role("status").inner_text()

            # The band counts everything, whatever the table's filter: FRA 2, KEN 1, 3 in the trend today.
            page.wait_for_function(
                "() => { const n = (r) => { const a = [...document.querySelectorAll('#band-recipients a')]"
                ".find(x => x.querySelector('.name').textContent === r);"
                " return a ? parseInt(a.querySelector('.n').textContent, 10) : 0; };"
                " return n('FRA') === 2 && n('KEN') === 1; }",
                timeout=30_000,
            )
            levels_total = page.locator("#band-levels .n").evaluate_all(
                "ns => ns.reduce((sum, n) => sum + parseInt(n.textContent, 10), 0)"
            )
            assert levels_total == 3
            assert page.locator("#band-trend tbody tr").first.locator("td").first.text_content() == "3"
            fit = page.evaluate(FIT_JS)
            assert fit["lastRight"] <= fit["viewport"], fit
            assert fit["tableScroll"] <= fit["tableClient"], fit
            assert fit["wrapScroll"] <= fit["wrapClient"], fit
            assert fit["overflowing"] == [], fit
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # The timeline page, reached by the allegation's link.
            page.locator(f'#overdue tbody tr[data-allegation="{B2}"] th a').first.click()
            page.wait_for_url(bus.url + f"/allegations/{B2}")
            timeline = page.get_by_role("table", name=f"Timeline of {B2}, oldest first")
            kinds = timeline.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
            assert kinds[0] == "event"
            assert "escalation" in kinds
            html = page.content()
            assert SUBJECT_MARKER not in html
            assert NARRATIVE_MARKER not in html
            page.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)

            # A phone: every row readable without sideways scrolling.
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(bus.url + "/dashboard")
            page.wait_for_selector("#overdue tbody tr[data-allegation]")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"))
        finally:
            browser.close()
