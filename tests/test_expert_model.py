"""The expert model: passages -> documents -> expert, and per-request standardization of the text components."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gscp_match import Matcher, load_demo, write_table
from gscp_match.cli import main
from gscp_match.core._aggregate import aggregate
from gscp_match.core._standardize import SCALES, sample_rows
from gscp_match.text._texts import expert_documents, pool_passages


def _loop_pool(vectors, document, n):
    out = np.zeros((n, vectors.shape[1]))
    for d in range(n):
        rows = vectors[document == d].astype(np.float64)
        total = rows.sum(axis=0)
        out[d] = rows[0] if len(rows) == 1 else total / np.linalg.norm(total)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_pool_passages_matches_a_loop(sizes, seed):
    rng = np.random.default_rng(seed)
    document = np.repeat(np.arange(len(sizes)), sizes)
    vectors = rng.normal(size=(document.size, 5)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(pool_passages(vectors, document, len(sizes)), _loop_pool(vectors, document, len(sizes)),
                               atol=1e-6)


def test_documents_group_passages_and_keep_their_source():
    experts = pd.DataFrame({"expert_id": ["A", "B"], "bio": ["one two. three four. five six.", "seven"]})
    evidence = pd.DataFrame({"expert_id": ["A", "B", "B"], "title": ["t1", "", "t3"], "text": ["x y", "  ", "z"]})
    count = lambda texts: np.array([len(t.split()) for t in texts])  # noqa: E731
    docs = expert_documents(experts, evidence, max_tokens=2, count_tokens=count)
    assert len(docs.passages) > len(docs.texts)  # the long bio became passages
    units = docs.by_document()
    assert units.passages == docs.texts
    assert units.offsets.tolist() == [0, 2, 4]  # A: bio, t1; B: bio, t3 (the blank evidence row gives nothing)
    assert units.source_kind.tolist() == ["bio", "evidence", "bio", "evidence"]
    assert units.source_row.tolist() == [0, 0, 1, 2]
    fallback = expert_documents(experts, evidence, max_tokens=2, count_tokens=count, bio="fallback")
    assert fallback.by_document().source_kind.tolist() == ["evidence", "evidence"]  # bios only without evidence


@pytest.fixture(scope="module")
def demo():
    return load_demo()


def test_standardized_semantic_is_the_standard_score_over_the_roster(demo):
    """Each request's semantic component is center + spread * z over the roster, as the plain formula says."""
    raw = Matcher("hashing", cache=None, normalize="none", lexical=False).fit(demo.experts, evidence=demo.evidence)
    std = Matcher("hashing", cache=None, normalize="zscore", lexical=False).fit(demo.experts, evidence=demo.evidence)
    requests = demo.requests.head(4)
    _, raw_inputs = raw.scoring_inputs(requests)
    _, std_inputs = std.scoring_inputs(requests)
    from gscp_match.core._scoring import component_block

    n = len(raw.experts_)
    plain = component_block(raw_inputs, 0, n)[0]["semantic"].astype(np.float64)
    got = component_block(std_inputs, 0, n)[0]["semantic"].astype(np.float64)
    assert n <= sample_rows(n).size  # the demo roster is small: every expert is in the statistics
    scale = SCALES["semantic"]
    expected = scale.center + scale.spread * (plain - plain.mean(axis=1, keepdims=True)) / plain.std(
        axis=1, keepdims=True
    )
    np.testing.assert_allclose(got, expected, atol=2e-5)
    # Within a request the order is the raw order (a positive affine map).
    for row in range(len(requests)):
        assert (np.argsort(-got[row], kind="stable") == np.argsort(-expected[row], kind="stable")).mean() > 0.95


def test_standardization_depends_on_the_roster_not_on_the_other_requests(demo):
    matcher = Matcher("hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    together = matcher.shortlist(demo.requests, k=5, k_cases=2)
    for i in (0, 5):
        alone = matcher.shortlist(demo.requests.iloc[[i]], k=5, k_cases=2)
        rid = demo.requests["request_id"].iloc[i]
        want = together.experts[together.experts["request_id"] == rid].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone.experts.reset_index(drop=True), want)
        want_cases = together.cases[together.cases["request_id"] == rid].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone.cases.reset_index(drop=True), want_cases)


def test_aggregations_agree_with_the_aggregate_function(demo):
    """The top-3 default over documents equals aggregate(topk) of the per-document cosines."""
    matcher = Matcher("hashing", cache=None, normalize="none", lexical=False).fit(demo.experts, evidence=demo.evidence)
    _, inputs = matcher.scoring_inputs(demo.requests.head(3))
    doc_scores = inputs.request_embeddings @ inputs.doc_embeddings.T
    expected = aggregate(doc_scores, inputs.doc_offsets, method="topk")[0]
    from gscp_match.core._scoring import component_block

    got = component_block(inputs, 0, len(matcher.experts_))[0]["semantic"]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert matcher.aggregation == "topk" and matcher.unit == "document"


def test_unknown_options_list_the_valid_ones():
    from gscp_match.errors import InputError

    for option, value in (("aggregation", "median"), ("unit", "page"), ("bio", "never"), ("normalize", "rank")):
        with pytest.raises(InputError, match="valid"):
            Matcher("hashing", **{option: value})
    with pytest.raises(InputError, match="passage_tokens"):
        Matcher("hashing", passage_tokens=4)


def test_cli_options_reach_the_matcher(tmp_path, demo):
    folder = tmp_path / "in"
    folder.mkdir()
    write_table(demo.experts, folder / "experts.csv")
    write_table(demo.requests.head(3), folder / "requests.csv")
    args = ["shortlist", "--requests", str(folder / "requests.csv"), "--experts", str(folder / "experts.csv"),
            "--embedder", "hashing", "--cache", "none", "--quiet", "--top", "4"]
    assert main([*args, "--aggregation", "max", "--normalize", "none", "--out", str(tmp_path / "a")]) == 0
    got = pd.read_csv(tmp_path / "a" / "expert_shortlist.csv")
    matcher = Matcher("hashing", cache=None, aggregation="max", normalize="none").fit(demo.experts)
    want = matcher.shortlist(demo.requests.head(3), k=4).experts
    assert got["expert_id"].tolist() == want["expert_id"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(dtype=float), atol=1e-4)
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    default = pd.read_csv(tmp_path / "b" / "expert_shortlist.csv")
    assert not np.allclose(default["score"].to_numpy(), got["score"].to_numpy())  # the defaults differ


# ---------------------------------------------------------------------------------------------------------------
# Languages: English pairs on MiniLM, every other pair on multilingual-e5 calibrated to MiniLM's scale.

FRENCH = {
    "title": "Réforme du réseau de bus",
    "description": "La ville souhaite réorganiser ses lignes de bus autour de couloirs réservés, revoir la "
    "tarification et informer les voyageurs en temps réel.",
}


def test_an_english_round_never_loads_the_multilingual_model(demo):
    matcher = Matcher("hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    result = matcher.shortlist(demo.requests.head(3), k=3, k_cases=1)
    assert matcher._e5 is None and not matcher._mixed
    assert set(result.experts["request_language"]) == {"en"}


def test_the_mixed_vectors_score_each_pair_with_its_model():
    from gscp_match.text._crosslingual import Calibration, document_vectors, request_vectors

    rng = np.random.default_rng(3)
    m_docs, e_docs = rng.normal(size=(6, 4)), rng.normal(size=(6, 5))
    m_req, e_req = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    doc_en, req_en = np.array([1, 0, 1, 1, 0, 1], dtype=bool), np.array([1, 0, 1], dtype=bool)
    cal = Calibration(5.7, -4.3)
    got = request_vectors(m_req, e_req, req_en, cal) @ document_vectors(m_docs, e_docs, doc_en).T
    for r in range(3):
        for j in range(6):
            want = m_req[r] @ m_docs[j] if req_en[r] and doc_en[j] else cal.slope * e_req[r] @ e_docs[j] + cal.intercept
            assert got[r, j] == pytest.approx(want, rel=1e-5, abs=1e-5)


@pytest.mark.model
def test_a_french_request_finds_the_expert_its_english_twin_finds(demo):
    matcher = Matcher(cache=None).fit(demo.experts, evidence=demo.evidence)
    english = demo.requests.iloc[[0]].copy()
    english["title"] = "Bus network reform"
    english["description"] = ("The city wants to reorganise its bus routes around dedicated lanes, review fares and "
                              "give passengers real-time information.")
    french = english.assign(request_id="FR-1", **FRENCH)
    result = matcher.shortlist(pd.concat([english, french]), k=5, k_cases=3)
    top = result.experts.groupby("request_id")["expert_id"].apply(list)
    assert result.experts.set_index("request_id")["request_language"].to_dict() == {
        english["request_id"].iloc[0]: "en", "FR-1": "fr"}
    assert len(set(top[english["request_id"].iloc[0]][:5]) & set(top["FR-1"][:5])) >= 2
    fr_rows = result.experts[result.experts["request_id"] == "FR-1"]
    assert fr_rows["lexical"].nunique() == 1  # no shared words is no evidence: the same neutral value for all
    texts = " ".join(" ".join(t.split()) for t in matcher.expert_units_.passages)
    assert all(quote.rstrip("…")[:40] in texts for quote in fr_rows["best_text"])  # the profile's own words
    cases = result.cases.groupby("request_id")["case_id"].apply(list)
    assert "kr-seoul-bus-reform" in cases["FR-1"]
    never = Matcher(cache=None, multilingual="never").fit(demo.experts, evidence=demo.evidence)
    assert set(never.shortlist(french, k=3, k_cases=0).experts["request_language"]) == {"en"}
    assert never._e5 is None


def test_text_language_overrides_detection(demo):
    matcher = Matcher("hashing", cache=None).fit(demo.experts, evidence=demo.evidence)
    table = demo.requests.head(2).assign(text_language=["", "en"])
    table.loc[table.index[1], ["title", "description"]] = [FRENCH["title"], FRENCH["description"]]
    assert matcher._languages(table).tolist() == ["en", "en"]
    assert matcher._languages(table.assign(text_language="")).tolist() == ["en", "fr"]


def test_text_language_of_profiles_and_evidence_overrides_detection(demo):
    experts = demo.experts.assign(text_language="")
    experts.loc[experts.index[0], "text_language"] = "Korean"  # a name works as well as a code
    evidence = demo.evidence.assign(text_language="")
    evidence.loc[evidence.index[0], "text_language"] = "fr"
    matcher = Matcher("hashing", cache=None).fit(experts, evidence=evidence)
    units, languages = matcher.expert_units_, matcher.document_languages_["experts"]
    first_bio = np.flatnonzero((units.source_kind == "bio") & (units.source_row == 0))
    first_evidence = np.flatnonzero((units.source_kind == "evidence") & (units.source_row == 0))
    assert languages[first_bio].tolist() == ["ko"] and languages[first_evidence].tolist() == ["fr"]
    assert (np.delete(languages, [*first_bio, *first_evidence]) == "en").all()
    from gscp_match.errors import InputError

    with pytest.raises(InputError, match="text_language"):
        Matcher("hashing", cache=None).fit(experts.assign(text_language="Klingon"))


@pytest.mark.model
def test_a_profile_in_another_language_gets_a_neutral_lexical_component(demo):
    """An English request shares no words with a Korean profile; that is no evidence against the expert."""
    from gscp_match.core._scoring import component_block
    from gscp_match.core._standardize import SCALES

    experts = demo.experts.assign(text_language="")
    experts.loc[experts.index[0], ["bio", "text_language"]] = ["도시 교통 신호 제어와 버스 노선 개편을 이끌었다.", "ko"]
    matcher = Matcher("hashing", cache=None).fit(experts)  # bios only: one document per expert
    _, inputs = matcher.scoring_inputs(demo.requests.head(3))
    lexical = component_block(inputs, 0, len(matcher.experts_))[0]["lexical"]
    korean = int(np.flatnonzero(matcher.experts_["expert_id"] == experts["expert_id"].iloc[0])[0])
    np.testing.assert_allclose(lexical[:, korean], SCALES["lexical"].center, atol=1e-6)
    assert matcher._e5 is not None  # the Korean profile is scored with the multilingual model
    # The explanation quotes the profile in its own language.
    rows = matcher.shortlist(demo.requests.head(1), k=len(matcher.experts_), k_cases=0).experts
    quote = rows.loc[rows["expert_id"] == experts["expert_id"].iloc[0], "best_text"].iloc[0]
    assert quote.startswith("도시 교통")


def test_demo_forwards_the_model_options(tmp_path):
    """`gscp-match demo --normalize none --aggregation max` runs the demo with them (they were accepted and dropped)."""
    base = ["demo", "--embedder", "hashing", "--quiet", "--top", "3"]
    assert main([*base, "--out", str(tmp_path / "default")]) == 0
    assert main([*base, "--aggregation", "max", "--normalize", "none", "--out", str(tmp_path / "raw")]) == 0
    default = pd.read_csv(tmp_path / "default" / "expert_shortlist.csv")
    raw = pd.read_csv(tmp_path / "raw" / "expert_shortlist.csv")
    assert not np.allclose(default["semantic"].to_numpy(), raw["semantic"].to_numpy())
    demo = load_demo()
    want = Matcher("hashing", cache=None, aggregation="max", normalize="none").fit(demo.experts, evidence=demo.evidence)
    expected = want.shortlist(demo.requests, k=3, k_cases=0).experts
    assert raw["expert_id"].tolist() == expected["expert_id"].tolist()
