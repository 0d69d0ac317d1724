"""Tables -> texts -> vectors: passages, documents, embedders, the embedding cache, TF-IDF and languages.

The embedders share one small protocol (``encode(texts) -> (n, dim) float32``, unit rows); ``load_embedder``
names the packaged ones. Models are built locally from packaged weights, never downloaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gscp_match._lazy import attach

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gscp_match.text._cache import EmbeddingCache
    from gscp_match.text._e5 import E5Embedder
    from gscp_match.text._embed import Embedder, HashingEmbedder, SentenceTransformerEmbedder
    from gscp_match.text._language import LANGUAGES, detect_languages
    from gscp_match.text._load import EMBEDDER_NAMES, load_embedder
    from gscp_match.text._onnx import OnnxEmbedder
    from gscp_match.text._passages import split_passages
    from gscp_match.text._similarity import similarity

__all__ = [
    "similarity",
    "Embedder",
    "HashingEmbedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "EMBEDDER_NAMES",
    "OnnxEmbedder",
    "E5Embedder",
    "EmbeddingCache",
    "LANGUAGES",
    "detect_languages",
    "split_passages",
]

_EXPORTS = {
    "similarity": "._similarity",
    "Embedder": "._embed",
    "HashingEmbedder": "._embed",
    "SentenceTransformerEmbedder": "._embed",
    "load_embedder": "._load",
    "EMBEDDER_NAMES": "._load",
    "OnnxEmbedder": "._onnx",
    "E5Embedder": "._e5",
    "EmbeddingCache": "._cache",
    "LANGUAGES": "._language",
    "detect_languages": "._language",
    "split_passages": "._passages",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
