"""Regenerate the screenshots of the demo report in docs/: ``report-390.png`` (a phone) and ``report-1400.png``.

Runs ``gscp-match demo`` into a temporary folder, then photographs ``report.html`` with headless Chromium (Debian's
``chromium``). Headless Chromium will not make its window narrower than 500 px, so the page is shown in a frame of
the width wanted and the picture cropped to it. Run from the repository root::

    python docs/make_screenshots.py [--embedder hashing] [--request DEMO-011]

``--request`` also photographs that request's section at 390 px (``report-390-request.png``).
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SHOTS = {390: 2200, 1400: 1300}  # width -> height of the picture, px
QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def _browser() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        sys.exit("chromium is not installed (Debian: apt-get install chromium)")
    return path


def _shoot(browser: str, report: Path, width: int, height: int, out: Path, work: Path, *, anchor: str = "") -> None:
    from PIL import Image

    frame = work / f"frame-{width}{anchor}.html"
    source = html.escape(report.read_text(encoding="utf-8"), quote=True)
    # A same-origin frame: the harness may scroll it to an anchor (the report itself runs no script).
    scroll = (
        f"<script>document.getElementById('r').addEventListener('load', e => "
        f"e.target.contentDocument.getElementById('{anchor}').scrollIntoView());</script>"
        if anchor
        else ""
    )
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="r" style="width:{width}px;height:{height}px;'
        f'border:0" srcdoc="{source}"></iframe>{scroll}</body></html>',
        encoding="utf-8",
    )
    raw = work / f"raw-{width}{anchor}.png"
    command = [browser, "--headless", "--disable-gpu", *QUIET, f"--user-data-dir={work / 'profile'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")
    command += ["--hide-scrollbars", f"--window-size={max(width, 500)},{height}", f"--screenshot={raw}"]
    subprocess.run([*command, frame.as_uri()], check=True, capture_output=True, timeout=180)
    with Image.open(raw) as picture:
        picture.crop((0, 0, width, height)).convert("RGB").save(out, optimize=True)
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", help="passed to gscp-match demo (default: the bundled model)")
    parser.add_argument("--request", default="DEMO-011", help="a request to photograph at 390 px too")
    args = parser.parse_args(argv)
    browser = _browser()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        demo = [sys.executable, "-m", "gscp_match.cli", "demo", "--quiet", "--out", str(work / "demo")]
        if args.embedder:
            demo += ["--embedder", args.embedder]
        subprocess.run(demo, check=True)
        report = work / "demo" / "report.html"
        for width, height in SHOTS.items():
            _shoot(browser, report, width, height, DOCS / f"report-{width}.png", work)
        if args.request:
            number = int(args.request.rsplit("-", 1)[-1])
            _shoot(browser, report, 390, 2200, DOCS / "report-390-request.png", work, anchor=f"request-{number}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
