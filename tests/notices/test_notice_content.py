"""Rendering of formal notices: languages, every obligation kind, escaping, minimisation."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from notices.notice_support import (
    ALLEGATION,
    DUES,
    NARRATIVE_MARK,
    OTHER_STATE_SUBJECT,
    OWN_SUBJECT,
    notifications,
    routed,
    state_notification,
)

from seabus.connectors.notices import (
    SUPPORTED_LANGUAGES,
    notice_path,
    notice_reference,
    render_notice_html,
    render_notice_pdf,
)
from seabus.connectors.notices.content import reply_kinds
from seabus.connectors.notices.labels import ASKED, LABELS
from seabus.connectors.notices.states import mission_of, state_name, state_subject
from seabus.schemas.enums import ObligationKind
from seabus.schemas.models import Allegation, Confidential, InterimAction, InvestigationOutcome, Subject
from seabus.streams.deadlines.obligations import SATISFIES


def text_of(page: str) -> str:
    """The visible text of an HTML notice, entities decoded and whitespace folded."""
    body = re.sub(r"<head>.*?</head>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_reference_is_stable_across_redelivery_and_updates() -> None:
    first = routed()
    later = routed(sequence=2, state=first.state)
    a, b = notifications(first)["FRA"], notifications(later)["FRA"]
    assert a.notification_id != b.notification_id
    assert notice_reference(a) == notice_reference(b) == f"SEABUS/2026/{ALLEGATION}/FRA"
    assert notice_reference(notifications(first)["URY"]) == f"SEABUS/2026/{ALLEGATION}/URY"


def test_notice_path_quotes_each_part() -> None:
    assert notice_path("FRA", ALLEGATION) == f"/v1/recipients/FRA/notices/{ALLEGATION}"
    assert notice_path("FRA", "SYNTH/1 ?#") == "/v1/recipients/FRA/notices/SYNTH%2F1%20%3F%23"


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_obligation_kind_is_stated_with_its_due_date(lang: str) -> None:
    note = state_notification()
    page = text_of(render_notice_html(note, lang=lang, reply_url="https://seabus.example.org"))
    for kind in DUES:
        assert ASKED[kind][lang] in page, kind
    due = {"en": "9 March 2026, 17:00 UTC", "fr": "9 mars 2026, 17:00 UTC"}[lang]
    assert due in page
    assert "ACTION_TAKEN_REPORTED" in page
    assert "REFERRAL_DECIDED" in page
    assert f"SEABUS/2026/{ALLEGATION}/FRA" in page
    assert "https://seabus.example.org/v1/responses" in page
    assert "https://seabus.example.org/v1/webhook-replies/FRA" in page
    assert "seabus respond" in page


def test_english_note_verbale_form() -> None:
    page = text_of(render_notice_html(state_notification(), reporting_entity="MINUSCA"))
    assert page.startswith("Confidential")
    assert (
        "The Office of the Special Coordinator on improving the United Nations response to sexual "
        "exploitation and abuse presents its compliments to the Permanent Mission of France to the "
        "United Nations and has the honour to inform it" in page
    )
    assert "as reported by MINUSCA" in page
    assert (
        "renew to the Permanent Mission of France to the United Nations the assurances of its highest consideration"
        in page
    )


def test_french_note_verbale_form() -> None:
    page = text_of(render_notice_html(state_notification(), lang="fr", reporting_entity="MINUSCA"))
    assert (
        "présente ses compliments à la Mission permanente de la France auprès de l'Organisation des "
        "Nations Unies et a l'honneur de" in page
    )
    assert "signalée par MINUSCA" in page
    assert "qui concerne du personnel dont la France est l'État de nationalité ou l'État fournisseur" in page
    assert "les assurances de sa très haute considération" in page
    assert "à à" not in page


def test_unsupported_language_is_refused_clearly() -> None:
    note = state_notification()
    with pytest.raises(ValueError, match=r"unsupported notice language 'de'.*'en', 'fr'"):
        render_notice_html(note, lang="de")
    with pytest.raises(ValueError, match="unsupported notice language"):
        render_notice_pdf(note, lang="EN")


def test_without_a_public_url_the_reply_is_explained_without_a_host() -> None:
    page = text_of(render_notice_html(state_notification()))
    assert "POST /v1/responses" in page
    assert "at the gateway address given by the operators of the bus" in page
    assert "://" not in page


def test_a_state_sees_only_its_own_subjects_and_never_the_narrative() -> None:
    result = routed()
    notes = notifications(result)
    fra = notes["FRA"]
    assert [s.subject_ref for s in fra.allegation.subjects] == [OWN_SUBJECT]
    for lang in SUPPORTED_LANGUAGES:
        page = render_notice_html(fra, lang=lang)
        assert OWN_SUBJECT in page
        assert OTHER_STATE_SUBJECT not in page
        assert state_name("URY", lang) not in text_of(page)
        assert NARRATIVE_MARK not in page


def test_a_narrative_in_the_notification_is_only_pointed_to() -> None:
    osc = notifications(routed())["OSC"]
    assert osc.allegation.confidential is not None  # the OSC profile lets it through
    page = text_of(render_notice_html(osc))
    assert NARRATIVE_MARK not in page
    assert "carries a confidential account. It is not reproduced in this note." in page
    assert OTHER_STATE_SUBJECT in page  # OSC sees every subject
    assert "presents its compliments to the Office of the Special Coordinator" in page
    fr = text_of(render_notice_html(osc, lang="fr"))
    assert "présente ses compliments au Bureau du Coordonnateur spécial" in fr


def test_a_minimal_notification_renders_nothing_it_does_not_carry() -> None:
    note = state_notification()
    bare = Allegation(
        reported_at=note.allegation.reported_at,
        source_stream=note.allegation.source_stream,
        subjects=(),
        allegation_type=note.allegation.allegation_type,
        status=note.allegation.status,
    )
    page = text_of(render_notice_html(note.model_copy(update={"allegation": bare, "obligations": ()})))
    for absent in (
        "Victims (number)",
        "Country of the incident",
        "Interim measures",
        "Outcome of the investigation",
        "Investigating entity",
        "Reporting mission or entity",
        "confidential account",
        "SYNTH-SUBJ",
        "Central African Republic",
    ):
        assert absent not in page, absent
    assert "Persons concerned (by reference) none communicated" in page
    assert "No reply is requested by a due date for this communication." in page


def test_hostile_field_values_are_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    note = state_notification()
    allegation = note.allegation.model_copy(
        update={
            "investigating_entity": hostile,
            "subjects": (
                Subject(
                    subject_ref='<img src=x onerror="alert(1)">',
                    personnel_category=note.allegation.subjects[0].personnel_category,
                    nationality="FRA",
                ),
            ),
            "interim_actions": (InterimAction(kind="REPATRIATED", subject_ref="</td><b>x"),),
        }
    )
    page = render_notice_html(
        note.model_copy(update={"allegation": allegation, "allegation_id": "SYNTH-<i>1</i>"}),
        reporting_entity="<b>MINUSCA</b>",
    )
    for markup in ("<script>", "<img", "<b>", "<i>"):
        assert markup not in page
    assert "&lt;script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "<td></td><b>" not in page
    assert render_notice_pdf(note.model_copy(update={"allegation": allegation})).startswith(b"%PDF-")


def test_every_contract_value_has_a_label_in_both_languages() -> None:
    for enum, table in LABELS.items():
        for member in enum:
            assert member.value in table, f"{enum.__name__}.{member.value} has no label"
            assert set(table[member.value]) == set(SUPPORTED_LANGUAGES)
    assert set(ASKED) == set(ObligationKind)


def test_reply_kinds_named_in_the_notice_answer_the_obligation() -> None:
    for kind in ObligationKind:
        if kind is ObligationKind.UNKNOWN:
            continue
        assert reply_kinds(kind)
        assert set(reply_kinds(kind)) <= SATISFIES[kind]


@pytest.mark.parametrize(
    ("code", "en", "fr"),
    [
        ("FRA", "the Permanent Mission of France", "la Mission permanente de la France"),
        ("KEN", "the Permanent Mission of Kenya", "la Mission permanente du Kenya"),
        ("URY", "the Permanent Mission of Uruguay", "la Mission permanente de l'Uruguay"),
        ("NPL", "the Permanent Mission of Nepal", "la Mission permanente du Népal"),
        ("NLD", "the Permanent Mission of the Netherlands", "la Mission permanente des Pays-Bas"),
        (
            "COD",
            "the Permanent Mission of the Democratic Republic of the Congo",
            "la Mission permanente de la République démocratique du Congo",
        ),
        ("MEX", "the Permanent Mission of Mexico", "la Mission permanente du Mexique"),
        ("ISR", "the Permanent Mission of Israel", "la Mission permanente d'Israël"),
        ("HTI", "the Permanent Mission of Haiti", "la Mission permanente d'Haïti"),
        (
            "TTO",
            "the Permanent Mission of Trinidad and Tobago",
            "la Mission permanente de la Trinité-et-Tobago",
        ),
        ("CIV", "the Permanent Mission of Côte d'Ivoire", "la Mission permanente de la Côte d'Ivoire"),
    ],
)
def test_missions_are_named_with_their_articles(code: str, en: str, fr: str) -> None:
    assert mission_of(code, "en") == f"{en} to the United Nations"
    assert mission_of(code, "fr") == f"{fr} auprès de l'Organisation des Nations Unies"
    assert state_subject(code, "en") == en.removeprefix("the Permanent Mission of ")
    french = fr.removeprefix("la Mission permanente ")
    for of, article in (("du ", "le "), ("des ", "les "), ("de la ", "la "), ("de l'", "l'"), ("d'", "")):
        if french.startswith(of):
            french = article + french.removeprefix(of)
            break
    assert state_subject(code, "fr") == french


def test_confidential_repr_is_not_how_a_narrative_would_leak() -> None:
    # A Confidential object formatted by mistake shows its placeholder, never the text.
    assert "SYNTH" not in f"{Confidential(narrative='SYNTH secret')}"


def test_an_update_says_what_changed_and_shows_measures_and_outcome() -> None:
    first = routed()
    note = notifications(routed(sequence=2, state=first.state))["URY"]
    allegation = note.allegation.model_copy(
        update={
            "interim_actions": (InterimAction(kind="REPATRIATED", taken_on=date(2026, 3, 1)),),
            "outcome": InvestigationOutcome(
                result="SUBSTANTIATED", concluded_on=date(2026, 2, 27), actions=("REPATRIATION",)
            ),
        }
    )
    note = note.model_copy(update={"allegation": allegation})
    en = text_of(render_notice_html(note))
    assert "of new information on the allegation" in en
    assert "Communication update, no. 2 (changed: status)" in en
    assert "Interim measures repatriated, 1 March 2026" in en
    assert "substantiated, concluded on 27 February 2026 Action taken: repatriation" in en
    assert "personnel of whom Uruguay is the State of nationality" in en
    fr = text_of(render_notice_html(note, lang="fr"))
    assert "mise à jour, n° 2 (modifié : statut)" in fr
    assert "rapatriement, le 1er mars 2026" in fr
    assert "dont l'Uruguay est l'État de nationalité" in fr
    assert OWN_SUBJECT not in en + fr  # FRA's subject is not URY's to see
