"""Ingest speed: N fictional CVs (every layout of tests/cv_fixtures.py) -> roster, CVs per second; and the document
libraries compared on the same fixtures (correctness and time per file).

    python benchmarks/bench_ingest.py              # 1,000 CVs, 1 and 2 processes, and the library comparison
    python benchmarks/bench_ingest.py --quick      # 45 CVs (CI smoke test)
    python benchmarks/bench_ingest.py --n 300 --jobs 2 --no-compare

Correctness of a reader: the share of the facts written into the file (bio, each assignment title and text) that
come out as one contiguous run of text, after collapsing white space. A reader that follows the content stream of a
two-column page interleaves the columns and loses the bio; one that reads a table cell by cell loses the rows.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import cv_fixtures as fx

from gscp_match.ingestion import ingest
from gscp_match.ingestion._documents import read_document


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _facts_strings(facts: fx.CVFacts) -> list[str]:
    return [facts.bio] + [s for a in facts.assignments if a.kind != "report" for s in (a.title, a.text)]


def _recovered(text: str, facts: fx.CVFacts) -> float:
    flat = _norm(text)
    wanted = _facts_strings(facts)
    return sum(_norm(s) in flat for s in wanted) / len(wanted)


def _entries_kept(text: str, facts: fx.CVFacts) -> float:
    """Share of assignments whose year is followed by its title, then its own text before another title."""
    flat = _norm(text)
    entries = [a for a in facts.assignments if a.kind != "report"]
    kept = 0
    for a in entries:
        dated = re.search(
            rf"{a.year}.{{0,5}}{re.escape(_norm(a.title))}|{re.escape(_norm(a.title))}.{{0,3}}{a.year}", flat
        )
        start = flat.find(_norm(a.title)) if dated else -1
        end = flat.find(_norm(a.text), start + 1) if start >= 0 else -1
        others = [flat.find(_norm(b.title), start + 1) for b in entries if b is not a]
        kept += end > start >= 0 and not any(start < o < end for o in others)
    return kept / len(entries)


def _ours(path: Path) -> str:
    lines = []
    for block in read_document(path):
        lines += [" ".join(row) for row in block.rows] if block.rows else [block.text]
    # Wrapped lines are joined by the CV parser; here: paragraph lines joined with spaces.
    return "\n".join(lines)


def _pypdf(path: Path) -> str:
    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def _pdfminer(path: Path) -> str:
    from pdfminer.high_level import extract_text

    return extract_text(str(path))


def _pdfplumber_plain(path: Path) -> str:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def _docx2python(path: Path) -> str:
    from docx2python import docx2python

    with docx2python(str(path)) as document:
        return document.text


def _python_docx_paragraphs(path: Path) -> str:
    import docx

    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)


def _compare(folder: Path) -> None:
    experts = [f for f in fx.EXPERTS if f.layout != "folder"]
    written = fx.write_cvs(folder / "compare", experts)
    peers = {
        "pdf": [
            ("pdfplumber + pdfminer layout (ours)", _ours),
            ("pdfplumber extract_text", _pdfplumber_plain),
            ("pdfminer.six extract_text", _pdfminer),
            ("pypdf extract_text", _pypdf),
        ],
        "docx": [
            ("python-docx, body in order (ours)", _ours),
            ("python-docx .paragraphs", _python_docx_paragraphs),
            ("docx2python .text", _docx2python),
        ],
    }
    print("\nreader comparison on the fixture CVs (recovered: facts found as contiguous text; entries: assignments")
    print("whose year is next to its title, followed by its own text before another title)")
    print(f"{'format':6} {'reader':38} {'layout':16} {'recovered':>9} {'entries':>8} {'ms/file':>8}")
    for suffix, readers in peers.items():
        for facts in experts:
            path = written[facts.slug]
            if path.suffix != f".{suffix}":
                continue
            for label, reader in readers:
                reader(path)  # warm imports
                start = time.perf_counter()
                repeats = 5
                for _ in range(repeats):
                    text = reader(path)
                ms = (time.perf_counter() - start) / repeats * 1000
                recovered, kept = _recovered(text, facts), _entries_kept(text, facts)
                print(f"{suffix:6} {label:38} {facts.layout:16} {recovered:9.0%} {kept:8.0%} {ms:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="CVs to generate and ingest (default 1000)")
    parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2], help="processes to time (default: 1 2)")
    parser.add_argument("--quick", action="store_true", help="45 CVs, one run with 1 process")
    parser.add_argument("--no-compare", action="store_true", help="skip the library comparison")
    args = parser.parse_args()
    n = 45 if args.quick else args.n
    jobs = [1] if args.quick else args.jobs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cvs"
        start = time.perf_counter()
        fx.write_cvs(folder, fx.many_experts(n))
        print(f"generated {n} fictional CVs in {time.perf_counter() - start:.1f} s ({folder})")
        for n_jobs in jobs:
            start = time.perf_counter()
            result = ingest(folder, out=Path(tmp) / f"roster-{n_jobs}", n_jobs=n_jobs, show_progress=True)
            seconds = time.perf_counter() - start
            print(
                f"ingest n={n} jobs={n_jobs}: {seconds:.1f} s, {n / seconds:.1f} CVs/s; "
                f"{len(result.experts)} experts, {len(result.evidence)} evidence rows, "
                f"{len(result.review)} review rows, {len(result.problems)} files not read"
            )
            assert len(result.experts) == n and not result.problems
        if not args.no_compare:
            _compare(Path(tmp))


if __name__ == "__main__":
    main()
