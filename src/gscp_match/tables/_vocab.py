"""Controlled vocabularies: theme codes, World Bank regions, support types, languages and countries.

The codes are those of the program's taxonomy (``shared/domain/taxonomy.md``). Lookups return ``None`` for an
unknown value so that validation can report it with its file, row and column.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import pycountry

__all__ = [
    "THEMES",
    "REGIONS",
    "SUPPORT_TYPES",
    "SUPPORT_DAY_CAPS",
    "EXPERT_KINDS",
    "normalize_country",
    "normalize_language",
    "name_key",
    "country_region",
    "country_name",
]

#: Theme codes and what they mean, in the taxonomy's order.
THEMES: dict[str, str] = {
    "strategy": "smart city vision, strategy and master planning",
    "institutions": "laws, institutional set-up, governance arrangements, capacity of agencies",
    "new_towns": "new town and greenfield urban development",
    "regeneration": "regeneration of existing urban areas",
    "housing": "housing supply and policy",
    "land": "land administration, cadastre, registration, valuation",
    "geospatial": "GIS, spatial data infrastructure, 3D city models, digital twins",
    "mobility": "traffic management, intelligent transport systems, roads, tolling",
    "public_transport": "bus, metro and fare systems, transit reform",
    "data_platform": "urban data platforms, integrated operations centres, dashboards",
    "open_data": "open data portals and data sharing",
    "e_government": "digital public services, e-procurement, back-office digitalization",
    "citizen_engagement": "participation, complaints handling, feedback channels",
    "public_safety": "CCTV, emergency response, policing support",
    "disaster_risk": "disaster risk management, early warning, resilience",
    "water": "water supply, sanitation, smart water management, non-revenue water",
    "energy": "smart grids, energy efficiency, district energy",
    "environment": "air quality, waste, green space, climate",
    "finance_ppp": "financing, public-private partnerships, business models",
    "capacity_building": "training, knowledge exchange, institutional capacity",
}

#: World Bank regions.
REGIONS: dict[str, str] = {
    "AFR": "Africa",
    "EAP": "East Asia & Pacific",
    "ECA": "Europe & Central Asia",
    "LAC": "Latin America & Caribbean",
    "MNA": "Middle East & North Africa",
    "SAR": "South Asia",
}

#: Support types and the most working days each may ask for.
SUPPORT_DAY_CAPS: dict[str, int] = {"JIT": 30, "OS": 60}
SUPPORT_TYPES: tuple[str, ...] = tuple(SUPPORT_DAY_CAPS)

EXPERT_KINDS: tuple[str, ...] = ("individual", "firm")

# Common English names that ISO 3166 spells differently.
_COUNTRY_ALIASES: dict[str, str] = {
    "korea": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "korea, republic of": "KR",
    "north korea": "KP",
    "vietnam": "VN",
    "viet nam": "VN",
    "laos": "LA",
    "lao pdr": "LA",
    "russia": "RU",
    "turkey": "TR",
    "turkiye": "TR",
    "iran": "IR",
    "syria": "SY",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "cape verde": "CV",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "côte d'ivoire": "CI",
    "drc": "CD",
    "dr congo": "CD",
    "democratic republic of the congo": "CD",
    "congo, dem. rep.": "CD",
    "republic of the congo": "CG",
    "congo, rep.": "CG",
    "egypt, arab rep.": "EG",
    "micronesia": "FM",
    "palestine": "PS",
    "west bank and gaza": "PS",
    "kosovo": "XK",
    "uk": "GB",
    "united kingdom": "GB",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "swaziland": "SZ",
    "eswatini": "SZ",
    "burma": "MM",
    "myanmar": "MM",
    "kyrgyz republic": "KG",
    "slovak republic": "SK",
    "czech republic": "CZ",
    "the gambia": "GM",
    "gambia, the": "GM",
    "macedonia": "MK",
    "north macedonia": "MK",
    "brunei": "BN",
    "timor-leste": "TL",
    "east timor": "TL",
    "taiwan": "TW",
}


def name_key(text: str) -> str:
    """A name folded for lookup: accents, case, punctuation, ``&``, ``St.`` and a leading or trailing *the* do not
    matter, so ``Côte d'Ivoire``, ``Cote d'Ivoire`` and ``COTE DIVOIRE`` meet, and so do ``St. Lucia`` and
    ``Saint Lucia``, ``Bahamas, The`` and ``The Bahamas``.

    >>> name_key("Bahamas, The"), name_key("St. Lucia"), name_key("Türkiye"), name_key("Français")
    ('bahamas', 'saint lucia', 'turkiye', 'francais')
    """
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    folded = folded.replace("&", " and ").replace("'", "").replace("\u2019", "")
    words = re.sub(r"[^\w]+", " ", folded).split()
    words = ["saint" if w in ("st", "ste") else w for w in words]
    if words[:1] == ["the"]:
        words = words[1:]
    if words[-1:] == ["the"]:
        words = words[:-1]
    return " ".join(words)


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    """Folded name -> alpha-2: ISO 3166 names (pycountry), the World Bank's names, common English aliases."""
    index: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                index[name_key(value)] = c.alpha_2
    path = resources.files("gscp_match") / "data" / "wb_country_names.csv"
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            index[name_key(row["wb_name"])] = row["alpha2"]
    index.update({name_key(k): v for k, v in _COUNTRY_ALIASES.items()})
    return index


@lru_cache(maxsize=4096)
def normalize_country(value: str) -> str | None:
    """Return the ISO 3166-1 alpha-2 code for an alpha-2 code or a country name, else ``None``.

    Names may be ISO's (``Korea, Republic of``), the World Bank's (``Korea, Rep.``, ``Venezuela, RB``, ``St. Lucia``,
    ``Hong Kong SAR, China``; the table is ``data/wb_country_names.csv``) or common English ones (``South Korea``);
    accents, case and punctuation do not matter (:func:`name_key`).

    >>> normalize_country("Egypt"), normalize_country("mn"), normalize_country("South Korea")
    ('EG', 'MN', 'KR')
    >>> normalize_country("Korea, Rep."), normalize_country("Bahamas, The"), normalize_country("Côte d'Ivoire")
    ('KR', 'BS', 'CI')
    >>> normalize_country("Atlantis") is None
    True
    """
    text = value.strip()
    if not text:
        return None
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        if code == "XK" or pycountry.countries.get(alpha_2=code) is not None:
            return code
        return None
    return _country_index().get(name_key(text))


# Languages by their own names (endonyms) and English names ISO 639 spells differently.
_LANGUAGE_ALIASES: dict[str, str] = {
    "english": "en",
    "français": "fr",
    "español": "es",
    "castellano": "es",
    "português": "pt",
    "deutsch": "de",
    "italiano": "it",
    "nederlands": "nl",
    "flemish": "nl",
    "русский": "ru",
    "українська": "uk",
    "polski": "pl",
    "română": "ro",
    "ελληνικά": "el",
    "greek": "el",
    "türkçe": "tr",
    "العربية": "ar",
    "عربي": "ar",
    "فارسی": "fa",
    "farsi": "fa",
    "dari": "fa",
    "اردو": "ur",
    "हिन्दी": "hi",
    "বাংলা": "bn",
    "bangla": "bn",
    "한국어": "ko",
    "조선말": "ko",
    "日本語": "ja",
    "中文": "zh",
    "汉语": "zh",
    "漢語": "zh",
    "普通话": "zh",
    "mandarin": "zh",
    "mandarin chinese": "zh",
    "tiếng việt": "vi",
    "ภาษาไทย": "th",
    "ไทย": "th",
    "bahasa indonesia": "id",
    "bahasa melayu": "ms",
    "malay": "ms",
    "kiswahili": "sw",
    "swahili": "sw",
    "монгол": "mn",
    "монгол хэл": "mn",
    "кыргызча": "ky",
    "kyrgyz": "ky",
    "қазақ тілі": "kk",
    "o'zbekcha": "uz",
    "тоҷикӣ": "tg",
    "ქართული": "ka",
    "հայերեն": "hy",
    "azərbaycan": "az",
    "አማርኛ": "am",
    "filipino": "tl",
    "pashto": "ps",
    "punjabi": "pa",
    "nepali": "ne",
    "haitian creole": "ht",
    "kreyòl": "ht",
    "dhivehi": "dv",
    "sinhalese": "si",
    "burmese": "my",
}


@lru_cache(maxsize=1)
def _language_index() -> dict[str, str]:
    """Folded name or ISO 639-2/3 code -> ISO 639-1 code."""
    index: dict[str, str] = {}
    for lang in pycountry.languages:
        code = getattr(lang, "alpha_2", None)
        if not code:
            continue
        for attr in ("name", "inverted_name", "common_name"):
            value = getattr(lang, attr, None)
            if not value:
                continue
            for part in value.split(";"):
                index.setdefault(name_key(part), code)
                index.setdefault(name_key(re.sub(r"\(.*?\)", "", part)), code)  # "Swahili (macrolanguage)"
        for attr in ("alpha_3", "bibliographic"):
            value = getattr(lang, attr, None)
            if value:
                index.setdefault(value.lower(), code)
    index.update({name_key(k): v for k, v in _LANGUAGE_ALIASES.items()})
    index.pop("", None)
    return index


@lru_cache(maxsize=512)
def normalize_language(value: str) -> str | None:
    """Return the lower-case ISO 639-1 code of a code or a language name, or ``None`` when it is neither.

    Accepted: ISO 639-1 (``en``), ISO 639-2/3 codes (``eng``, ``fre``), English names (``French``) and the
    languages' own names (``français``, ``Español``, ``한국어``).

    >>> normalize_language("EN"), normalize_language("French"), normalize_language("Español"), normalize_language("xx")
    ('en', 'fr', 'es', None)
    """
    text = value.strip()
    code = text.lower()
    if len(code) == 2:
        return code if code.isalpha() and pycountry.languages.get(alpha_2=code) is not None else None
    if not code:
        return None
    return _language_index().get(code) or _language_index().get(name_key(text))


@lru_cache(maxsize=1)
def _region_table() -> dict[str, str]:
    path = resources.files("gscp_match") / "data" / "wb_regions.csv"
    with path.open(encoding="utf-8") as f:
        return {row["alpha2"]: row["region"] for row in csv.DictReader(f)}


def country_region(alpha2: str) -> str | None:
    """World Bank region of a country (alpha-2), or ``None`` for a country outside the Bank's client regions.

    >>> country_region("MN"), country_region("MA")
    ('EAP', 'MNA')
    """
    return _region_table().get(alpha2)


def country_name(alpha2: str) -> str:
    """English short name of an alpha-2 code (the code itself when unknown).

    >>> country_name("MN")
    'Mongolia'
    """
    if alpha2 == "XK":
        return "Kosovo"
    c = pycountry.countries.get(alpha_2=alpha2)
    return getattr(c, "common_name", None) or c.name if c is not None else alpha2
