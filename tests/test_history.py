"""The history table (validation, references, judgments) and the simulated history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gscp_match.core import _scoring as scoring
from gscp_match.core._scoring import COMPONENTS, Weights
from gscp_match.errors import InputError
from gscp_match.evaluate._metrics import read_judgments
from gscp_match.evaluate._simulate import select_top, simulate_history
from gscp_match.match._matcher import Matcher
from gscp_match.tables._history import HISTORY_COLUMNS, check_history, history_judgments, read_history
from gscp_match.tables._validate import read_table, validate_table

GOOD = """round,request_id,expert_id,selected,rating
R1,Q1,E1,1,5
R1,Q1,E2,0,
R1,Q2,E2,1,
R2,Q3,E3,true,2
"""


def test_read_history_types(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(GOOD, encoding="utf-8")
    table = read_history(path)
    assert list(table.columns) == list(HISTORY_COLUMNS)
    assert table["selected"].dtype == bool and table["selected"].tolist() == [True, False, True, True]
    assert table["rating"].tolist()[0] == 5 and table["rating"].isna().tolist() == [False, True, True, False]


def test_bad_history_file_names_file_row_and_column(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "round,request_id,expert_id,selected,rating\n"
        "R1,Q1,E1,1,5\n"  # row 2: fine
        "R1,Q1,E2,yes please,\n"  # row 3: bad selected
        "R1,Q1,E1,0,\n"  # row 4: repeated pair
        "R2,Q1,E3,0,\n"  # row 5: Q1 in a second round
        "R1,Q2,E4,0,4\n"  # row 6: a rating on an unselected pair
        "R1,Q2,E5,1,6\n"  # row 7: rating out of range
        "R1,,E6,1,\n",  # row 8: empty request id
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        read_table(path, "history")
    lines = info.value.lines
    assert lines == [
        "history.csv row 3, column 'selected': 'yes please' is not 0 or 1 (1: the expert was selected, 0: "
        "considered and not selected)",
        "history.csv row 4, column 'expert_id': pair (request 'Q1', expert 'E1') appears twice (first at row 2)",
        "history.csv row 5, column 'round': request 'Q1' is in round 'R1' at row 2, here 'R2'; a request belongs to "
        "one round",
        "history.csv row 6, column 'rating': 4 is given for an expert not selected; rate selected experts only "
        "(leave it empty)",
        "history.csv row 7, column 'rating': '6' is not a rating; expected a whole number from 1 to 5",
        "history.csv row 8, column 'request_id': required value is empty",
    ]


def test_history_missing_column(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("round,request_id,expert_id\nR1,Q1,E1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"history.csv column 'selected': required column is missing"):
        read_history(path)


def test_check_history_against_requests_and_roster(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(GOOD, encoding="utf-8")
    table = read_history(path)
    requests = validate_table(
        pd.DataFrame(
            {
                "request_id": ["Q1", "Q2", "Q3"],
                "title": ["t"] * 3,
                "description": ["d"] * 3,
                "round": ["R1", "R9", ""],
            }
        ),
        "requests",
    )
    experts = validate_table(
        pd.DataFrame({"expert_id": ["E1", "E2"], "name": ["a", "b"], "bio": ["x", "y"]}), "experts"
    )
    with pytest.raises(InputError) as info:
        check_history(table, requests=requests, experts=experts)
    assert info.value.lines == [
        "history.csv row 4, column 'round': 'R1', but the requests table puts 'Q2' in round 'R9'",
        "history.csv row 5, column 'expert_id': unknown expert id 'E3': not in the roster",
    ]
    with pytest.raises(InputError, match="row 2, column 'request_id': unknown request id 'Q1'"):
        check_history(table, requests=requests.iloc[1:])


def test_history_judgments_grades():
    table = validate_table(pd.read_csv(pd.io.common.StringIO(GOOD), dtype=str, keep_default_na=False), "history")
    judged = history_judgments(table)
    assert judged["relevance"].tolist() == [5, 0, 3, 2]
    assert history_judgments(table, unrated=1)["relevance"].tolist() == [5, 0, 1, 2]
    with pytest.raises(ValueError, match="unrated"):
        history_judgments(table, unrated=0)


def test_read_judgments_reads_a_history(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(GOOD, encoding="utf-8")
    judged = read_judgments(path)
    assert judged.values.tolist() == [["Q1", "E1", 5], ["Q1", "E2", 0], ["Q2", "E2", 3], ["Q3", "E3", 2]]


# ---------------------------------------------------------------------------------------------------------------
# select_top against a loop.


def ref_select_top(scores, valid, needed):
    out = np.zeros(scores.shape, dtype=bool)
    for r in range(scores.shape[0]):
        columns = [c for c in range(scores.shape[1]) if valid[r, c]]
        columns.sort(key=lambda c: (-scores[r, c], c))
        for c in columns[: needed[r]]:
            out[r, c] = True
    return out


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_select_top_matches_loop(data):
    n, m = data.draw(st.integers(0, 6)), data.draw(st.integers(1, 7))
    scores = data.draw(hnp.arrays(np.float64, (n, m), elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0])))
    valid = data.draw(hnp.arrays(np.bool_, (n, m)))
    needed = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, m + 1)))
    np.testing.assert_array_equal(select_top(scores, valid, needed), ref_select_top(scores, valid, needed))


# ---------------------------------------------------------------------------------------------------------------
# The simulator.

HIDDEN = Weights(semantic=0.2, lexical=0.1, themes=0.2, geography=0.3, korean=0.1, cost=0.1)


@pytest.fixture(scope="module")
def noiseless():
    return simulate_history(HIDDEN, rounds=2, experts=80, requests_per_round=10, candidates=8, noise=0.0, seed=3)


def test_simulated_tables_follow_the_contract(noiseless):
    history = validate_table(noiseless.history, "history")
    requests = validate_table(noiseless.requests, "requests")
    experts = validate_table(noiseless.experts, "experts")
    check_history(history, requests=requests, experts=experts)
    assert sorted(history["round"].unique()) == ["H1", "H2"]
    assert (noiseless.experts["synthetic"] == "true").all()
    per_request = history.groupby("request_id")
    needed = requests.set_index("request_id")["experts_needed"]
    for request_id, rows in per_request:
        assert rows["selected"].sum() == min(int(needed[request_id]), len(rows))
    assert history.loc[~history["selected"], "rating"].isna().all()


def test_noiseless_selection_is_the_hidden_argmax(noiseless):
    """Without noise, the selected candidates are exactly the best by the hidden weighting."""
    matcher = Matcher("hashing", cache=None, show_progress=False).fit(noiseless.experts, evidence=noiseless.evidence)
    _, inputs = matcher.scoring_inputs(noiseless.requests)
    history = validate_table(noiseless.history, "history")
    request_row = {r: i for i, r in enumerate(inputs.requests.ids)}
    expert_row = {e: i for i, e in enumerate(inputs.experts.ids)}
    r = np.array([request_row[x] for x in history["request_id"]])
    e = np.array([expert_row[x] for x in history["expert_id"]])
    components, _, _ = scoring.pair_components(inputs, r, e)
    hidden = np.stack([components[c] for c in COMPONENTS], axis=1).astype(np.float64) @ HIDDEN.vector()
    for request_id in history["request_id"].unique():
        rows = np.flatnonzero(history["request_id"].to_numpy() == request_id)
        chosen = rows[history["selected"].to_numpy()[rows]]
        others = rows[~history["selected"].to_numpy()[rows]]
        if others.size:
            assert hidden[chosen].min() >= hidden[others].max() - 1e-6


def test_simulation_is_seeded():
    a = simulate_history(HIDDEN, rounds=1, experts=30, requests_per_round=4, candidates=5, seed=11)
    b = simulate_history(HIDDEN, rounds=1, experts=30, requests_per_round=4, candidates=5, seed=11)
    c = simulate_history(HIDDEN, rounds=1, experts=30, requests_per_round=4, candidates=5, seed=12)
    pd.testing.assert_frame_equal(a.history, b.history)
    assert not a.requests.equals(c.requests)


def test_simulation_options_are_checked():
    with pytest.raises(ValueError, match="candidates"):
        simulate_history(HIDDEN, candidates=1)
    with pytest.raises(ValueError, match="noise"):
        simulate_history(HIDDEN, noise=-1)
    with pytest.raises(ValueError, match="korean_share"):
        simulate_history(HIDDEN, korean_share=2)
    with pytest.raises(ValueError, match="unknown weight"):
        simulate_history({"speed": 1.0})
