"""Names of Member States and offices in English and French, with the article each takes.

Short names come from the Unicode CLDR through ``babel`` (maintained, shipped as a
wheel with no system dependency, and the only maintained source of French country
names that needs no gettext catalogue on the machine); ``pycountry`` maps the
bus's ISO 3166-1 alpha-3 codes to CLDR's alpha-2 keys. Where CLDR's short name is
informal (``Congo - Kinshasa``, ``South Korea``), the United Nations short name
is used instead (:data:`_UN_NAMES`).

A Note Verbale names "the Permanent Mission of the Netherlands" and "la Mission
permanente du Kenya", so each name also needs its article. English takes "the"
for a small closed set; French articles follow the name's gender and number.
The rules below are a heuristic with the exceptions known to us; a name they get
wrong is one entry in :data:`_FR_OF_OVERRIDES`.
"""

from __future__ import annotations

import pycountry
from babel import Locale

from seabus.connectors.notices.wording import section

__all__ = ["OFFICES", "mission_of", "state_name", "state_subject"]

OFFICES: dict[str, dict[str, str]] = section("offices")
"""How an office is addressed (with its article), for notices to an office rather than a state."""

_UN_NAMES: dict[str, dict[str, str]] = section("un_names")
"""United Nations short names where CLDR's is informal (``wording.yaml``, section ``un_names``)."""

_EN_THE_FIRST = ("Republic", "Democratic", "United", "Federated", "State of", "Holy", "Kingdom", "Russian")
_EN_THE = frozenset(
    {
        "Netherlands",
        "Philippines",
        "Bahamas",
        "Congo",
        "Gambia",
        "Comoros",
        "Maldives",
        "Sudan",
        "Niger",
        "Central African Republic",
        "Dominican Republic",
        "Syrian Arab Republic",
        "Lao People's Democratic Republic",
    }
)

_FR_PLURAL = frozenset(
    {
        "États-Unis",
        "Émirats arabes unis",
        "Pays-Bas",
        "Philippines",
        "Comores",
        "Maldives",
        "Seychelles",
        "Bahamas",
        "Fidji",
        "Îles Marshall",
        "Îles Salomon",
    }
)
_FR_NO_ARTICLE = frozenset(
    {
        "Andorre",
        "Antigua-et-Barbuda",
        "Bahreïn",
        "Brunéi Darussalam",
        "Cuba",
        "Chypre",
        "Djibouti",
        "El Salvador",
        "Haïti",
        "Israël",
        "Kiribati",
        "Madagascar",
        "Malte",
        "Maurice",
        "Monaco",
        "Nauru",
        "Oman",
        "Palaos",
        "Saint-Kitts-et-Nevis",
        "Saint-Marin",
        "Saint-Vincent-et-les-Grenadines",
        "Sainte-Lucie",
        "Samoa",
        "Sao Tomé-et-Principe",
        "Singapour",
        "Tonga",
        "Tuvalu",
        "Vanuatu",
    }
)
_FR_MASCULINE_IN_E = frozenset(
    {"Mexique", "Cambodge", "Mozambique", "Zimbabwe", "Belize", "Suriname", "Royaume", "Saint"}
)
_FR_FEMININE = frozenset({"Sierra", "Trinité"})
_FR_OF_OVERRIDES: dict[str, str] = {"HTI": "d'Haïti"}
"""Full French "de + article + name" for a name the rules get wrong, by alpha-3 code."""

_VOWELS = tuple("AEIOUYÉÈÊÎÏÔÛÙÂÀ")


def _check_lang(lang: str) -> None:
    if lang not in ("en", "fr"):
        raise ValueError(f"unsupported language {lang!r}: state names are given in 'en' and 'fr'")


def state_name(code: str, lang: str) -> str:
    """The short name of a state (or an office's name) in ``lang``; the code itself when unknown."""
    _check_lang(lang)
    if code in OFFICES:
        return OFFICES[code][lang]
    if code in _UN_NAMES:
        return _UN_NAMES[code][lang]
    country = pycountry.countries.get(alpha_3=code)
    if country is None:
        return code
    name = Locale(lang).territories.get(country.alpha_2)
    if not name:
        return str(country.name)
    name = str(name).replace("\u2019", "'")
    if lang == "en":
        name = name.replace(" & ", " and ").replace("St. ", "Saint ")
    return name


def _fr_of(code: str, name: str) -> str:
    if code in _FR_OF_OVERRIDES:
        return _FR_OF_OVERRIDES[code]
    if name in _FR_PLURAL:
        return f"des {name}"
    if name in _FR_NO_ARTICLE:
        return f"d'{name}" if name.startswith(_VOWELS) else f"de {name}"
    if name.startswith(_VOWELS):
        return f"de l'{name}"
    first = name.replace("-", " ").split(" ")[0]
    feminine = first in _FR_FEMININE or (first.endswith("e") and first not in _FR_MASCULINE_IN_E)
    return f"de la {name}" if feminine else f"du {name}"


def mission_of(code: str, lang: str) -> str:
    """How a notice addresses the recipient: its Permanent Mission, or the office itself.

    English: "the Permanent Mission of the Netherlands to the United Nations";
    French: "la Mission permanente des Pays-Bas auprès de l'Organisation des Nations Unies".
    """
    _check_lang(lang)
    if code in OFFICES:
        return OFFICES[code][lang]
    name = state_name(code, lang)
    if lang == "en":
        the = "the " if name in _EN_THE or name.startswith(_EN_THE_FIRST) else ""
        return f"the Permanent Mission of {the}{name} to the United Nations"
    return f"la Mission permanente {_fr_of(code, name)} auprès de l'Organisation des Nations Unies"


def state_subject(code: str, lang: str) -> str:
    """The state's name as a sentence names it: "France", "the Netherlands"; "la France", "les Pays-Bas"."""
    _check_lang(lang)
    name = state_name(code, lang)
    if code in OFFICES:
        return name
    if lang == "en":
        return f"the {name}" if name in _EN_THE or name.startswith(_EN_THE_FIRST) else name
    of = _fr_of(code, name)
    for prefix, article in (
        ("du ", "le "),
        ("des ", "les "),
        ("de la ", "la "),
        ("de l'", "l'"),
        ("d'", ""),
        ("de ", ""),
    ):
        if of.startswith(prefix):
            return article + of[len(prefix) :]
    return name  # pragma: no cover - _fr_of always starts with one of the prefixes
