"""gscp_match.ingestion: rosters from folders of fictional CVs (written by tests/cv_fixtures.py into tmp_path)."""

from __future__ import annotations

import doctest
import importlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cv_fixtures as fx
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gscp_match as gm
from gscp_match.cli import main
from gscp_match.ingestion import REVIEW_COLUMNS, IngestResult, ingest, redact
from gscp_match.scale._store import ProfileStore
from gscp_match.tables._validate import check_references, read_table, validate_table

FACTS = {f.slug: f for f in fx.EXPERTS}


@pytest.fixture(scope="module")
def cv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cvs")
    fx.write_cvs(folder)
    return folder


@pytest.fixture(scope="module")
def ingested(cv_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> IngestResult:
    return ingest(cv_folder, out=tmp_path_factory.mktemp("roster"), show_progress=False)


@pytest.fixture(scope="module")
def hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    experts, evidence = fx.hand_made_roster()
    return validate_table(experts, "experts"), validate_table(evidence, "evidence")


def _expert(result: IngestResult, slug: str) -> pd.Series:
    rows = result.experts[result.experts["expert_id"] == slug]
    assert len(rows) == 1, f"{slug}: {len(rows)} rows"
    return rows.iloc[0]


def test_fixtures_cover_every_layout() -> None:
    assert {f.layout for f in fx.EXPERTS} == set(fx.LAYOUTS)
    assert all("(fictional)" in f.name for f in fx.EXPERTS)


@pytest.mark.parametrize("slug", sorted(FACTS))
def test_every_assignment_entry_is_recovered(ingested: IngestResult, slug: str) -> None:
    facts = FACTS[slug]
    rows = ingested.evidence[ingested.evidence["expert_id"] == slug]
    got = sorted(zip(rows["title"], rows["year"].astype(int), rows["text"], rows["kind"], strict=True))
    want = sorted((a.title, a.year, a.text, a.kind) for a in facts.assignments)
    assert got == want


@pytest.mark.parametrize("slug", sorted(FACTS))
def test_every_stated_language_and_country_is_recovered(ingested: IngestResult, slug: str) -> None:
    facts, row = FACTS[slug], _expert(ingested, slug)
    assert set(row["languages"]) == set(facts.language_codes)
    assert set(row["countries"]) == set(facts.country_codes)
    assert row["nationality"] == facts.nationality_code


@pytest.mark.parametrize("slug", sorted(FACTS))
def test_name_bio_rate_and_themes_are_recovered(ingested: IngestResult, slug: str) -> None:
    facts, row = FACTS[slug], _expert(ingested, slug)
    assert row["name"] == facts.name
    assert row["bio"] == facts.bio
    if facts.day_rate_usd is None:
        assert pd.isna(row["day_rate_usd"])
        assert ((ingested.review["expert_id"] == slug) & (ingested.review["field"] == "day_rate_usd")).any()
    else:
        assert row["day_rate_usd"] == facts.day_rate_usd
    assert set(row["themes"]) == set(facts.themes)


def test_written_roster_passes_validate(ingested: IngestResult, capsys: pytest.CaptureFixture[str]) -> None:
    experts_path, evidence_path, review_path = ingested.written
    assert [p.name for p in ingested.written] == ["experts.csv", "evidence.csv", "ingest_review.csv"]
    experts = read_table(experts_path, "experts")
    check_references(experts=experts, evidence=read_table(evidence_path, "evidence"))
    assert main(["validate", str(experts_path), "--kind", "experts"]) == 0
    assert main(["validate", str(evidence_path), "--kind", "evidence", "--experts", str(experts_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"ok: {len(FACTS)} rows", f"ok: {len(ingested.evidence)} rows"]
    review = pd.read_csv(review_path, dtype=str, keep_default_na=False)
    assert tuple(review.columns) == REVIEW_COLUMNS
    assert experts["source"].tolist() == sorted(experts["source"].tolist())  # sorted by id = by file name here


def _demo_requests() -> pd.DataFrame:
    # The demo round excludes a demo expert (SX0075) that is not in this roster: an unknown id is an error.
    return gm.load_demo().requests.drop(columns=["exclude_experts"])


def _top3(matcher: gm.Matcher, requests: pd.DataFrame) -> dict[str, list[str]]:
    shortlist = matcher.shortlist(requests, k=3, k_cases=0).experts
    return {rid: group.sort_values("rank")["expert_id"].tolist() for rid, group in shortlist.groupby("request_id")}


def test_ingested_roster_shortlists_like_the_hand_made_one(ingested: IngestResult, hand_made) -> None:
    requests = _demo_requests()
    experts, evidence = hand_made
    by_hand = _top3(gm.Matcher(embedder="hashing", cache=None).fit(experts, evidence=evidence), requests)
    by_ingest = _top3(
        gm.Matcher(embedder="hashing", cache=None).fit(ingested.experts, evidence=ingested.evidence), requests
    )
    assert by_ingest == by_hand
    assert sum(len(v) == 3 for v in by_hand.values()) >= 6  # the comparison is not between empty shortlists


@pytest.mark.model
def test_ingested_roster_shortlists_like_the_hand_made_one_real_model(
    ingested: IngestResult,
    hand_made,
    real_embedder,
    tmp_path: Path,
) -> None:
    requests = _demo_requests()
    experts, evidence = hand_made
    # One cache for both: the case catalog (and any text both rosters share) is encoded once.
    cache = tmp_path / "cache"
    by_hand = _top3(gm.Matcher(embedder=real_embedder, cache=cache).fit(experts, evidence=evidence), requests)
    by_ingest = _top3(
        gm.Matcher(embedder=real_embedder, cache=cache).fit(ingested.experts, evidence=ingested.evidence), requests
    )
    assert by_ingest == by_hand
    # The text signal works: the ITS requests go to the ITS engineer, the bus requests to the bus planner.
    assert by_hand["DEMO-002"][0] == "batbold-tsetseg"
    assert "kim-ara" in by_hand["DEMO-008"]


# ---------------------------------------------------------------------------------------------------------------
# Bad input: one line each, the rest ingested, nothing half-written


def test_bad_files_are_reported_one_line_each_and_the_rest_ingested(tmp_path: Path) -> None:
    folder = tmp_path / "cvs"
    bad = fx.write_bad_inputs(folder)
    fx.write_cv(FACTS["kim-ara"], folder)
    fx.write_cv(FACTS["jean-mbeki"], folder)
    damaged = folder / "damaged-zip.docx"
    with zipfile.ZipFile(damaged, "w") as z:  # a real zip, but not a Word package
        z.writestr("hello.txt", "not a document")
    result = ingest(folder, out=tmp_path / "out", show_progress=False)
    assert sorted(result.experts["expert_id"]) == ["jean-mbeki", "kim-ara"]
    file_rows = result.review[result.review["field"] == "file"]
    reported = dict(zip(file_rows["file"], file_rows["note"], strict=True))
    assert sorted(reported) == sorted([p.name for p in bad.values()] + [damaged.name])
    assert "encrypted" in reported["locked-cv.pdf"]
    assert "scanned" in reported["scanned-cv.pdf"]
    assert "not a valid .docx" in reported["broken-cv.docx"]
    assert "not a valid .docx" in reported["damaged-zip.docx"]
    assert "unknown file type '.bmp'" in reported["photo.bmp"]
    assert "empty" in reported["empty-cv.txt"]
    assert len(result.problems) == len(reported)
    assert sorted(line.split(":")[0] for line in result.problems) == sorted(reported)


def test_a_file_over_the_size_limit_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "cvs"
    folder.mkdir()
    fx.write_cv(FACTS["jean-mbeki"], folder)
    big = folder / "big-cv.txt"
    big.write_text("Big Person (fictional)\n\nPROFILE\n" + "Urban planner. " * 400, encoding="utf-8")
    limit = (folder / "jean-mbeki.txt").stat().st_size + 10
    assert big.stat().st_size > limit
    result = ingest(folder, max_bytes=limit, show_progress=False)
    assert result.experts["expert_id"].tolist() == ["jean-mbeki"]
    assert len(result.problems) == 1 and result.problems[0].startswith("big-cv.txt: is 6.")
    assert result.problems[0].endswith(f" kB, over the {limit / 1e3:.1f} kB limit; not read")


def test_cli_prints_one_line_per_bad_file_without_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "cvs"
    bad = fx.write_bad_inputs(folder)
    fx.write_cv(FACTS["rahul-menon"], folder)
    env = {**os.environ, "GSCP_MATCH_QUIET": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "gscp_match.cli", "ingest", str(folder), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert sorted(line.split(": ")[1] for line in lines) == sorted(p.name for p in bad.values())
    assert "wrote" in done.stdout and "1 experts" in done.stdout


def test_nothing_half_written_when_a_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cvs"
    fx.write_cvs(folder, [FACTS["jean-mbeki"], FACTS["rahul-menon"]])
    out = tmp_path / "out"
    from gscp_match.ingestion import _run

    real = _run.write_table

    def failing(frame: pd.DataFrame, path: Path) -> Path:
        if "ingest_review" in path.name:
            raise OSError("disk full")
        return real(frame, path)

    monkeypatch.setattr(_run, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        ingest(folder, out=out, show_progress=False)
    assert list(out.iterdir()) == []  # neither experts.csv nor evidence.csv, and no temporary file


def test_same_id_from_two_files_is_reported_not_guessed(tmp_path: Path) -> None:
    folder = tmp_path / "cvs"
    folder.mkdir()
    fx.write_cv(FACTS["rahul-menon"], folder)
    (folder / "rahul-menon.txt").write_text((folder / "rahul-menon.md").read_text(), encoding="utf-8")
    fx.write_cv(FACTS["jean-mbeki"], folder)
    result = ingest(folder, show_progress=False)
    assert result.experts["expert_id"].tolist() == ["jean-mbeki"]
    assert len(result.problems) == 2 and all("same expert_id 'rahul-menon'" in p for p in result.problems)


def test_folder_without_a_recognizable_cv_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "cvs" / "someone"
    folder.mkdir(parents=True)
    (folder / "notes-a.txt").write_text("A\n", encoding="utf-8")
    (folder / "notes-b.txt").write_text("B\n", encoding="utf-8")
    (folder.parent / "photos").mkdir()
    (folder.parent / "photos" / "me.jpg").write_bytes(b"\xff\xd8\xff")
    result = ingest(folder.parent, show_progress=False)
    assert result.problems == (
        "photos: holds no .docx, .pdf, .txt, .md or .html document",
        "someone: cannot tell which file is the CV; put 'cv' in its name",
    )
    assert len(result.experts) == 0 and len(result.evidence) == 0


def test_not_a_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(gm.InputError, match="folder not found"):
        ingest(tmp_path / "missing")
    assert main(["ingest", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 1


# ---------------------------------------------------------------------------------------------------------------
# Fields that are not found or not sure: left empty, listed in the review


def _txt_cv(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_values_are_left_out_and_listed(tmp_path: Path) -> None:
    _txt_cv(
        tmp_path / "cvs",
        "ana-ruiz.txt",
        "Ana Ruiz (fictional)\nNationality: Atlantean\nLanguages: English (fluent), Elvish\n"
        "Countries of work experience: Peru, Narnia\nDaily rate: EUR 500\n\nPROFILE\n"
        "Water utility engineer who reduced non-revenue water with smart water meters in Andean cities.\n",
    )
    result = ingest(tmp_path / "cvs", show_progress=False)
    row = _expert(result, "ana-ruiz")
    assert row["languages"] == ("en",) and row["countries"] == ("PE",)
    assert row["nationality"] == "" and pd.isna(row["day_rate_usd"])
    review = {(r.field, r.found): r for r in result.review.itertuples()}
    assert review[("nationality", "Atlantean")].confidence == "low"
    assert ("languages", "Elvish") in review and ("countries", "Narnia") in review
    assert "not converted" in review[("day_rate_usd", "EUR 500")].note
    assert review[("evidence", "")].confidence == "none"  # no assignments section


def test_review_quotes_no_more_than_a_field_needs(ingested: IngestResult, tmp_path: Path) -> None:
    _txt_cv(
        tmp_path / "cvs",
        "no-profile.txt",
        "Pat Doe (fictional)\nE-mail: pat.doe@example.org\n\nI have worked for twenty years on smart water "
        "management and non-revenue water reduction for utilities across Africa, contact pat.doe@example.org.\n\n"
        "I have worked for twenty years on solid waste and air quality programmes in many cities of the region.\n",
    )
    result = ingest(tmp_path / "cvs", show_progress=False)
    row = _expert(result, "no-profile")
    assert row["bio"].startswith("I have worked for twenty years on solid waste")  # prose without contact data
    for review in (ingested.review, result.review):
        assert review["found"].str.len().max() <= 60
        assert not review["found"].str.contains("@").any()
    bio_row = result.review[result.review["field"] == "bio"].iloc[0]
    assert bio_row["confidence"] == "low" and bio_row["found"].endswith("...")


# ---------------------------------------------------------------------------------------------------------------
# Privacy: --redact


@pytest.mark.parametrize(
    "contact", ["+82-10-1234-5678", "(202) 555-0143", "name@example.org", "+212 6 12 34 56 78", "+91 98765 43210"]
)
def test_redact_drops_contacts_in_many_formats(contact: str) -> None:
    text = f"Reach me at {contact} for the 2019-2021 programme (USD 1,200, 40 intersections, 2027-03-01)."
    cleaned = redact(text)
    assert contact not in cleaned
    assert cleaned.count("[phone]") + cleaned.count("[e-mail]") == 1
    assert "2019-2021" in cleaned and "USD 1,200" in cleaned and "40 intersections" in cleaned
    assert "2027-03-01" in cleaned


@settings(max_examples=60, deadline=None)
@given(
    country=st.integers(1, 999),
    groups=st.lists(st.integers(100, 99999), min_size=2, max_size=4),
    sep=st.sampled_from(["-", " ", "."]),
)
def test_redact_drops_international_numbers(country: int, groups: list[int], sep: str) -> None:
    number = f"+{country}{sep}" + sep.join(str(g) for g in groups)
    assume(sum(ch.isdigit() for ch in number) <= 15)  # E.164: at most 15 digits
    assert redact(f"Phone: {number}.") == "Phone: [phone]."


def test_redact_option_changes_the_stored_texts(tmp_path: Path) -> None:
    text = (
        "Lee Ha-eun (fictional)\n\nPROFILE\nBus planner; call +82-10-1234-5678 or (202) 555-0143, or write to "
        "name@example.org.\n\nASSIGNMENTS\n2020 | Bus reform for Ulaanbaatar\nLocation: Mongolia\n"
        "Reorganized bus routes; report at name@example.org.\n"
    )
    _txt_cv(tmp_path / "cvs", "lee-ha-eun.txt", text)
    kept = ingest(tmp_path / "cvs", show_progress=False)
    dropped = ingest(tmp_path / "cvs", redact_contacts=True, show_progress=False, out=tmp_path / "out")
    assert "name@example.org" in kept.experts["bio"].iat[0] and "+82-10-1234-5678" in kept.experts["bio"].iat[0]
    assert dropped.experts["bio"].iat[0] == "Bus planner; call [phone] or [phone], or write to [e-mail]."
    assert dropped.evidence["text"].iat[0] == "Reorganized bus routes; report at [e-mail]."
    written = "".join(p.read_text(encoding="utf-8") for p in dropped.written)
    for contact in ("+82-10-1234-5678", "(202) 555-0143", "name@example.org"):
        assert contact not in written


# ---------------------------------------------------------------------------------------------------------------
# Stable ids, deterministic extraction, re-runs


def test_rerun_after_adding_a_cv_only_adds_rows_and_encodes_only_it(tmp_path: Path) -> None:
    folder = tmp_path / "cvs"
    first = [f for f in fx.EXPERTS if f.slug != "lee-minseo"]
    fx.write_cvs(folder, first)
    before = ingest(folder, show_progress=False)
    store = ProfileStore(tmp_path / "store")
    assert store.update(before.experts, evidence=before.evidence, embedder="hashing").encoded == len(first)
    fx.write_cv(FACTS["lee-minseo"], folder)
    after = ingest(folder, show_progress=False)
    old = after.experts[after.experts["expert_id"] != "lee-minseo"].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, before.experts.reset_index(drop=True))
    old_evidence = after.evidence[after.evidence["expert_id"] != "lee-minseo"].reset_index(drop=True)
    pd.testing.assert_frame_equal(old_evidence, before.evidence.reset_index(drop=True))
    update = store.update(after.experts, evidence=after.evidence, embedder="hashing")
    assert (update.encoded, update.profiles) == (1, len(fx.EXPERTS))


def test_ingest_is_deterministic_byte_for_byte(cv_folder: Path, tmp_path: Path) -> None:
    one = ingest(cv_folder, out=tmp_path / "one", show_progress=False, n_jobs=2)
    two = ingest(cv_folder, out=tmp_path / "two", show_progress=False)
    for a, b in zip(one.written, two.written, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_ids_from_a_mapping_table(tmp_path: Path) -> None:
    folder = tmp_path / "cvs"
    fx.write_cvs(folder, [FACTS["jean-mbeki"], FACTS["park-jiwon"]])
    ids = tmp_path / "ids.csv"
    ids.write_text("file,expert_id\njean-mbeki.txt,E017\npark-jiwon,E002\n", encoding="utf-8")
    result = ingest(folder, ids=ids, show_progress=False)
    assert result.experts["expert_id"].tolist() == ["E002", "E017"]
    assert set(result.evidence["expert_id"]) == {"E002", "E017"}
    ids.write_text("file,expert_id\njean-mbeki.txt,E017\njean-mbeki.txt,E018\n", encoding="utf-8")
    with pytest.raises(gm.InputError, match=r"ids.csv row 3, column 'file': 'jean-mbeki.txt' appears twice"):
        ingest(folder, ids=ids, show_progress=False)


def test_a_subfolder_is_one_expert_with_its_reports(ingested: IngestResult) -> None:
    rows = ingested.evidence[ingested.evidence["expert_id"] == "park-jiwon"]
    assert rows["source"].tolist() == [
        "park-jiwon/cv.pdf",
        "park-jiwon/cv.pdf",
        "park-jiwon/report-2019.pdf",
        "park-jiwon/report-2022.txt",
    ]
    assert _expert(ingested, "park-jiwon")["source"] == "park-jiwon/cv.pdf"


def test_docx_text_boxes_are_read_once(tmp_path: Path) -> None:
    import docx
    from docx.oxml import parse_xml

    ns = (
        'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"'
    )
    box = "<w:txbxContent><w:p><w:r><w:t>Languages: Korean, Spanish</w:t></w:r></w:p></w:txbxContent>"
    # As Word writes a text box: a DrawingML copy and a VML fallback copy of the same content.
    run = (
        f'<w:r {ns}><mc:AlternateContent><mc:Choice Requires="wps"><wps:txbx>{box}</wps:txbx></mc:Choice>'
        f"<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r>"
    )
    document = docx.Document()
    document.add_paragraph("Mina Cho (fictional)")
    sidebar = document.add_paragraph("Contact ")
    sidebar._p.append(parse_xml(run))
    sidebar.add_run("details")
    document.add_heading("Profile", level=1)
    document.add_paragraph("Housing policy adviser for affordable housing supply and housing finance in cities.")
    (tmp_path / "cvs").mkdir()
    document.save(tmp_path / "cvs" / "mina-cho.docx")
    from gscp_match.ingestion._documents import read_document

    texts = [b.text for b in read_document(tmp_path / "cvs" / "mina-cho.docx")]
    assert texts.count("Languages: Korean, Spanish") == 1 and "Contact details" in texts
    row = _expert(ingest(tmp_path / "cvs", show_progress=False), "mina-cho")
    assert row["languages"] == ("ko", "es") and row["themes"] == ("housing",)


def test_language_table_and_places_in_entry_titles(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Omar Said (fictional)")
    table = document.add_table(rows=0, cols=4)
    for row in (("Language", "Speaking", "Reading", "Writing"), ("Arabic", "native", "native", "native")):
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    for cell, text in zip(table.add_row().cells, ("French", "good", "good", "fair"), strict=True):
        cell.text = text
    document.add_heading("Summary", level=1)
    document.add_paragraph("Water engineer working on non-revenue water and smart water meters for utilities.")
    document.add_heading("Professional experience", level=1)
    document.add_paragraph("2015-2018 | Non-revenue water programme, Amman, Jordan")
    document.add_paragraph("Cut non-revenue water with district metering.")
    document.add_paragraph("Smart water meters for Tunis utility (2021)")
    document.add_paragraph("Rolled out smart water meters.")
    (tmp_path / "cvs").mkdir()
    document.save(tmp_path / "cvs" / "omar-said.docx")
    result = ingest(tmp_path / "cvs", show_progress=False)
    row = _expert(result, "omar-said")
    assert row["languages"] == ("ar", "fr") and row["countries"] == ("JO",)
    assert result.evidence[["title", "year"]].values.tolist() == [
        ["Non-revenue water programme, Amman, Jordan", 2015],
        ["Smart water meters for Tunis utility", 2021],
    ]
    assert row["themes"] == ("water",)


def test_markdown_tables_and_emphasis(tmp_path: Path) -> None:
    _txt_cv(
        tmp_path / "cvs",
        "noa-levi.md",
        "# Noa Levi (fictional)\n\n**Languages:** Hebrew, English\n\n## Summary\n\nEnergy efficiency adviser for "
        "smart grids and district energy in cities.\n\n## Experience\n\n| Year | Assignment | Country | Description |\n"
        "|---|:---|---|---|\n| 2018 | Smart grid pilot | Georgia | Set up a smart grid pilot. |\n"
        "| 2022 | District energy plan | Armenia | Planned district energy for two districts. |\n\n"
        "## Publications\n\n- **Energy efficiency in cities** (2021). A guidance note.\n",
    )
    result = ingest(tmp_path / "cvs", show_progress=False)
    row = _expert(result, "noa-levi")
    assert row["languages"] == ("he", "en") and row["countries"] == ("GE", "AM")
    assert result.evidence[["title", "year", "kind"]].values.tolist() == [
        ["Smart grid pilot", 2018, "engagement"],
        ["District energy plan", 2022, "engagement"],
        ["Energy efficiency in cities", 2021, "publication"],
    ]
    # A plain .txt file is not markdown: '#' and '|' are text there.
    assert [b.text for b in _read("x.txt", "# not a heading", tmp_path)] == ["# not a heading"]


def _read(name: str, text: str, folder: Path):
    from gscp_match.ingestion._documents import read_document

    path = folder / name
    path.write_text(text, encoding="utf-8")
    return read_document(path)


def test_public_api_and_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert gm.ingest is ingest and "ingest" in gm.__all__
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    assert "gscp-match ingest cvs/ --out myround/" in capsys.readouterr().out


def test_importing_the_library_loads_no_document_reader() -> None:
    code = (
        "import sys, gscp_match; "
        "print(sorted(m for m in ('docx', 'pdfplumber', 'pdfminer', 'pypdf') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "name", ["gscp_match.ingestion._cv", "gscp_match.ingestion._documents", "gscp_match.ingestion._run"]
)
def test_doctests_of_the_ingest_modules(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
