"""What each contract value is called in a notice, in English and in French.

Every member of every enum a notice shows has a label in both languages
(``tests/notices`` checks it), so a new symbol in ``schemas/enums.py`` fails the
tests until it is described here, rather than appearing as a raw code in a
diplomatic note. What is asked of a recipient (:data:`ASKED`) is keyed by the
contract's own :class:`~seabus.schemas.enums.ObligationKind`, which the e-mail notice
uses too.
"""

from __future__ import annotations

from enum import StrEnum

from seabus.schemas.enums import (
    AgeGroup,
    AllegationEventType,
    AllegationStatus,
    AllegationSubType,
    AllegationType,
    DisciplinaryAction,
    Gender,
    InterimActionKind,
    ObligationKind,
    OutcomeResult,
    PersonnelCategory,
    Sex,
    SourceStream,
    UpdateKind,
)

__all__ = ["ASKED", "LABELS", "label"]

ASKED: dict[ObligationKind, dict[str, str]] = {
    ObligationKind.ACKNOWLEDGE: {
        "en": "acknowledge receipt of this notification",
        "fr": "accuser réception de la présente notification",
    },
    ObligationKind.DECIDE: {
        "en": "decide on the investigation: appoint a national investigation officer, investigate jointly with OIOS, or decline",
        "fr": "se prononcer sur l'enquête : désigner un enquêteur national, enquêter conjointement avec le BSCI, ou décliner",
    },
    ObligationKind.REPORT_OUTCOME: {
        "en": "report the outcome of the investigation",
        "fr": "communiquer les résultats de l'enquête",
    },
    ObligationKind.REPORT_ACTION_TAKEN: {
        "en": "report the action taken after the substantiated finding",
        "fr": "faire connaître les mesures prises à la suite de la conclusion établissant les faits",
    },
    ObligationKind.INVESTIGATE: {
        "en": "investigate the allegation and report the outcome",
        "fr": "enquêter sur l'allégation et en communiquer les résultats",
    },
    ObligationKind.DECIDE_REFERRAL: {
        "en": "decide on referral for criminal accountability",
        "fr": "se prononcer sur un renvoi aux fins d'établir la responsabilité pénale",
    },
    ObligationKind.UNKNOWN: {
        "en": "an obligation this version of seabus does not describe; see the notification record",
        "fr": "une obligation que cette version de seabus ne décrit pas ; voir l'enregistrement de la notification",
    },
}

_L = dict[str, dict[str, str]]

LABELS: dict[type[StrEnum], _L] = {
    AllegationEventType: {
        "REPORTED": {"en": "new allegation", "fr": "nouvelle allégation"},
        "UPDATED": {"en": "update", "fr": "mise à jour"},
        "CLOSED": {"en": "closure", "fr": "clôture"},
        "WITHDRAWN": {"en": "withdrawal", "fr": "retrait"},
        "UNKNOWN": {"en": "notification", "fr": "notification"},
    },
    UpdateKind: {
        "STATUS_CHANGED": {"en": "status", "fr": "statut"},
        "INVESTIGATION_OUTCOME": {"en": "investigation outcome", "fr": "résultat de l'enquête"},
        "INTERIM_ACTION": {"en": "interim action", "fr": "mesure provisoire"},
        "PATERNITY_CLAIM": {"en": "paternity claim", "fr": "demande en reconnaissance de paternité"},
        "SUBJECTS_CHANGED": {"en": "persons concerned", "fr": "personnes mises en cause"},
        "VICTIMS_CHANGED": {"en": "victims", "fr": "victimes"},
        "VICTIM_ASSISTANCE": {"en": "victim assistance", "fr": "assistance aux victimes"},
        "INVESTIGATING_ENTITY": {"en": "investigating entity", "fr": "entité chargée de l'enquête"},
        "OTHER": {"en": "other", "fr": "autre"},
        "UNKNOWN": {"en": "unspecified", "fr": "non précisé"},
    },
    SourceStream: {
        "UN_PERSONNEL": {"en": "United Nations personnel", "fr": "personnel des Nations Unies"},
        "IMPLEMENTING_PARTNER": {"en": "implementing partner", "fr": "partenaire d'exécution"},
        "NON_UN_FORCE": {
            "en": "non-United Nations force under a Security Council mandate",
            "fr": "force non onusienne agissant en vertu d'un mandat du Conseil de sécurité",
        },
        "UNKNOWN": {"en": "not known", "fr": "inconnu"},
    },
    PersonnelCategory: {
        "STAFF_MEMBER": {"en": "staff member", "fr": "fonctionnaire"},
        "UN_VOLUNTEER": {"en": "United Nations Volunteer", "fr": "Volontaire des Nations Unies"},
        "EXPERT_ON_MISSION": {"en": "expert on mission", "fr": "expert en mission"},
        "UN_POLICE_OFFICER": {"en": "United Nations police officer", "fr": "policier des Nations Unies"},
        "FORMED_POLICE_UNIT": {"en": "formed police unit", "fr": "unité de police constituée"},
        "GOVERNMENT_PROVIDED_PERSONNEL": {
            "en": "government-provided personnel",
            "fr": "personnel fourni par un gouvernement",
        },
        "MILITARY_STAFF_OFFICER": {"en": "military staff officer", "fr": "officier d'état-major"},
        "MILITARY_CONTINGENT": {"en": "military contingent", "fr": "contingent militaire"},
        "CONTRACTOR_CONSULTANT": {"en": "contractor or consultant", "fr": "vacataire ou consultant"},
        "IMPLEMENTING_PARTNER_PERSONNEL": {
            "en": "implementing partner personnel",
            "fr": "personnel d'un partenaire d'exécution",
        },
        "NON_UN_FORCE_MEMBER": {
            "en": "member of a non-United Nations force",
            "fr": "membre d'une force non onusienne",
        },
        "UNKNOWN": {"en": "category not known", "fr": "catégorie inconnue"},
    },
    Gender: {
        "FEMALE": {"en": "female", "fr": "femme"},
        "MALE": {"en": "male", "fr": "homme"},
        "UNKNOWN": {"en": "gender not known", "fr": "genre inconnu"},
    },
    AllegationType: {
        "SEXUAL_EXPLOITATION": {"en": "sexual exploitation", "fr": "exploitation sexuelle"},
        "SEXUAL_ABUSE": {"en": "sexual abuse", "fr": "atteintes sexuelles"},
        "OTHER": {"en": "other", "fr": "autre"},
        "UNKNOWN": {"en": "not known", "fr": "inconnu"},
    },
    AllegationSubType: {
        "RAPE": {"en": "rape", "fr": "viol"},
        "TRANSACTIONAL_SEX": {"en": "transactional sex", "fr": "rapports sexuels monnayés"},
        "EXPLOITATIVE_RELATIONSHIP": {"en": "exploitative relationship", "fr": "relation d'exploitation"},
        "SEXUAL_ASSAULT": {"en": "sexual assault", "fr": "agression sexuelle"},
        "SEXUAL_ACTIVITY_WITH_MINOR": {
            "en": "sexual activity with a minor",
            "fr": "activité sexuelle avec un mineur",
        },
        "OTHER": {"en": "other", "fr": "autre"},
        "UNKNOWN": {"en": "not known", "fr": "inconnu"},
    },
    Sex: {
        "FEMALE": {"en": "female", "fr": "de sexe féminin"},
        "MALE": {"en": "male", "fr": "de sexe masculin"},
        "UNKNOWN": {"en": "sex not known", "fr": "de sexe inconnu"},
    },
    AgeGroup: {
        "UNDER_18": {"en": "under 18", "fr": "de moins de 18 ans"},
        "ADULT": {"en": "adult", "fr": "adulte"},
        "UNKNOWN": {"en": "age not known", "fr": "d'âge inconnu"},
    },
    AllegationStatus: {
        "UNDER_PRELIMINARY_ASSESSMENT": {
            "en": "under preliminary assessment",
            "fr": "en cours d'évaluation préliminaire",
        },
        "UNDER_REVIEW_LIMITED_INFORMATION": {
            "en": "under review (limited information)",
            "fr": "en cours d'examen (informations limitées)",
        },
        "UNDER_INVESTIGATION": {"en": "under investigation", "fr": "enquête en cours"},
        "PENDING_MEMBER_STATE_INVESTIGATION": {
            "en": "pending investigation by the Member State",
            "fr": "en attente de l'enquête de l'État Membre",
        },
        "REFERRED_TO_MEMBER_STATE": {"en": "referred to the Member State", "fr": "renvoyée à l'État Membre"},
        "SUBSTANTIATED": {"en": "substantiated", "fr": "établie"},
        "NOT_SUBSTANTIATED": {"en": "not substantiated", "fr": "non établie"},
        "CLOSED_OTHER_CIRCUMSTANCES": {
            "en": "closed (other circumstances)",
            "fr": "classée (autres circonstances)",
        },
        "UNKNOWN": {"en": "not known", "fr": "inconnu"},
    },
    InterimActionKind: {
        "PLACED_ON_ADMINISTRATIVE_LEAVE": {
            "en": "placed on administrative leave",
            "fr": "mise en congé administratif",
        },
        "PAYMENTS_SUSPENDED": {"en": "payments suspended", "fr": "suspension des paiements"},
        "REPATRIATED": {"en": "repatriated", "fr": "rapatriement"},
        "CONFINED_TO_BARRACKS": {"en": "confined to barracks", "fr": "consigne au quartier"},
        "CONTRACT_SUSPENDED": {"en": "contract suspended", "fr": "suspension du contrat"},
        "REASSIGNED": {"en": "reassigned", "fr": "réaffectation"},
        "OTHER": {"en": "other measure", "fr": "autre mesure"},
        "UNKNOWN": {"en": "measure not specified", "fr": "mesure non précisée"},
    },
    OutcomeResult: {
        "SUBSTANTIATED": {"en": "substantiated", "fr": "établie"},
        "NOT_SUBSTANTIATED": {"en": "not substantiated", "fr": "non établie"},
        "CLOSED_OTHER_CIRCUMSTANCES": {
            "en": "closed (other circumstances)",
            "fr": "classée (autres circonstances)",
        },
        "UNKNOWN": {"en": "not known", "fr": "inconnu"},
    },
    DisciplinaryAction: {
        "DISMISSAL": {"en": "dismissal", "fr": "renvoi"},
        "SEPARATION_FROM_SERVICE": {"en": "separation from service", "fr": "cessation de service"},
        "REPATRIATION": {"en": "repatriation", "fr": "rapatriement"},
        "IMPRISONMENT": {"en": "imprisonment", "fr": "emprisonnement"},
        "DEMOTION": {"en": "demotion", "fr": "rétrogradation"},
        "FINE": {"en": "fine", "fr": "amende"},
        "WRITTEN_CENSURE": {"en": "written censure", "fr": "blâme écrit"},
        "BARRED_FROM_FUTURE_SERVICE": {
            "en": "barred from future service",
            "fr": "exclusion de tout service futur",
        },
        "NO_ACTION": {"en": "no action", "fr": "aucune mesure"},
        "PENDING": {"en": "pending", "fr": "en attente"},
        "OTHER": {"en": "other", "fr": "autre"},
        "UNKNOWN": {"en": "not known", "fr": "inconnu"},
    },
    ObligationKind: {kind.value: text for kind, text in ASKED.items()},
}


def label(value: StrEnum, lang: str) -> str:
    """The label of one contract value; the raw symbol only for a value newer than this table."""
    table = LABELS.get(type(value), {})
    entry = table.get(value.value)
    return entry[lang] if entry else value.value
