"""Rosters from the documents experts send: CVs (``.docx``, ``.pdf``, ``.txt``/``.md``, ``.html``) and their reports.

:func:`ingest` reads a folder of CVs into validated ``experts`` and ``evidence`` tables and a review table of what
it could not find. The document readers (python-docx, pdfplumber) are imported only when a file needs them.
"""

from __future__ import annotations

from ._cv import redact
from ._run import DEFAULT_MAX_BYTES, REVIEW_COLUMNS, IngestResult, ingest

__all__ = ["ingest", "IngestResult", "redact", "REVIEW_COLUMNS", "DEFAULT_MAX_BYTES"]
