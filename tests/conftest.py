"""Shared fixtures: the real packaged model (loaded once per session) and a small deterministic fake."""

from __future__ import annotations

import os

import pytest

from gscp_match.text._embed import HashingEmbedder, SentenceTransformerEmbedder


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2, loaded offline once per session."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    embedder = SentenceTransformerEmbedder(show_progress=False)
    embedder.encode(["warm up"])  # load now, so the first test's timing does not include loading
    return embedder


@pytest.fixture
def fake_embedder() -> HashingEmbedder:
    """Deterministic model-free embedder (64 dimensions)."""
    return HashingEmbedder(dimension=64, seed=0)
