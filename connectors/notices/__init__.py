"""Formal notices: one Note Verbale per allegation and recipient, in HTML and PDF, English and French.

A Member State acts on a formal communication to its Permanent Mission, with a
reference it can file and quote. :func:`render_notice_html` and
:func:`render_notice_pdf` write that communication from the state's own
(minimised) notification; :func:`notice_reference` is its reference, the same
for every redelivery and update of the allegation; :func:`notice_path` is where
the gateway serves it (to that recipient's token only), which the e-mail
notice links to. docs/MEMBER_STATES.md, "Formal notices", describes the content.
"""

from __future__ import annotations

from seabus.connectors.notices.content import (
    SUPPORTED_LANGUAGES,
    NoticeContent,
    build_content,
    notice_path,
    notice_reference,
)
from seabus.connectors.notices.render import render_notice_html, render_notice_pdf

__all__ = [
    "SUPPORTED_LANGUAGES",
    "NoticeContent",
    "build_content",
    "notice_path",
    "notice_reference",
    "render_notice_html",
    "render_notice_pdf",
]
