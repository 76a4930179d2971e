"""What a formal notice says, built from one minimised notification and nothing else.

The notification on a state's topic is already minimised by routing
(:func:`seabus.streams.routing.minimise.minimise`): only the subjects who are that
state's nationals or its deployed personnel, victims only as counts, and the
confidential narrative only when the routing profile of its class allows it
(not for Member States with the shipped ``routes.yaml``). This module reads the
fields of that :class:`~seabus.schemas.models.Notification` and of no other source, so a
notice can never say more than the state's own notification does.

The confidential narrative is never reproduced, even when a profile lets it
through: a notice is a document that is printed, filed and forwarded within a
ministry, while the narrative stays in the notification record on the state's
own channel. When the notification carries one, the notice says so (and only
that), so the reader knows where to look.

Both renderers (HTML and PDF) draw the same :class:`NoticeContent`, so the two
forms cannot say different things.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypedDict, Unpack

from babel.dates import format_date

from seabus.connectors.notices.labels import ASKED, label
from seabus.connectors.notices.states import OFFICES, mission_of, state_name, state_subject
from seabus.connectors.notices.wording import LANGUAGES, section
from seabus.schemas.enums import (
    IncidentDatePrecision,
    ObligationKind,
    RecipientClass,
    ResponseKind,
)
from seabus.schemas.models import Notification
from seabus.streams.deadlines.obligations import SATISFIES

__all__ = [
    "SUPPORTED_LANGUAGES",
    "NoticeContent",
    "NoticeOptions",
    "build_content",
    "check_language",
    "notice_path",
    "notice_reference",
    "reply_kinds",
]

SUPPORTED_LANGUAGES: tuple[str, ...] = LANGUAGES

_LOCALES = {"en": "en_GB", "fr": "fr_FR"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_language(lang: str) -> str:
    """``lang`` if a notice can be written in it, else a ValueError saying which can."""
    if lang not in SUPPORTED_LANGUAGES:
        raise ValueError(
            f"unsupported notice language {lang!r}: notices are written in "
            f"{', '.join(repr(x) for x in SUPPORTED_LANGUAGES)} (English, French)"
        )
    return lang


def notice_reference(notification: Notification) -> str:
    """``SEABUS/<year reported>/<allegation_id>/<recipient>``: one reference per allegation and recipient.

    It is made only of values that do not change over an allegation's life (its
    id, the year it was first reported, the recipient), so every redelivery and
    every later update of the same allegation to the same state carries the same
    reference, which a ministry can file under and quote back.
    """
    return f"SEABUS/{notification.allegation.reported_at.year:04d}/{notification.allegation_id}/{notification.recipient}"


def notice_path(recipient: str, allegation_id: str) -> str:
    """The gateway path that serves one recipient's notice, each part URL-quoted (``/`` too)."""
    quote = urllib.parse.quote
    return f"/v1/recipients/{quote(recipient, safe='')}/notices/{quote(allegation_id, safe='')}"


_PRIMARY_REPLY = {
    ObligationKind.ACKNOWLEDGE: (ResponseKind.ACKNOWLEDGED,),
    # A reported outcome also settles the decision, but the decision is what is asked.
    ObligationKind.DECIDE: (
        ResponseKind.INVESTIGATION_ACCEPTED_NIO,
        ResponseKind.INVESTIGATION_JOINT_OIOS,
        ResponseKind.INVESTIGATION_DECLINED,
    ),
}


def reply_kinds(kind: ObligationKind) -> tuple[ResponseKind, ...]:
    """The response kinds that answer one obligation (the plain acknowledgement, the three decisions)."""
    if kind in _PRIMARY_REPLY:
        return _PRIMARY_REPLY[kind]
    return tuple(sorted(SATISFIES.get(kind, frozenset()), key=lambda k: k.value))


@dataclass(frozen=True)
class Asked:
    """One obligation as the notice states it."""

    kind: str
    what: str
    due: str
    reply_with: str


@dataclass(frozen=True)
class Fact:
    """One row of the particulars: a label and one or more lines of text."""

    label: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class NoticeContent:
    """Everything a notice says, already worded in its language; the renderers only lay it out."""

    lang: str
    reference: str
    title: str
    marking: str
    place_date: str
    opening: str
    limited: str
    facts: tuple[Fact, ...]
    asked_intro: str
    asked: tuple[Asked, ...]
    asked_headers: tuple[str, str, str]
    nothing_asked: str
    answer_intro: str
    answer_ways: tuple[str, ...]
    answer_example: str
    closing: str
    footer: str
    confidential_note: str | None = None
    headings: dict[str, str] = field(default_factory=dict)


def _clean(value: str) -> str:
    """One line of text from a field: control characters out, whitespace folded."""
    return " ".join(_CONTROL.sub(" ", value).split())


def _date(value: date, lang: str) -> str:
    text = str(format_date(value, format="long", locale=_LOCALES[lang]))
    # French writes the first day of a month as an ordinal: "1er avril 2026".
    return "1er" + text[1:] if lang == "fr" and value.day == 1 else text


def _due(value: datetime, lang: str) -> str:
    return f"{_date(value.date(), lang)}, {value:%H:%M} UTC"


def _incident(n: Notification, lang: str) -> str:
    a = n.allegation
    if a.incident_date is None or a.incident_date_precision is IncidentDatePrecision.UNKNOWN:
        return {"en": "not known", "fr": "inconnue"}[lang]
    if a.incident_date_precision is IncidentDatePrecision.YEAR:
        return f"{a.incident_date.year}"
    if a.incident_date_precision is IncidentDatePrecision.MONTH:
        return str(format_date(a.incident_date, format="MMMM y", locale=_LOCALES[lang]))
    return _date(a.incident_date, lang)


_T: dict[str, dict[str, str]] = section("text")
"""The fixed sentences and headings of a Note Verbale (``wording.yaml``, section ``text``)."""


def _t(key: str, lang: str) -> str:
    return _T[key][lang]


def _addressee(n: Notification, lang: str) -> str:
    return mission_of(n.recipient, lang)


def _to(addressee: str, lang: str) -> str:
    """French "à" before the addressee, contracted where it must be ("au Bureau")."""
    if lang != "fr":
        return addressee
    if addressee.startswith("le "):
        return "au " + addressee[3:]
    return "à " + addressee


def _short_addressee(n: Notification, lang: str) -> str:
    if n.recipient in OFFICES:
        return {"en": "the Office", "fr": "le Bureau"}[lang]
    return {"en": "the Permanent Mission", "fr": "la Mission permanente"}[lang]


_OPENING: dict[str, dict[str, str]] = section("opening")
"""What the opening sentence informs of, by event type (``OTHER`` for any other); ``{ref}`` is the allegation."""


def _opening(n: Notification, lang: str, reporting_entity: str | None, reference: str) -> str:
    sender = _t("sender", lang)
    who = _addressee(n, lang)
    state = state_subject(n.recipient, lang)
    ref = _clean(n.allegation_id)
    entity = _clean(reporting_entity) if reporting_entity else None
    what = _OPENING.get(n.event_type.value, _OPENING["OTHER"])[lang].format(ref=ref)
    if lang == "en":
        by = f", as reported by {entity}" if entity else ""
        concern = (
            f", which concerns personnel of whom {state} is the State of nationality or the contributing State"
            if n.recipient_class is RecipientClass.MEMBER_STATE
            else ""
        )
        return (
            f"{sender} presents its compliments to {who} and has the honour to inform it, in accordance "
            f"with General Assembly resolution 71/278, of {what}{by}{concern}. This note bears the "
            f"reference {reference}, which the Permanent Mission is kindly requested to quote in any reply."
            if n.recipient_class is RecipientClass.MEMBER_STATE
            else f"{sender} presents its compliments to {who} and has the honour to inform it, in accordance "
            f"with General Assembly resolution 71/278, of {what}{by}. This note bears the reference {reference}."
        )
    by = f", signalée par {entity}" if entity else ""
    to = _to(who, lang)
    if n.recipient_class is RecipientClass.MEMBER_STATE:
        concern = f", qui concerne du personnel dont {state} est l'État de nationalité ou l'État fournisseur"
        return (
            f"{sender} {_t('compliments', lang)} {to} et a l'honneur de l'informer, conformément à la "
            f"résolution 71/278 de l'Assemblée générale, {what}{by}{concern}. La présente note porte la "
            f"référence {reference}, que la Mission permanente est priée de bien vouloir rappeler dans toute réponse."
        )
    return (
        f"{sender} {_t('compliments', lang)} {to} et a l'honneur de l'informer, conformément à la "
        f"résolution 71/278 de l'Assemblée générale, {what}{by}. La présente note porte la référence {reference}."
    )


_REASONS: dict[str, dict[str, str]] = section("reasons")
"""Wording of the shipped routing rules that name Member States; other rules keep their own explanation."""


def _reason(rule: str, explanation: str, lang: str) -> str:
    return _REASONS[rule][lang] if rule in _REASONS else explanation


def _facts(n: Notification, lang: str, reporting_entity: str | None) -> tuple[Fact, ...]:
    a = n.allegation
    en = lang == "en"
    rows: list[Fact] = []

    def add(en_label: str, fr_label: str, *lines: str) -> None:
        kept = tuple(_clean(x) for x in lines if x)
        if kept:
            rows.append(Fact(en_label if en else fr_label, kept))

    add("Allegation reference", "Référence de l'allégation", n.allegation_id)
    kind = label(n.event_type, lang)
    number = f"{kind}, no. {n.sequence}" if en else f"{kind}, n\u00b0 {n.sequence}"
    changed = ", ".join(label(c, lang) for c in n.changes)
    add(
        "Communication",
        "Communication",
        number + (f" ({'changed: ' if en else 'modifié : '}{changed})" if changed else ""),
    )
    if reporting_entity:
        add("Reporting mission or entity", "Mission ou entité déclarante", reporting_entity)
    add("Date reported", "Date du signalement", _date(a.reported_at.date(), lang))
    add("Date of the incident", "Date des faits", _incident(n, lang))
    if a.location_country:
        add("Country of the incident", "Pays des faits", state_name(a.location_country, lang))
    add("Personnel", "Personnel", label(a.source_stream, lang))
    kinds = label(a.allegation_type, lang)
    if a.sub_types:
        kinds += " (" + ", ".join(label(s, lang) for s in a.sub_types) + ")"
    add("Nature of the allegation", "Nature de l'allégation", kinds)
    add("Status", "Statut", label(a.status, lang))
    if a.investigating_entity:
        add("Investigating entity", "Entité chargée de l'enquête", a.investigating_entity)
    subjects = []
    for s in a.subjects:
        parts = [label(s.personnel_category, lang), label(s.gender, lang)]
        if s.nationality:
            parts.append(("national of " if en else "nationalité : ") + state_name(s.nationality, lang))
        if s.contributing_state:
            parts.append(
                ("deployed by " if en else "déployé par : ") + state_name(s.contributing_state, lang)
            )
        subjects.append(
            f"{s.subject_ref}: " + "; ".join(parts) if en else f"{s.subject_ref} : " + " ; ".join(parts)
        )
    add(
        "Persons concerned (by reference)",
        "Personnes mises en cause (par référence)",
        *(subjects or [_t("none", lang)]),
    )
    victims = []
    for v in a.victims:
        who = f"{label(v.sex, lang)}, {label(v.age_group, lang)}"
        victims.append(f"{v.count} ({who})")
    if victims:
        total = sum(v.count for v in a.victims)
        add(
            "Victims (number)",
            "Victimes (nombre)",
            f"{total}: " + "; ".join(victims) if en else f"{total} : " + " ; ".join(victims),
        )
    add(
        "Referred for victim assistance",
        "Orientation vers l'assistance aux victimes",
        _t("yes" if a.victim_assistance_referred else "no", lang),
    )
    add(
        "Paternity claim",
        "Demande en reconnaissance de paternité",
        _t("yes" if a.paternity_claim else "no", lang),
    )
    interim = []
    for i in a.interim_actions:
        text = label(i.kind, lang)
        if i.subject_ref:
            text += f" ({i.subject_ref})"
        if i.taken_on:
            text += (", " if en else ", le ") + _date(i.taken_on, lang)
        interim.append(text)
    if interim:
        add("Interim measures", "Mesures provisoires", *interim)
    if a.outcome is not None:
        text = label(a.outcome.result, lang)
        if a.outcome.concluded_on:
            text += (", concluded on " if en else ", conclue le ") + _date(a.outcome.concluded_on, lang)
        lines = [text]
        if a.outcome.actions:
            lines.append(
                ("Action taken: " if en else "Mesures prises : ")
                + ", ".join(label(x, lang) for x in a.outcome.actions)
            )
        add("Outcome of the investigation", "Résultat de l'enquête", *lines)
    add(
        "Grounds for informing the addressee",
        "Motif de la communication",
        *dict.fromkeys(_reason(r.rule, r.explanation, lang) for r in n.reasons),
    )
    return tuple(rows)


def _answer(n: Notification, lang: str, reply_url: str | None) -> tuple[str, tuple[str, ...], str]:
    ways: tuple[str, ...]
    base = reply_url.rstrip("/") if reply_url else None
    responses = f"POST {base}/v1/responses" if base else "POST /v1/responses"
    webhook = (
        f"POST {base}/v1/webhook-replies/{n.recipient}" if base else f"POST /v1/webhook-replies/{n.recipient}"
    )
    ref = _clean(n.allegation_id)
    where = "" if base else " " + _t("answer_where_unknown", lang)
    intro = _t("answer_intro", lang).format(where=where, ref=ref)
    ways = tuple(
        _t(way, lang).format(responses=responses, webhook=webhook)
        for way in ("answer_way_http", "answer_way_webhook", "answer_way_cli")
    )
    if n.recipient in OFFICES:
        mission, office = _t("answer_mission_phrase", lang), _t("answer_office_phrase", lang)
        ways = tuple(w.replace(mission, office) for w in ways)
    first = n.obligations[0].kind if n.obligations else ObligationKind.ACKNOWLEDGE
    kinds = reply_kinds(first) or (ResponseKind.ACKNOWLEDGED,)
    responder = (
        "Permanent Mission, SEA focal point" if lang == "en" else "Mission permanente, point focal EAS"
    )
    example = (
        "{"
        f'"allegation_id": "{_json(ref)}", "kind": "{kinds[0].value}", '
        f'"responder": "{responder}", "in_reply_to": "{n.notification_id}"'
        "}"
    )
    return intro, ways, example


def _json(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class NoticeOptions(TypedDict, total=False):
    """How a notice is written: its language (default ``en``), the gateway address for
    replies, and the reporting mission or entity when the operators name it."""

    lang: str
    reply_url: str | None
    reporting_entity: str | None


def build_content(notification: Notification, **options: Unpack[NoticeOptions]) -> NoticeContent:
    """The notice's text in ``lang`` from this notification's own fields."""
    lang = check_language(options.get("lang", "en"))
    reply_url, reporting_entity = options.get("reply_url"), options.get("reporting_entity")
    n = notification
    reference = notice_reference(n)
    who = _addressee(n, lang)
    asked = tuple(
        Asked(
            kind=o.kind.value,
            what=ASKED[o.kind][lang],
            due=_due(o.due_at, lang),
            reply_with=", ".join(k.value for k in reply_kinds(o.kind)) or "—",
        )
        for o in sorted(n.obligations, key=lambda o: (o.due_at, o.kind.value))
    )
    short = _short_addressee(n, lang)
    limited = _t("limited", lang)
    asked_intro = _t("asked_intro", lang)
    if n.recipient in OFFICES:
        limited = limited.replace("the Permanent Mission", short).replace("la Mission permanente", short)
        asked_intro = asked_intro.replace("The Permanent Mission", short.capitalize()).replace(
            "La Mission permanente", short.capitalize()
        )
    sender = _t("sender", lang)
    if lang == "en":
        closing = f"{sender} avails itself of this opportunity to renew to {who} the assurances of its highest consideration."
    else:
        closing = f"{sender} saisit cette occasion pour renouveler {_to(who, lang)} les assurances de sa très haute considération."
    intro, ways, example = _answer(n, lang, reply_url)
    confidential = None
    if n.allegation.confidential is not None:
        confidential = _t("confidential", lang)
        if n.recipient in OFFICES:
            confidential = confidential.replace("the Permanent Mission", short).replace(
                "la Mission permanente", short
            )
    return NoticeContent(
        lang=lang,
        reference=reference,
        title=_t("title", lang),
        marking=_t("marking", lang),
        place_date=f"{_t('place', lang)}, {_date(n.routed_at.date(), lang)}",
        opening=_opening(n, lang, reporting_entity, reference),
        limited=limited,
        facts=_facts(n, lang, reporting_entity),
        asked_intro=asked_intro,
        asked=asked,
        asked_headers=(_t("h_what", lang), _t("h_due", lang), _t("h_reply", lang)),
        nothing_asked=_t("nothing_asked", lang),
        answer_intro=intro,
        answer_ways=ways,
        answer_example=example,
        closing=closing,
        footer=_t("footer", lang).format(ref=reference),
        confidential_note=confidential,
        headings={k: _t(k, lang) for k in ("h_particulars", "h_asked", "h_answer")},
    )
