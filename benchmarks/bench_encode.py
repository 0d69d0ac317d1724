"""Encoding throughput: 1,000 synthetic bios, cold (model) and cached (embedding cache), texts per second."""

import tempfile
import time

import numpy as np

from gscp_match.cache import EmbeddingCache, encode_cached
from gscp_match.embed import SentenceTransformerEmbedder
from gscp_match.synthetic import generate_experts

texts = list(generate_experts(1000, seed=5)["bio"])
emb = SentenceTransformerEmbedder(show_progress=False)
emb.encode(["warm"])
cache = EmbeddingCache(tempfile.mkdtemp())
t = time.perf_counter()
encode_cached(emb, texts, cache=cache)
cold = time.perf_counter() - t
t = time.perf_counter()
encode_cached(emb, texts, cache=cache)
warm = time.perf_counter() - t
print(
    f"texts=1000 mean_tokens={np.mean(emb.count_tokens(texts)):.0f}",
    f"cold={1000 / cold:.0f} texts/s cached={1000 / warm:.0f} texts/s",
)
