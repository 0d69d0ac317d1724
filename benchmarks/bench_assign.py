"""Round assignment at scale: HiGHS MILP against the greedy baseline, rounds of 50 / 500 / 5,000 requests.

Synthetic roster (20,000 experts) and rounds from :mod:`gscp_match.synthetic._generate` (windows, busy calendars,
languages,
exclusions and budgets as the generator makes them, so windows overlap the way a real round's do). Scores come
from the matcher with the model-free hashing embedder: solve time depends on the problem's shape, not on which
embedder ranked the candidates. Each request gets its top-M candidates (default 20).

For each round size it prints: problem size (pairs, variables, constraints), MILP time, status, objective,
bound and gap; greedy time and objective; the ratio greedy / MILP objective and requests left short by each.

Run by hand (``--quick`` is the CI smoke test):

    python benchmarks/bench_assign.py                  # 50, 500, 5000 requests x 20,000 experts
    python benchmarks/bench_assign.py --quick          # 50 requests x 2,000 experts
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("GSCP_MATCH_QUIET", "1")

import numpy as np

from gscp_match import Matcher
from gscp_match.core import _scoring as scoring
from gscp_match.core._assign import solve
from gscp_match.plan._round_plan import build_problem
from gscp_match.synthetic._generate import generate_round
from gscp_match.tables._validate import validate_table
from gscp_match.text._embed import HashingEmbedder


def run(n_experts: int, sizes: list[int], *, top_m: int, time_limit: float, seed: int) -> list[dict]:
    rows = []
    biggest = generate_round(n_experts, max(sizes), seed=seed)
    experts = validate_table(biggest["experts"], "experts")
    all_requests = validate_table(biggest["requests"], "requests")
    t0 = time.perf_counter()
    matcher = Matcher(HashingEmbedder(128), cache=None, show_progress=False).fit(experts)
    print(f"roster: {n_experts} experts fitted in {time.perf_counter() - t0:.1f} s", flush=True)
    for n in sizes:
        requests = all_requests.iloc[:n]
        t0 = time.perf_counter()
        _, inputs = matcher.scoring_inputs(requests)
        candidates = scoring.shortlist(inputs, k=top_m, weights=matcher.weights)
        problem, _ = build_problem(inputs, candidates)
        t_build = time.perf_counter() - t0
        milp = solve(problem, method="milp", time_limit=time_limit)
        greedy = solve(problem, method="greedy")
        row = {
            "requests": n,
            "experts": n_experts,
            "pairs": problem.n_pairs,
            "experts_in_problem": problem.n_experts,
            "build_s": t_build,
            "variables": milp.n_variables,
            "constraints": milp.n_constraints,
            "milp_s": milp.seconds,
            "status": milp.status,
            "objective": milp.objective,
            "bound": milp.bound,
            "gap": milp.gap,
            "greedy_s": greedy.seconds,
            "greedy_objective": greedy.objective,
            "short_milp": int(np.count_nonzero(milp.shortfall)),
            "short_greedy": int(np.count_nonzero(greedy.shortfall)),
            "assigned_milp": int(np.count_nonzero(milp.assigned)),
            "assigned_greedy": int(np.count_nonzero(greedy.assigned)),
        }
        rows.append(row)
        print(
            f"{n:>5} requests: {row['pairs']} pairs over {row['experts_in_problem']} experts, "
            f"{row['variables']} vars x {row['constraints']} rows (built in {t_build:.1f} s); "
            f"MILP {row['milp_s']:.2f} s {row['status']} obj {row['objective']:.3f} bound {row['bound']:.3f} "
            f"gap {row['gap']:.2%}; greedy {row['greedy_s']:.2f} s obj {row['greedy_objective']:.3f}; "
            f"short {row['short_milp']} vs {row['short_greedy']}",
            flush=True,
        )
    return rows


def markdown(rows: list[dict]) -> str:
    head = (
        "| requests | experts | pairs | MILP vars x rows | MILP time | status | gap | objective MILP | "
        "objective greedy | greedy time | short (MILP / greedy) | assigned (MILP / greedy) |\n"
        "| ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |\n"
    )
    body = "".join(
        f"| {r['requests']:,} | {r['experts']:,} | {r['pairs']:,} | {r['variables']:,} x {r['constraints']:,} | "
        f"{r['milp_s']:.2f} s | {r['status']} | {r['gap']:.2%} | {r['objective']:.3f} | "
        f"{r['greedy_objective']:.3f} | {r['greedy_s']:.2f} s | {r['short_milp']} / {r['short_greedy']} | "
        f"{r['assigned_milp']} / {r['assigned_greedy']} |\n"
        for r in rows
    )
    return head + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50 requests x 2,000 experts (CI smoke test)")
    parser.add_argument("--experts", type=int, default=20_000)
    parser.add_argument("--sizes", default="50,500,5000", help="round sizes, comma-separated")
    parser.add_argument("--top-m", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.experts, args.sizes = 2_000, "50"
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = run(args.experts, sizes, top_m=args.top_m, time_limit=args.time_limit, seed=args.seed)
    print()
    print(markdown(rows))
    for r in rows:
        if r["greedy_objective"] > r["objective"] + 1e-6 and r["status"] == "optimal":
            print("error: greedy beat an optimal MILP", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
