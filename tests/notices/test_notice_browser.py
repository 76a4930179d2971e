"""The HTML notice in headless Chromium: it loads nothing from outside, runs no script, and reads as a note.

The screenshots are kept in test-artifacts/ (notice-en-html.png, notice-fr-html.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notices.notice_support import ALLEGATION, OTHER_STATE_SUBJECT, state_notification
from support import REPO

from seabus.connectors.notices import SUPPORTED_LANGUAGES, render_notice_html

ARTIFACTS = REPO / "test-artifacts"
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
HOSTILE = '<img src="https://tracker.example.invalid/x.png" onerror="document.title=\'pwned\'">'


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


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_html_notice_in_a_browser(lang: str) -> None:
    note = state_notification()
    note = note.model_copy(
        update={"allegation": note.allegation.model_copy(update={"investigating_entity": HOSTILE})}
    )
    page_html = render_notice_html(
        note, lang=lang, reply_url="https://seabus.example.org", reporting_entity="MINUSCA"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 900, "height": 1200}).new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.set_content(page_html, wait_until="load")
            assert page.title() == f"NOTE VERBALE SEABUS/2026/{ALLEGATION}/FRA"  # no script changed it
            assert page.locator("img, script").count() == 0
            assert page.get_by_role("heading", level=1).inner_text() == "NOTE VERBALE"
            assert page.locator("table.asked tr").count() == 7  # the header and six obligations
            body = page.locator("body").inner_text()
            assert HOSTILE in body  # shown as text
            assert OTHER_STATE_SUBJECT not in body
            page.screenshot(path=str(ARTIFACTS / f"notice-{lang}-html.png"), full_page=True)
        finally:
            browser.close()
    assert [u for u in requests if not u.startswith(("about:", "data:"))] == []
