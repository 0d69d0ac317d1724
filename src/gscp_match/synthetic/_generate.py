"""Seeded synthetic experts, evidence and requests that follow the data contract.

Everything here is made up: names are built from invented syllables, firms carry "(synthetic)" in their name and
every row has ``synthetic == "true"``. The tables look like a real round (themes, regions, countries, languages and
calendars are correlated the way they are in the program) so that the matcher, its benchmarks and the demo have
something meaningful to work on, at any size.

All tables are returned as pandas DataFrames of strings in file form: list cells are ``;``-separated, booleans are
``true``/``false``, dates are ISO ``YYYY-MM-DD`` and an empty string is a missing value. Nothing is read or written.

The generators are vectorized: random integer arrays choose rows of small phrase tables and Arrow compute kernels
assemble the text (one multi-way concatenation per template), so ``generate_experts(1_000_000)`` takes seconds, not
minutes. Columns come back as pandas' Arrow-backed string dtype.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from gscp_match.errors import InputError
from gscp_match.tables._vocab import REGIONS, SUPPORT_DAY_CAPS, THEMES

__all__ = [
    "EXPERT_COLUMNS",
    "EVIDENCE_COLUMNS",
    "REQUEST_COLUMNS",
    "generate_experts",
    "generate_evidence",
    "generate_requests",
    "generate_round",
    "demo_round",
]

logger = logging.getLogger(__name__)

#: Column order of the tables the generators return (``synthetic`` is an extra column allowed by the contract).
EXPERT_COLUMNS: tuple[str, ...] = (
    "expert_id",
    "name",
    "bio",
    "kind",
    "nationality",
    "korean_experience",
    "languages",
    "regions",
    "countries",
    "themes",
    "day_rate_usd",
    "busy",
    "max_assignments",
    "conflicts",
    "synthetic",
)
EVIDENCE_COLUMNS: tuple[str, ...] = ("expert_id", "text", "title", "year", "kind", "synthetic")
REQUEST_COLUMNS: tuple[str, ...] = (
    "request_id",
    "title",
    "description",
    "country",
    "city",
    "client",
    "region",
    "practice_group",
    "support_type",
    "days",
    "window_start",
    "window_end",
    "languages",
    "themes",
    "korean_experience",
    "experts_needed",
    "budget_usd",
    "exclude_experts",
    "round",
    "synthetic",
)

_REGION_CODES: tuple[str, ...] = tuple(REGIONS)
_THEME_CODES: tuple[str, ...] = tuple(THEMES)

# --------------------------------------------------------------------------------------------------------------
# Places and languages
# --------------------------------------------------------------------------------------------------------------

_LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "ko": "Korean",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
    "ar": "Arabic",
    "ru": "Russian",
    "mn": "Mongolian",
    "vi": "Vietnamese",
    "id": "Indonesian",
    "tl": "Tagalog",
    "km": "Khmer",
    "lo": "Lao",
    "zh": "Chinese",
    "th": "Thai",
    "fj": "Fijian",
    "uz": "Uzbek",
    "kk": "Kazakh",
    "ky": "Kyrgyz",
    "tg": "Tajik",
    "ka": "Georgian",
    "hy": "Armenian",
    "az": "Azerbaijani",
    "uk": "Ukrainian",
    "ro": "Romanian",
    "sr": "Serbian",
    "mk": "Macedonian",
    "tr": "Turkish",
    "sq": "Albanian",
    "sw": "Swahili",
    "rw": "Kinyarwanda",
    "am": "Amharic",
    "bn": "Bengali",
    "ur": "Urdu",
    "si": "Sinhala",
    "ta": "Tamil",
    "ne": "Nepali",
    "hi": "Hindi",
    "dz": "Dzongkha",
    "dv": "Dhivehi",
    "de": "German",
    "ja": "Japanese",
    "nl": "Dutch",
    "it": "Italian",
}
_LANG_CODES: tuple[str, ...] = tuple(_LANGUAGE_NAMES)
_LANG_INDEX: dict[str, int] = {c: i for i, c in enumerate(_LANG_CODES)}

# alpha-2 -> (English name, World Bank region or "" outside the client regions, spoken languages, the working
# language a request from there may ask for besides English, or "").
_COUNTRIES: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "MN": ("Mongolia", "EAP", ("mn", "ru"), "mn"),
    "VN": ("Vietnam", "EAP", ("vi",), "vi"),
    "ID": ("Indonesia", "EAP", ("id",), "id"),
    "PH": ("Philippines", "EAP", ("tl", "en"), ""),
    "KH": ("Cambodia", "EAP", ("km", "fr"), "km"),
    "LA": ("Lao PDR", "EAP", ("lo", "fr"), "lo"),
    "CN": ("China", "EAP", ("zh",), "zh"),
    "FJ": ("Fiji", "EAP", ("fj", "en"), ""),
    "TH": ("Thailand", "EAP", ("th",), "th"),
    "TL": ("Timor-Leste", "EAP", ("pt",), "pt"),
    "UZ": ("Uzbekistan", "ECA", ("uz", "ru"), "ru"),
    "KZ": ("Kazakhstan", "ECA", ("kk", "ru"), "ru"),
    "KG": ("Kyrgyz Republic", "ECA", ("ky", "ru"), "ru"),
    "TJ": ("Tajikistan", "ECA", ("tg", "ru"), "ru"),
    "GE": ("Georgia", "ECA", ("ka", "ru"), "ka"),
    "AM": ("Armenia", "ECA", ("hy", "ru"), "hy"),
    "AZ": ("Azerbaijan", "ECA", ("az", "ru"), "az"),
    "UA": ("Ukraine", "ECA", ("uk",), "uk"),
    "MD": ("Moldova", "ECA", ("ro", "ru"), "ro"),
    "RS": ("Serbia", "ECA", ("sr",), "sr"),
    "MK": ("North Macedonia", "ECA", ("mk",), "mk"),
    "TR": ("Turkiye", "ECA", ("tr",), "tr"),
    "AL": ("Albania", "ECA", ("sq",), "sq"),
    "CO": ("Colombia", "LAC", ("es",), "es"),
    "PE": ("Peru", "LAC", ("es",), "es"),
    "EC": ("Ecuador", "LAC", ("es",), "es"),
    "MX": ("Mexico", "LAC", ("es",), "es"),
    "BR": ("Brazil", "LAC", ("pt",), "pt"),
    "AR": ("Argentina", "LAC", ("es",), "es"),
    "CL": ("Chile", "LAC", ("es",), "es"),
    "UY": ("Uruguay", "LAC", ("es",), "es"),
    "JM": ("Jamaica", "LAC", ("en",), ""),
    "DO": ("Dominican Republic", "LAC", ("es",), "es"),
    "PY": ("Paraguay", "LAC", ("es",), "es"),
    "MA": ("Morocco", "MNA", ("ar", "fr"), "fr"),
    "EG": ("Egypt", "MNA", ("ar",), "ar"),
    "TN": ("Tunisia", "MNA", ("ar", "fr"), "fr"),
    "JO": ("Jordan", "MNA", ("ar",), "ar"),
    "LB": ("Lebanon", "MNA", ("ar", "fr"), "ar"),
    "DZ": ("Algeria", "MNA", ("ar", "fr"), "fr"),
    "DJ": ("Djibouti", "MNA", ("fr", "ar"), "fr"),
    "IQ": ("Iraq", "MNA", ("ar",), "ar"),
    "KE": ("Kenya", "AFR", ("sw", "en"), ""),
    "RW": ("Rwanda", "AFR", ("rw", "fr"), ""),
    "ET": ("Ethiopia", "AFR", ("am",), ""),
    "TZ": ("Tanzania", "AFR", ("sw",), "sw"),
    "UG": ("Uganda", "AFR", ("en", "sw"), ""),
    "NG": ("Nigeria", "AFR", ("en",), ""),
    "GH": ("Ghana", "AFR", ("en",), ""),
    "SN": ("Senegal", "AFR", ("fr",), "fr"),
    "CI": ("Cote d'Ivoire", "AFR", ("fr",), "fr"),
    "MZ": ("Mozambique", "AFR", ("pt",), "pt"),
    "ZM": ("Zambia", "AFR", ("en",), ""),
    "CD": ("Congo, Dem. Rep.", "AFR", ("fr", "sw"), "fr"),
    "BJ": ("Benin", "AFR", ("fr",), "fr"),
    "BD": ("Bangladesh", "SAR", ("bn",), "bn"),
    "PK": ("Pakistan", "SAR", ("ur", "en"), ""),
    "LK": ("Sri Lanka", "SAR", ("si", "ta"), ""),
    "NP": ("Nepal", "SAR", ("ne",), "ne"),
    "IN": ("India", "SAR", ("hi", "en"), ""),
    "BT": ("Bhutan", "SAR", ("dz", "en"), ""),
    "MV": ("Maldives", "SAR", ("dv", "en"), ""),
    # Home countries of experts outside the client regions.
    "KR": ("Korea", "", ("ko",), ""),
    "US": ("United States", "", ("en",), ""),
    "GB": ("United Kingdom", "", ("en",), ""),
    "FR": ("France", "", ("fr",), ""),
    "DE": ("Germany", "", ("de", "en"), ""),
    "ES": ("Spain", "", ("es",), ""),
    "JP": ("Japan", "", ("ja",), ""),
    "NL": ("Netherlands", "", ("nl", "en"), ""),
    "IT": ("Italy", "", ("it",), ""),
    "AU": ("Australia", "", ("en",), ""),
    "CA": ("Canada", "", ("en", "fr"), ""),
}

# (city, alpha-2): client cities in all six World Bank regions.
_CITIES: tuple[tuple[str, str], ...] = (
    ("Ulaanbaatar", "MN"),
    ("Hanoi", "VN"),
    ("Ho Chi Minh City", "VN"),
    ("Da Nang", "VN"),
    ("Jakarta", "ID"),
    ("Surabaya", "ID"),
    ("Semarang", "ID"),
    ("Manila", "PH"),
    ("Cebu", "PH"),
    ("Phnom Penh", "KH"),
    ("Vientiane", "LA"),
    ("Chengdu", "CN"),
    ("Suva", "FJ"),
    ("Bangkok", "TH"),
    ("Dili", "TL"),
    ("Tashkent", "UZ"),
    ("Samarkand", "UZ"),
    ("Almaty", "KZ"),
    ("Bishkek", "KG"),
    ("Dushanbe", "TJ"),
    ("Tbilisi", "GE"),
    ("Yerevan", "AM"),
    ("Baku", "AZ"),
    ("Kyiv", "UA"),
    ("Chisinau", "MD"),
    ("Belgrade", "RS"),
    ("Skopje", "MK"),
    ("Istanbul", "TR"),
    ("Tirana", "AL"),
    ("Bogota", "CO"),
    ("Medellin", "CO"),
    ("Lima", "PE"),
    ("Quito", "EC"),
    ("Mexico City", "MX"),
    ("Guadalajara", "MX"),
    ("Sao Paulo", "BR"),
    ("Curitiba", "BR"),
    ("Buenos Aires", "AR"),
    ("Santiago", "CL"),
    ("Montevideo", "UY"),
    ("Kingston", "JM"),
    ("Santo Domingo", "DO"),
    ("Asuncion", "PY"),
    ("Rabat", "MA"),
    ("Casablanca", "MA"),
    ("Cairo", "EG"),
    ("Alexandria", "EG"),
    ("Tunis", "TN"),
    ("Amman", "JO"),
    ("Beirut", "LB"),
    ("Algiers", "DZ"),
    ("Djibouti", "DJ"),
    ("Baghdad", "IQ"),
    ("Nairobi", "KE"),
    ("Kigali", "RW"),
    ("Addis Ababa", "ET"),
    ("Dar es Salaam", "TZ"),
    ("Kampala", "UG"),
    ("Lagos", "NG"),
    ("Accra", "GH"),
    ("Dakar", "SN"),
    ("Abidjan", "CI"),
    ("Maputo", "MZ"),
    ("Lusaka", "ZM"),
    ("Kinshasa", "CD"),
    ("Cotonou", "BJ"),
    ("Dhaka", "BD"),
    ("Chattogram", "BD"),
    ("Karachi", "PK"),
    ("Lahore", "PK"),
    ("Colombo", "LK"),
    ("Kathmandu", "NP"),
    ("Pune", "IN"),
    ("Chennai", "IN"),
    ("Thimphu", "BT"),
    ("Male", "MV"),
)

# --------------------------------------------------------------------------------------------------------------
# Per-theme phrase banks
# --------------------------------------------------------------------------------------------------------------

# roles: what an expert of the theme is; np: focus as a noun phrase; vp: work done as a past participle phrase
# (reads after "has" and on its own); title and problem: request texts with {city} / {country}; kref: the Korean
# experience a client of the theme would ask for.
_THEME_TEXT: dict[str, dict[str, tuple[str, ...] | str]] = {
    "strategy": {
        "roles": ("smart city strategist", "urban development planner"),
        "np": (
            "smart city strategy and master planning",
            "digital city roadmaps and investment plans",
            "smart city visions tied to capital investment programmes",
            "city-wide digital transformation strategies",
        ),
        "vp": (
            "led the preparation of smart city master plans for secondary cities",
            "drafted phased smart city roadmaps that link services to budgets",
            "advised mayors' offices on smart city visions and priority projects",
            "coordinated multi-agency digital transformation strategies",
        ),
        "title": (
            "Smart city strategy and roadmap for {city}",
            "Smart city master plan for {city}",
            "Digital transformation roadmap for {city}",
        ),
        "problem": (
            "{city} has many stand-alone pilots but no shared smart city vision, so investments are fragmented "
            "across departments.",
            "The government of {country} wants a phased smart city roadmap for {city} that ties digital services to "
            "its capital investment plan.",
            "Municipal leaders in {city} ask for help to prioritise smart city projects and to sequence them against "
            "a limited budget.",
        ),
        "kref": "Korea's national smart city strategy and its pilot cities",
    },
    "institutions": {
        "roles": ("public sector governance specialist", "legal and institutional adviser"),
        "np": (
            "legal and institutional frameworks for smart cities",
            "inter-agency governance arrangements",
            "the institutional capacity of city agencies",
            "smart city legislation and regulatory sandboxes",
        ),
        "vp": (
            "drafted legal frameworks for smart city development and data sharing",
            "designed institutional set-ups for city digital agencies",
            "reviewed the mandates and capacity of municipal agencies",
            "advised ministries on smart city legislation modelled on the U-City and Smart City acts",
        ),
        "title": (
            "Institutional framework for smart city development in {country}",
            "Governance arrangements for digital services in {city}",
            "Smart city legal and regulatory review for {country}",
        ),
        "problem": (
            "Responsibilities for urban technology in {country} are split between ministries and the city, and no "
            "agency can lead.",
            "{country} is drafting a smart city law and needs options for institutional roles, data governance and "
            "financing rules.",
            "City agencies in {city} lack the mandates and staff to run digital systems once pilots end.",
        ),
        "kref": "Korea's Smart City Act and its institutional set-up",
    },
    "new_towns": {
        "roles": ("new town planner", "urban development specialist"),
        "np": (
            "new town and greenfield urban development",
            "planned new communities and satellite towns",
            "land readiness and phasing for new towns",
            "integrated infrastructure planning for new urban areas",
        ),
        "vp": (
            "planned greenfield new towns from land assembly to infrastructure phasing",
            "advised public developers on new town delivery models",
            "prepared development plans for satellite towns around a capital city",
            "reviewed smart infrastructure packages for new urban communities",
        ),
        "title": (
            "Smart new urban community concept for {city}",
            "New town development strategy for the {city} region",
            "Greenfield smart district planning in {city}",
        ),
        "problem": (
            "{country} is building new urban communities around {city} and wants them planned as smart cities from "
            "the start.",
            "Planned satellite towns near {city} are growing slowly; the client needs a delivery model that attracts "
            "residents and jobs.",
            "The government of {country} asks how to build digital infrastructure and city operations into "
            "greenfield town development near {city}.",
        ),
        "kref": "Korea's new town and smart city development history and strategy",
    },
    "regeneration": {
        "roles": ("urban regeneration specialist", "urban designer"),
        "np": (
            "regeneration of historic and inner-city areas",
            "brownfield redevelopment",
            "neighbourhood upgrading programmes",
            "waterfront and corridor regeneration",
        ),
        "vp": (
            "led inner-city regeneration programmes with community participation",
            "designed brownfield redevelopment plans for former industrial land",
            "advised on restoring urban streams and corridors as public space",
            "prepared neighbourhood upgrading plans for informal settlements",
        ),
        "title": (
            "Inner-city regeneration plan for {city}",
            "Urban regeneration and public space programme in {city}",
            "Corridor regeneration study for {city}",
        ),
        "problem": (
            "The historic core of {city} is losing residents and businesses while traffic dominates its streets.",
            "{city} wants to turn a degraded river corridor and former industrial land into public space and housing.",
            "Neighbourhoods in {city} need upgrading without displacing the people who live there.",
        ),
        "kref": "Seoul's Cheonggyecheon restoration and urban regeneration programmes",
    },
    "housing": {
        "roles": ("housing policy specialist", "housing finance expert"),
        "np": (
            "affordable housing supply and policy",
            "public rental housing programmes",
            "housing finance and subsidy design",
            "housing data and market monitoring",
        ),
        "vp": (
            "designed public rental housing programmes for low-income households",
            "advised housing ministries on supply targets and subsidy design",
            "built housing market monitoring dashboards",
            "evaluated large-scale housing delivery by public developers",
        ),
        "title": (
            "Affordable housing policy review for {country}",
            "Housing supply programme for {city}",
            "Housing market information system for {city}",
        ),
        "problem": (
            "Housing in {city} is out of reach for most new households and informal settlements spread at the edge.",
            "{country} plans a national housing programme and asks how public developers can deliver at scale.",
            "Policy makers in {country} lack timely data on prices, permits and housing supply in {city}.",
        ),
        "kref": "Korea's public housing programmes and new town delivery",
    },
    "land": {
        "roles": ("land administration specialist", "cadastre expert"),
        "np": (
            "land administration and cadastre modernization",
            "land registration and valuation",
            "digital cadastral resurvey",
            "integrated land information systems",
        ),
        "vp": (
            "modernized cadastre and land registration systems",
            "designed mass valuation models for property taxation",
            "managed digital cadastral resurvey programmes",
            "integrated land registry and cadastre databases",
        ),
        "title": (
            "Land administration modernization in {country}",
            "Digital cadastre and land registry for {city}",
            "Property valuation and land information system in {city}",
        ),
        "problem": (
            "Land records in {city} are paper-based and the registry and cadastre do not match, which slows "
            "investment.",
            "{country} wants to digitize its cadastre and link it with the land registry and tax systems.",
            "Property valuations in {city} are outdated and the city collects little property tax.",
        ),
        "kref": "Korea's digital land administration and cadastral resurvey",
    },
    "geospatial": {
        "roles": ("GIS specialist", "geospatial data expert"),
        "np": (
            "spatial data infrastructure (SDI)",
            "GIS and 3D city models",
            "digital twins for urban planning",
            "national mapping and geospatial platforms",
        ),
        "vp": (
            "designed national spatial data infrastructure (SDI) programmes",
            "built GIS platforms and 3D city models for planning departments",
            "set up digital twin pilots for urban planning",
            "advised mapping agencies on geospatial data standards",
        ),
        "title": (
            "Spatial data infrastructure for {city}",
            "Digital twin and 3D city model pilot in {city}",
            "GIS platform for urban planning in {city}",
        ),
        "problem": (
            "Agencies in {city} keep their maps in incompatible formats and nobody maintains a common base map.",
            "{country} wants a national spatial data infrastructure (SDI) that cities such as {city} can use.",
            "Planners in {city} want a 3D city model or digital twin to test development scenarios.",
        ),
        "kref": "Korea's national SDI and the V-World platform",
    },
    "mobility": {
        "roles": ("ITS specialist", "traffic engineer"),
        "np": (
            "intelligent transport systems (ITS)",
            "real-time adaptive traffic signal control (ATSC)",
            "freeway traffic management systems (FTMS)",
            "cooperative ITS (C-ITS) and electronic tolling",
        ),
        "vp": (
            "designed adaptive traffic signal control (ATSC) upgrades for congested arterials",
            "advised expressway operators on freeway traffic management systems (FTMS) and incident response",
            "prepared ITS master plans covering signal control, tolling and traveller information",
            "supervised cooperative ITS (C-ITS) pilots with vehicle-to-infrastructure messaging",
        ),
        "title": (
            "Intelligent transport systems for {city}",
            "Traffic signal control and traffic management in {city}",
            "ITS master plan and traffic management centre for {city}",
        ),
        "problem": (
            "Congestion in {city} is getting worse and traffic signals run on fixed timings with no central control.",
            "{city} wants an intelligent transport system (ITS) with real-time signal control and a traffic "
            "management centre.",
            "Ring roads and expressways around {city} have frequent incidents and no monitoring or traveller "
            "information.",
        ),
        "kref": "Korea's real-time traffic signal control and freeway traffic management system",
    },
    "public_transport": {
        "roles": ("public transport specialist", "bus reform expert"),
        "np": (
            "bus network reform and bus rapid transit (BRT)",
            "integrated fares and smart-card ticketing",
            "bus information systems (BIS) and fleet management",
            "public transport reform on the Seoul model (TOPIS, trunk and feeder buses)",
        ),
        "vp": (
            "designed trunk-and-feeder bus network reforms with median bus lanes",
            "advised cities on integrated distance-based fares and smart-card ticketing",
            "implemented bus information systems (BIS) and bus management centres",
            "supported bus rapid transit (BRT) planning and operator contract reform",
        ),
        "title": (
            "Public transport reform for {city}",
            "Bus network redesign and integrated fares in {city}",
            "Bus rapid transit and bus information system for {city}",
        ),
        "problem": (
            "Buses in {city} are run by many small operators competing for passengers on overlapping routes, with "
            "no integrated fare.",
            "{city} wants to reform its bus system, introduce a bus information system (BIS) and plan a BRT corridor.",
            "Public transport users in {city} lack reliable arrival information and pay separately for each ride.",
        ),
        "kref": "Seoul's 2004 public transport reform and TOPIS",
    },
    "data_platform": {
        "roles": ("urban data platform specialist", "smart city systems architect"),
        "np": (
            "integrated operations centres (IOC)",
            "urban data platforms and dashboards",
            "city operations centres such as Seoul TOPIS",
            "data integration across city agencies",
        ),
        "vp": (
            "designed integrated operations centres (IOC) that fuse CCTV, traffic and utility data",
            "built urban data platforms and executive dashboards",
            "advised cities on operations centres modelled on Seoul TOPIS",
            "integrated sensor and administrative data across city agencies",
        ),
        "title": (
            "Urban data platform and operations centre for {city}",
            "Integrated operations centre (IOC) for {city}",
            "City dashboard and data integration in {city}",
        ),
        "problem": (
            "Each department in {city} runs its own system and the city has no shared view of its operations.",
            "{city} plans an integrated operations centre (IOC) and needs an architecture, a governance model and a "
            "business case.",
            "Leaders in {city} want real-time dashboards for traffic, safety and services but the data sits in silos.",
        ),
        "kref": "Korea's Smart City Integrated Platform and Seoul's Digital Mayor's Office",
    },
    "open_data": {
        "roles": ("open data specialist", "data governance expert"),
        "np": (
            "open data portals and APIs",
            "data sharing agreements and data governance",
            "open government data policy",
            "public data for civic tech",
        ),
        "vp": (
            "launched open data portals with real-time APIs",
            "drafted data sharing and data governance policies",
            "advised governments on open data readiness assessments",
            "managed civic tech programmes built on public data",
        ),
        "title": (
            "Open data portal for {city}",
            "Data sharing and data governance framework for {country}",
            "Open government data programme in {city}",
        ),
        "problem": (
            "{city} publishes few datasets and those it has are hard to find or out of date.",
            "Agencies in {country} do not share data because rules, standards and trust are missing.",
            "Start-ups and researchers in {city} ask for transport and service data that the city holds but does "
            "not publish.",
        ),
        "kref": "the Seoul Open Data Plaza",
    },
    "e_government": {
        "roles": ("e-government specialist", "digital public services expert"),
        "np": (
            "digital public services and one-stop portals",
            "e-procurement systems such as KONEPS",
            "back-office digitalization",
            "digital identity and e-services",
        ),
        "vp": (
            "designed one-stop portals for citizen and business services",
            "advised procurement agencies on e-procurement modelled on KONEPS",
            "led the back-office digitalization of municipal services",
            "reengineered permit and licensing processes for online delivery",
        ),
        "title": (
            "Digital municipal services for {city}",
            "E-procurement system for {country}",
            "One-stop e-services portal in {city}",
        ),
        "problem": (
            "Citizens in {city} must visit several offices for a single permit and services are paper-based.",
            "{country} wants to move public procurement online to cut costs and improve transparency.",
            "The municipality of {city} runs its back office on paper and spreadsheets and wants to digitalize "
            "core processes.",
        ),
        "kref": "Korea's e-Government and the KONEPS e-procurement system",
    },
    "citizen_engagement": {
        "roles": ("citizen engagement specialist", "participatory governance expert"),
        "np": (
            "complaints handling and feedback channels",
            "participatory budgeting and e-participation",
            "citizen service call centres",
            "grievance redress mechanisms",
        ),
        "vp": (
            "set up complaints handling systems and citizen call centres",
            "designed e-participation and participatory budgeting platforms",
            "evaluated grievance redress mechanisms for urban projects",
            "trained city staff in citizen feedback management",
        ),
        "title": (
            "Citizen feedback and complaints system for {city}",
            "E-participation platform for {city}",
            "Grievance redress and citizen engagement in {city}",
        ),
        "problem": (
            "Residents of {city} have no simple way to report problems or to see whether complaints are resolved.",
            "{city} wants citizens to take part in budget and planning decisions through digital channels.",
            "Complaints in {city} arrive through many channels and are neither tracked nor analysed.",
        ),
        "kref": "Seoul's 120 Dasan call centre and mVoting",
    },
    "public_safety": {
        "roles": ("public safety technology specialist", "emergency response systems expert"),
        "np": (
            "CCTV integration and emergency response",
            "public safety operations centres (IOC)",
            "emergency call handling and dispatch",
            "video analytics for urban safety",
        ),
        "vp": (
            "integrated city CCTV networks with police and fire dispatch",
            "designed public safety operations centres (IOC) for municipalities",
            "advised on emergency call handling and dispatch systems",
            "reviewed privacy safeguards for video surveillance",
        ),
        "title": (
            "Public safety operations centre for {city}",
            "CCTV integration and emergency response in {city}",
            "Emergency dispatch modernization for {city}",
        ),
        "problem": (
            "CCTV cameras in {city} are owned by different agencies and are not linked to emergency response.",
            "{city} wants faster emergency response by connecting its operations centre with police, fire and "
            "ambulance services.",
            "Emergency calls in {city} are handled by separate centres with no shared location data.",
        ),
        "kref": "Korea's Smart City Integrated Platform for public safety",
    },
    "disaster_risk": {
        "roles": ("disaster risk management specialist", "resilience expert"),
        "np": (
            "early warning systems",
            "disaster risk management and urban resilience",
            "flood risk monitoring",
            "disaster communication networks",
        ),
        "vp": (
            "designed flood early warning systems with real-time gauges",
            "prepared urban resilience strategies and risk assessments",
            "advised civil protection agencies on disaster communication networks",
            "set up disaster situation rooms for municipalities",
        ),
        "title": (
            "Urban flood early warning system for {city}",
            "Disaster risk management and resilience plan for {city}",
            "Disaster information system for {country}",
        ),
        "problem": (
            "{city} floods almost every rainy season and warnings reach residents too late.",
            "{country} wants to link hazard monitoring, early warning and emergency response across agencies.",
            "Civil protection in {city} lacks a shared picture of the situation during disasters.",
        ),
        "kref": "Korea's disaster safety communication network and integrated platform",
    },
    "water": {
        "roles": ("water utility specialist", "smart water management expert"),
        "np": (
            "smart water management and non-revenue water (NRW) reduction",
            "water supply and sanitation utilities",
            "smart metering and water-quality monitoring",
            "district metered areas and leak detection",
        ),
        "vp": (
            "reduced non-revenue water (NRW) through district metered areas and leak detection",
            "designed smart water management systems for utilities",
            "deployed smart meters and real-time water-quality monitoring",
            "advised utilities on performance-based contracts for NRW reduction",
        ),
        "title": (
            "Smart water management and NRW reduction for {city}",
            "Water utility digitalization in {city}",
            "Real-time water quality monitoring for {city}",
        ),
        "problem": (
            "The water utility in {city} loses close to half of its water as non-revenue water (NRW).",
            "{city} wants smart meters and real-time monitoring to improve service and trust in tap water.",
            "The utility serving {city} runs its network without telemetry and finds leaks only when customers "
            "complain.",
        ),
        "kref": "K-water's smart water management in Paju and Busan",
    },
    "energy": {
        "roles": ("energy specialist", "smart grid expert"),
        "np": (
            "smart grids and demand response",
            "energy efficiency in public buildings",
            "district energy systems",
            "renewable integration and EV charging",
        ),
        "vp": (
            "designed smart grid pilots with smart meters and demand response",
            "led energy efficiency retrofits of public buildings",
            "assessed district heating and cooling options",
            "advised utilities on renewable integration and EV charging",
        ),
        "title": (
            "Smart grid and energy efficiency programme for {city}",
            "Public building energy efficiency in {city}",
            "District energy study for {city}",
        ),
        "problem": (
            "Power cuts and losses in {city} are high and the distribution network has no real-time monitoring.",
            "{city} wants to cut energy use in public buildings and street lighting.",
            "{country} plans smart grid pilots and needs a roadmap for metering, demand response and renewables.",
        ),
        "kref": "the Jeju smart grid test-bed",
    },
    "environment": {
        "roles": ("environmental specialist", "climate and air quality expert"),
        "np": (
            "air quality monitoring and management",
            "solid waste management",
            "green space and urban climate",
            "IoT environmental sensing",
        ),
        "vp": (
            "set up air quality monitoring networks and public dashboards",
            "modernized solid waste collection with route optimisation",
            "prepared urban climate action and green space plans",
            "deployed IoT environmental sensor networks",
        ),
        "title": (
            "Air quality monitoring and management for {city}",
            "Smart solid waste management in {city}",
            "Urban climate and green space plan for {city}",
        ),
        "problem": (
            "Air pollution in {city} exceeds health standards for much of the year and monitoring is sparse.",
            "Waste collection in {city} is irregular and its landfills are close to capacity.",
            "{city} wants data on heat, air and green space to guide its climate action plan.",
        ),
        "kref": "Seoul's S-DoT urban sensor network",
    },
    "finance_ppp": {
        "roles": ("infrastructure finance specialist", "PPP adviser"),
        "np": (
            "public-private partnerships (PPP) for urban infrastructure",
            "business models for smart city services",
            "municipal finance and land value capture",
            "financing plans for digital infrastructure",
        ),
        "vp": (
            "structured public-private partnerships for urban infrastructure",
            "designed business models for smart city services",
            "advised cities on land value capture and municipal finance",
            "prepared financing plans for digital infrastructure",
        ),
        "title": (
            "PPP options for smart city infrastructure in {city}",
            "Financing and business model for smart services in {city}",
            "Municipal finance and value capture study for {city}",
        ),
        "problem": (
            "{city} cannot fund its smart city plans from its own budget and has little experience with private "
            "partners.",
            "{country} wants business models that keep smart city services running after donor funding ends.",
            "The client wants to know how to finance a new operations centre and networks in {city}.",
        ),
        "kref": "Songdo's public-private development model",
    },
    "capacity_building": {
        "roles": ("capacity building specialist", "knowledge exchange expert"),
        "np": (
            "training and knowledge exchange",
            "institutional capacity development",
            "study tours and peer learning",
            "digital skills for public officials",
        ),
        "vp": (
            "organized knowledge exchanges and study tours to Korean cities",
            "designed training programmes on smart city planning for officials",
            "organized peer-learning programmes between city agencies",
            "developed digital skills curricula for civil servants",
        ),
        "title": (
            "Smart city capacity building programme for {city}",
            "Knowledge exchange on smart cities for {country}",
            "Digital skills training for officials in {city}",
        ),
        "problem": (
            "Officials in {city} are new to smart city projects and need practical training before procurement starts.",
            "{country} wants to learn from peers through a structured knowledge exchange and study tour.",
            "Staff turnover in {city} means digital systems are not maintained after pilots end.",
        ),
        "kref": "knowledge-sharing programmes with Korean cities and agencies",
    },
}

# How often a theme is an expert's or a request's main theme (transport and platforms dominate the program).
_THEME_WEIGHTS: dict[str, float] = {
    "strategy": 8,
    "institutions": 5,
    "new_towns": 6,
    "regeneration": 3,
    "housing": 3,
    "land": 4,
    "geospatial": 5,
    "mobility": 12,
    "public_transport": 9,
    "data_platform": 9,
    "open_data": 4,
    "e_government": 6,
    "citizen_engagement": 3,
    "public_safety": 4,
    "disaster_risk": 5,
    "water": 5,
    "energy": 3,
    "environment": 4,
    "finance_ppp": 3,
    "capacity_building": 4,
}

# Themes that come together with a main theme.
_RELATED_THEMES: dict[str, tuple[str, ...]] = {
    "strategy": ("institutions", "data_platform", "finance_ppp", "capacity_building", "new_towns"),
    "institutions": ("strategy", "e_government", "capacity_building", "finance_ppp"),
    "new_towns": ("strategy", "housing", "land", "data_platform", "finance_ppp"),
    "regeneration": ("housing", "land", "environment", "citizen_engagement"),
    "housing": ("new_towns", "land", "finance_ppp", "regeneration"),
    "land": ("geospatial", "e_government", "housing"),
    "geospatial": ("land", "data_platform", "open_data", "disaster_risk"),
    "mobility": ("public_transport", "data_platform", "public_safety", "open_data"),
    "public_transport": ("mobility", "data_platform", "finance_ppp", "institutions"),
    "data_platform": ("open_data", "public_safety", "mobility", "geospatial", "strategy"),
    "open_data": ("data_platform", "e_government", "citizen_engagement"),
    "e_government": ("open_data", "citizen_engagement", "institutions"),
    "citizen_engagement": ("e_government", "open_data", "capacity_building"),
    "public_safety": ("data_platform", "disaster_risk"),
    "disaster_risk": ("public_safety", "geospatial", "water", "environment"),
    "water": ("disaster_risk", "environment", "finance_ppp", "data_platform"),
    "energy": ("environment", "finance_ppp", "data_platform"),
    "environment": ("energy", "water", "data_platform", "regeneration"),
    "finance_ppp": ("strategy", "new_towns", "institutions"),
    "capacity_building": ("institutions", "strategy", "e_government"),
}

# Practice group of a request, from its main theme; and the clients each practice group works with.
_THEME_PRACTICE_GROUP: dict[str, str] = {
    "strategy": "Urban/Resilience/Land",
    "institutions": "Governance",
    "new_towns": "Urban/Resilience/Land",
    "regeneration": "Urban/Resilience/Land",
    "housing": "Urban/Resilience/Land",
    "land": "Urban/Resilience/Land",
    "geospatial": "Urban/Resilience/Land",
    "mobility": "Transport",
    "public_transport": "Transport",
    "data_platform": "Digital Development",
    "open_data": "Digital Development",
    "e_government": "Digital Development",
    "citizen_engagement": "Social Sustainability",
    "public_safety": "Urban/Resilience/Land",
    "disaster_risk": "Urban/Resilience/Land",
    "water": "Water",
    "energy": "Energy",
    "environment": "Environment",
    "finance_ppp": "Finance",
    "capacity_building": "Urban/Resilience/Land",
}
_PRACTICE_CLIENTS: dict[str, tuple[str, ...]] = {
    "Urban/Resilience/Land": (
        "City of {city}",
        "{city} Municipality",
        "Ministry of Housing and Urban Development",
        "{city} Development Authority",
    ),
    "Transport": ("Ministry of Transport", "{city} Transport Authority", "City of {city}"),
    "Digital Development": ("Ministry of Digital Economy", "City of {city}", "{city} Municipality"),
    "Governance": ("Ministry of Finance", "Ministry of Interior", "City of {city}"),
    "Social Sustainability": ("City of {city}", "{city} Municipality"),
    "Water": ("{city} Water Utility", "Ministry of Water Resources"),
    "Energy": ("Ministry of Energy", "{city} Electricity Distribution Company"),
    "Environment": ("Ministry of Environment", "City of {city}"),
    "Finance": ("Ministry of Finance", "City of {city}"),
}
# City clients an expert may have a conflict of interest with (they also appear as request clients above).
_CONFLICT_ORGS: tuple[str, ...] = (
    "City of {city}",
    "{city} Municipality",
    "{city} Transport Authority",
    "{city} Water Utility",
)

# --------------------------------------------------------------------------------------------------------------
# Invented names
# --------------------------------------------------------------------------------------------------------------

_KO_GIVEN_A = ("Ha", "Ji", "Min", "Seo", "Do", "Yu", "Eun", "Tae", "Hyun", "Soo", "Jae", "Na", "Ye", "Bo")
_KO_GIVEN_B = ("rin", "won", "jun", "yeon", "hwan", "bin", "ho", "ra", "woo", "seul", "gyeol", "on", "dam")
# Two-syllable Korean-style family names: words, not real surnames, so nobody real is named.
_KO_FAMILY = (
    "Hanseol",
    "Bomnae",
    "Dareum",
    "Gaon",
    "Haneul",
    "Iseul",
    "Jinsol",
    "Maru",
    "Nabin",
    "Onui",
    "Saebyeok",
    "Taeri",
    "Yeoul",
    "Dasom",
    "Garam",
    "Nuri",
)
_INT_GIVEN_A = ("Ala", "Bre", "Cori", "Dae", "Eli", "Fara", "Gio", "Ili", "Jova", "Kael", "Lumi", "Mira", "Nilo")
_INT_GIVEN_B = ("ren", "lia", "mon", "sa", "vin", "dra", "tan", "nel", "mir", "ko", "bel")
_INT_FAMILY_A = ("Vost", "Astr", "Brenn", "Calv", "Dorv", "Eskel", "Fenw", "Galt", "Halv", "Istr", "Korv", "Lemv")
_INT_FAMILY_B = ("andel", "orsk", "ivane", "ouvel", "emark", "aquin", "ibrand", "onetti", "uzov", "ereaux")
_FIRM_A = ("Hanbit", "Saerom", "Dasol", "Nuriga", "Bitgoul", "Arum", "Meridel", "Terravo", "Quillon", "Ostrava")
_FIRM_C = ("Systems", "Partners", "Consulting", "Engineering", "Lab", "Associates")
# Middle word of a firm name, by main theme.
_FIRM_B: dict[str, str] = {
    "strategy": "Smart City",
    "institutions": "Governance",
    "new_towns": "Urban",
    "regeneration": "Urban",
    "housing": "Housing",
    "land": "Land",
    "geospatial": "Spatial",
    "mobility": "Mobility",
    "public_transport": "Transit",
    "data_platform": "Urban Data",
    "open_data": "Data",
    "e_government": "Digital",
    "citizen_engagement": "Civic",
    "public_safety": "Safety",
    "disaster_risk": "Resilience",
    "water": "Water",
    "energy": "Energy",
    "environment": "Green",
    "finance_ppp": "Infra Finance",
    "capacity_building": "Learning",
}

_SENIORITY: tuple[tuple[str, int, int, float], ...] = (
    # label, fewest years, most years, day-rate factor
    ("mid-career", 6, 12, 0.8),
    ("senior", 12, 22, 1.0),
    ("lead", 14, 25, 1.15),
    ("principal", 20, 35, 1.35),
)
_SENIORITY_P = (0.25, 0.4, 0.2, 0.15)

# Weights of regions worked by experts who are not from a client region.
_REGION_WEIGHTS = {"AFR": 0.13, "EAP": 0.3, "ECA": 0.2, "LAC": 0.12, "MNA": 0.15, "SAR": 0.1}
_REGION_NAMES = {
    "AFR": "Africa",
    "EAP": "East Asia and the Pacific",
    "ECA": "Europe and Central Asia",
    "LAC": "Latin America and the Caribbean",
    "MNA": "the Middle East and North Africa",
    "SAR": "South Asia",
}
# Chance of speaking the language of a country worked in, by region of that country.
_LEARN_P = {"AFR": 0.3, "EAP": 0.2, "ECA": 0.4, "LAC": 0.55, "MNA": 0.4, "SAR": 0.15}


# --------------------------------------------------------------------------------------------------------------
# Lookup tables built once from the banks above
# --------------------------------------------------------------------------------------------------------------

_STR = pa.large_string()


def _table(values: Sequence[str]) -> pa.Array:
    """Arrow lookup table of ``values`` plus a trailing null: index ``len(values)`` reads as missing."""
    return pa.array([*values, None], type=_STR)


def _ragged(groups: Sequence[Sequence[str]]) -> tuple[list[str], NDArray[np.int64], NDArray[np.int64]]:
    """Flatten variable-length phrase groups: (flat list, offsets, counts)."""
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return [s for g in groups for s in g], offsets, counts


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bank(key: str) -> list[tuple[str, ...]]:
    return [tuple(_THEME_TEXT[t][key]) for t in _THEME_CODES]


def _with_article(role: str) -> str:
    return ("an " if role[0] in "aeiouAEIO" or role.startswith("ITS") else "a ") + role


_COUNTRY_CODES = tuple(sorted(_COUNTRIES))
_COUNTRY_INDEX = {c: i for i, c in enumerate(_COUNTRY_CODES)}
_COUNTRY_CODE_T = _table(_COUNTRY_CODES)
_COUNTRY_NAME_T = _table([_COUNTRIES[c][0] for c in _COUNTRY_CODES])
_COUNTRY_REGION = np.array(
    [_REGION_CODES.index(_COUNTRIES[c][1]) if _COUNTRIES[c][1] else -1 for c in _COUNTRY_CODES], dtype=np.int64
)
_COUNTRY_LANG1 = np.array([_LANG_INDEX[_COUNTRIES[c][2][0]] for c in _COUNTRY_CODES], dtype=np.int64)
_COUNTRY_LANG2 = np.array(
    [_LANG_INDEX[_COUNTRIES[c][2][1]] if len(_COUNTRIES[c][2]) > 1 else -1 for c in _COUNTRY_CODES], dtype=np.int64
)
_COUNTRY_WORK_LANG = np.array(
    [_LANG_INDEX[_COUNTRIES[c][3]] if _COUNTRIES[c][3] else -1 for c in _COUNTRY_CODES], dtype=np.int64
)
_CLIENT_COUNTRIES = np.flatnonzero(_COUNTRY_REGION >= 0)
_KR = _COUNTRY_INDEX["KR"]
_OTHER_COUNTRIES = np.flatnonzero((_COUNTRY_REGION < 0) & (np.arange(len(_COUNTRY_CODES)) != _KR))
# Client countries grouped by region, for drawing a country inside a region.
_REGION_COUNTRY = np.concatenate([_CLIENT_COUNTRIES[_COUNTRY_REGION[_CLIENT_COUNTRIES] == r] for r in range(6)])
_REGION_COUNTRY_N = np.array([(_COUNTRY_REGION == r).sum() for r in range(6)], dtype=np.int64)
_REGION_COUNTRY_OFF = np.concatenate([[0], np.cumsum(_REGION_COUNTRY_N)[:-1]]).astype(np.int64)

_CITY_NAME_T = _table([c for c, _ in _CITIES])
_CITY_COUNTRY = np.array([_COUNTRY_INDEX[a2] for _, a2 in _CITIES], dtype=np.int64)
# Cities grouped by country (in country order), for drawing a city inside a country.
_COUNTRY_CITY = np.argsort(_CITY_COUNTRY, kind="stable")
_COUNTRY_CITY_N = np.bincount(_CITY_COUNTRY, minlength=len(_COUNTRY_CODES)).astype(np.int64)
_COUNTRY_CITY_OFF = np.concatenate([[0], np.cumsum(_COUNTRY_CITY_N)[:-1]]).astype(np.int64)

_LANG_CODE_T = _table(_LANG_CODES)
_LANG_NAME_T = _table(list(_LANGUAGE_NAMES.values()))
_REGION_CODE_T = _table(_REGION_CODES)
_THEME_CODE_T = _table(_THEME_CODES)
_THEME_INDEX = {t: i for i, t in enumerate(_THEME_CODES)}
_THEME_P = np.array([_THEME_WEIGHTS[t] for t in _THEME_CODES], dtype=float)

_ROLES, _ROLE_OFF, _ROLE_N = _ragged(_bank("roles"))
_ROLE_T = _table(_ROLES)
_A_ROLE_T = _table([_with_article(r) for r in _ROLES])
_NPS, _NP_OFF, _NP_N = _ragged(_bank("np"))
_NP_T = _table(_NPS)
_NP_CAP_T = _table([_cap(s) for s in _NPS])
_VPS, _VP_OFF, _VP_N = _ragged(_bank("vp"))
_VP_T = _table(_VPS)
_TITLE_TEMPLATES, _TITLE_OFF, _TITLE_N = _ragged(_bank("title"))
_PROBLEM_TEMPLATES, _PROBLEM_OFF, _PROBLEM_N = _ragged(_bank("problem"))
_KREF_T = _table([str(_THEME_TEXT[t]["kref"]) for t in _THEME_CODES])
_RELATED = np.array([_THEME_INDEX[r] for t in _THEME_CODES for r in _RELATED_THEMES[t]], dtype=np.int64)
_RELATED_N = np.array([len(_RELATED_THEMES[t]) for t in _THEME_CODES], dtype=np.int64)
_RELATED_OFF = np.concatenate([[0], np.cumsum(_RELATED_N)[:-1]]).astype(np.int64)
_FIRM_B_T = _table([_FIRM_B[t] for t in _THEME_CODES])

_PRACTICES = tuple(_PRACTICE_CLIENTS)
_PRACTICE_T = _table(_PRACTICES)
_THEME_PRACTICE = np.array([_PRACTICES.index(_THEME_PRACTICE_GROUP[t]) for t in _THEME_CODES], dtype=np.int64)
_CLIENT_TEMPLATES, _CLIENT_OFF, _CLIENT_N = _ragged([_PRACTICE_CLIENTS[p] for p in _PRACTICES])
_SENIORITY_T = _table([s[0] for s in _SENIORITY])


def _region_texts() -> pa.Array:
    """Readable region list for every subset of the six regions, indexed by bit mask."""
    out = []
    for mask in range(64):
        names = [_REGION_NAMES[r] for b, r in enumerate(_REGION_CODES) if mask >> b & 1]
        out.append(names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else "")
    return _table(out)


_REGION_TEXT_T = _region_texts()

# --------------------------------------------------------------------------------------------------------------
# Vectorized helpers: integer arrays choose rows of small Arrow string tables, Arrow kernels assemble the text
# --------------------------------------------------------------------------------------------------------------


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise InputError(f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__}")


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _check_share(name: str, value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


def _period(start: str, months: int) -> tuple[np.datetime64, int]:
    """First day and length in days of ``months`` calendar months from ``start`` (an ISO date)."""
    if not isinstance(start, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", start):
        raise InputError(f"start must be an ISO date YYYY-MM-DD, got {start!r}")
    try:
        first = np.datetime64(start, "D")
    except ValueError:
        raise InputError(f"start must be an ISO date YYYY-MM-DD, got {start!r}") from None
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise InputError(f"months must be an int >= 1, got {months!r}")
    month = first.astype("datetime64[M]")
    day_in_month = first - month.astype("datetime64[D]")
    end = (month + int(months)).astype("datetime64[D]") + day_in_month
    return first, int((end - first).astype(np.int64))


def _date_table(first: np.datetime64, days: int) -> pa.Array:
    """ISO strings of ``days`` consecutive dates from ``first`` (formatting by lookup beats per-row formatting)."""
    return _table(np.arange(first, first + days, dtype="datetime64[D]").astype(str).tolist())


def _choose(rng: np.random.Generator, n: int, p: Sequence[float] | NDArray) -> NDArray[np.int64]:
    """Categorical draws 0..len(p)-1 with weights ``p``: shape (n,)."""
    cdf = np.cumsum(np.asarray(p, dtype=float))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1).astype(np.int64)


def _pick(rng: np.random.Generator, offsets: NDArray, counts: NDArray, group: NDArray) -> NDArray[np.int64]:
    """One uniformly drawn member of each row's group in a flattened ragged table: positions, shape (n,)."""
    return offsets[group] + (rng.random(len(group)) * counts[group]).astype(np.int64)


def _dedupe(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Keep only the first valid occurrence of each value in a row. idx, valid: shape (n, k)."""
    keep = valid.copy()
    for j in range(1, idx.shape[1]):
        for i in range(j):
            keep[:, j] &= ~(keep[:, i] & (idx[:, i] == idx[:, j]))
    return keep


def _compact(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Move each row's valid entries to the left, keeping their order."""
    order = np.argsort(~valid, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(valid, order, axis=1)


def _sorted_set(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Sort each row's valid entries and drop repeats; invalid entries go to the right."""
    sentinel = np.iinfo(np.int64).max
    out = np.sort(np.where(valid, idx, sentinel), axis=1)
    keep = out != sentinel
    keep[:, 1:] &= out[:, 1:] != out[:, :-1]
    return _compact(np.where(keep, out, 0), keep)


def _take(table: pa.Array, idx: NDArray[np.int64], valid: NDArray[np.bool_] | None = None) -> pa.Array:
    """``table[idx]`` as an Arrow column; null where not ``valid`` (tables end with a null)."""
    if valid is not None:
        idx = np.where(valid, idx, len(table) - 1)
    return table.take(pa.array(idx, type=pa.int64()))


def _concat(pieces: Sequence[pa.Array | str]) -> pa.Array:
    """Row-wise concatenation; a null piece reads as "" (a missing slot adds nothing)."""
    args = [pa.scalar(p, _STR) if isinstance(p, str) else p for p in pieces]
    return pc.binary_join_element_wise(*args, pa.scalar("", _STR), null_handling="replace", null_replacement="")


def _separated(parts: Sequence[pa.Array], present: Sequence[NDArray[np.bool_]], sep: str) -> pa.Array:
    """Join the present parts of each row with ``sep`` ("" when none is present)."""
    # Arrow's null_handling="skip" drops all-null rows (pyarrow 26), so the separators are placed here.
    glue_t = _table([sep])
    seen = np.zeros(len(present[0]), dtype=bool)
    pieces: list[pa.Array] = []
    for part, here in zip(parts, present, strict=True):
        if len(pieces):
            pieces.append(_take(glue_t, np.zeros(len(here), dtype=np.int64), here & seen))
        pieces.append(part)
        seen |= here
    return _concat(pieces)


def _join(table: pa.Array, idx: NDArray[np.int64], valid: NDArray[np.bool_], sep: str = ";") -> pa.Array:
    """Join ``table[idx]`` over each row's valid slots with ``sep``. idx, valid: shape (n, k) -> (n,) strings."""
    k = idx.shape[1]
    return _separated([_take(table, idx[:, j], valid[:, j]) for j in range(k)], [valid[:, j] for j in range(k)], sep)


def _join_prose(table: pa.Array, idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> pa.Array:
    """Join the valid slots as prose, "a, b and c" (valid slots must be left-compacted)."""
    count = valid.sum(axis=1)
    glue_t = _table([", ", " and "])
    pieces: list[pa.Array] = []
    for j in range(idx.shape[1]):
        if j:
            pieces.append(_take(glue_t, (j == count - 1).astype(np.int64), valid[:, j]))
        pieces.append(_take(table, idx[:, j], valid[:, j]))
    return _concat(pieces)


def _field_rows(field: pa.Array | tuple[pa.Array, NDArray[np.int64]], rows: NDArray[np.int64]) -> pa.Array:
    if isinstance(field, tuple):
        table, idx = field
        return _take(table, idx[rows])
    return field.take(pa.array(rows, type=pa.int64()))


def _fill(
    templates: Sequence[str],
    choice: NDArray[np.int64],
    fields: Mapping[str, pa.Array | tuple[pa.Array, NDArray[np.int64]]],
    active: NDArray[np.bool_] | None = None,
) -> pa.Array:
    """Format row ``i`` with ``templates[choice[i]]`` (``{field}`` placeholders) and the row's fields.

    Rows are grouped by template so that each template is assembled once over its rows; inactive rows are null.
    """
    n = len(choice)
    if active is not None:
        choice = np.where(active, choice, -1)
    # Few templates: a stable sort of small integers is a radix sort.
    order = np.argsort(choice.astype(np.int16), kind="stable")
    bounds = np.searchsorted(choice[order], np.arange(-1, len(templates) + 1))
    chunks = [pa.nulls(int(bounds[1] - bounds[0]), _STR)]
    for t, template in enumerate(templates):
        rows = order[bounds[t + 1] : bounds[t + 2]]
        if not len(rows):
            continue
        pieces: list[pa.Array | str] = [pa.repeat(pa.scalar("", _STR), len(rows))]
        for literal, field, _, _ in string.Formatter().parse(template):
            if literal:
                pieces.append(literal)
            if field is not None:
                pieces.append(_field_rows(fields[field], rows))
        chunks.append(_concat(pieces))
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return pa.concat_arrays(chunks).take(pa.array(inverse, type=pa.int64()))


def _sentences(*parts: pa.Array) -> pa.Array:
    """Join the non-null sentences of each row with one space."""
    return _separated(parts, [pc.is_valid(p).to_numpy(zero_copy_only=False) for p in parts], " ")


def _numbers(values: NDArray[np.int64]) -> pa.Array:
    return pc.cast(pa.array(values, type=pa.int64()), _STR)


def _bool_text(flags: NDArray[np.bool_]) -> pa.Array:
    return _take(_table(["false", "true"]), flags.astype(np.int64))


def _frame(columns: Mapping[str, pa.Array], order: Sequence[str]) -> pd.DataFrame:
    """DataFrame of string columns in ``order`` ("" for missing); every row marked synthetic."""
    n = len(next(iter(columns.values())))
    data = {name: pc.fill_null(columns[name], "") for name in order if name != "synthetic"}
    data["synthetic"] = pa.repeat(pa.scalar("true", _STR), n)
    return pd.DataFrame({name: pd.Series(values, dtype=str) for name, values in data.items()})


def _themes(rng: np.random.Generator, n: int, k_p: Sequence[float]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Main theme in slot 0, then related (mostly) or random themes: (idx, valid), shape (n, len(k_p))."""
    k = len(k_p)
    count = 1 + _choose(rng, n, k_p)
    idx = np.empty((n, k), dtype=np.int64)
    idx[:, 0] = _choose(rng, n, _THEME_P)
    for j in range(1, k):
        related = _RELATED[_pick(rng, _RELATED_OFF, _RELATED_N, idx[:, 0])]
        idx[:, j] = np.where(rng.random(n) < 0.8, related, rng.integers(0, len(_THEME_CODES), n))
    valid = np.arange(k)[None, :] < count[:, None]
    return _compact(idx, _dedupe(idx, valid))


# --------------------------------------------------------------------------------------------------------------
# Experts
# --------------------------------------------------------------------------------------------------------------


def generate_experts(
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    start: str = "2027-01-01",
    months: int = 12,
    korean_share: float = 0.6,
    firm_share: float = 0.05,
) -> pd.DataFrame:
    """Generate a synthetic expert roster.

    Parameters
    ----------
    n : int
        Number of experts (rows).
    seed : int or numpy.random.Generator
        Same seed, same table.
    start : str
        First day (ISO date) of the period the ``busy`` calendar covers.
    months : int
        Length of that period in calendar months.
    korean_share : float
        Share of Korean nationals (the program mobilized mostly Korean experts).
    firm_share : float
        Share of firms among the experts.

    Returns
    -------
    pandas.DataFrame
        Shape (n, 15), string columns :data:`EXPERT_COLUMNS` in file form; ``expert_id`` is ``SX`` plus a
        zero-padded number.

    Examples
    --------
    >>> experts = generate_experts(5, seed=1)
    >>> experts.shape, list(experts["expert_id"])
    ((5, 15), ['SX0001', 'SX0002', 'SX0003', 'SX0004', 'SX0005'])
    >>> generate_experts(5, seed=1).equals(experts)
    True
    """
    n = _check_count("n", n)
    korean_share = _check_share("korean_share", korean_share)
    firm_share = _check_share("firm_share", firm_share)
    first, period_days = _period(start, months)
    rng = _rng(seed)
    rows = np.arange(n)

    expert_id = _concat(["SX", pc.utf8_lpad(_numbers(rows + 1), width=max(4, len(str(n))), padding="0")])
    is_firm = rng.random(n) < firm_share
    is_korean = rng.random(n) < korean_share
    from_client = ~is_korean & (rng.random(n) < 0.55)
    nationality = np.where(
        is_korean,
        _KR,
        np.where(
            from_client,
            _CLIENT_COUNTRIES[rng.integers(0, len(_CLIENT_COUNTRIES), n)],
            _OTHER_COUNTRIES[rng.integers(0, len(_OTHER_COUNTRIES), n)],
        ),
    )
    theme_idx, theme_valid = _themes(rng, n, (0.2, 0.35, 0.3, 0.15))
    main = theme_idx[:, 0]

    # Names: invented syllable combinations (Korean-style given names are hyphenated); firms say they are synthetic.
    name_kind = np.where(is_firm, 2, np.where(is_korean, 0, 1))
    given = _fill(
        ("{ko_a}-{ko_b}", "{int_a}{int_b}", "The firm"),
        name_kind,
        {
            "ko_a": (_table(_KO_GIVEN_A), rng.integers(0, len(_KO_GIVEN_A), n)),
            "ko_b": (_table(_KO_GIVEN_B), rng.integers(0, len(_KO_GIVEN_B), n)),
            "int_a": (_table(_INT_GIVEN_A), rng.integers(0, len(_INT_GIVEN_A), n)),
            "int_b": (_table(_INT_GIVEN_B), rng.integers(0, len(_INT_GIVEN_B), n)),
        },
    )
    name = _fill(
        ("{given} {ko_family}", "{given} {fam_a}{fam_b}", "{firm_a} {firm_b} {firm_c} (synthetic)"),
        name_kind,
        {
            "given": given,
            "ko_family": (_table(_KO_FAMILY), rng.integers(0, len(_KO_FAMILY), n)),
            "fam_a": (_table(_INT_FAMILY_A), rng.integers(0, len(_INT_FAMILY_A), n)),
            "fam_b": (_table(_INT_FAMILY_B), rng.integers(0, len(_INT_FAMILY_B), n)),
            "firm_a": (_table(_FIRM_A), rng.integers(0, len(_FIRM_A), n)),
            "firm_b": (_FIRM_B_T, main),
            "firm_c": (_table(_FIRM_C), rng.integers(0, len(_FIRM_C), n)),
        },
    )

    # Regions worked: the home region first for nationals of client countries, then weighted draws without
    # replacement (Gumbel top-k); countries are drawn inside those regions and the regions recomputed from them.
    region_keys = np.log(np.array([_REGION_WEIGHTS[r] for r in _REGION_CODES]))[None, :] - np.log(
        -np.log(rng.random((n, 6)))
    )
    region_keys[from_client, _COUNTRY_REGION[nationality[from_client]]] = np.inf
    top_regions = np.argsort(-region_keys, axis=1)[:, :3]
    n_regions = 1 + _choose(rng, n, (0.45, 0.35, 0.2))
    n_countries = 1 + _choose(rng, n, (0.3, 0.3, 0.2, 0.12, 0.08))
    country_slots = np.empty((n, 5), dtype=np.int64)
    for j in range(5):
        region = top_regions[rows, (rng.random(n) * n_regions).astype(np.int64)]
        country_slots[:, j] = _REGION_COUNTRY[_pick(rng, _REGION_COUNTRY_OFF, _REGION_COUNTRY_N, region)]
    country_slots[from_client, 0] = nationality[from_client]
    first_country = country_slots[:, 0].copy()
    country_idx, country_valid = _sorted_set(country_slots, np.arange(5)[None, :] < n_countries[:, None])
    region_bits = np.zeros(n, dtype=np.int64)
    for j in range(5):
        region_bits |= np.where(country_valid[:, j], 1 << _COUNTRY_REGION[country_idx[:, j]], 0)
    region_idx = np.broadcast_to(np.arange(6), (n, 6))
    region_valid = (region_bits[:, None] >> np.arange(6)[None, :] & 1).astype(bool)

    # Languages: the home language(s) and English, then the languages of countries worked in.
    lang_slots = np.empty((n, 5), dtype=np.int64)
    lang_valid = np.ones((n, 5), dtype=bool)
    lang_slots[:, 0] = _COUNTRY_LANG1[nationality]
    lang_slots[:, 1] = _COUNTRY_LANG2[nationality]
    lang_valid[:, 1] = rng.random(n) < 0.7
    lang_slots[:, 2] = _LANG_INDEX["en"]
    lang_valid[:, 2] = rng.random(n) < np.where(is_korean, 0.97, 0.92)
    n_worked = country_valid.sum(axis=1)
    other_country = country_idx[rows, (rng.random(n) * n_worked).astype(np.int64)]
    learn_p = np.array([_LEARN_P[r] for r in _REGION_CODES])
    for j, worked in ((3, first_country), (4, other_country)):
        second = _COUNTRY_LANG2[worked]
        lang_slots[:, j] = np.where((second >= 0) & (rng.random(n) < 0.5), second, _COUNTRY_LANG1[worked])
        lang_valid[:, j] = rng.random(n) < learn_p[_COUNTRY_REGION[worked]] * np.where(is_korean, 0.5, 1.0)
    lang_idx, lang_valid = _compact(lang_slots, _dedupe(lang_slots, lang_valid & (lang_slots >= 0)))

    korean_experience = is_korean | (rng.random(n) < 0.25)

    seniority = _choose(rng, n, _SENIORITY_P)
    low = np.array([s[1] for s in _SENIORITY])[seniority]
    high = np.array([s[2] for s in _SENIORITY])[seniority]
    years = np.where(is_firm, rng.integers(5, 31, n), low + (rng.random(n) * (high - low + 1)).astype(np.int64))
    rate = np.exp(rng.normal(np.log(650.0), 0.3, n)) * np.array([s[3] for s in _SENIORITY])[seniority]
    rate = np.where(is_firm, rng.uniform(1000.0, 1800.0, n), rate)
    day_rate = (np.round(np.clip(rate, 350.0, 1800.0) / 10.0) * 10).astype(np.int64)
    max_assignments = np.where(is_firm, rng.integers(3, 6, n), 1 + _choose(rng, n, (0.75, 0.18, 0.07)))

    busy = _busy(rng, n, first, period_days)
    conflicts = _conflicts(rng, n, country_idx[:, 0])
    bio = _bio(
        rng,
        is_firm=is_firm,
        is_korean=is_korean,
        korean_experience=korean_experience,
        name=name,
        given=given,
        seniority=seniority,
        years=years,
        theme_idx=theme_idx,
        theme_valid=theme_valid,
        region_bits=region_bits,
        country_idx=country_idx,
        country_valid=country_valid,
        lang_idx=lang_idx,
        lang_valid=lang_valid,
    )
    logger.debug("generated %d synthetic experts", n)
    return _frame(
        {
            "expert_id": expert_id,
            "name": name,
            "bio": bio,
            "kind": _take(_table(["individual", "firm"]), is_firm.astype(np.int64)),
            "nationality": _take(_COUNTRY_CODE_T, nationality),
            "korean_experience": _bool_text(korean_experience),
            "languages": _join(_LANG_CODE_T, lang_idx, lang_valid),
            "regions": _join(_REGION_CODE_T, region_idx, region_valid),
            "countries": _join(_COUNTRY_CODE_T, country_idx, country_valid),
            "themes": _join(_THEME_CODE_T, theme_idx, theme_valid),
            "day_rate_usd": _numbers(day_rate),
            "busy": busy,
            "max_assignments": _numbers(max_assignments),
            "conflicts": conflicts,
        },
        EXPERT_COLUMNS,
    )


def _busy(rng: np.random.Generator, n: int, first: np.datetime64, period_days: int) -> pa.Array:
    """0-4 busy intervals per expert inside the period, some touching or overlapping the one before."""
    k = 4
    count = _choose(rng, n, (0.3, 0.3, 0.2, 0.12, 0.08))
    length = np.minimum(rng.geometric(1 / 12, (n, k)), 60)
    begin = rng.integers(0, period_days, (n, k))
    for j in range(1, k):
        mode = _choose(rng, n, (0.75, 0.12, 0.13))
        prev_end = np.minimum(begin[:, j - 1] + length[:, j - 1] - 1, period_days - 1)
        touching = prev_end + 1
        overlapping = begin[:, j - 1] + (rng.random(n) * (prev_end - begin[:, j - 1] + 1)).astype(np.int64)
        begin[:, j] = np.where(
            (mode == 1) & (touching < period_days), touching, np.where(mode == 2, overlapping, begin[:, j])
        )
    end = np.minimum(begin + length - 1, period_days - 1)
    valid = np.arange(k)[None, :] < count[:, None]
    order = np.argsort(np.where(valid, begin, period_days), axis=1, kind="stable")
    begin, end, valid = (np.take_along_axis(a, order, axis=1) for a in (begin, end, valid))
    dates = _date_table(first, period_days)
    intervals = [_concat([_take(dates, begin[:, j]), "/", _take(dates, end[:, j])]) for j in range(k)]
    return _separated(
        [pc.if_else(pa.array(valid[:, j]), intervals[j], pa.scalar(None, _STR)) for j in range(k)],
        [valid[:, j] for j in range(k)],
        ";",
    )


def _conflicts(rng: np.random.Generator, n: int, some_country: NDArray[np.int64]) -> pa.Array:
    """About 5% of experts declare one conflict: a country they worked in, a city or a city client organisation."""
    kind = np.where(rng.random(n) < 0.05, _choose(rng, n, (0.4, 0.3, 0.3)), -1)
    city = rng.integers(0, len(_CITIES), n)
    org = rng.integers(0, len(_CONFLICT_ORGS), n)
    templates = ["{country}", "{city}", *_CONFLICT_ORGS]
    return _fill(
        templates,
        np.where(kind == 2, 2 + org, kind),
        {"country": (_COUNTRY_CODE_T, some_country), "city": (_CITY_NAME_T, city)},
        active=kind >= 0,
    )


def _bio(
    rng: np.random.Generator,
    *,
    is_firm: NDArray[np.bool_],
    is_korean: NDArray[np.bool_],
    korean_experience: NDArray[np.bool_],
    name: pa.Array,
    given: pa.Array,
    seniority: NDArray[np.int64],
    years: NDArray[np.int64],
    theme_idx: NDArray[np.int64],
    theme_valid: NDArray[np.bool_],
    region_bits: NDArray[np.int64],
    country_idx: NDArray[np.int64],
    country_valid: NDArray[np.bool_],
    lang_idx: NDArray[np.int64],
    lang_valid: NDArray[np.bool_],
) -> pa.Array:
    """A few varied sentences: who, main work, other themes, where, languages, Korean experience."""
    n = len(name)
    main = theme_idx[:, 0]
    role = _pick(rng, _ROLE_OFF, _ROLE_N, main)
    # "the firm" for firms (``given`` holds "The firm" for them).
    ref_obj = _fill(("{given}", "the firm"), is_firm.astype(np.int64), {"given": given})
    fields = {
        "name": name,
        "ref": given,
        "ref_obj": ref_obj,
        "seniority": (_SENIORITY_T, seniority),
        "years": _numbers(years),
        "role": (_ROLE_T, role),
        "a_role": (_A_ROLE_T, role),
        "np": (_NP_T, _pick(rng, _NP_OFF, _NP_N, main)),
        "vp": (_VP_T, _pick(rng, _VP_OFF, _VP_N, main)),
        "regions": (_REGION_TEXT_T, region_bits),
        "countries": _join_prose(_COUNTRY_NAME_T, country_idx[:, :3], country_valid[:, :3]),
        "languages": _join_prose(_LANG_NAME_T, lang_idx, lang_valid),
        "kref": (_KREF_T, main),
    }
    person_intro = (
        "{name} is a {seniority} {role} with {years} years of experience in {np}.",
        "{name} has worked for {years} years as {a_role}, focusing on {np}.",
        "A {seniority} {role}, {name} brings {years} years of experience in {np}.",
        "{name} is {a_role} ({seniority}, {years} years) specialising in {np}.",
    )
    firm_intro = (
        "{name} is a consulting firm with {years} years of practice in {np}.",
        "{name} is a specialist firm that has worked on {np} for {years} years.",
        "Founded {years} years ago, {name} focuses on {np}.",
    )
    intro = _fill(
        person_intro + firm_intro,
        np.where(is_firm, len(person_intro) + rng.integers(0, len(firm_intro), n), rng.integers(0, 4, n)),
        fields,
    )
    main_work = _fill(
        ("{ref} has {vp}.", "Over the years {ref_obj} has {vp}.", "Recent assignments: {ref_obj} has {vp}."),
        rng.integers(0, 3, n),
        fields,
    )
    others = [
        _fill(
            ("{ref} has also {vp}.", "Other areas of work include {np}.", "Also works on {np}."),
            rng.integers(0, 3, n),
            {
                "ref": given,
                "np": (_NP_T, _pick(rng, _NP_OFF, _NP_N, theme_idx[:, j])),
                "vp": (_VP_T, _pick(rng, _VP_OFF, _VP_N, theme_idx[:, j])),
            },
            active=theme_valid[:, j],
        )
        for j in range(1, theme_idx.shape[1])
    ]
    where = _fill(
        (
            "Has worked in {regions}, including {countries}.",
            "Field experience covers {countries} ({regions}).",
            "Assignments have taken {ref_obj} to {countries}.",
        ),
        rng.integers(0, 3, n),
        fields,
    )
    person_languages = ("Works in {languages}.", "Speaks {languages}.", "Languages: {languages}.")
    firm_languages = ("Teams work in {languages}.", "Working languages: {languages}.")
    languages = _fill(
        person_languages + firm_languages,
        np.where(is_firm, len(person_languages) + rng.integers(0, 2, n), rng.integers(0, 3, n)),
        fields,
    )
    korean_templates = (
        "Has worked with Korean central and local government agencies, including on {kref}.",
        "Brings first-hand knowledge of {kref}.",
        "Familiar with Korean practice, including {kref}.",
        "Has taken part in knowledge exchanges on {kref}.",
    )
    korean = _fill(
        korean_templates, np.where(is_korean, 0, 2) + rng.integers(0, 2, n), fields, active=korean_experience
    )
    return _sentences(intro, main_work, *others, where, languages, korean)


# --------------------------------------------------------------------------------------------------------------
# Evidence
# --------------------------------------------------------------------------------------------------------------


def _split_codes(
    values: pd.Series, index: Mapping[str, int], *, column: str, ids: NDArray, strict: bool = True
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Parse a ``;``-list column into left-compacted (idx, valid) of shape (n, k).

    Codes not in ``index`` are errors when ``strict``, else they are left out.
    """
    n = len(values)
    lists = pc.split_pattern(pa.array(values.fillna("").astype(str), type=_STR), ";")
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    cells = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    vocab = list(index)
    codes = pc.fill_null(pc.index_in(cells, value_set=pa.array(vocab, type=_STR)), -1).to_numpy(zero_copy_only=False)
    lookup = np.array([index[v] for v in vocab] + [-1], dtype=np.int64)
    codes = lookup[codes]
    present = pc.not_equal(cells, "").to_numpy(zero_copy_only=False)
    k = max(1, int(lengths.max(initial=0)))
    row = np.repeat(np.arange(n), lengths)
    col = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    idx = np.zeros((n, k), dtype=np.int64)
    valid = np.zeros((n, k), dtype=bool)
    unknown = present & (codes < 0)
    if strict and unknown.any():
        where = np.flatnonzero(unknown)[:50]
        raise InputError(
            [
                f"experts row {row[i] + 1} (expert_id {ids[row[i]]!r}), column {column!r}: unknown code "
                f"{cells[int(i)].as_py()!r}"
                for i in where
            ]
        )
    idx[row, col] = np.maximum(codes, 0)
    valid[row, col] = present & ~unknown
    return _compact(idx, valid)


def generate_evidence(
    experts: pd.DataFrame,
    *,
    seed: int | np.random.Generator = 0,
    per_expert: float = 1.5,
    last_year: int = 2026,
) -> pd.DataFrame:
    """Generate evidence records (past engagements, publications, projects) for experts.

    Each expert gets a Poisson(``per_expert``) number of records about one of their themes, set in one of the
    countries they worked in (a random client city when none of theirs is known to the generator).

    Parameters
    ----------
    experts : pandas.DataFrame
        Needs columns ``expert_id``, ``themes`` and ``countries`` (e.g. from :func:`generate_experts`).
    seed : int or numpy.random.Generator
        Same seed and experts, same table.
    per_expert : float
        Mean number of records per expert.
    last_year : int
        Latest year of a record; years go back up to 15 years before it.

    Returns
    -------
    pandas.DataFrame
        Shape (n_records, 6), string columns :data:`EVIDENCE_COLUMNS`, grouped by expert in roster order.

    Raises
    ------
    InputError
        A required column is missing or a theme code is unknown.

    Examples
    --------
    >>> evidence = generate_evidence(generate_experts(20, seed=3), seed=3)
    >>> list(evidence.columns)
    ['expert_id', 'text', 'title', 'year', 'kind', 'synthetic']
    >>> set(evidence["kind"]) <= {"engagement", "publication", "project"}
    True
    """
    missing = [c for c in ("expert_id", "themes", "countries") if c not in experts.columns]
    if missing:
        raise InputError(f"experts: missing column(s) {', '.join(map(repr, missing))} needed to generate evidence")
    if not float(per_expert) >= 0.0:
        raise InputError(f"per_expert must be >= 0, got {per_expert!r}")
    rng = _rng(seed)
    ids = pa.array(experts["expert_id"].fillna("").astype(str), type=_STR)
    n = len(ids)
    id_list = np.asarray(experts["expert_id"].fillna("").astype(str))
    theme_idx, theme_valid = _split_codes(experts["themes"], _THEME_INDEX, column="themes", ids=id_list)
    # Countries the generator has no cities for are not used as places.
    client = {c: i for i, c in enumerate(_COUNTRY_CODES) if _COUNTRY_REGION[i] >= 0}
    country_idx, country_valid = _split_codes(
        experts["countries"], client, column="countries", ids=id_list, strict=False
    )

    owner = np.repeat(np.arange(n), rng.poisson(float(per_expert), n))
    m = len(owner)

    def one_of(idx: NDArray[np.int64], valid: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        count = valid[owner].sum(axis=1)
        slot = (rng.random(m) * count).astype(np.int64)
        return idx[owner, np.minimum(slot, idx.shape[1] - 1)], count > 0

    theme, has_theme = one_of(theme_idx, theme_valid)
    theme = np.where(has_theme, theme, _choose(rng, m, _THEME_P))
    country, has_country = one_of(country_idx, country_valid)
    random_city = rng.integers(0, len(_CITIES), m)
    city_in_country = _COUNTRY_CITY[_pick(rng, _COUNTRY_CITY_OFF, _COUNTRY_CITY_N, np.where(has_country, country, 0))]
    city = np.where(has_country, city_in_country, random_city)
    country = _CITY_COUNTRY[city]

    kind = _choose(rng, m, (0.5, 0.2, 0.3))
    fields = {
        "city": (_CITY_NAME_T, city),
        "country": (_COUNTRY_NAME_T, country),
        "np": (_NP_T, _pick(rng, _NP_OFF, _NP_N, theme)),
        "NP": (_NP_CAP_T, _pick(rng, _NP_OFF, _NP_N, theme)),
        "vp": (_VP_T, _pick(rng, _VP_OFF, _VP_N, theme)),
        "org": (
            _table(("the city government", "the national government", "a World Bank task team")),
            rng.integers(0, 3, m),
        ),
        "pub": (_table(("Report", "Working paper", "Guidance note", "Journal article")), rng.integers(0, 4, m)),
    }
    text = _fill(
        (
            "Assignment for {org} in {city}, {country}: {vp}.",
            "{pub} on {np}, drawing on cases from {country} and Korea.",
            "Team member on a {np} project in {city}, {country}; {vp}.",
        ),
        kind,
        fields,
    )
    # Engagement titles read like the request that started them; the others name their subject.
    title_choice = np.where(
        kind == 0,
        _pick(rng, _TITLE_OFF, _TITLE_N, theme),
        len(_TITLE_TEMPLATES) + kind - 1,
    )
    title = _fill([*_TITLE_TEMPLATES, "{NP}: lessons for {country}", "{NP} project, {city}"], title_choice, fields)
    year = int(last_year) - (rng.random(m) * 15).astype(np.int64)
    return _frame(
        {
            "expert_id": ids.take(pa.array(owner, type=pa.int64())),
            "text": text,
            "title": title,
            "year": _numbers(year),
            "kind": _take(_table(("engagement", "publication", "project")), kind),
        },
        EVIDENCE_COLUMNS,
    )


# --------------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------------


def generate_requests(
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    round: str = "R1",
    start: str = "2027-01-01",
    months: int = 6,
    expert_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Generate a synthetic round of TA requests from client cities in all six regions.

    Parameters
    ----------
    n : int
        Number of requests (rows).
    seed : int or numpy.random.Generator
        Same seed, same table.
    round : str
        Round label; request ids are ``{round}-001``, ``{round}-002``, ...
    start : str
        First day (ISO date) of the period the request windows fall in.
    months : int
        Length of that period in calendar months.
    expert_ids : sequence of str, optional
        Roster ids; about 10% of requests then exclude one of them.

    Returns
    -------
    pandas.DataFrame
        Shape (n, 20), string columns :data:`REQUEST_COLUMNS` in file form. ``days`` never exceeds the support
        type's cap (JIT 30, OS 60) nor the working days (Mon-Fri) in the window.

    Examples
    --------
    >>> requests = generate_requests(3, seed=0, round="R9")
    >>> list(requests["request_id"])
    ['R9-001', 'R9-002', 'R9-003']
    >>> bool((requests["window_end"] >= requests["window_start"]).all())
    True
    """
    n = _check_count("n", n)
    if not isinstance(round, str) or not round.strip():
        raise InputError(f"round must be a non-empty string, got {round!r}")
    first, period_days = _period(start, months)
    rng = _rng(seed)
    ids = _table([] if expert_ids is None else [str(i) for i in expert_ids])

    request_id = _concat(
        [f"{round}-", pc.utf8_lpad(_numbers(np.arange(1, n + 1)), width=max(3, len(str(n))), padding="0")]
    )
    city = rng.integers(0, len(_CITIES), n)
    country = _CITY_COUNTRY[city]
    theme_idx, theme_valid = _themes(rng, n, (0.35, 0.45, 0.2))
    main = theme_idx[:, 0]
    practice = _THEME_PRACTICE[main]

    is_os = rng.random(n) < 0.4
    length = np.minimum(7 * rng.integers(4, 21, n), period_days)
    window_start = (rng.random(n) * (period_days - length + 1)).astype(np.int64)
    window_end = window_start + length - 1
    start_dates = first + window_start.astype("timedelta64[D]")
    working_days = np.busday_count(start_dates, start_dates + length.astype("timedelta64[D]"))
    cap = np.minimum(np.where(is_os, SUPPORT_DAY_CAPS["OS"], SUPPORT_DAY_CAPS["JIT"]), working_days)
    low = np.minimum(np.where(is_os, 15, 5), cap)
    days = low + (rng.random(n) * (cap - low + 1)).astype(np.int64)

    # Languages: English mostly, the local working language sometimes, sometimes nothing asked.
    local = _COUNTRY_WORK_LANG[country]
    lang_idx = np.stack([np.full(n, _LANG_INDEX["en"]), np.maximum(local, 0)], axis=1)
    asks_english = rng.random(n) < 0.85
    # A smaller language is asked for only beside English; French, Spanish, Portuguese, Russian or Arabic alone.
    lingua_franca = np.isin(local, [_LANG_INDEX[c] for c in ("fr", "es", "pt", "ru", "ar")])
    asks_local = (local >= 0) & (rng.random(n) < 0.35) & (asks_english | lingua_franca)
    lang_valid = np.stack([asks_english, asks_local], axis=1)

    korean = rng.random(n) < 0.2
    experts_needed = 1 + (rng.random(n) < 0.15).astype(np.int64)
    rate = rng.integers(50, 121, n) * 10
    budget = (np.round(rate * days * experts_needed * rng.uniform(0.8, 2.0, n) / 1000.0) * 1000).astype(np.int64)
    has_budget = rng.random(n) >= 0.3
    excluding = (rng.random(n) < 0.1) & (len(ids) > 1)
    excluded = rng.integers(0, max(len(ids) - 1, 1), n)

    fields = {
        "city": (_CITY_NAME_T, city),
        "country": (_COUNTRY_NAME_T, country),
        "np": (_NP_T, _pick(rng, _NP_OFF, _NP_N, theme_idx[:, 1])),
        "kref": (_KREF_T, main),
        "language": (_LANG_NAME_T, lang_idx[:, 1]),
    }
    client = _fill(_CLIENT_TEMPLATES, _pick(rng, _CLIENT_OFF, _CLIENT_N, practice), fields)
    title = _fill(_TITLE_TEMPLATES, _pick(rng, _TITLE_OFF, _TITLE_N, main), fields)
    problem = _fill(_PROBLEM_TEMPLATES, _pick(rng, _PROBLEM_OFF, _PROBLEM_N, main), fields)
    also = _fill(
        ("The work also covers {np}.", "The team also needs advice on {np}."),
        rng.integers(0, 2, n),
        fields,
        active=theme_valid[:, 1],
    )
    support = _fill(
        (
            "Just-in-time technical assistance is requested: one mission and short advisory inputs.",
            "The team asks for quick, just-in-time advice ahead of a decision by the client.",
            "Operational support is requested over several missions alongside project preparation.",
            "The team asks for operational support to help the client through implementation.",
        ),
        2 * is_os + rng.integers(0, 2, n),
        fields,
    )
    korean_text = _fill(
        ("Lessons from {kref} may be relevant.", "The team explicitly asks for Korean experience, for example {kref}."),
        korean.astype(np.int64),
        fields,
        active=korean | (rng.random(n) < 0.4),
    )
    language_text = _fill(
        ("Working knowledge of {language} is needed.",), np.zeros(n, np.int64), fields, active=lang_valid[:, 1]
    )
    dates = _date_table(first, period_days)
    logger.debug("generated %d synthetic requests for round %s", n, round)
    return _frame(
        {
            "request_id": request_id,
            "title": title,
            "description": _sentences(problem, also, support, korean_text, language_text),
            "country": _take(_COUNTRY_CODE_T, country),
            "city": _take(_CITY_NAME_T, city),
            "client": client,
            "region": _take(_REGION_CODE_T, _COUNTRY_REGION[country]),
            "practice_group": _take(_PRACTICE_T, practice),
            "support_type": _take(_table(["JIT", "OS"]), is_os.astype(np.int64)),
            "days": _numbers(days),
            "window_start": _take(dates, window_start),
            "window_end": _take(dates, window_end),
            "languages": _join(_LANG_CODE_T, lang_idx, lang_valid),
            "themes": _join(_THEME_CODE_T, theme_idx, theme_valid),
            "korean_experience": _bool_text(korean),
            "experts_needed": _numbers(experts_needed),
            "budget_usd": pc.if_else(pa.array(has_budget), _numbers(budget), pa.scalar(None, _STR)),
            "exclude_experts": _take(ids, excluded, excluding),
            "round": pa.repeat(pa.scalar(round, _STR), n),
        },
        REQUEST_COLUMNS,
    )


# --------------------------------------------------------------------------------------------------------------
# Rounds and the demo
# --------------------------------------------------------------------------------------------------------------


def generate_round(
    n_experts: int,
    n_requests: int,
    *,
    seed: int | np.random.Generator = 0,
    round: str = "R1",
    start: str = "2027-01-01",
    months: int = 12,
    request_months: int = 6,
    korean_share: float = 0.6,
    firm_share: float = 0.05,
    per_expert: float = 1.5,
) -> dict[str, pd.DataFrame]:
    """Generate a whole round: a roster, its evidence and requests that may exclude roster experts.

    The roster's calendar covers ``months`` from ``start``; request windows fall in the first ``request_months``;
    evidence ends the year before ``start``. Each table draws from its own stream spawned from ``seed``.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"experts": ..., "evidence": ..., "requests": ...}``.

    Examples
    --------
    >>> tables = generate_round(30, 4, seed=5)
    >>> sorted(tables), len(tables["experts"]), len(tables["requests"])
    (['evidence', 'experts', 'requests'], 30, 4)
    """
    expert_rng, evidence_rng, request_rng = _rng(seed).spawn(3)
    first, _ = _period(start, months)
    experts = generate_experts(
        n_experts, seed=expert_rng, start=start, months=months, korean_share=korean_share, firm_share=firm_share
    )
    evidence = generate_evidence(experts, seed=evidence_rng, per_expert=per_expert, last_year=int(str(first)[:4]) - 1)
    requests = generate_requests(
        n_requests,
        seed=request_rng,
        round=round,
        start=start,
        months=request_months,
        expert_ids=experts["expert_id"].tolist(),
    )
    return {"experts": experts, "evidence": evidence, "requests": requests}


# The three matches the program reported, as requests the demo must answer well.
_SHOWCASE_REQUESTS: tuple[dict[str, str], ...] = (
    {
        "title": "Smart city concept for Egypt's new urban communities",
        "description": (
            "Egypt is building a new generation of new urban communities (new towns) around Cairo and wants them "
            "planned as smart cities from the start. The client asks for a smart city concept covering land "
            "readiness, infrastructure phasing, digital services and how the new towns will be operated, with an "
            "institutional set-up that can deliver it. Lessons from Korea's new town and smart city development "
            "history and strategy are explicitly requested. Operational support is requested over several "
            "missions."
        ),
        "country": "EG",
        "city": "Cairo",
        "client": "New Urban Communities Authority",
        "region": "MNA",
        "practice_group": "Urban/Resilience/Land",
        "support_type": "OS",
        "days": "40",
        "window_start": "2027-02-01",
        "window_end": "2027-05-28",
        "languages": "en",
        "themes": "new_towns;strategy;institutions",
        "korean_experience": "true",
        "experts_needed": "1",
        "budget_usd": "60000",
    },
    {
        "title": "Intelligent transport systems for Ulaanbaatar",
        "description": (
            "Congestion in Ulaanbaatar is severe and most traffic signals run on fixed timings. The city wants to "
            "extend its intelligent transport system (ITS) with real-time adaptive traffic signal control (ATSC) at "
            "key intersections, and to manage its ring road and approach highways the way a freeway traffic "
            "management system (FTMS) does: vehicle detectors, CCTV, variable message signs and incident response "
            "from a traffic control centre. Korea's advanced traffic signal control and freeway traffic management "
            "system are the references the team has in mind. Just-in-time technical assistance is requested."
        ),
        "country": "MN",
        "city": "Ulaanbaatar",
        "client": "City of Ulaanbaatar",
        "region": "EAP",
        "practice_group": "Transport",
        "support_type": "JIT",
        "days": "25",
        "window_start": "2027-03-01",
        "window_end": "2027-04-30",
        "languages": "en",
        "themes": "mobility;data_platform",
        "korean_experience": "true",
        "experts_needed": "1",
        "budget_usd": "",
    },
    {
        "title": "Smarter urban mobility for Rabat",
        "description": (
            "Rabat wants smarter urban mobility. Buses are run by several operators on overlapping routes with "
            "separate fares, and travellers have no real-time information. The city asks how to reorganize the bus "
            "network into trunk and feeder services with bus lanes, integrate fares with the tramway through a "
            "smart card, and set up a transport operations and traffic information centre. Seoul's 2004 public "
            "transport reform and Seoul TOPIS (Transport Operation and Information Service) are of particular "
            "interest. Working knowledge of French is an advantage."
        ),
        "country": "MA",
        "city": "Rabat",
        "client": "City of Rabat",
        "region": "MNA",
        "practice_group": "Transport",
        "support_type": "OS",
        "days": "45",
        "window_start": "2027-03-15",
        "window_end": "2027-06-25",
        "languages": "en",
        "themes": "public_transport;mobility;data_platform",
        "korean_experience": "false",
        "experts_needed": "1",
        "budget_usd": "70000",
    },
)


# Changes to three generated demo requests so the demo round is contended, as real rounds are: two Yerevan requests
# in overlapping windows need the roster's one Armenian speaker (one is left unstaffed, its candidate taken), and
# the Santiago request wants two experts on a budget that pays for one (partly staffed). Nothing else moves. The
# changes name requests of the bundled round (seed 2027), so other seeds are left as generated.
_CONTENTION: dict[str, dict[str, str]] = {
    "DEMO-004": {
        "experts_needed": "2",
        "budget_usd": "15000",
        "description+": " The client asks for two experts and can fund USD 15,000 in total.",
    },
    "DEMO-005": {
        "languages": "hy",
        "themes": "mobility;data_platform;finance_ppp",
        "description+": " Meetings with the municipality are held in Armenian, so the team must speak it; the "
        "client also wants advice on financing the centre through a public-private partnership.",
    },
    "DEMO-011": {
        "languages": "hy",
        "themes": "mobility;public_transport;finance_ppp",
        "window_start": "2027-04-05",
        "window_end": "2027-04-30",
        "days": "14",
        "description+": " Meetings with the municipality are held in Armenian, so the team must speak it.",
    },
}


def _contend(requests: pd.DataFrame) -> pd.DataFrame:
    """The demo requests with :data:`_CONTENTION` applied (``description+`` appends to the description)."""
    out = requests.copy()
    for request_id, changes in _CONTENTION.items():
        row = out.index[out["request_id"] == request_id]
        for column, value in changes.items():
            if column == "description+":
                out.loc[row, "description"] = out.loc[row, "description"] + value
            else:
                out.loc[row, column] = value
    return out


def _is_bundled_seed(seed: int | np.random.Generator) -> bool:
    return isinstance(seed, int | np.integer) and int(seed) == 2027


def _answerable(requests: pd.DataFrame, experts: pd.DataFrame) -> list[bool]:
    """Whether some expert shares a theme, speaks every language asked and is free on enough working days.

    A plain loop: it only serves the small demo.
    """

    def items(cell: str) -> set[str]:
        return set(cell.split(";")) if cell else set()

    roster = [
        (items(themes), items(languages), [tuple(iv.split("/")) for iv in items(busy)])
        for themes, languages, busy in zip(experts["themes"], experts["languages"], experts["busy"], strict=True)
    ]
    out = []
    for themes, languages, first, last, days in zip(
        requests["themes"],
        requests["languages"],
        requests["window_start"],
        requests["window_end"],
        requests["days"],
        strict=True,
    ):
        window = np.arange(np.datetime64(first), np.datetime64(last) + 1, dtype="datetime64[D]")
        # ISO dates compare as strings.
        working = window[np.is_busday(window)].astype(str).tolist()
        out.append(
            any(
                items(themes) & expert_themes
                and items(languages) <= expert_languages
                and sum(not any(b <= d <= e for b, e in busy) for d in working) >= int(days)
                for expert_themes, expert_languages, busy in roster
            )
        )
    return out


def demo_round(seed: int | np.random.Generator = 2027) -> dict[str, pd.DataFrame]:
    """A small demo round: 200 experts, their evidence and 12 requests of round ``DEMO``.

    The first three requests are the matches the program reported (Egypt's new urban communities, Ulaanbaatar's
    intelligent transport systems, Rabat's urban mobility); the other nine are generated, three of them changed so
    that the round is contended (two Yerevan requests need the roster's one Armenian speaker in overlapping
    windows, and the Santiago request's budget pays for one of the two experts it asks for): the plan leaves one
    request unstaffed and one partly staffed, with reasons.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"experts": ..., "evidence": ..., "requests": ...}``.

    Examples
    --------
    >>> demo = demo_round()
    >>> len(demo["experts"]), list(demo["requests"]["request_id"][:3])
    (200, ['DEMO-001', 'DEMO-002', 'DEMO-003'])
    >>> demo["requests"].loc[1, "city"]
    'Ulaanbaatar'
    """
    # Draw spare requests and keep the first nine that some demo expert could take, so that each demo request has
    # an answer worth showing.
    tables = generate_round(200, 40, seed=seed, round="DEMO", start="2027-01-01", months=12, request_months=6)
    answerable = _answerable(tables["requests"], tables["experts"])
    generated = tables["requests"][answerable].head(12 - len(_SHOWCASE_REQUESTS))
    showcase = pd.DataFrame(
        [{**row, "exclude_experts": "", "round": "DEMO", "synthetic": "true"} for row in _SHOWCASE_REQUESTS],
        columns=list(REQUEST_COLUMNS),
        dtype=str,
    )
    requests = pd.concat([showcase, generated], ignore_index=True)
    requests["request_id"] = pd.Series([f"DEMO-{i:03d}" for i in range(1, len(requests) + 1)], dtype=str)
    requests = requests.astype(str)
    return {**tables, "requests": _contend(requests) if _is_bundled_seed(seed) else requests}
