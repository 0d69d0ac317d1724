"""The scoring core against a plain-loop reference built from the tables themselves, plus its properties."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gscp_match.core import _calendar as calendar
from gscp_match.core import _scoring as scoring
from gscp_match.core._scoring import COMPONENTS, FILTERS, ScoringInputs, Weights
from gscp_match.errors import InputError
from gscp_match.tables._arrays import (
    conflict_matrix,
    conflict_token,
    expert_arrays,
    expert_conflicts,
    request_arrays,
    request_conflicts,
)
from gscp_match.tables._validate import validate_table
from gscp_match.tables._vocab import country_name, country_region

THEMES = ["mobility", "water", "public_transport", "data_platform"]
LANGS = ["en", "ko", "fr", "mn"]
COUNTRIES = ["MN", "MA", "EG", "KR", "UZ"]
BASE = dt.date(2027, 3, 1)


def _day(offset: int) -> str:
    return (BASE + dt.timedelta(days=offset)).isoformat()


@st.composite
def rounds(draw):
    n_exp = draw(st.integers(1, 9))
    n_req = draw(st.integers(1, 4))
    subset = lambda pool: ";".join(draw(st.lists(st.sampled_from(pool), max_size=3, unique=True)))  # noqa: E731
    experts = []
    for i in range(n_exp):
        busy = []
        for _ in range(draw(st.integers(0, 3))):
            a = draw(st.integers(-5, 40))
            busy.append(f"{_day(a)}/{_day(a + draw(st.integers(0, 12)))}")
        rate = draw(st.one_of(st.just(""), st.sampled_from(["0", "300", "500", "800"])))
        experts.append(
            {
                "expert_id": f"E{draw(st.integers(0, 99)):02d}-{i}",
                "name": f"Expert {i}",
                "bio": "bio",
                "languages": subset(LANGS),
                "themes": subset(THEMES),
                "countries": subset(COUNTRIES),
                "regions": draw(st.sampled_from(["", "AFR", "MNA"])),
                "korean_experience": draw(st.sampled_from(["true", "false"])),
                "day_rate_usd": rate,
                "busy": ";".join(busy),
                "conflicts": draw(st.sampled_from(["", "MN", "Morocco", "City of Rabat", "Rabat"])),
            }
        )
    requests = []
    for i in range(n_req):
        has_window = draw(st.booleans())
        start = draw(st.integers(0, 30))
        length = draw(st.integers(0, 25))
        days = draw(st.integers(1, 8)) if has_window else draw(st.sampled_from([1, 5]))
        if has_window:
            wd = int(np.busday_count(_day(start), _day(start + length + 1)))
            if wd < 1:
                length, wd = length + 3, int(np.busday_count(_day(start), _day(start + length + 4)))
            days = min(days, max(wd, 1))
        requests.append(
            {
                "request_id": f"R{i}",
                "title": "t",
                "description": "d",
                "country": draw(st.sampled_from(["", "MN", "Morocco", "EG"])),
                "city": draw(st.sampled_from(["", "Rabat", "Ulaanbaatar"])),
                "client": draw(st.sampled_from(["", "City of Rabat", "Ministry"])),
                "days": str(days) if draw(st.booleans()) or has_window else "",
                "window_start": _day(start) if has_window else "",
                "window_end": _day(start + length) if has_window else "",
                "languages": subset(LANGS),
                "themes": subset(THEMES),
                "korean_experience": draw(st.sampled_from(["true", "false"])),
                "budget_usd": draw(st.sampled_from(["", "0", "2000", "5000"])),
                "exclude_experts": "",
            }
        )
    experts = pd.DataFrame(experts).drop_duplicates("expert_id")
    ex_ids = list(experts["expert_id"])
    for r in requests:
        if draw(st.booleans()):
            r["exclude_experts"] = draw(st.sampled_from(ex_ids))
    holidays = draw(st.lists(st.integers(0, 40), max_size=3))
    seed = draw(st.integers(0, 2**16))
    return experts, pd.DataFrame(requests), [_day(h) for h in holidays], seed


def build(experts_raw, requests_raw, holidays, seed, *, aggregation="max", lexical=True):
    experts = validate_table(experts_raw, "experts").sort_values("expert_id").reset_index(drop=True)
    requests = validate_table(requests_raw, "requests")
    req = request_arrays(requests)
    exp = expert_arrays(experts)
    rng = np.random.default_rng(seed)
    n_docs_per = rng.integers(1, 4, size=len(exp))
    offsets = np.concatenate([[0], np.cumsum(n_docs_per)]).astype(np.int64)
    d = 8
    docs = rng.standard_normal((offsets[-1], d)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    q = rng.standard_normal((len(req), d)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    lex_q = lex_d = None
    if lexical:
        lex_d = sp.random(offsets[-1], 12, density=0.4, format="csr", random_state=seed, dtype=np.float32)
        lex_q = sp.random(len(req), 12, density=0.4, format="csr", random_state=seed + 1, dtype=np.float32)
    inputs = ScoringInputs(
        requests=req,
        experts=exp,
        request_embeddings=q,
        doc_embeddings=docs,
        doc_offsets=offsets,
        request_lexical=lex_q,
        doc_lexical=lex_d,
        conflicts=conflict_matrix(request_conflicts(requests), expert_conflicts(experts), exp.ids),
        holidays=np.array(holidays, dtype="datetime64[D]").astype(np.int64),
        aggregation=aggregation,
    )
    return experts, requests, inputs


def _aggregate(values, method):
    values = sorted(values, reverse=True)
    if method == "max":
        return values[0]
    if method == "mean":
        return sum(values) / len(values)
    weights = [1.0, 0.5, 1 / 3][: len(values)]
    return sum(w * v for w, v in zip(weights, values, strict=False)) / sum(weights)


def reference(experts, requests, inputs, holidays, weights):
    """Plain loops over (request, expert) pairs, reading the tables, not the arrays."""
    holiday_set = {dt.date.fromisoformat(h) for h in holidays}
    w = weights.as_dict()
    out = {}
    q = inputs.request_embeddings.astype(np.float64)
    docs = inputs.doc_embeddings.astype(np.float64)
    lex_q = inputs.request_lexical.toarray() if inputs.request_lexical is not None else None
    lex_d = inputs.doc_lexical.toarray() if inputs.doc_lexical is not None else None
    for r, req in requests.iterrows():
        for e, ex in experts.iterrows():
            d0, d1 = inputs.doc_offsets[e], inputs.doc_offsets[e + 1]
            comp = {}
            comp["semantic"] = _aggregate([float(q[r] @ docs[i]) for i in range(d0, d1)], inputs.aggregation)
            comp["lexical"] = (
                _aggregate([float(lex_q[r] @ lex_d[i]) for i in range(d0, d1)], inputs.aggregation)
                if lex_q is not None
                else 0.0
            )
            rt, et = set(req["themes"]), set(ex["themes"])
            comp["themes"] = len(rt & et) / len(rt) if rt else 0.0
            ex_countries = set(ex["countries"])
            ex_regions = set(ex["regions"]) | {country_region(c) for c in ex_countries} - {None}
            comp["geography"] = 0.5 * (req["country"] in ex_countries) + 0.5 * (
                bool(req["region"]) and req["region"] in ex_regions
            )
            rl, el = set(req["languages"]), set(ex["languages"])
            comp["language"] = len(rl & el) / len(rl) if rl else 0.0
            comp["korean"] = float(req["korean_experience"] and ex["korean_experience"])
            need = max(int(req["days"]) if not pd.isna(req["days"]) else 0, 1)
            has_window = not pd.isna(req["window_start"])
            free = None
            if has_window:
                busy = [tuple(dt.date.fromisoformat(x) for x in b.split("/")) for b in ex["busy"]]
                day = req["window_start"].date()
                free = 0
                while day <= req["window_end"].date():
                    if day.weekday() < 5 and day not in holiday_set and not any(a <= day <= b for a, b in busy):
                        free += 1
                    day += dt.timedelta(days=1)
                comp["availability"] = min(1.0, free / need)
            else:
                comp["availability"] = 1.0
            rate, budget = ex["day_rate_usd"], req["budget_usd"]
            known = not math.isnan(rate) and not math.isnan(budget)
            comp["cost"] = (1 - rate * need / max(budget, 1e-6)) if known else 0.0
            tokens = set()
            if req["country"]:
                tokens |= {req["country"], conflict_token(country_name(req["country"]))}
            tokens |= {conflict_token(v) for v in (req["city"], req["client"]) if v}
            masks = {
                "availability": has_window and free < need,
                "conflict": bool(tokens & {conflict_token(c) for c in ex["conflicts"]})
                or ex["expert_id"] in req["exclude_experts"],
                "language": bool(rl) and not (rl & el),
                "budget": known and rate > budget / need,
            }
            score = sum(w[c] * comp[c] for c in COMPONENTS)
            out[(r, e)] = (score, comp, masks, free)
    return out


def ranked(ref, n_req, n_exp, ids, k):
    result = []
    for r in range(n_req):
        keep = [e for e in range(n_exp) if not any(ref[(r, e)][2].values())]
        keep.sort(key=lambda e: (-ref[(r, e)][0], ids[e]))
        result.append(keep[:k])
    return result


WEIGHTS = st.builds(
    Weights,
    **{c: st.sampled_from([0.0, 0.1, 0.3, 1.0]) for c in COMPONENTS},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), WEIGHTS, st.integers(1, 5), st.integers(1, 4), st.sampled_from(["max", "mean", "topk"]))
def test_shortlist_equals_loop_reference(data, weights, k, chunk, aggregation):
    experts_raw, requests_raw, holidays, seed = data
    experts, requests, inputs = build(experts_raw, requests_raw, holidays, seed, aggregation=aggregation)
    ref = reference(experts, requests, inputs, holidays, weights)
    n_req, n_exp = inputs.shape
    result = scoring.shortlist(inputs, k=k, weights=weights, chunk_size=chunk)
    expected = ranked(ref, n_req, n_exp, list(experts["expert_id"]), k)
    for r in range(n_req):
        got = [e for e in result.experts[r] if e >= 0]
        assert len(got) == len(expected[r])
        # Same scores rank by rank (ids may swap only between numerically tied scores).
        np.testing.assert_allclose(
            result.scores[r, : len(got)], [ref[(r, e)][0] for e in expected[r]], rtol=1e-5, atol=1e-5
        )
        for j, e in enumerate(got):
            assert not any(ref[(r, e)][2].values()), "a masked pair was ranked"
            assert abs(ref[(r, e)][0] - result.scores[r, j]) < 1e-4
        # Filter counts, per filter and eligible.
        for i, name in enumerate(FILTERS):
            assert result.filtered[r, i] == sum(ref[(r, e)][2][name] for e in range(n_exp))
        assert result.eligible[r] == sum(not any(ref[(r, e)][2].values()) for e in range(n_exp))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.sampled_from(["max", "topk"]))
def test_components_equal_reference(data, aggregation):
    experts_raw, requests_raw, holidays, seed = data
    experts, requests, inputs = build(experts_raw, requests_raw, holidays, seed, aggregation=aggregation)
    ref = reference(experts, requests, inputs, holidays, Weights.default())
    n_req, n_exp = inputs.shape
    components, filters, free = scoring.component_block(inputs, 0, n_exp)
    rows, cols = np.meshgrid(np.arange(n_req), np.arange(n_exp), indexing="ij")
    pairs, pair_free, _ = scoring.pair_components(inputs, rows.ravel(), cols.ravel())
    for r in range(n_req):
        for e in range(n_exp):
            _, comp, masks, ref_free = ref[(r, e)]
            for c in COMPONENTS:
                if c == "cost" and masks["budget"]:
                    continue  # undefined beyond the budget: the pair is filtered
                assert components[c][r, e] == pytest.approx(comp[c], abs=1e-5), c
                assert pairs[c][r * n_exp + e] == pytest.approx(comp[c], abs=1e-5), c
            for name in FILTERS:
                assert bool(filters[name][r, e]) == masks[name], name
            if ref_free is not None:
                assert free[r, e] == ref_free == pair_free[r * n_exp + e]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.integers(1, 4), st.integers(1, 6))
def test_chunk_size_and_batching_do_not_change_results(data, k, chunk):
    experts_raw, requests_raw, holidays, seed = data
    _, _, inputs = build(experts_raw, requests_raw, holidays, seed)
    whole = scoring.shortlist(inputs, k=k, chunk_size=10_000)
    chunked = scoring.shortlist(inputs, k=k, chunk_size=chunk)
    np.testing.assert_array_equal(whole.experts, chunked.experts)
    np.testing.assert_array_equal(whole.scores, chunked.scores)  # to the bit: scores are exact re-scores
    np.testing.assert_array_equal(whole.filtered, chunked.filtered)
    # One request at a time gives the same as the whole round.
    for r in range(inputs.shape[0]):
        one = _subset_inputs(inputs, [r])
        single = scoring.shortlist(one, k=k, chunk_size=chunk)
        np.testing.assert_array_equal(single.experts[0], whole.experts[r])
        np.testing.assert_array_equal(single.scores[0], whole.scores[r])


def _subset_inputs(inputs: ScoringInputs, rows) -> ScoringInputs:
    rows = np.asarray(rows)
    return ScoringInputs(
        requests=inputs.requests.subset(rows),
        experts=inputs.experts,
        request_embeddings=inputs.request_embeddings[rows],
        doc_embeddings=inputs.doc_embeddings,
        doc_offsets=inputs.doc_offsets,
        request_lexical=inputs.request_lexical[rows] if inputs.request_lexical is not None else None,
        doc_lexical=inputs.doc_lexical,
        conflicts=inputs.conflicts[rows] if inputs.conflicts is not None else None,
        holidays=inputs.holidays,
        aggregation=inputs.aggregation,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.integers(0, 2**16))
def test_shuffling_the_roster_does_not_change_rankings(data, perm_seed):
    experts_raw, requests_raw, holidays, seed = data
    experts, requests, inputs = build(experts_raw, requests_raw, holidays, seed, lexical=False)
    ref_ids = _ranked_ids(inputs, experts)
    # Same experts, same texts, given in another order: the Matcher path sorts by id, so rebuild that way.
    shuffled = experts_raw.sample(frac=1.0, random_state=perm_seed)
    experts2 = validate_table(shuffled, "experts").sort_values("expert_id").reset_index(drop=True)
    assert list(experts2["expert_id"]) == list(experts["expert_id"])
    exp2 = expert_arrays(experts2)
    inputs2 = ScoringInputs(
        requests=inputs.requests,
        experts=exp2,
        request_embeddings=inputs.request_embeddings,
        doc_embeddings=inputs.doc_embeddings,
        doc_offsets=inputs.doc_offsets,
        conflicts=conflict_matrix(request_conflicts(requests), expert_conflicts(experts2), exp2.ids),
        holidays=inputs.holidays,
    )
    assert _ranked_ids(inputs2, experts2) == ref_ids


def _ranked_ids(inputs, experts):
    result = scoring.shortlist(inputs, k=5)
    ids = experts["expert_id"].to_numpy()
    return [[ids[e] for e in row if e >= 0] for row in result.experts]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_more_free_days_never_lowers_a_score(data):
    experts_raw, requests_raw, holidays, seed = data
    experts, requests, inputs = build(experts_raw, requests_raw, holidays, seed)
    before, masks_before, _ = scoring.component_block(inputs, 0, inputs.shape[1])
    freed = experts_raw.assign(busy="")
    _, _, inputs_free = build(freed, requests_raw, holidays, seed)
    after, masks_after, _ = scoring.component_block(inputs_free, 0, inputs.shape[1])
    w = Weights.default()
    total = lambda comps: sum(getattr(w, c) * comps[c] for c in COMPONENTS)  # noqa: E731
    assert np.all(total(after) >= total(before) - 1e-6)
    assert np.all(masks_after["availability"] <= masks_before["availability"])


def test_unknown_weight_name_lists_valid_ones():
    with pytest.raises(ValueError, match="valid components: semantic"):
        Weights.from_mapping({"semantics": 1.0})
    with pytest.raises(InputError, match=">= 0"):
        Weights(semantic=-1.0)


def test_weights_that_overflow_float32_are_input_errors_naming_the_component():
    """1e39 is infinite in float32: every score was inf or nan and the shortlist came back empty, without error."""
    with pytest.raises(InputError, match="weight 'lexical' is 1e[+]39"):
        Weights(semantic=0.5, lexical=1e39)
    with pytest.raises(InputError, match="weights sum to 1.5e[+]06 [(]the largest is 'cost'[)]"):
        Weights(semantic=5e5, cost=1e6)
    with pytest.raises(InputError, match="'semantic' must be a finite number"):
        Weights(semantic=float("inf"))
    assert Weights(semantic=60.0, themes=40.0).semantic == 60.0  # percentages are fine: weights are relative


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"weights": {"semantic": 0.5, "cost": 1e39}}', "weight 'cost' is 1e+39"),
        ('{"semantic": 1e38, "themes": 1e38}', "weight 'semantic' is 1e+38"),
        ('{"weights": {"semantic": 900000, "themes": 900000}}', "the weights sum to 1.8e+06"),
    ],
)
def test_cli_rejects_a_weights_file_that_overflows_float32(tmp_path, capsys, text, message):
    from gscp_match.cli import main
    from gscp_match.tables._catalog import demo_paths

    weights = tmp_path / "huge_weights.json"
    weights.write_text(text, encoding="utf-8")
    paths = demo_paths()
    out = tmp_path / "out"
    code = main(
        ["shortlist", "--requests", str(paths["requests"]), "--experts", str(paths["experts"]), "--embedder",
         "hashing", "--cache", "none", "--weights", str(weights), "--out", str(out)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "huge_weights.json" in lines[0] and message in lines[0], captured.err
    assert "Traceback" not in captured.err
    assert not out.exists() or not any(out.iterdir())


def test_default_weights_file_is_used():
    w = Weights.default()
    assert w.semantic > 0 and sum(w.as_dict().values()) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------------------
# The fast path of shortlist under every internal configuration: which feature columns go pairwise instead of into
# the product, product blocks that chunks cut, several request tiles, and worker lanes.

FAST_PATHS = st.fixed_dictionaries(
    {
        "_SPARSE_SHARE": st.sampled_from([scoring._SPARSE_SHARE, 0.0, 0.3, 1.0]),
        "_PRODUCT_BLOCK": st.sampled_from([scoring._PRODUCT_BLOCK, 1, 2, 3]),
        "_TILE_ROWS": st.sampled_from([scoring._TILE_ROWS, 1, 2]),
        "lanes": st.sampled_from([None, 1, 2, 3]),
    }
)


def _fast_shortlist(inputs, config, *, k, weights=None, chunk_size):
    with pytest.MonkeyPatch.context() as mp:
        for name, value in config.items():
            if name != "lanes":
                mp.setattr(scoring, name, value)
        return scoring._shortlist(
            inputs, k=k, weights=weights or Weights.default(), chunk_size=chunk_size, lanes=config["lanes"]
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), WEIGHTS, st.integers(1, 5), st.integers(1, 4), st.sampled_from(["max", "mean", "topk"]), FAST_PATHS)
def test_fast_path_configurations_equal_loop_reference(data, weights, k, chunk, aggregation, config):
    experts_raw, requests_raw, holidays, seed = data
    experts, requests, inputs = build(experts_raw, requests_raw, holidays, seed, aggregation=aggregation)
    ref = reference(experts, requests, inputs, holidays, weights)
    n_req, n_exp = inputs.shape
    result = _fast_shortlist(inputs, config, k=k, weights=weights, chunk_size=chunk)
    expected = ranked(ref, n_req, n_exp, list(experts["expert_id"]), k)
    for r in range(n_req):
        got = [e for e in result.experts[r] if e >= 0]
        assert len(got) == len(expected[r])
        np.testing.assert_allclose(
            result.scores[r, : len(got)], [ref[(r, e)][0] for e in expected[r]], rtol=1e-5, atol=1e-5
        )
        assert all(not any(ref[(r, e)][2].values()) for e in got), "a masked pair was ranked"
        assert np.all(result.experts[r, len(got) :] == -1) and np.all(np.isneginf(result.scores[r, len(got) :]))
        for i, name in enumerate(FILTERS):
            assert result.filtered[r, i] == sum(ref[(r, e)][2][name] for e in range(n_exp))
        assert result.eligible[r] == sum(not any(ref[(r, e)][2].values()) for e in range(n_exp))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.integers(1, 4), st.integers(1, 3), st.integers(1, 5), FAST_PATHS, st.sampled_from(["max", "topk"]))
def test_scores_are_bit_identical_for_any_blocking_and_lanes(data, k, block, chunk, config, aggregation):
    """Ranked scores are exact re-scores: no chunk size, product block or lane count changes a bit (chunk sizes that
    cut the product blocks anywhere included)."""
    experts_raw, requests_raw, holidays, seed = data
    _, _, inputs = build(experts_raw, requests_raw, holidays, seed, aggregation=aggregation)
    whole = _fast_shortlist(inputs, {**config, "_PRODUCT_BLOCK": 4096, "lanes": 1}, k=k, chunk_size=10_000)
    chunked = _fast_shortlist(inputs, {**config, "_PRODUCT_BLOCK": block}, k=k, chunk_size=chunk)
    one_lane = _fast_shortlist(inputs, {**config, "_PRODUCT_BLOCK": block, "lanes": 1}, k=k, chunk_size=chunk)
    for other in (chunked, one_lane):
        np.testing.assert_array_equal(whole.experts, other.experts)
        np.testing.assert_array_equal(whole.scores, other.scores)
        np.testing.assert_array_equal(whole.filtered, other.filtered)
        np.testing.assert_array_equal(whole.eligible, other.eligible)


def test_shortlist_on_a_larger_round_is_the_same_in_lanes_and_restores_blas_threads():
    """Enough experts for several product blocks and chunks; conflicts, rare languages and budgets all present."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(7)
    n_exp, n_req = 5_000, 70
    experts_raw = pd.DataFrame(
        {
            "expert_id": [f"E{i:05d}" for i in range(n_exp)],
            "name": "x",
            "bio": "bio",
            "languages": [";".join(rng.choice(LANGS, size=rng.integers(1, 3), replace=False)) for _ in range(n_exp)],
            "themes": [";".join(rng.choice(THEMES, size=rng.integers(1, 3), replace=False)) for _ in range(n_exp)],
            "countries": [
                ";".join(rng.choice(COUNTRIES, size=rng.integers(0, 3), replace=False)) for _ in range(n_exp)
            ],
            "regions": rng.choice(["", "AFR", "MNA"], size=n_exp),
            "korean_experience": rng.choice(["true", "false"], size=n_exp),
            "day_rate_usd": rng.choice(["", "300", "500", "800"], size=n_exp),
            "busy": [
                f"{_day(int(a))}/{_day(int(a) + int(rng.integers(0, 12)))}" if rng.random() < 0.6 else ""
                for a in rng.integers(-5, 40, size=n_exp)
            ],
            "conflicts": rng.choice(["", "MN", "Morocco", "Rabat"], size=n_exp),
        }
    )
    window_starts = rng.integers(0, 20, size=n_req)
    requests_raw = pd.DataFrame(
        {
            "request_id": [f"R{i}" for i in range(n_req)],
            "title": "t",
            "description": "d",
            "country": rng.choice(["", "MN", "Morocco", "EG"], size=n_req),
            "city": rng.choice(["", "Rabat"], size=n_req),
            "client": "",
            "days": [str(d) for d in rng.integers(1, 6, size=n_req)],
            "window_start": [_day(int(a)) for a in window_starts],
            "window_end": [_day(int(a) + 20) for a in window_starts],
            "languages": rng.choice(["", "en", "mn;ko", "fr"], size=n_req),
            "themes": rng.choice(["", "water", "mobility;water"], size=n_req),
            "korean_experience": rng.choice(["true", "false"], size=n_req),
            "budget_usd": rng.choice(["", "2000", "5000"], size=n_req),
            "exclude_experts": rng.choice(["", "E00003", "E04999"], size=n_req),
        }
    )
    _, _, inputs = build(experts_raw, requests_raw, ["2027-03-10"], 3, lexical=False)
    before = [(i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "_PRODUCT_BLOCK", 512)
        one = scoring._shortlist(inputs, k=7, weights=Weights.default(), chunk_size=5_120, lanes=1)
        many = scoring._shortlist(inputs, k=7, weights=Weights.default(), chunk_size=1_024, lanes=2)
        odd = scoring._shortlist(inputs, k=7, weights=Weights.default(), chunk_size=700, lanes=2)
    assert [(i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info()] == before
    np.testing.assert_array_equal(one.experts, many.experts)
    np.testing.assert_array_equal(one.scores, many.scores)
    np.testing.assert_array_equal(one.filtered, many.filtered)
    np.testing.assert_array_equal(one.eligible, many.eligible)
    # A chunk size that cuts the product blocks elsewhere rounds the fast scores differently: never the result.
    np.testing.assert_array_equal(one.experts, odd.experts)
    np.testing.assert_array_equal(one.scores, odd.scores)
    assert one.filtered.sum() > 0 and (one.experts >= 0).any()
    # And the public function agrees with the readable path (component_block) on the same round.
    components, masks, _ = scoring.component_block(inputs, 0, n_exp)
    w = Weights.default()
    total = sum(np.float64(getattr(w, c)) * components[c] for c in COMPONENTS)
    removed = np.logical_or.reduce([masks[f] for f in FILTERS])
    for r in range(n_req):
        allowed = np.flatnonzero(~removed[r])
        best = allowed[np.lexsort((allowed, -total[r, allowed]))][:7]
        got = one.experts[r][one.experts[r] >= 0]
        np.testing.assert_allclose(one.scores[r, : got.size], total[r, best], atol=1e-5)
        assert one.eligible[r] == allowed.size


# ---------------------------------------------------------------------------------------------------------------
# Free days in windows (calendar.free_days_in_windows, both ways) against free_prefix + window_free_days, and a loop.


@st.composite
def calendars(draw):
    origin = draw(st.integers(19_990, 20_010))
    horizon = draw(st.integers(0, 40))
    n = draw(st.integers(0, 7))
    owner, starts, ends = [], [], []
    for e in range(n):
        for _ in range(draw(st.integers(0, 4))):
            a = draw(st.integers(origin - 12, origin + horizon + 12))
            owner.append(e)
            starts.append(a)
            ends.append(a + draw(st.integers(-1, 20)))  # empty, touching and overlapping intervals too
    windows = draw(st.lists(st.tuples(st.integers(origin - 8, origin + horizon + 8), st.integers(-3, 25)), max_size=6))
    holidays = draw(st.lists(st.integers(origin - 5, origin + horizon + 5), max_size=5))
    experts = draw(
        st.sampled_from([slice(None), slice(1, None), slice(None, None, 2)])
        | st.lists(st.integers(0, max(n - 1, 0)), max_size=2 * n).map(lambda xs: np.array(xs, dtype=np.int64))
    )
    if n == 0 and not isinstance(experts, slice):
        experts = slice(None)
    return origin, horizon, n, owner, starts, ends, windows, holidays, experts


@settings(max_examples=150, deadline=None)
@given(calendars(), st.sampled_from([None, "runs", "grid"]))
def test_free_days_in_windows_equal_prefix_way_and_loop(data, method):
    origin, horizon, n, owner, starts, ends, windows, holidays, experts = data
    offsets = calendar.busy_owner_offsets(np.array(owner, dtype=np.int64), n)
    workdays = calendar.working_day_mask(origin, horizon, holidays)
    busy_start, busy_end = np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
    w_start = np.array([a for a, _ in windows], dtype=np.int64)
    w_end = np.array([a + length for a, length in windows], dtype=np.int64)
    got = calendar._free_days_in_windows(
        offsets, busy_start, busy_end, experts, w_start, w_end, origin=origin, workdays=workdays, method=method
    )
    prefix = calendar.free_prefix(offsets, busy_start, busy_end, experts, origin=origin, workdays=workdays)
    np.testing.assert_array_equal(got, calendar.window_free_days(prefix, w_start, w_end, origin=origin))
    rows = list(range(n))[experts] if isinstance(experts, slice) else [int(e) for e in experts]
    holiday_set = set(holidays)
    for j, (a, b) in enumerate(zip(w_start, w_end, strict=True)):
        for i, e in enumerate(rows):
            intervals = [(s, t) for o, s, t in zip(owner, starts, ends, strict=True) if o == e]
            expected = sum(
                1
                for day in range(max(int(a), origin), min(int(b), origin + horizon - 1) + 1)
                if (day + 3) % 7 < 5 and day not in holiday_set and not any(s <= day <= t for s, t in intervals)
            )
            assert got[j, i] == expected


def _pair_components_loop(inputs, request_rows, expert_rows):
    """The plain loop: one component_block per distinct expert, read at the pairs' requests."""
    n = request_rows.size
    components = {c: np.zeros(n, dtype=np.float32) for c in COMPONENTS}
    free_days = np.zeros(n, dtype=np.int32)
    best_doc = np.full(n, -1, dtype=np.int64)
    for p in range(n):
        r, e = int(request_rows[p]), int(expert_rows[p])
        block, _, free = scoring.component_block(inputs, e, e + 1)
        for c in COMPONENTS:
            components[c][p] = block[c][r, 0]
        free_days[p] = free[r, 0]
        d0, d1 = int(inputs.doc_offsets[e]), int(inputs.doc_offsets[e + 1])
        if d1 > d0:
            sims = [
                float(inputs.request_embeddings[r].astype(np.float64) @ inputs.doc_embeddings[d].astype(np.float64))
                for d in range(d0, d1)
            ]
            best_doc[p] = d0 + int(np.argmax(sims))
    return components, free_days, best_doc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.sampled_from(["max", "mean", "topk"]), st.booleans(), st.data())
def test_pair_components_equal_the_loop_over_experts(data, aggregation, lexical, draw):
    experts_raw, requests_raw, holidays, seed = data
    _, _, inputs = build(experts_raw, requests_raw, holidays, seed, aggregation=aggregation, lexical=lexical)
    n_req, n_exp = inputs.shape
    pairs = draw.draw(st.lists(st.tuples(st.integers(0, n_req - 1), st.integers(0, n_exp - 1)), max_size=12))
    request_rows = np.array([r for r, _ in pairs], dtype=np.int64)
    expert_rows = np.array([e for _, e in pairs], dtype=np.int64)
    got, got_free, got_best = scoring.pair_components(inputs, request_rows, expert_rows)
    want, want_free, want_best = _pair_components_loop(inputs, request_rows, expert_rows)
    for c in COMPONENTS:
        np.testing.assert_allclose(got[c], want[c], rtol=1e-5, atol=1e-5, err_msg=c)
        assert got[c].dtype == np.float32 and got[c].shape == (len(pairs),)
    np.testing.assert_array_equal(got_free, want_free)
    # The best text: the same one, or one scoring the same to float precision.
    for p, (r, _) in enumerate(pairs):
        if got_best[p] != want_best[p]:
            q = inputs.request_embeddings[r].astype(np.float64)
            a, b = inputs.doc_embeddings[got_best[p]], inputs.doc_embeddings[want_best[p]]
            assert abs(q @ a - q @ b) < 1e-6


# ---------------------------------------------------------------------------------------------------------------
# Ties and exactness: the ranking is decided on exact re-scores, so it cannot depend on how the fast product was
# blocked, on the BLAS kernel, on the lanes, or on the ids' positions.


@st.composite
def tied_rounds(draw):
    """Rosters drawn from 1-3 profiles: experts of one profile share every feature, calendar and text vector, so their
    scores tie exactly. Ids are drawn at random, so which rows hold a tie is shuffled."""
    experts_raw, requests_raw, holidays, seed = draw(rounds())
    pool = experts_raw.head(draw(st.integers(1, 3))).reset_index(drop=True)
    n_exp = draw(st.integers(2, 24))
    profile = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n_exp, max_size=n_exp))
    numbers = draw(st.lists(st.integers(0, 9999), min_size=n_exp, max_size=n_exp, unique=True))
    experts = pool.iloc[profile].reset_index(drop=True)
    experts = experts.assign(expert_id=[f"X{n:04d}" for n in numbers], profile=profile)
    requests = requests_raw.assign(exclude_experts="")
    if draw(st.booleans()):
        requests.loc[0, "exclude_experts"] = experts["expert_id"].iloc[draw(st.integers(0, n_exp - 1))]
    return experts, requests, holidays, seed


def build_tied(experts_raw, requests_raw, holidays, seed, *, aggregation="max", lexical=True):
    """Like :func:`build`, with each profile's texts (embeddings and TF-IDF rows) shared by its experts."""
    experts = validate_table(experts_raw, "experts").sort_values("expert_id").reset_index(drop=True)
    requests = validate_table(requests_raw, "requests")
    req, exp = request_arrays(requests), expert_arrays(experts)
    profile = experts["profile"].astype(int).to_numpy()
    rng = np.random.default_rng(seed)
    n_profiles = int(profile.max()) + 1
    texts = rng.integers(1, 4, size=n_profiles)
    d = 8
    vectors = [rng.standard_normal((t, d)).astype(np.float32) for t in texts]
    vectors = [v / np.linalg.norm(v, axis=1, keepdims=True) for v in vectors]
    lex = [
        sp.random(t, 12, density=0.4, format="csr", random_state=seed + p, dtype=np.float32)
        for p, t in enumerate(texts)
    ]
    offsets = np.concatenate([[0], np.cumsum(texts[profile])]).astype(np.int64)
    q = rng.standard_normal((len(req), d)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    inputs = ScoringInputs(
        requests=req,
        experts=exp,
        request_embeddings=q,
        doc_embeddings=np.vstack([vectors[p] for p in profile]),
        doc_offsets=offsets,
        request_lexical=(
            sp.random(len(req), 12, density=0.4, format="csr", random_state=seed + 99, dtype=np.float32)
            if lexical
            else None
        ),
        doc_lexical=sp.vstack([lex[p] for p in profile]).tocsr() if lexical else None,
        conflicts=conflict_matrix(request_conflicts(requests), expert_conflicts(experts), exp.ids),
        holidays=np.array(holidays, dtype="datetime64[D]").astype(np.int64),
        aggregation=aggregation,
    )
    return experts, requests, inputs


def _perturbing(mode: str, seed: int):
    """A stand-in for ``scoring._chunk_scores`` whose fast scores come out as another blocking or kernel would round
    them: ``"ulp"`` moves each by -1, 0 or +1 ulp; ``"margin"`` anywhere within 40% of the chunk's slack (the true
    error is below half of it). Seeded per chunk, so lanes draw the same noise in any order."""
    original = scoring._chunk_scores

    def chunk_scores(inputs, plan, start, stop, buffers=None):
        score, _ = original(inputs, plan, start, stop, buffers)
        rng = np.random.default_rng([seed, start])
        if mode == "ulp":
            step = rng.integers(-1, 2, size=score.shape)
            up, down = np.nextafter(score, np.float32(np.inf)), np.nextafter(score, np.float32(-np.inf))
            score[:] = np.where(step > 0, up, np.where(step < 0, down, score))
        else:
            amount = 0.4 * scoring._chunk_slack(inputs, plan, start, stop)
            score += rng.uniform(-amount, amount, size=score.shape).astype(np.float32)
        return score, np.max(score, axis=1, initial=-np.inf)

    return chunk_scores


def _run(inputs, *, k, weights, chunk_size, config=None, perturb=None, seed=0):
    with pytest.MonkeyPatch.context() as mp:
        for name, value in (config or {}).items():
            if name != "lanes":
                mp.setattr(scoring, name, value)
        if perturb is not None:
            mp.setattr(scoring, "_chunk_scores", _perturbing(perturb, seed))
        lanes = (config or {}).get("lanes")
        return scoring._shortlist(inputs, k=k, weights=weights, chunk_size=chunk_size, lanes=lanes)


TIE_CONFIGS = st.fixed_dictionaries(
    {
        "_PRODUCT_BLOCK": st.sampled_from([scoring._PRODUCT_BLOCK, 1, 2, 3, 5]),
        "_TILE_ROWS": st.sampled_from([scoring._TILE_ROWS, 1]),
        "_SPARSE_SHARE": st.sampled_from([scoring._SPARSE_SHARE, 0.0, 1.0]),
        "lanes": st.sampled_from([1, 2]),
    }
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tied_rounds(),
    WEIGHTS,
    st.integers(1, 6),
    st.integers(1, 7),
    st.sampled_from(["max", "mean", "topk"]),
    TIE_CONFIGS,
    st.sampled_from([None, "ulp", "margin"]),
    st.integers(0, 2**16),
)
def test_ties_go_to_the_smaller_id_whatever_the_blocking(data, weights, k, chunk, aggregation, config, perturb, seed):
    """The shortlist is the top-k by (exact score desc, id asc), the exact scores computed pair by pair in a plain loop,
    for chunk sizes that do not divide the roster, both lane counts, every fast-path configuration, and fast scores
    perturbed as another kernel would round them. Experts of one profile tie exactly, and the exact score is the
    float64 loop reference's."""
    experts_raw, requests_raw, holidays, seed_inputs = data
    experts, requests, inputs = build_tied(experts_raw, requests_raw, holidays, seed_inputs, aggregation=aggregation)
    ref = reference(experts, requests, inputs, holidays, weights)
    n_req, n_exp = inputs.shape
    ids = experts["expert_id"].to_numpy()
    profile = experts["profile"].astype(int).to_numpy()
    result = _run(inputs, k=k, weights=weights, chunk_size=chunk, config=config, perturb=perturb, seed=seed)
    for r in range(n_req):
        eligible = [e for e in range(n_exp) if not any(ref[(r, e)][2].values())]
        exact = {e: scoring.rescore_pairs(inputs, weights, np.array([r]), np.array([e]))[0] for e in eligible}
        for e in eligible:
            assert abs(float(exact[e]) - ref[(r, e)][0]) < 1e-5
            same = [f for f in eligible if profile[f] == profile[e]]
            assert all(exact[f] == exact[e] for f in same)  # identical pairs, identical bits
        expected = sorted(eligible, key=lambda e: (-exact[e], ids[e]))[:k]
        assert result.experts[r].tolist() == expected + [-1] * (k - len(expected))
        np.testing.assert_array_equal(result.scores[r, : len(expected)], [exact[e] for e in expected])
        assert np.isneginf(result.scores[r, len(expected) :]).all()
        assert result.eligible[r] == len(eligible)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tied_rounds(), st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**16), st.sampled_from([1, 2]))
def test_permuting_the_ids_permutes_the_ties_only(data, k, chunk, perm_seed, lanes):
    """The same profiles under permuted ids: the scores per rank are the same, to the bit, and each run of equal
    scores lists its experts by ascending id."""
    experts_raw, requests_raw, holidays, seed = data
    requests_raw = requests_raw.assign(exclude_experts="")  # an exclusion names an id, which would move
    permuted = experts_raw.assign(expert_id=np.random.default_rng(perm_seed).permutation(experts_raw["expert_id"]))
    results = []
    for roster in (experts_raw, permuted):
        experts, _, inputs = build_tied(roster, requests_raw, holidays, seed)
        got = _run(inputs, k=k, weights=Weights.default(), chunk_size=chunk, config={"lanes": lanes})
        ids = experts["expert_id"].to_numpy()
        for r in range(got.experts.shape[0]):
            ranked = got.experts[r][got.experts[r] >= 0]
            for a, b in zip(range(ranked.size - 1), range(1, ranked.size), strict=True):
                if got.scores[r, a] == got.scores[r, b]:
                    assert ids[ranked[a]] < ids[ranked[b]]
        results.append(got)
    np.testing.assert_array_equal(results[0].scores, results[1].scores)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), WEIGHTS, st.sampled_from(["max", "mean", "topk"]), st.sampled_from([4096, 1, 2, 3]))
def test_fast_scores_are_within_half_the_slack_of_the_exact_scores(data, weights, aggregation, block):
    """The bound behind the candidate margin, checked on the computed numbers (it must hold for every kernel; here it
    holds with room to spare for the one this machine runs), and the margin is small."""
    experts_raw, requests_raw, holidays, seed = data
    _, _, inputs = build(experts_raw, requests_raw, holidays, seed, aggregation=aggregation)
    n_req, n_exp = inputs.shape
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "_PRODUCT_BLOCK", block)
        plan = scoring._plan(inputs, weights)
        fast, _ = scoring._chunk_scores(inputs, plan, 0, n_exp)
    slack = scoring._chunk_slack(inputs, plan, 0, n_exp)
    _, masks, _ = scoring.component_block(inputs, 0, n_exp)
    rows, cols = np.nonzero(~np.logical_or.reduce([masks[f] for f in FILTERS]))
    exact = scoring.rescore_pairs(inputs, weights, rows, cols, availability=np.ones(rows.size, np.float32))
    error = np.abs(fast[rows, cols].astype(np.float64) - (exact.astype(np.float64) - weights.availability))
    assert np.all(error <= slack / 2)
    assert slack < 1e-4


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), WEIGHTS, st.integers(1, 5), st.sampled_from(["max", "mean", "topk"]), st.booleans())
def test_reported_scores_are_the_weighted_sum_of_the_components_shown(data, weights, k, aggregation, lexical):
    """``float32(sum(w[c] * component[c]))`` over the explanation's components, in float64, is the reported score to
    the bit, and so is rescore_pairs on the ranked pairs, however they are batched."""
    experts_raw, requests_raw, holidays, seed = data
    _, _, inputs = build(experts_raw, requests_raw, holidays, seed, aggregation=aggregation, lexical=lexical)
    result = scoring.shortlist(inputs, k=k, weights=weights, chunk_size=2)
    rows, slots = np.nonzero(result.experts >= 0)
    cols = result.experts[rows, slots]
    components, _, _ = scoring.pair_components(inputs, rows, cols)
    total = np.zeros(rows.size, dtype=np.float64)
    for c in COMPONENTS:
        total = total + getattr(weights, c) * components[c].astype(np.float64)
    np.testing.assert_array_equal(total.astype(np.float32), result.scores[rows, slots])
    np.testing.assert_array_equal(scoring.rescore_pairs(inputs, weights, rows, cols), result.scores[rows, slots])
    backwards = scoring.rescore_pairs(inputs, weights, rows[::-1], cols[::-1])[::-1]
    np.testing.assert_array_equal(backwards, result.scores[rows, slots])


def test_shipped_weights_file_holds_the_default_weights():
    """The core's defaults are constants (it reads no file); the shipped file users copy must say the same."""
    from importlib.resources import files

    from gscp_match.tables._weights import read_weights

    assert read_weights(files("gscp_match.models") / "default_weights.json") == Weights.default()
    assert Weights.default().as_dict() == dict(scoring.DEFAULT_WEIGHTS)
