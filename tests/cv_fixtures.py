"""Fictional CVs for the ingest tests and benchmark, written as real documents from one table of facts.

Every person here is FICTIONAL (names carry "(fictional)"). :data:`EXPERTS` holds the facts; :func:`write_cvs`
writes one document per expert in a layout chosen per expert (``.docx`` one-column or with a table of assignments,
one-column PDF, two-column PDF, PDF with a table of assignments, ``.md``, ``.txt``, ``.html``, and a sub-folder with a
CV and two reports), and :func:`hand_made_roster` is the table a person would type from the same facts.
:func:`write_bad_inputs` writes the broken files: an encrypted PDF, a scanned (image-only) PDF, a corrupt ``.docx``,
an unknown type, an empty file.

Used by ``tests/test_ingest.py`` and ``benchmarks/bench_ingest.py``. Needs python-docx (a dependency of the
library) and reportlab (dev extra).
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

__all__ = [
    "Assignment",
    "CVFacts",
    "EXPERTS",
    "LAYOUTS",
    "write_cv",
    "write_cvs",
    "hand_made_roster",
    "write_bad_inputs",
    "many_experts",
]


@dataclass(frozen=True, slots=True)
class Assignment:
    year: int
    title: str
    text: str
    country: str  # as the CV writes it
    city: str = ""
    kind: str = "engagement"  # engagement | publication | report


@dataclass(frozen=True, slots=True)
class CVFacts:
    """What one fictional CV states; ``*_codes`` are what a careful person would type in the roster."""

    slug: str
    layout: str
    name: str
    nationality: str  # as written in the CV
    nationality_code: str
    languages: tuple[str, ...]  # as written
    language_codes: tuple[str, ...]
    countries: tuple[str, ...]  # "countries of work experience" as written
    country_codes: tuple[str, ...]
    themes: tuple[str, ...]
    day_rate: str  # as written, "" when not stated
    day_rate_usd: float | None
    bio: str
    assignments: tuple[Assignment, ...]
    email: str = ""
    phone: str = ""


EXPERTS: tuple[CVFacts, ...] = (
    CVFacts(
        slug="kim-ara",
        layout="docx",
        name="Kim Ara (fictional)",
        nationality="Korean",
        nationality_code="KR",
        languages=("Korean (native)", "English (fluent)", "French (working knowledge)"),
        language_codes=("ko", "en", "fr"),
        countries=("Morocco", "Mongolia", "Colombia"),
        country_codes=("MA", "MN", "CO"),
        themes=("public_transport", "mobility"),
        day_rate="USD 650/day",
        day_rate_usd=650.0,
        email="kim.ara@example.org",
        phone="+82-10-1234-5678",
        bio="Transport planner with 18 years of experience in bus reform. Led the reorganization of bus routes into "
        "trunk and feeder services, median bus lanes and integrated fares with smart cards, drawing on Seoul's 2004 "
        "public transport reform. Has advised cities in North Africa and Latin America on bus network redesign.",
        assignments=(
            Assignment(
                2019,
                "Bus network reform support for Rabat",
                "Designed the trunk-and-feeder bus network and the integrated fare with the tramway for the city "
                "of Rabat; drafted the operator contracts.",
                "Morocco",
                "Rabat",
            ),
            Assignment(
                2021,
                "Median bus lanes and bus priority in Bogota",
                "Prepared the plan for median bus lanes on two corridors and the bus priority rules at signals.",
                "Colombia",
                "Bogota",
            ),
            Assignment(
                2023,
                "Smart card ticketing for Ulaanbaatar buses",
                "Advised the municipality on a smart card fare system and distance-based fares for city buses.",
                "Mongolia",
                "Ulaanbaatar",
            ),
        ),
    ),
    CVFacts(
        slug="batbold-tsetseg",
        layout="pdf-two-column",
        name="Batbold Tsetseg (fictional)",
        nationality="Mongolian",
        nationality_code="MN",
        languages=("Mongolian", "English", "Russian"),
        language_codes=("mn", "en", "ru"),
        countries=("Mongolia", "Kazakhstan", "Korea, Rep.", "Armenia"),
        country_codes=("MN", "KZ", "KR", "AM"),
        themes=("mobility", "data_platform"),
        day_rate="Daily rate: $700",
        day_rate_usd=700.0,
        email="b.tsetseg@example.net",
        phone="(202) 555-0143",
        bio="Traffic engineer specialised in intelligent transport systems. Designs adaptive traffic signal control "
        "(ATSC) at intersections and freeway traffic management systems (FTMS) with vehicle detectors, CCTV and "
        "variable message signs run from a traffic control centre. Trained in Korea on advanced traffic "
        "management.",
        assignments=(
            Assignment(
                2018,
                "Adaptive signal control pilot in Ulaanbaatar",
                "Set up real-time adaptive traffic signal control at 40 intersections with loop detectors.",
                "Mongolia",
                "Ulaanbaatar",
            ),
            Assignment(
                2020,
                "Traffic control centre for Almaty",
                "Specified the traffic control centre, CCTV and incident response procedures for the ring road.",
                "Kazakhstan",
                "Almaty",
            ),
            Assignment(
                2022,
                "ITS master plan for Yerevan",
                "Wrote the intelligent transport system master plan and the traffic management centre design.",
                "Armenia",
                "Yerevan",
            ),
        ),
    ),
    CVFacts(
        slug="amina-el-idrissi",
        layout="docx-table",
        name="Amina El Idrissi (fictional)",
        nationality="Moroccan",
        nationality_code="MA",
        languages=("Arabic", "French", "English", "Spanish"),
        language_codes=("ar", "fr", "en", "es"),
        countries=("Morocco", "Tunisia", "Chile"),
        country_codes=("MA", "TN", "CL"),
        themes=("data_platform", "open_data"),
        day_rate="Day rate: USD 720",
        day_rate_usd=720.0,
        email="amina.elidrissi@example.com",
        phone="+212 6 12 34 56 78",
        bio="Urban data platform specialist. Builds integrated operations centres (IOC) and real-time dashboards "
        "that bring traffic, safety and city service data out of silos, and open data portals for city "
        "governments.",
        assignments=(
            Assignment(
                2017,
                "Open data portal for Tunis",
                "Set up the city open data portal and the data sharing agreements between municipal departments.",
                "Tunisia",
                "Tunis",
            ),
            Assignment(
                2020,
                "Integrated operations centre for Casablanca",
                "Designed the integrated operations centre and its dashboards for traffic, safety and services.",
                "Morocco",
                "Casablanca",
            ),
            Assignment(
                2022,
                "Urban data platform for Valparaiso",
                "Advised on an urban data platform joining sensor and administrative data across city agencies.",
                "Chile",
                "Valparaiso",
            ),
        ),
    ),
    CVFacts(
        slug="park-jiwon",
        layout="folder",
        name="Park Jiwon (fictional)",
        nationality="Republic of Korea",
        nationality_code="KR",
        languages=("Korean", "English"),
        language_codes=("ko", "en"),
        countries=("Egypt, Arab Rep.", "Viet Nam"),
        country_codes=("EG", "VN"),
        themes=("new_towns", "strategy", "institutions"),
        day_rate="",
        day_rate_usd=None,
        email="park.jiwon@example.org",
        phone="+82 2 555 0199",
        bio="Urban planner who led new town development and smart city master planning at a national land and "
        "housing agency. Works on land readiness, infrastructure phasing and the institutional set-up that "
        "delivers new towns, drawing on Korea's new town history and the Sejong and Busan Eco Delta smart cities.",
        assignments=(
            Assignment(
                2016,
                "Smart city master plan for a new town near Hanoi",
                "Prepared the smart city master plan and the phasing of infrastructure for a new town.",
                "Viet Nam",
                "Hanoi",
            ),
            Assignment(
                2021,
                "Institutional set-up for new urban communities in Egypt",
                "Advised on the agency arrangements and laws needed to deliver new towns as smart cities.",
                "Egypt",
                "Cairo",
            ),
            Assignment(
                2019,
                "Lessons from Korean new towns for Egypt",
                "Report comparing Korean new town development and governance with Egypt's new urban communities, "
                "with a phased programme for land readiness and digital services.",
                "Egypt",
                kind="report",
            ),
            Assignment(
                2022,
                "Smart city strategy note for Da Nang",
                "Technical note on a smart city vision and strategy, with an investment plan and a roadmap.",
                "Viet Nam",
                kind="report",
            ),
        ),
    ),
    CVFacts(
        slug="lucia-romero",
        layout="pdf-table",
        name="Lucia Romero (fictional)",
        nationality="Chilean",
        nationality_code="CL",
        languages=("Spanish", "English", "Portuguese"),
        language_codes=("es", "en", "pt"),
        countries=("Chile", "Peru", "Brazil"),
        country_codes=("CL", "PE", "BR"),
        themes=("data_platform", "public_safety"),
        day_rate="USD 600 per day",
        day_rate_usd=600.0,
        email="lucia.romero@example.org",
        phone="+56 9 8765 4321",
        bio="Public safety and operations centre expert. Integrates city CCTV networks with police and fire "
        "dispatch, and sets up real-time dashboards for mayors in Latin American cities.",
        assignments=(
            Assignment(
                2015,
                "Emergency dispatch centre for Lima",
                "Integrated CCTV, emergency calls and police dispatch in one centre for the municipality.",
                "Peru",
                "Lima",
            ),
            Assignment(
                2019,
                "Mayor's dashboard for Santiago",
                "Built a real-time dashboard of traffic, safety and services for the mayor's office.",
                "Chile",
                "Santiago",
            ),
            Assignment(
                2021,
                "Video surveillance review in Recife",
                "Reviewed privacy safeguards for video surveillance and the emergency response procedures.",
                "Brazil",
                "Recife",
            ),
        ),
    ),
    CVFacts(
        slug="rahul-menon",
        layout="md",
        name="Rahul Menon (fictional)",
        nationality="Indian",
        nationality_code="IN",
        languages=("English", "Hindi", "Urdu"),
        language_codes=("en", "hi", "ur"),
        countries=("India", "Pakistan", "Bangladesh"),
        country_codes=("IN", "PK", "BD"),
        themes=("mobility",),
        day_rate="USD 550/day",
        day_rate_usd=550.0,
        email="rahul.menon@example.in",
        phone="+91 98765 43210",
        bio="Traffic management engineer. Plans traffic signal control, junction improvements and traffic "
        "management centres for fast-growing South Asian cities.",
        assignments=(
            Assignment(
                2018,
                "Traffic signal control for Lahore",
                "Retimed and coordinated traffic signals on the main corridors and specified the traffic "
                "management centre.",
                "Pakistan",
                "Lahore",
            ),
            Assignment(
                2021,
                "Junction improvement programme for Dhaka",
                "Designed junction improvements and traffic signals for twenty intersections.",
                "Bangladesh",
                "Dhaka",
            ),
            Assignment(
                2020,
                "Signal timing in congested cities",
                "Guidance note on adaptive signal timing and traffic management for congested South Asian cities.",
                "India",
                kind="publication",
            ),
        ),
    ),
    CVFacts(
        slug="lee-minseo",
        layout="html",
        name="Lee Minseo (fictional)",
        nationality="South Korea",
        nationality_code="KR",
        languages=("Korean", "English"),
        language_codes=("ko", "en"),
        countries=("Fiji", "Philippines"),
        country_codes=("FJ", "PH"),
        themes=("geospatial",),
        day_rate="USD 800/day",
        day_rate_usd=800.0,
        email="lee.minseo@example.org",
        phone="+82-31-555-0123",
        bio="Geospatial data expert. Builds digital twins and 3D city models for planning departments, and "
        "national spatial data infrastructure on the model of Korea's V-World platform.",
        assignments=(
            Assignment(
                2020,
                "3D city model pilot for Suva",
                "Built a digital twin and 3D city model of the capital for flood and planning studies.",
                "Fiji",
                "Suva",
            ),
            Assignment(
                2022,
                "Spatial data infrastructure for Quezon City",
                "Set up the GIS platform and spatial data standards shared by city departments.",
                "Philippines",
                "Quezon City",
            ),
        ),
    ),
    CVFacts(
        slug="jean-mbeki",
        layout="txt",
        name="Jean Mbeki (fictional)",
        nationality="Zambian",
        nationality_code="ZM",
        languages=("French", "English"),
        language_codes=("fr", "en"),
        countries=("Zambia", "Djibouti", "Senegal"),
        country_codes=("ZM", "DJ", "SN"),
        themes=("institutions", "e_government", "strategy"),
        day_rate="Daily rate: USD 500",
        day_rate_usd=500.0,
        email="jean.mbeki@example.org",
        phone="+260 97 123 4567",
        bio="Public sector reform adviser. Drafts digital transformation roadmaps, the laws and institutional "
        "set-up for smart city programmes, and digital public services for governments in Africa.",
        assignments=(
            Assignment(
                2019,
                "Digital transformation roadmap for Djibouti",
                "Wrote the national digital transformation roadmap and the e-government service plan.",
                "Djibouti",
                "Djibouti",
            ),
            Assignment(
                2022,
                "Smart city institutional framework for Lusaka",
                "Advised on the institutional framework, laws and governance arrangements for smart city projects.",
                "Zambia",
                "Lusaka",
            ),
            Assignment(
                2017,
                "Digital public services in Dakar",
                "Designed digital public services and back-office digitalization for the city administration.",
                "Senegal",
                "Dakar",
            ),
        ),
    ),
    CVFacts(
        slug="sofia-haddad",
        layout="pdf",
        name="Sofia Haddad (fictional)",
        nationality="Jordanian",
        nationality_code="JO",
        languages=("Arabic", "English", "French"),
        language_codes=("ar", "en", "fr"),
        countries=("Jordan", "Egypt", "Morocco"),
        country_codes=("JO", "EG", "MA"),
        themes=("public_transport", "finance_ppp"),
        day_rate="",
        day_rate_usd=None,
        email="s.haddad@example.org",
        phone="+962 7 9123 4567",
        bio="Transport economist working on bus rapid transit and the public-private partnerships that finance "
        "it. Prepares business models, fare studies and concession contracts for metro and bus systems.",
        assignments=(
            Assignment(
                2016,
                "Bus rapid transit concession in Amman",
                "Prepared the business model and the public-private partnership concession for the BRT.",
                "Jordan",
                "Amman",
            ),
            Assignment(
                2020,
                "Metro fare study for Cairo",
                "Fare and financing study for a metro line, with options for private finance.",
                "Egypt",
                "Cairo",
            ),
            Assignment(
                2023,
                "Bus operator contracts for Marrakech",
                "Drafted gross-cost contracts for bus operators and the fare integration plan.",
                "Morocco",
                "Marrakech",
            ),
        ),
    ),
)

#: Every layout :func:`write_cv` knows, with the file (or folder) it writes.
LAYOUTS: dict[str, str] = {
    "docx": "{slug}.docx",
    "docx-table": "{slug}.docx",
    "pdf": "{slug}.pdf",
    "pdf-two-column": "{slug}.pdf",
    "pdf-table": "{slug}.pdf",
    "md": "{slug}.md",
    "txt": "{slug}.txt",
    "html": "{slug}.html",
    "folder": "{slug}",
}


def _cv_assignments(facts: CVFacts) -> list[Assignment]:
    return [a for a in facts.assignments if a.kind == "engagement"]


def _publications(facts: CVFacts) -> list[Assignment]:
    return [a for a in facts.assignments if a.kind == "publication"]


def _reports(facts: CVFacts) -> list[Assignment]:
    return [a for a in facts.assignments if a.kind == "report"]


def _where(a: Assignment) -> str:
    return f"{a.city}, {a.country}" if a.city else a.country


def _contact(facts: CVFacts) -> str:
    return f"E-mail: {facts.email} | Phone: {facts.phone}"


def _plain_lines(facts: CVFacts, *, style: str) -> list[str]:
    """The CV as lines of text; ``style`` is ``txt`` (capital headings) or ``md`` (markdown)."""

    def heading(text: str) -> str:
        return f"## {text}" if style == "md" else text.upper()

    lines = [f"# {facts.name}" if style == "md" else facts.name, _contact(facts), ""]
    lines += [f"Nationality: {facts.nationality}", f"Languages: {', '.join(facts.languages)}"]
    lines += [f"Countries of work experience: {', '.join(facts.countries)}"]
    if facts.day_rate:
        lines.append(facts.day_rate)
    lines += ["", heading("Profile"), facts.bio, "", heading("Selected assignments"), ""]
    for a in _cv_assignments(facts):
        head = f"{a.year} | {a.title}"
        lines += [f"### {head}" if style == "md" else head, f"Location: {_where(a)}", a.text, ""]
    if _publications(facts):
        lines += [heading("Publications"), ""]
        for a in _publications(facts):
            lines += [f"- {a.title} ({a.year}). {a.text}" if style == "md" else f"{a.title} ({a.year}). {a.text}"]
    return lines


def _write_text(facts: CVFacts, path: Path, style: str) -> None:
    path.write_text("\n".join(_plain_lines(facts, style=style)) + "\n", encoding="utf-8")


def _write_html(facts: CVFacts, path: Path) -> None:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>CV</title>",
        "<style>body{font-family:sans-serif}</style><script>var tracking = 'not text';</script></head><body>",
        f"<h1>{e(facts.name)}</h1><p>{e(_contact(facts))}</p>",
        "<ul>",
        f"<li><b>Nationality:</b> {e(facts.nationality)}</li>",
        f"<li><b>Languages:</b> {e(', '.join(facts.languages))}</li>",
        f"<li><b>Countries of work experience:</b> {e(', '.join(facts.countries))}</li>",
    ]
    if facts.day_rate:
        parts.append(f"<li>{e(facts.day_rate)}</li>")
    parts += ["</ul>", "<h2>Professional summary</h2>", f"<p>{e(facts.bio)}</p>", "<h2>Past assignments</h2>"]
    parts.append("<table><tr><th>Year</th><th>Assignment</th><th>Location</th><th>Description</th></tr>")
    for a in _cv_assignments(facts):
        parts.append(f"<tr><td>{a.year}</td><td>{e(a.title)}</td><td>{e(_where(a))}</td><td>{e(a.text)}</td></tr>")
    parts += ["</table>", "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")


def _write_docx(facts: CVFacts, path: Path, *, table: bool) -> None:
    import docx

    document = docx.Document()
    document.add_heading(facts.name, level=0)
    document.add_paragraph(_contact(facts))
    if table:
        # Personal details in a two-column table, as many CV templates do.
        details = document.add_table(rows=0, cols=2)
        rows = [("Nationality", facts.nationality), ("Languages", ", ".join(facts.languages))]
        rows += [("Countries of work experience", ", ".join(facts.countries))]
        for label, value in rows:
            cells = details.add_row().cells
            cells[0].text, cells[1].text = label, value
        if facts.day_rate:
            document.add_paragraph(facts.day_rate)
    else:
        document.add_paragraph(f"Nationality: {facts.nationality}")
        document.add_paragraph(f"Languages: {', '.join(facts.languages)}")
        document.add_paragraph(f"Countries of work experience: {', '.join(facts.countries)}")
        if facts.day_rate:
            document.add_paragraph(facts.day_rate)
    document.add_heading("Summary" if table else "Profile", level=1)
    document.add_paragraph(facts.bio)
    document.add_heading("Employment record" if table else "Selected assignments", level=1)
    if table:
        grid = document.add_table(rows=1, cols=4)
        grid.style = "Table Grid"
        for cell, label in zip(grid.rows[0].cells, ("Year", "Assignment", "Country", "Description"), strict=True):
            cell.text = label
        for a in _cv_assignments(facts):
            cells = grid.add_row().cells
            for cell, value in zip(cells, (str(a.year), a.title, _where(a), a.text), strict=True):
                cell.text = value
    else:
        for a in _cv_assignments(facts):
            run = document.add_paragraph().add_run(f"{a.year} | {a.title}")
            run.bold = True
            document.add_paragraph(f"Location: {_where(a)}")
            document.add_paragraph(a.text)
    if _publications(facts):
        document.add_heading("Publications", level=1)
        for a in _publications(facts):
            document.add_paragraph(f"{a.title} ({a.year}). {a.text}", style="List Bullet")
    document.core_properties.author = "fictional"
    document.save(path)


def _pdf_styles():
    from reportlab.lib.styles import getSampleStyleSheet

    styles = getSampleStyleSheet()
    return styles["Title"], styles["Heading2"], styles["BodyText"]


def _write_pdf(facts: CVFacts, path: Path, *, table: bool) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    title, h2, body = _pdf_styles()
    e = html.escape
    story = [Paragraph(e(facts.name), title), Paragraph(e(_contact(facts)), body)]
    story += [Paragraph(f"Nationality: {e(facts.nationality)}", body)]
    story += [Paragraph(f"Languages: {e(', '.join(facts.languages))}", body)]
    story += [Paragraph(f"Countries of work experience: {e(', '.join(facts.countries))}", body)]
    if facts.day_rate:
        story.append(Paragraph(e(facts.day_rate), body))
    story += [Paragraph("Profile", h2), Paragraph(e(facts.bio), body), Paragraph("Experience", h2)]
    if table:
        data = [["Year", "Assignment", "Location", "Description"]]
        data += [
            [str(a.year), Paragraph(e(a.title), body), Paragraph(e(_where(a)), body), Paragraph(e(a.text), body)]
            for a in _cv_assignments(facts)
        ]
        grid = Table(data, colWidths=[1.5 * cm, 4.5 * cm, 3.5 * cm, 7 * cm])
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(grid)
    else:
        for a in _cv_assignments(facts):
            story += [Paragraph(f"<b>{a.year} | {e(a.title)}</b>", body)]
            story += [Paragraph(f"Location: {e(_where(a))}", body), Paragraph(e(a.text), body), Spacer(1, 6)]
    if _publications(facts):
        story.append(Paragraph("Publications", h2))
        story += [Paragraph(e(f"{a.title} ({a.year}). {a.text}"), body) for a in _publications(facts)]
    doc = SimpleDocTemplate(str(path), pagesize=A4, title="CV", author="fictional", invariant=1)
    doc.build(story)


def _write_pdf_two_columns(facts: CVFacts, path: Path) -> None:
    """A sidebar (contact, nationality, languages, countries, rate) beside the main column.

    The lines are drawn top to bottom across both columns (as some PDF producers write them), so a reader that
    follows the content stream interleaves the sidebar with the main text; only a layout-aware reader gets it right.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    width, height = A4
    left_x, right_x, top = 40, 215, height - 60
    side: list[tuple[str, str]] = [("Helvetica-Bold", "CONTACT")]
    side += [("Helvetica", part) for part in (facts.email, facts.phone)]
    side += [("Helvetica", ""), ("Helvetica-Bold", "NATIONALITY"), ("Helvetica", facts.nationality)]
    side += [("Helvetica", ""), ("Helvetica-Bold", "LANGUAGES")] + [("Helvetica", lang) for lang in facts.languages]
    side += [("Helvetica", ""), ("Helvetica-Bold", "COUNTRIES")] + [("Helvetica", c) for c in facts.countries]
    if facts.day_rate:
        side += [("Helvetica", ""), ("Helvetica-Bold", "FEES"), ("Helvetica", facts.day_rate)]
    main: list[tuple[str, str]] = [("Helvetica-Bold", "PROFILE")]
    wrap = 330.0
    main += [("Helvetica", line) for line in simpleSplit(facts.bio, "Helvetica", 10, wrap)]
    main += [("Helvetica", ""), ("Helvetica-Bold", "PROFESSIONAL EXPERIENCE")]
    for a in _cv_assignments(facts):
        main += [("Helvetica-Bold", f"{a.year} | {a.title}"), ("Helvetica", f"Location: {_where(a)}")]
        main += [("Helvetica", line) for line in simpleSplit(a.text, "Helvetica", 10, wrap)]
        main.append(("Helvetica", ""))
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    pdf.setTitle("CV")
    pdf.setAuthor("fictional")
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(left_x, height - 35, facts.name)
    step = 14
    for i in range(max(len(side), len(main))):
        y = top - i * step
        for x, column in ((left_x, side), (right_x, main)):
            if i < len(column) and column[i][1]:
                pdf.setFont(column[i][0], 10)
                pdf.drawString(x, y, column[i][1])
    pdf.showPage()
    pdf.save()


def _write_report(report: Assignment, path: Path, facts: CVFacts) -> None:
    """A past report: a title, a date line, an executive summary and a body."""
    body = (
        "This report was prepared as an input to the client's programme. It sets out the context, the options "
        "considered and the recommended next steps. The views are the author's own."
    )
    if path.suffix == ".pdf":
        from reportlab.platypus import Paragraph, SimpleDocTemplate

        title, h2, text_style = _pdf_styles()
        story = [Paragraph(html.escape(report.title), title), Paragraph(f"Date: March {report.year}", text_style)]
        story += [Paragraph(f"Author: {html.escape(facts.name)}", text_style)]
        story += [Paragraph("Executive summary", h2), Paragraph(html.escape(report.text), text_style)]
        story += [Paragraph("Introduction", h2), Paragraph(body, text_style)]
        SimpleDocTemplate(str(path), title="report", author="fictional", invariant=1).build(story)
    else:
        lines = [report.title, f"Date: March {report.year}", f"Author: {facts.name}", "", "EXECUTIVE SUMMARY"]
        lines += [report.text, "", "INTRODUCTION", body]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_cv(facts: CVFacts, folder: Path) -> Path:
    """Write one expert's CV (or sub-folder) into ``folder`` in ``facts.layout``; returns its path."""
    path = folder / LAYOUTS[facts.layout].format(slug=facts.slug)
    layout = facts.layout
    if layout in ("txt", "md"):
        _write_text(facts, path, layout)
    elif layout == "html":
        _write_html(facts, path)
    elif layout in ("docx", "docx-table"):
        _write_docx(facts, path, table=layout == "docx-table")
    elif layout in ("pdf", "pdf-table"):
        _write_pdf(facts, path, table=layout == "pdf-table")
    elif layout == "pdf-two-column":
        _write_pdf_two_columns(facts, path)
    elif layout == "folder":
        path.mkdir()
        _write_pdf(facts, path / "cv.pdf", table=False)
        for report, suffix in zip(_reports(facts), (".pdf", ".txt", ".pdf", ".txt"), strict=False):
            _write_report(report, path / f"report-{report.year}{suffix}", facts)
    else:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return path


def write_cvs(folder: Path, experts: tuple[CVFacts, ...] | list[CVFacts] = EXPERTS) -> dict[str, Path]:
    """Write every expert's CV into ``folder``; returns slug -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {facts.slug: write_cv(facts, folder) for facts in experts}


def hand_made_roster(experts: tuple[CVFacts, ...] | list[CVFacts] = EXPERTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The roster and evidence a person would type from the same facts (``expert_id`` = slug)."""
    from gscp_match.tables._vocab import country_region

    rows, evidence = [], []
    for f in experts:
        regions = sorted({r for c in f.country_codes if (r := country_region(c))})
        rows.append(
            {
                "expert_id": f.slug,
                "name": f.name,
                "bio": f.bio,
                "nationality": f.nationality_code,
                "languages": ";".join(f.language_codes),
                "regions": ";".join(regions),
                "countries": ";".join(f.country_codes),
                "themes": ";".join(f.themes),
                "day_rate_usd": "" if f.day_rate_usd is None else f.day_rate_usd,
            }
        )
        for a in f.assignments:
            evidence.append({"expert_id": f.slug, "text": a.text, "title": a.title, "year": a.year, "kind": a.kind})
    return pd.DataFrame(rows), pd.DataFrame(evidence)


def write_bad_inputs(folder: Path) -> dict[str, Path]:
    """Broken files, one per kind of problem; returns problem -> path."""
    from pypdf import PdfWriter
    from reportlab.pdfgen import canvas

    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    # Encrypted: a real one-page CV, then locked with a user password.
    plain = io.BytesIO()
    pdf = canvas.Canvas(plain, invariant=1)
    pdf.drawString(72, 720, "Locked Person (fictional)")
    pdf.save()
    writer = PdfWriter(clone_from=io.BytesIO(plain.getvalue()))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    paths["encrypted"] = folder / "locked-cv.pdf"
    with paths["encrypted"].open("wb") as f:
        writer.write(f)

    # Scanned: the page is a picture (filled shapes), no text layer.
    paths["scanned"] = folder / "scanned-cv.pdf"
    pdf = canvas.Canvas(str(paths["scanned"]), invariant=1)
    for i in range(30):
        pdf.rect(72, 700 - i * 18, 300 + (i * 37) % 150, 9, fill=1, stroke=0)
    pdf.showPage()
    pdf.save()

    paths["corrupt"] = folder / "broken-cv.docx"
    paths["corrupt"].write_bytes(b"PK\x03\x04 this is not a complete zip archive")
    paths["unknown"] = folder / "photo.bmp"
    paths["unknown"].write_bytes(b"BM" + bytes(64))
    paths["empty"] = folder / "empty-cv.txt"
    paths["empty"].write_bytes(b"")
    return paths


def _letters(i: int) -> str:
    """A name-like tag for the ``i``-th copy (names have no digits): 0 -> 'Aa', 27 -> 'Bb'."""
    first, rest = divmod(i, 26)
    tag = chr(ord("a") + rest)
    while first:
        first, digit = divmod(first, 26)
        tag = chr(ord("a") + digit) + tag
    return tag.capitalize() + "a" if len(tag) == 1 else tag.capitalize()


def many_experts(n: int) -> list[CVFacts]:
    """``n`` fictional experts for the benchmark: the base experts cycled through every layout, renamed."""
    layouts = list(LAYOUTS)
    out = []
    for i in range(n):
        base = EXPERTS[i % len(EXPERTS)]
        out.append(
            replace(
                base,
                slug=f"{base.slug}-{i:05d}",
                name=base.name.replace(" (fictional)", f" {_letters(i)} (fictional)"),
                layout=layouts[i % len(layouts)],
            )
        )
    return out
