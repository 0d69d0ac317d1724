"""Documents -> blocks of text in reading order: paragraphs (lines) and tables (rows of cells).

One reader per format: ``.docx`` (python-docx, body paragraphs and tables in document order, text boxes included),
``.pdf`` (pdfplumber on pdfminer.six's layout analysis: text boxes in reading order, so a two-column page reads
column by column, and ruled tables as rows), ``.html``/``.htm`` (the standard library's ``html.parser``),
``.txt``/``.md`` (UTF-8, or Latin-1 when it is not UTF-8). Every failure is a :class:`DocumentError` whose message
says what is wrong with the file in a few words (never its text). The heavy libraries are imported on first use.

Extraction is deterministic: the same file gives the same blocks, so the texts built from them (and their cache
keys) do not change between runs.
"""

from __future__ import annotations

import html.parser
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "DocumentError", "read_document", "SUFFIXES"]

#: File suffixes read, by reader.
SUFFIXES: dict[str, tuple[str, ...]] = {
    "docx": (".docx",),
    "pdf": (".pdf",),
    "html": (".html", ".htm"),
    "text": (".txt", ".md", ".markdown", ".text"),
}

_KNOWN_BUT_UNREAD = {
    ".doc": "old Word .doc format; save it as .docx",
    ".odt": "OpenDocument text; save it as .docx",
    ".rtf": "RTF; save it as .docx",
    ".pages": "Apple Pages; export it as .docx or .pdf",
}


class DocumentError(Exception):
    """A file that cannot be read as a document; the message is short and holds none of the file's text."""


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph (``text``, one logical line) or a table (``rows``); ``heading`` when the format says so."""

    text: str = ""
    rows: tuple[tuple[str, ...], ...] = field(default=())
    heading: bool = False

    @property
    def is_table(self) -> bool:
        return bool(self.rows)


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def clean(text: str) -> str:
    """One line: control characters dropped, runs of spaces collapsed, stripped.

    >>> clean("  Bus\\u00a0reform \\t plan ")
    'Bus reform plan'
    """
    text = text.replace("\u00ad", "").replace("\ufeff", "")
    text = "".join(ch for ch in text if ch >= " " or ch in "\t\n")
    return _SPACES.sub(" ", text).strip()


def kind_of(path: Path) -> str | None:
    """The reader for ``path``'s suffix (``docx``, ``pdf``, ``html``, ``text``), or None."""
    suffix = path.suffix.lower()
    for kind, suffixes in SUFFIXES.items():
        if suffix in suffixes:
            return kind
    return None


def read_document(path: Path) -> list[Block]:
    """The blocks of one document, in reading order.

    Raises
    ------
    DocumentError
        Unknown type, empty, encrypted, no text layer (scanned), or not a valid file of its type.
    """
    kind = kind_of(path)
    if kind is None:
        suffix = path.suffix.lower()
        if suffix in _KNOWN_BUT_UNREAD:
            raise DocumentError(_KNOWN_BUT_UNREAD[suffix])
        allowed = ", ".join(s for group in SUFFIXES.values() for s in group)
        raise DocumentError(f"unknown file type {suffix or '(no extension)'!r}; expected one of {allowed}")
    if path.stat().st_size == 0:
        raise DocumentError("the file is empty")
    blocks = _READERS[kind](path)
    if not any(b.text or b.rows for b in blocks):
        if kind == "pdf":
            raise DocumentError("no text layer (a scanned or image-only PDF?); run OCR on it or send the .docx")
        raise DocumentError("no text found")
    return blocks


# ---------------------------------------------------------------------------------------------------------------
# .txt / .md


_MD_EMPHASIS = re.compile(r"\*\*|__|`")
_MD_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def _read_text(path: Path) -> list[Block]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" in text:
        raise DocumentError("is not a text file (binary content)")
    markdown = path.suffix.lower() in (".md", ".markdown")
    blocks: list[Block] = []
    table: list[tuple[str, ...]] = []
    for raw in text.splitlines():
        line = clean(raw)
        if markdown:
            line = _MD_EMPHASIS.sub("", line)
            if line.startswith("|") and line.endswith("|") and len(line) > 1:
                if not _MD_TABLE_RULE.match(line):
                    table.append(tuple(clean(cell) for cell in line[1:-1].split("|")))
                continue
            if table:
                blocks.append(Block(rows=tuple(table)))
                table = []
        heading = markdown and line.startswith("#")
        if heading:
            line = line.lstrip("#").strip()
        blocks.append(Block(text=line, heading=heading))
    if table:
        blocks.append(Block(rows=tuple(table)))
    return blocks


# ---------------------------------------------------------------------------------------------------------------
# .html


class _HTMLBlocks(html.parser.HTMLParser):
    """Paragraph-like elements become blocks; tables become rows; scripts and styles are skipped."""

    _BREAKS = {
        "p",
        "div",
        "li",
        "br",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "ul",
        "ol",
        "dl",
        "title",
    }
    _HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
    _SKIP = {"script", "style", "noscript", "template", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._text: list[str] = []
        self._heading = False
        self._skip = 0
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._depth_table = 0

    def _flush(self) -> None:
        line = clean("".join(self._text))
        if line:
            self.blocks.append(Block(text=line, heading=self._heading))
        self._text, self._heading = [], False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
            return
        if tag == "table":
            self._depth_table += 1
            if self._depth_table == 1:
                self._flush()
                self._table = []
            return
        if self._table is not None:
            if tag == "tr":
                self._table.append([])
            elif tag in ("td", "th"):
                self._cell = []
            elif tag == "br" and self._cell is not None:
                self._cell.append(" ")
            return
        if tag in self._BREAKS:
            self._flush()
            self._heading = tag in self._HEADINGS

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if tag == "table":
            self._depth_table = max(0, self._depth_table - 1)
            if self._depth_table == 0 and self._table is not None:
                rows = tuple(tuple(r) for r in self._table if any(r))
                if rows:
                    self.blocks.append(Block(rows=rows))
                self._table = None
            return
        if self._table is not None:
            if tag in ("td", "th") and self._cell is not None:
                if not self._table:
                    self._table.append([])
                self._table[-1].append(clean("".join(self._cell)))
                self._cell = None
            return
        if tag in self._BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._table is not None:
            if self._cell is not None:
                self._cell.append(data)
            return
        self._text.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _read_html(path: Path) -> list[Block]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    parser = _HTMLBlocks()
    parser.feed(text)
    parser.close()
    return parser.blocks


# ---------------------------------------------------------------------------------------------------------------
# .docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _read_docx(path: Path) -> list[Block]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(path):
        raise DocumentError("is not a valid .docx (not a zip package; damaged, or another format renamed)")
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise DocumentError(f"is not a valid .docx ({type(exc).__name__})") from None
    except Exception as exc:
        raise DocumentError(f"cannot be read as .docx ({type(exc).__name__})") from None
    blocks: list[Block] = []
    for element in document.element.body.iterchildren():
        if element.tag == f"{_W}p":
            blocks.extend(_docx_paragraph(element))
        elif element.tag == f"{_W}tbl":
            rows = _docx_table(element)
            if rows:
                blocks.append(Block(rows=rows))
    return blocks


_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _in_text_box(node, paragraph) -> bool:
    """True when ``node`` sits in a text box (or Word's fallback copy of one) inside ``paragraph``."""
    for ancestor in node.iterancestors():
        if ancestor is paragraph:
            return False
        if ancestor.tag in (f"{_W}txbxContent", _MC_FALLBACK):
            return True
    return False


def _docx_text(paragraph) -> str:
    parts = []
    for node in paragraph.iter(f"{_W}t", f"{_W}tab", f"{_W}br"):
        if _in_text_box(node, paragraph):
            continue  # text-box content is read as its own paragraphs
        parts.append(node.text or "" if node.tag == f"{_W}t" else " ")
    return clean("".join(parts))


def _docx_paragraph(paragraph) -> list[Block]:
    style = paragraph.find(f"{_W}pPr/{_W}pStyle")
    style_name = (style.get(f"{_W}val") or "") if style is not None else ""
    heading = style_name.lower().startswith(("heading", "title"))
    blocks = [Block(text=_docx_text(paragraph), heading=heading)]
    # Word writes a text box twice (DrawingML, and a VML fallback): read the first, skip the fallback.
    for box in paragraph.iter(f"{_W}txbxContent"):
        if any(a.tag == _MC_FALLBACK for a in box.iterancestors()):
            continue
        blocks.extend(Block(text=_docx_text(p)) for p in box.iter(f"{_W}p"))
    return blocks


def _docx_table(table) -> tuple[tuple[str, ...], ...]:
    rows = []
    for tr in table.iter(f"{_W}tr"):
        cells = []
        for tc in tr.iterchildren(f"{_W}tc"):
            cells.append(clean(" ".join(_docx_text(p) for p in tc.iter(f"{_W}p"))))
        if any(cells):
            rows.append(tuple(cells))
    return tuple(rows)


# ---------------------------------------------------------------------------------------------------------------
# .pdf


def _read_pdf(path: Path) -> list[Block]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        pdf = pdfplumber.open(str(path), laparams={})
    except Exception as exc:
        # pdfplumber wraps pdfminer's exception as its first argument.
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise DocumentError("is an encrypted PDF (needs a password); send an unlocked copy") from None
        if isinstance(cause, PDFEncryptionError):
            raise DocumentError("is an encrypted PDF that cannot be opened (unsupported encryption)") from None
        if isinstance(cause, PDFSyntaxError):
            raise DocumentError("is not a valid PDF (damaged, or another format renamed)") from None
        raise DocumentError(f"cannot be read as PDF ({type(cause).__name__})") from None
    blocks: list[Block] = []
    try:
        with pdf:
            for page in pdf.pages:
                blocks.extend(_pdf_page(page))
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"cannot be read as PDF ({type(exc).__name__})") from None
    return blocks


def _inside(box: tuple[float, float, float, float], bbox: tuple[float, float, float, float]) -> bool:
    """Whether the centre of ``box`` lies in ``bbox`` (both ``x0, top, x1, bottom``)."""
    x0, top, x1, bottom = bbox
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return x0 <= cx <= x1 and top <= cy <= bottom


def _pdf_page(page) -> list[Block]:
    from pdfminer.layout import LTCurve, LTTextBoxHorizontal

    layout = page.layout  # pdfminer's LTPage: text boxes in reading order (columns one after the other)
    text_boxes = [obj for obj in layout if isinstance(obj, LTTextBoxHorizontal)]
    # Looking for ruled tables needs pdfplumber's per-character objects (the slow part): only on pages with lines.
    ruled = any(isinstance(obj, LTCurve) for obj in layout)  # LTLine and LTRect are LTCurves
    tables = page.find_tables() if ruled else []
    pending = sorted(tables, key=lambda t: t.bbox[1])
    blocks: list[Block] = []

    def emit_table(table) -> None:
        rows = tuple(
            tuple(clean((cell or "").replace("\n", " ")) for cell in row)
            for row in table.extract()
            if any((cell or "").strip() for cell in row)
        )
        if rows:
            blocks.append(Block(rows=rows))

    height = float(layout.y1)
    for box in text_boxes:
        where = (box.x0, height - box.y1, box.x1, height - box.y0)  # pdfplumber's x0, top, x1, bottom
        owner = next((t for t in tables if _inside(where, t.bbox)), None)
        if owner is not None:
            if owner in pending:
                pending.remove(owner)
                emit_table(owner)
            continue
        while pending and pending[0].bbox[1] < where[1] and pending[0].bbox[0] <= where[0] + 1:
            emit_table(pending.pop(0))
        for line in box.get_text().splitlines():
            blocks.append(Block(text=clean(line)))
        blocks.append(Block())  # a box ends a paragraph
    for table in pending:
        emit_table(table)
    return blocks


_READERS = {"docx": _read_docx, "pdf": _read_pdf, "html": _read_html, "text": _read_text}
