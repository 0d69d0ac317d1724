"""The options records: SolveOptions (the solver) and ExpertModel (the expert model) hold the defaults and the checks
once, and solve, Matcher and the CLI all go through them; an unfitted Matcher raises NotFittedError."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import gscp_match as gm
from gscp_match.cli import _assign_options, _parser, main
from gscp_match.core._assign import AssignmentProblem, SolveOptions, solve
from gscp_match.core._solve_options import METHODS
from gscp_match.errors import InputError, NotFittedError
from gscp_match.match._options import AGGREGATIONS, N_ALTERNATES, NORMALIZATIONS, TOP_M, ExpertModel
from gscp_match.text._embed import HashingEmbedder


def _problem() -> AssignmentProblem:
    """Two requests of 3 days in [0, 4]; expert 1, the Korean-experienced one, has 5 free days, so it cannot take
    both. Request 0 wants Korean experience: with the Korean rule it cannot have expert 0."""
    a = np.array
    return AssignmentProblem(
        pair_request=a([0, 0, 1]),
        pair_expert=a([0, 1, 1]),
        pair_score=a([0.9, 0.5, 0.8]),
        experts_needed=a([1, 1]),
        days=a([3, 3]),
        window_start=a([0, 0]),
        window_end=a([4, 4]),
        has_window=a([True, True]),
        wants_korean=a([True, False]),
        budget=a([np.nan, np.nan]),
        capacity=a([2, 2]),
        korean=a([False, True]),
        day_rate=a([100.0, np.nan]),
        free_prefix=a([[0, 1, 2, 3, 4, 5]] * 2, dtype=np.int32),
        origin=0,
    )


@pytest.fixture(scope="module")
def demo():
    return gm.load_demo()


@pytest.fixture(scope="module")
def matcher(demo):
    return gm.Matcher(HashingEmbedder(32), cache=None).fit(demo.experts, evidence=demo.evidence)


@pytest.fixture(scope="module")
def requests(demo):
    return demo.requests.head(4)


# ---------------------------------------------------------------------------------------------------------------
# SolveOptions and solve

RECENT = "recent_engagements: expected finite numbers, one per expert"
BAD_SOLVER_OPTIONS = [
    ("method", "hungarian", "method: unknown 'hungarian'; valid methods: milp, greedy"),
    ("method", None, "method: unknown None; valid methods: milp, greedy"),
    ("require_korean", "yes", "require_korean: expected True or False, got 'yes'"),
    ("korean_share", 1.5, "korean_share: expected a share in [0, 1], got 1.5"),
    ("korean_share", float("nan"), "korean_share: expected a share in [0, 1], got nan"),
    ("unstaffed_penalty", 0.0, "unstaffed_penalty: expected a positive number, got 0.0"),
    ("spread_weight", -1, "spread_weight: expected a number >= 0, got -1"),
    ("time_limit", "60", "time_limit: expected a positive number of seconds, got '60'"),
    ("time_limit", True, "time_limit: expected a positive number of seconds, got True"),
    ("mip_rel_gap", -0.1, "mip_rel_gap: expected a number >= 0, got -0.1"),
    (
        "recent_engagements",
        [[1.0, 2.0]],
        "recent_engagements: expected finite numbers, one per expert, got shape (1, 2)",
    ),
    (
        "recent_engagements",
        [np.inf, 0.0],
        "recent_engagements: expected finite numbers, one per expert, got shape (2,)",
    ),
]


@pytest.mark.parametrize(("option", "value", "message"), BAD_SOLVER_OPTIONS)
def test_a_bad_solver_option_is_an_input_error_naming_it_from_the_record_and_from_solve(option, value, message):
    with pytest.raises(InputError, match=re.escape(message)):
        SolveOptions(**{option: value})
    with pytest.raises(InputError, match=re.escape(message)):
        solve(_problem(), **{option: value})


def test_an_unknown_method_is_still_caught_as_a_value_error():
    with pytest.raises(ValueError, match="milp, greedy"):
        solve(_problem(), method="hungarian")


def test_every_bad_solver_option_is_listed_at_once():
    with pytest.raises(InputError) as info:
        SolveOptions(method="simplex", korean_share=2.0, time_limit=0)
    assert [line.split(":")[0] for line in info.value.lines] == ["method", "korean_share", "time_limit"]


def test_solver_options_are_stored_as_the_solver_reads_them():
    options = SolveOptions(korean_share=1, time_limit=5, recent_engagements=[1, 0], require_korean=np.True_)
    assert type(options.korean_share) is float and type(options.time_limit) is float
    assert options.recent_engagements.dtype == np.float64 and options.recent_engagements.tolist() == [1.0, 0.0]
    assert options.require_korean is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.method = "greedy"  # type: ignore[misc]


def test_solve_defaults_are_the_records():
    result = solve(_problem())
    assert result.options == SolveOptions()
    assert SolveOptions.defaults() == {
        f.name: getattr(SolveOptions(), f.name) for f in dataclasses.fields(SolveOptions)
    }


@pytest.mark.parametrize("method", METHODS)
def test_solve_takes_a_record_keywords_or_both_alike(method):
    problem = _problem()
    by_record = solve(problem, SolveOptions(method=method, require_korean=False))
    by_keywords = solve(problem, method=method, require_korean=False)
    by_both = solve(problem, SolveOptions(method=method), require_korean=False)
    assert by_record.assigned.tolist() == by_keywords.assigned.tolist() == by_both.assigned.tolist()
    assert by_record.options == by_keywords.options == by_both.options
    # The Korean rule changes the plan here (request 0 may not have expert 0).
    assert solve(problem, method=method).assigned.tolist() != by_record.assigned.tolist()


def test_solve_rejects_a_keyword_that_is_no_option_listing_them():
    with pytest.raises(TypeError, match="unknown solver option.*methd.*valid: method, require_korean, korean_share"):
        solve(_problem(), methd="greedy")
    with pytest.raises(TypeError, match="options must be a SolveOptions, got dict"):
        solve(_problem(), {"method": "greedy"})  # type: ignore[arg-type]


def test_recent_engagements_must_have_one_count_per_expert_of_the_problem():
    with pytest.raises(InputError, match=re.escape("recent_engagements: expected one count per expert, shape (2,)")):
        solve(_problem(), recent_engagements=np.zeros(3))


# ---------------------------------------------------------------------------------------------------------------
# Matcher.assign and shortlist_and_assign


def test_matcher_reports_a_bad_solver_option_as_solve_does(matcher, requests):
    with pytest.raises(InputError, match=re.escape("method: unknown 'hungarian'; valid methods: milp, greedy")):
        matcher.assign(requests, method="hungarian")
    with pytest.raises(InputError, match=re.escape("korean_share: expected a share in [0, 1], got 1.5")):
        matcher.shortlist_and_assign(requests, korean_share=1.5)
    with pytest.raises(InputError, match=re.escape("time_limit: expected a positive number of seconds, got 0")):
        matcher.assign(requests, options=SolveOptions(), time_limit=0)


def test_matcher_takes_a_solver_record_or_keywords_alike(matcher, requests):
    by_keywords = matcher.assign(requests, method="greedy", require_korean=False, top_m=5, n_alternates=1)
    by_record = matcher.assign(
        requests, options=SolveOptions(method="greedy", require_korean=False), top_m=5, n_alternates=1
    )
    pd.testing.assert_frame_equal(by_keywords.assignment, by_record.assignment)
    assert by_record.result.options.method == "greedy" and by_record.result.options.require_korean is False


def test_matcher_defaults_are_the_records(matcher, requests):
    plan = matcher.assign(requests)
    assert dataclasses.replace(plan.result.options, recent_engagements=None) == SolveOptions()
    explicit = matcher.assign(requests, top_m=TOP_M, n_alternates=N_ALTERNATES, **SolveOptions.defaults())
    pd.testing.assert_frame_equal(plan.assignment, explicit.assignment)
    pd.testing.assert_frame_equal(plan.candidates, explicit.candidates)


def test_matcher_takes_recent_engagements_by_expert_id_not_inside_the_record(matcher, requests):
    with pytest.raises(InputError, match="options.recent_engagements: expected None; pass recent_engagements="):
        matcher.assign(requests, options=SolveOptions(recent_engagements=np.zeros(2)))


def test_matcher_rejects_a_keyword_that_is_no_option_listing_them(matcher, requests):
    valid = "valid: top_m, n_alternates, recent_engagements, options, method, require_korean"
    with pytest.raises(TypeError, match=f"unknown assign option.*methd.*{valid}"):
        matcher.assign(requests, methd="greedy")
    with pytest.raises(TypeError, match=f"unknown assign option.*methd.*{valid}"):
        matcher.shortlist_and_assign(requests, methd="greedy")


# ---------------------------------------------------------------------------------------------------------------
# ExpertModel and the Matcher's expert-model options

BAD_MODEL_OPTIONS = [
    ("aggregation", "median", "aggregation: unknown 'median'; valid: max, mean, topk"),
    ("unit", "page", "unit: unknown 'page'; valid: document, passage"),
    ("bio", "never", "bio: unknown 'never'; valid: document, fallback"),
    ("normalize", "rank", "normalize: unknown 'rank'; valid: zscore, none"),
    ("multilingual", "always", "multilingual: unknown 'always'; valid: auto, never"),
    ("passage_tokens", 8, "passage_tokens: expected an integer >= 16, got 8"),
    ("passage_tokens", 64.0, "passage_tokens: expected an integer >= 16, got 64.0"),
]


@pytest.mark.parametrize(("option", "value", "message"), BAD_MODEL_OPTIONS)
def test_a_bad_expert_model_option_is_an_input_error_listing_the_valid_ones(option, value, message):
    with pytest.raises(InputError, match=re.escape(message)):
        ExpertModel(**{option: value})
    with pytest.raises(InputError, match=re.escape(message)):
        gm.Matcher("hashing", cache=None, **{option: value})


def test_the_matcher_keeps_the_expert_model_resolved_to_its_defaults():
    matcher = gm.Matcher("hashing", cache=None)
    assert {option: getattr(matcher, option) for option in ExpertModel.defaults()} == ExpertModel.defaults()
    assert ExpertModel.of(aggregation=None, unit="passage") == ExpertModel(unit="passage")


def test_an_option_changed_after_construction_is_checked_at_fit(demo):
    matcher = gm.Matcher("hashing", cache=None, lexical=False)
    matcher.aggregation = "median"
    with pytest.raises(InputError, match=re.escape("aggregation: unknown 'median'; valid: max, mean, topk")):
        matcher.fit(demo.experts)
    matcher.aggregation = "max"
    assert matcher.fit(demo.experts).expert_model_ == ExpertModel(aggregation="max")


def test_chunk_size_below_one_is_an_input_error():
    with pytest.raises(InputError, match="chunk_size: expected an integer >= 1, got 0"):
        gm.Matcher("hashing", cache=None, chunk_size=0)


# ---------------------------------------------------------------------------------------------------------------
# NotFittedError

REQUEST = {"request_id": "Q", "title": "t", "description": "d"}
UNFITTED_CALLS = {
    "shortlist": lambda m: m.shortlist(REQUEST),
    "assign": lambda m: m.assign(REQUEST),
    "shortlist_and_assign": lambda m: m.shortlist_and_assign(REQUEST),
    "scoring_inputs": lambda m: m.scoring_inputs(REQUEST),
    "embed_requests": lambda m: m.embed_requests(pd.DataFrame([REQUEST])),
}


@pytest.mark.parametrize("method", sorted(UNFITTED_CALLS))
def test_every_method_of_an_unfitted_matcher_raises_not_fitted(method):
    call = UNFITTED_CALLS[method]
    matcher = gm.Matcher("hashing", cache=None)
    with pytest.raises(
        NotFittedError, match=re.escape(f"call fit(experts, evidence=..., cases=...) before {method}()")
    ):
        call(matcher)
    for convention in (ValueError, AttributeError):  # scikit-learn's: both catch it
        with pytest.raises(convention):
            call(matcher)
    assert not isinstance(NotFittedError("x"), InputError | RuntimeError)


def test_not_fitted_is_checked_before_the_arguments():
    with pytest.raises(NotFittedError):
        gm.Matcher("hashing", cache=None).assign(REQUEST, top_m=0, method="hungarian")


# ---------------------------------------------------------------------------------------------------------------
# The command line builds the same records from its flags

ASSIGN = ["assign", "--requests", "r.csv", "--experts", "e.csv", "--out", "o"]


@pytest.mark.parametrize("command", ["assign", "report"])
def test_cli_without_flags_passes_no_option_so_the_records_defaults_apply(command):
    argv = [command, *ASSIGN[1:-1], "o.html" if command == "report" else "o"]
    assert _assign_options(_parser().parse_args(argv)) == {"options": SolveOptions()}


def test_cli_flags_build_the_solver_record():
    argv = [*ASSIGN, "--method", "greedy", "--no-korean-rule", "--time-limit", "5", "--korean-share", "0.2"]
    options = _assign_options(_parser().parse_args([*argv, "--top-m", "7", "--alternates", "0"]))
    expected = SolveOptions(method="greedy", require_korean=False, time_limit=5.0, korean_share=0.2)
    assert options == {"options": expected, "top_m": 7, "n_alternates": 0}


def _help(capsys: pytest.CaptureFixture[str], command: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["assign", "report"])
def test_cli_help_shows_the_records_defaults_and_choices(capsys, command):
    text = _help(capsys, command)
    solver, model = SolveOptions.defaults(), ExpertModel.defaults()
    assert f"solver (default {solver['method']})" in text
    assert f"time limit in seconds (default {solver['time_limit']:g})" in text
    assert f"per recent engagement (default {solver['spread_weight']:g})" in text
    assert f"given to the solver (default {TOP_M})" in text
    assert f"listed per request (default {N_ALTERNATES})" in text
    assert f"--method {{{','.join(METHODS)}}}" in text
    assert f"--aggregation {{{','.join(AGGREGATIONS)}}}" in text and f"default {model['aggregation']}" in text
    assert f"--normalize {{{','.join(NORMALIZATIONS)}}}" in text and f"default {model['normalize']}" in text


def test_cli_help_reads_the_default_from_the_record(capsys, monkeypatch):
    defaults = SolveOptions.defaults()
    monkeypatch.setattr(SolveOptions, "defaults", classmethod(lambda cls: {**defaults, "time_limit": 7.5}))
    assert "time limit in seconds (default 7.5)" in _help(capsys, "assign")


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (["--korean-share", "1.5"], "--korean-share: expected a share in [0, 1], got 1.5"),
        (["--time-limit", "0"], "--time-limit: expected a positive number of seconds, got 0.0"),
        (["--spread-weight", "-1"], "--spread-weight: expected a number >= 0, got -1.0"),
        (["--top-m", "0"], "--top-m must be an integer >= 1, got 0"),
        (
            ["--time-limit", "-1", "--alternates", "-2"],
            "--time-limit: expected a positive number of seconds, got -1.0; --alternates must be an integer >= 0, "
            "got -2",
        ),
    ],
)
def test_cli_bad_solver_flags_are_one_line_usage_errors(tmp_path, capsys, flags, line):
    out = tmp_path / "plan"
    assert main([*ASSIGN[:-1], str(out), *flags]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"gscp-match assign: error: {line}"]
    assert not out.exists()


def test_cli_unknown_method_is_a_usage_error_listing_the_methods(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*ASSIGN, "--method", "hungarian"])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--method" in last and "'hungarian'" in last and all(method in last for method in METHODS)


# ---------------------------------------------------------------------------------------------------------------
# A bad value a user passes is an InputError (a ValueError), with the valid names when it is a name


def _user_errors():
    from gscp_match.core._aggregate import aggregate, owner_offsets
    from gscp_match.core._scoring import Weights
    from gscp_match.evaluate import evaluate
    from gscp_match.evaluate._learn import weight_agreement
    from gscp_match.report import case_references, demand_supply, request_counts

    runs = pd.DataFrame({"request_id": ["r"], "expert_id": ["a"], "rank": [1]})
    qrels = pd.DataFrame({"request_id": ["r"], "expert_id": ["a"], "relevance": [1]})
    themes = pd.DataFrame({"themes": [("water",)], "korean_experience": [False]})
    scores = np.zeros((1, 1), dtype=np.float32)
    return {
        "similarity method": (
            lambda: gm.similarity(["a"], ["b"], method="cosine", embedder="hashing"),
            "unknown similarity method 'cosine'; valid methods: dense, lexical, hybrid",
        ),
        "aggregation method": (
            lambda: aggregate(scores, owner_offsets(np.array([0]), 1), method="median"),
            "unknown aggregation method 'median'; valid methods: max, mean, topk",
        ),
        "table kind": (
            lambda: gm.validate_table(runs, "people"),
            "unknown table kind 'people'; expected one of experts, evidence, cases, requests, history",
        ),
        "gain": (lambda: evaluate(runs, qrels, gain="log"), "unknown gain 'log'; valid: linear, exponential"),
        "cutoff": (lambda: evaluate(runs, qrels, k=(0,)), "k must be an integer >= 1, got 0"),
        "no cutoff": (lambda: evaluate(runs, qrels, k=()), "k must name at least one cutoff"),
        "components": (
            lambda: weight_agreement(Weights(), Weights(), components=["nope"]),
            "components must name some of semantic",
        ),
        "request category": (
            lambda: request_counts(runs, by="colour"),
            "unknown category 'colour'; valid: region, practice_group, support_type",
        ),
        "case grouping": (lambda: case_references(runs, by="year"), "unknown grouping 'year'; valid: city, theme"),
        "min_ratio": (lambda: demand_supply(themes, themes, min_ratio=-1), "min_ratio must be >= 0, got -1"),
    }


@pytest.mark.parametrize("case", sorted(_user_errors()))
def test_a_bad_value_from_a_user_is_an_input_error(case):
    call, message = _user_errors()[case]
    with pytest.raises(InputError, match=re.escape(message)):
        call()


def test_evaluating_rounds_with_an_unfitted_matcher_and_no_roster_is_not_fitted(demo):
    from gscp_match.evaluate import evaluate_rounds

    with pytest.raises(NotFittedError, match=r"pass experts= \(and evidence=\) or a fitted Matcher"):
        evaluate_rounds(gm.Matcher("hashing", cache=None), demo.requests, pd.DataFrame())
