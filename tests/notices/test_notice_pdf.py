"""The PDF notice rendered to images (kept in test-artifacts/) and read back as text."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from notices.notice_support import (
    ALLEGATION,
    NARRATIVE_MARK,
    OTHER_STATE_SUBJECT,
    OWN_SUBJECT,
    state_notification,
)
from support import REPO

from seabus.connectors.notices import SUPPORTED_LANGUAGES, render_notice_pdf

ARTIFACTS = REPO / "test-artifacts"

EXPECTED = {
    "en": ("Permanent Mission of France", "9 March 2026, 17:00 UTC", "highest consideration"),
    "fr": ("Mission permanente de la France", "9 mars 2026, 17:00 UTC", "très haute considération"),
}


def pages_text(pdf: pdfium.PdfDocument) -> str:
    text = []
    for page in pdf:
        text.append(page.get_textpage().get_text_range())
    return " ".join(" ".join(text).split())


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_pdf_notice_renders_and_reads_back(lang: str) -> None:
    data = render_notice_pdf(
        state_notification(), lang=lang, reply_url="https://seabus.example.org", reporting_entity="MINUSCA"
    )
    assert data.startswith(b"%PDF-")
    assert (
        render_notice_pdf(
            state_notification(),
            lang=lang,
            reply_url="https://seabus.example.org",
            reporting_entity="MINUSCA",
        )
        == data
    )  # the same notification gives the same document
    pdf = pdfium.PdfDocument(data)
    ARTIFACTS.mkdir(exist_ok=True)
    for index, page in enumerate(pdf):
        image = page.render(scale=1.5).to_pil()
        name = f"notice-{lang}.png" if index == 0 else f"notice-{lang}-p{index + 1}.png"
        image.save(ARTIFACTS / name)
        if index == 0:
            gray = image.convert("L")
            inked = sum(gray.histogram()[:128])
            assert inked > 0.01 * gray.width * gray.height  # a page with text on it, not a blank
    text = pages_text(pdf)
    assert f"SEABUS/2026/{ALLEGATION}/FRA" in text
    for expected in EXPECTED[lang]:
        assert expected in text, expected
    assert OWN_SUBJECT in text
    assert "MINUSCA" in text
    assert "https://seabus.example.org/v1/responses" in text
    for absent in (OTHER_STATE_SUBJECT, NARRATIVE_MARK, "Uruguay"):
        assert absent not in text, absent
    assert (ARTIFACTS / f"notice-{lang}.png").stat().st_size > 0


def test_text_beyond_latin1_does_not_break_the_pdf() -> None:
    note = state_notification()
    allegation = note.allegation.model_copy(update={"investigating_entity": "Bureau œuvre — “Ωmega” ✓"})
    data = render_notice_pdf(note.model_copy(update={"allegation": allegation}), lang="fr")
    text = pages_text(pdfium.PdfDocument(data))
    assert "Bureau oeuvre - " in text


def test_artifacts_folder_is_ignored_by_git() -> None:
    assert "test-artifacts/" in Path(REPO / ".gitignore").read_text().splitlines()
