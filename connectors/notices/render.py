"""The notice as HTML (Jinja2, autoescaped) and as PDF (fpdf2, core fonts).

HTML: every value goes through Jinja2's autoescape, so a field holding markup
(an allegation id or an investigating entity sent by an agency) shows as text.

PDF: fpdf2 is pure Python, needs no system package, and its core fonts (Times,
Courier) are built into every PDF reader, so nothing is embedded and nothing
must be installed on the machine. Core fonts carry Latin-1, which covers
French; the few characters beyond it are replaced by a close Latin-1 form
(:func:`_latin1`) rather than failing the notice.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC
from functools import cache
from typing import Unpack

import jinja2
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from seabus.connectors.notices.content import NoticeContent, NoticeOptions, build_content
from seabus.schemas.models import Notification

__all__ = ["render_notice_html", "render_notice_pdf"]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("seabus.connectors.notices", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


def render_notice_html(notification: Notification, **options: Unpack[NoticeOptions]) -> str:
    """The notice as one self-contained HTML page (no script, no external resource)."""
    content = build_content(notification, **options)
    return _environment().get_template("notice.html").render(c=content)


_REPLACE = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u202f": "\u00a0",
    "\u2011": "-",
}


def _latin1(text: str) -> str:
    """Text the core fonts can draw: Latin-1 as is, else a decomposed or '?' form."""
    out = []
    for ch in text:
        ch = _REPLACE.get(ch, ch)
        if all(ord(c) < 256 for c in ch):
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or "?")
    return "".join(out)


class _Notice(FPDF):
    def __init__(self, content: NoticeContent) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.content = content
        self.set_margins(25, 20, 25)
        self.set_auto_page_break(auto=True, margin=20)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Times", "I", 8)
        self.cell(0, 5, _latin1(f"{self.content.footer} - page {self.page_no()}/{{nb}}"), align="C")


def render_notice_pdf(notification: Notification, **options: Unpack[NoticeOptions]) -> bytes:
    """The notice as an A4 PDF; the same text as the HTML form, laid out as a Note Verbale."""
    c = build_content(notification, **options)
    pdf = _Notice(c)
    pdf.set_title(_latin1(f"{c.title} {c.reference}"))
    pdf.set_lang(c.lang)
    pdf.set_creator("seabus")
    # A fixed creation date: the same notification always gives the same bytes.
    pdf.set_creation_date(notification.routed_at.astimezone(UTC))
    pdf.add_page()
    width = pdf.epw

    def para(text: str, *, style: str = "", size: float = 11, align: str = "J", gap: float = 2.5) -> None:
        pdf.set_font("Times", style, size)
        pdf.multi_cell(width, 5.2, _latin1(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    pdf.set_text_color(122, 26, 26)
    para(c.marking.upper(), size=8.5, align="C", gap=3)
    pdf.set_text_color(0, 0, 0)
    para(c.title, style="B", size=14, align="C", gap=0.5)
    para(c.reference, size=11, align="C", gap=1)
    para(c.place_date, align="R", gap=5)
    para(c.opening)
    para(c.limited)

    def heading(text: str) -> None:
        pdf.ln(1)
        para(text, style="B", size=11.5, align="L", gap=1)

    heading(c.headings["h_particulars"])
    label_w = width * 0.34
    for fact in c.facts:
        pdf.set_font("Times", "", 10.5)
        lines = [_latin1(x) for x in fact.lines]
        with pdf.table(
            col_widths=(label_w, width - label_w),
            first_row_as_headings=False,
            borders_layout="HORIZONTAL_LINES",
            line_height=5,
            padding=1,
            text_align=("LEFT", "LEFT"),
        ) as table:
            row = table.row()
            row.cell(_latin1(fact.label))
            row.cell("\n".join(lines))
    pdf.ln(2)
    if c.confidential_note:
        para(c.confidential_note, style="I", size=10.5)

    heading(c.headings["h_asked"])
    if c.asked:
        para(c.asked_intro, gap=1.5)
        pdf.set_font("Times", "", 10.5)
        code = FontFace(family="Courier", size_pt=8)
        with pdf.table(
            col_widths=(width * 0.44, width * 0.22, width * 0.34),
            borders_layout="HORIZONTAL_LINES",
            line_height=5,
            padding=1,
            text_align=("LEFT", "LEFT", "LEFT"),
        ) as table:
            head = table.row()
            for h in c.asked_headers:
                head.cell(_latin1(h))
            for item in c.asked:
                row = table.row()
                row.cell(_latin1(item.what))
                row.cell(_latin1(item.due))
                row.cell(_latin1(item.reply_with.replace(", ", "\n")), style=code)
        pdf.ln(2)
    else:
        para(c.nothing_asked)

    heading(c.headings["h_answer"])
    para(c.answer_intro, gap=1)
    for number, way in enumerate(c.answer_ways, start=1):
        pdf.set_font("Times", "", 11)
        pdf.set_x(pdf.l_margin + 4)
        pdf.multi_cell(
            width - 4, 5.2, _latin1(f"{number}. {way}"), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.ln(0.8)
    pdf.set_font("Courier", "", 8.5)
    pdf.set_fill_color(244, 244, 244)
    pdf.multi_cell(
        width, 4.2, _latin1(c.answer_example), fill=True, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.ln(4)
    para(c.closing)
    return bytes(pdf.output())
