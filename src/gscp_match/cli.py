"""Command line: ``gscp-match validate | generate | shortlist | assign | report | demo | evaluate | learn-weights``.

Exit codes: 0 success, 1 input error (a bad file: one line per problem on stderr), 2 usage error.
Outputs are written atomically (temporary file, then rename), so a failed run leaves no half-written file.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError

__all__ = ["main"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2

_EPILOG_EXIT = "exit codes: 0 ok, 1 input error, 2 usage error"


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gscp-match",
        description="Match smart-city technical-assistance requests to experts and Korean benchmark cases.",
        epilog=f"example:\n  gscp-match demo --out demo_out\n\n{_EPILOG_EXIT}",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "validate",
        help="check a table file against the data contract",
        description="Check a table file (CSV, XLSX, Parquet, JSON) against the data contract.",
        epilog="example:\n  gscp-match validate experts.csv --kind experts\n"
        "  gscp-match validate evidence.csv --kind evidence --experts experts.csv\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    p.add_argument("path", help="the file to check")
    p.add_argument("--kind", required=True, choices=["experts", "evidence", "cases", "requests", "history"])
    p.add_argument("--experts", help="a roster to check evidence ids and request exclusions against")
    p.set_defaults(run=_cmd_validate)

    p = sub.add_parser(
        "generate",
        help="write a synthetic roster, evidence and round",
        description="Write a synthetic (fictional) roster, evidence and request round, from a seed.",
        epilog="example:\n  gscp-match generate --experts 5000 --requests 50 --seed 7 --out synthetic/\n\n"
        + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    p.add_argument("--experts", type=int, default=200, help="roster size (default 200)")
    p.add_argument("--requests", type=int, default=12, help="requests in the round (default 12)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=["csv", "xlsx", "parquet", "json"], default="csv")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(run=_cmd_generate)

    p = sub.add_parser(
        "shortlist",
        help="shortlist experts and cases for a round of requests",
        description="Shortlist experts and Korean benchmark cases for every request of a round.",
        epilog="example:\n  gscp-match shortlist --requests round.csv --experts experts.csv "
        "--evidence evidence.csv --top 10 --out results/\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    _add_matching_args(p)
    p.add_argument("--top", type=int, default=10, help="experts per request (default 10)")
    p.add_argument("--top-cases", type=int, default=5, help="cases per request (default 5)")
    p.add_argument("--format", choices=["csv", "xlsx", "parquet", "json"], default="csv")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(run=_cmd_shortlist)

    p = sub.add_parser(
        "assign",
        help="staff a whole round: optimal assignment, no expert double-booked",
        description="Assign experts to every request of a round at the best total score, under the experts' "
        "assignment limits and calendars and the program targets (HiGHS MILP). Writes assignment "
        "(assigned and alternate experts, with reasons), unstaffed (requests left short, and why) and "
        "bookings (the days each engagement books).",
        epilog="example:\n  gscp-match assign --requests round.csv --experts experts.csv --evidence evidence.csv "
        "--out plan/ --roster-out experts_next.csv\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    _add_matching_args(p)
    _add_assign_args(p)
    p.add_argument("--format", choices=["csv", "xlsx", "parquet", "json"], default="csv")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--roster-out",
        help="write the roster with the round's bookings added to 'busy' (format by extension), for the next round",
    )
    p.set_defaults(run=_cmd_assign)

    p = sub.add_parser(
        "report",
        help="shortlist and staff a round, then write an Excel or HTML report",
        description="Shortlist experts and Korean cases for every request, staff the round (as 'assign' does) and "
        "write one report: an Excel workbook (.xlsx) or a single self-contained HTML page (.html, .htm), "
        "chosen by the extension of --out.",
        epilog="example:\n  gscp-match report --requests round.csv --experts experts.csv --evidence evidence.csv "
        "--out round_report.html\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    _add_matching_args(p)
    _add_assign_args(p)
    p.add_argument("--top", type=int, default=5, help="experts per request (default 5)")
    p.add_argument("--top-cases", type=int, default=3, help="cases per request (default 3)")
    p.add_argument("--title", default="GSCP round report", help="the report's title")
    p.add_argument("--out", required=True, help="report file: .html, .htm or .xlsx")
    p.set_defaults(run=_cmd_report)

    p = sub.add_parser(
        "demo",
        help="run the main job on the bundled demo data",
        description="Shortlist experts and cases for the bundled synthetic demo round and write the results.",
        epilog="example:\n  gscp-match demo --out demo_out\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    p.add_argument("--out", default="gscp_demo", help="output folder (default ./gscp_demo)")
    p.add_argument("--embedder", default=None, help="model folder, or 'hashing' (default: packaged MiniLM)")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_demo)

    p = sub.add_parser(
        "evaluate",
        help="score rankings against graded judgments or past selections",
        description="Score a ranking file (for example expert_shortlist.csv) against graded judgments: hit@k, "
        "recall@k, nDCG@k, MRR and MAP per request, and their means. A history of past selections (round, "
        "request_id, expert_id, selected, rating) serves as judgments too: selected = relevant, rating = grade.",
        epilog="example:\n  gscp-match evaluate --rankings results/expert_shortlist.csv --judgments judgments.csv "
        "--k 1,5,10 --out per_request.csv\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    p.add_argument("--rankings", required=True, help="request_id, expert_id (or case_id), rank or score")
    p.add_argument("--judgments", required=True, help="request_id, expert_id (or case_id), relevance; or a history")
    p.add_argument("--k", default="1,3,5,10", help="cutoffs, comma-separated (default 1,3,5,10)")
    p.add_argument("--item", choices=["expert_id", "case_id"], default="expert_id", help="what is ranked")
    p.add_argument("--requests", help="requests file: evaluate exactly these (an empty shortlist scores 0)")
    p.add_argument("--threshold", type=float, default=1.0, help="grade from which an item is relevant (default 1)")
    p.add_argument("--gain", choices=["linear", "exponential"], default="linear", help="nDCG gain (default linear)")
    p.add_argument("--out", help="also write the per-request metrics (.csv, .xlsx, .parquet or .json)")
    p.set_defaults(run=_cmd_evaluate)

    p = sub.add_parser(
        "learn-weights",
        help="learn the component weights from past selections",
        description="Learn the score-component weights from a history of past selections (pairwise logistic "
        "regression on component differences within each request), check them by leaving each round out, and "
        "write a weights JSON usable with --weights. Prints the held-out figures per round and whether the learned "
        "weights beat the reference weights (--weights, default the shipped ones).",
        epilog="example:\n  gscp-match learn-weights --history history.csv --requests past_requests.csv "
        "--experts experts.csv --evidence evidence.csv --out learned_weights.json\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    p.add_argument("--history", required=True, help="round, request_id, expert_id, selected (0/1), rating (1-5)")
    p.add_argument("--requests", required=True, help="the past rounds' requests (with their round)")
    p.add_argument("--experts", required=True, help="roster file")
    p.add_argument("--evidence", help="evidence file (optional)")
    p.add_argument("--embedder", default=None, help="model folder, or 'hashing' (default: packaged MiniLM)")
    p.add_argument("--weights", help="reference weights JSON (default: models/default_weights.json)")
    p.add_argument("--cache", default="default", help="embedding cache folder, or 'none'")
    p.add_argument("--candidates", type=int, default=20, help="top experts per request compared (default 20)")
    p.add_argument(
        "--label",
        choices=["selected", "grade"],
        default="selected",
        help="compare selected vs not (default), or by grade (rating)",
    )
    p.add_argument(
        "--metric",
        default="ndcg@5",
        choices=[f"{m}@{k}" for m in ("hit", "recall", "ndcg") for k in (1, 3, 5, 10)] + ["mrr", "map"],
        metavar="METRIC",
        help="held-out metric that decides (default ndcg@5; hit@k, recall@k, ndcg@k for k 1,3,5,10, mrr, map)",
    )
    p.add_argument("--per-round", help="also write the held-out figures per round to this table file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, help="weights JSON to write")
    p.set_defaults(run=_cmd_learn_weights)
    return parser


def _add_matching_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--requests", required=True, help="requests file")
    p.add_argument("--experts", required=True, help="roster file")
    p.add_argument("--evidence", help="evidence file (optional)")
    p.add_argument("--cases", help="case catalog (default: the bundled Korean catalog)")
    p.add_argument("--embedder", default=None, help="model folder, or 'hashing' (default: packaged MiniLM)")
    p.add_argument("--weights", help="weights JSON file (default: models/default_weights.json)")
    p.add_argument("--cache", default="default", help="embedding cache folder, or 'none'")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--scheduler",
        help="score on Dask: local, threads, processes or a scheduler address (tcp://host:8786); "
        "needs gscp_match[distributed]",
    )
    p.add_argument("--store", help="profile store folder: encode only new or changed profiles, reuse the rest")


def _add_assign_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--top-m", type=int, default=20, help="candidates per request given to the solver (default 20)")
    p.add_argument("--alternates", type=int, default=3, help="stand-by experts listed per request (default 3)")
    p.add_argument("--method", choices=["milp", "greedy"], default="milp", help="solver (default milp)")
    p.add_argument("--korean-share", type=float, help="minimum share of Korean-experienced experts in the round (0-1)")
    p.add_argument(
        "--no-korean-rule",
        action="store_true",
        help="do not require a Korean-experienced expert on requests that ask for Korean experience",
    )
    p.add_argument("--time-limit", type=float, default=60.0, help="solver time limit in seconds (default 60)")
    p.add_argument(
        "--history",
        help="past selections (round, request_id, expert_id, selected): with --spread-weight, experts selected in "
        "the last --recent-rounds rounds score lower, so opportunities go round",
    )
    p.add_argument("--spread-weight", type=float, default=0.0, help="score lowered per recent engagement (default 0)")
    p.add_argument("--recent-rounds", type=int, default=3, help="rounds of --history that count as recent (default 3)")


def _version() -> str:
    from . import __version__

    return __version__


def _write(frame: pd.DataFrame, path: Path) -> Path:
    from .io import write_table

    return write_table(frame, path)


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validate import check_references, read_table

    table = read_table(args.path, args.kind)
    if args.experts:
        roster = read_table(args.experts, "experts")
        if args.kind == "evidence":
            check_references(experts=roster, evidence=table)
        elif args.kind == "requests":
            check_references(experts=roster, requests=table)
    print(f"ok: {len(table)} rows")
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace) -> int:
    from .synthetic import generate_round

    if args.experts < 1 or args.requests < 1:
        raise _Usage("--experts and --requests must be >= 1")
    tables = generate_round(args.experts, args.requests, seed=args.seed)
    out = Path(args.out)
    for kind, frame in tables.items():
        path = _write(frame, out / f"{kind}.{args.format}")
        print(f"wrote {path} ({len(frame)} rows, synthetic)")
    return EXIT_OK


def _matcher(args: argparse.Namespace):  # noqa: ANN202 - imported lazily to keep --help fast
    from .matcher import Matcher

    cache = None if str(args.cache).lower() == "none" else args.cache
    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None:  # checked here too, so that a bad --scheduler is a usage error (exit 2)
        from .distributed import check_scheduler

        try:
            check_scheduler(scheduler)
        except (ValueError, ImportError) as exc:
            raise _Usage(str(exc)) from None
    return Matcher(
        args.embedder,
        weights=args.weights,
        cache=cache,
        show_progress=False if args.quiet else None,
        scheduler=scheduler,
        store=getattr(args, "store", None),
    )


def _cmd_shortlist(args: argparse.Namespace) -> int:
    if args.top < 1 or args.top_cases < 0:
        raise _Usage("--top must be >= 1 and --top-cases >= 0")
    matcher = _matcher(args).fit(args.experts, evidence=args.evidence, cases=args.cases)
    for path in _shortlist(matcher, args.requests, args, Path(args.out), args.format)[1]:
        print(f"wrote {path}")
    return EXIT_OK


def _shortlist(matcher, requests, args: argparse.Namespace, out: Path, fmt: str) -> tuple[Any, list[Path]]:  # noqa: ANN001
    result = matcher.shortlist(requests, k=args.top, k_cases=args.top_cases)
    return result, [
        _write(result.experts, out / f"expert_shortlist.{fmt}"),
        _write(result.cases, out / f"case_shortlist.{fmt}"),
        _write(result.filters, out / f"filters.{fmt}"),
    ]


def _check_assign_args(args: argparse.Namespace) -> None:
    if args.top_m < 1 or args.alternates < 0:
        raise _Usage("--top-m must be >= 1 and --alternates >= 0")
    if args.korean_share is not None and not 0.0 <= args.korean_share <= 1.0:
        raise _Usage(f"--korean-share must be in [0, 1], got {args.korean_share}")
    if not args.time_limit > 0:
        raise _Usage(f"--time-limit must be > 0, got {args.time_limit}")
    if not args.spread_weight >= 0 or args.recent_rounds < 1:
        raise _Usage("--spread-weight must be >= 0 and --recent-rounds >= 1")
    if args.spread_weight > 0 and not args.history:
        raise _Usage("--spread-weight needs --history (the past selections to count)")
    if getattr(args, "roster_out", None):
        from .io import format_of

        try:
            format_of(args.roster_out)
        except InputError as exc:
            raise _Usage(f"--roster-out: {exc}") from None


def _plan(matcher, requests, args: argparse.Namespace):  # noqa: ANN001, ANN202
    plan = matcher.assign(
        requests,
        top_m=args.top_m,
        n_alternates=args.alternates,
        method=args.method,
        require_korean=not args.no_korean_rule,
        korean_share=args.korean_share,
        time_limit=args.time_limit,
        recent_engagements=_recent(args),
        spread_weight=args.spread_weight,
    )
    print(f"plan: {plan.summary()}")
    return plan


def _natural(name: str) -> list[tuple[int, int | str]]:
    """Sort key reading the numbers in a name as numbers: R9 < R10, 2026-R2 < 2026-R11."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", str(name))]


def _recent(args: argparse.Namespace) -> pd.Series | None:
    """Selections per expert in the last ``--recent-rounds`` rounds of ``--history`` (rounds in natural order)."""
    if not getattr(args, "history", None):
        return None
    from .history import read_history

    history = read_history(args.history)
    recent = sorted(history["round"].unique(), key=_natural)[-args.recent_rounds :]
    chosen = history[history["round"].isin(recent) & history["selected"]]
    return chosen.groupby("expert_id").size().astype(float)


def _assign(matcher, requests, args: argparse.Namespace, out: Path, fmt: str) -> tuple[Any, list[Path]]:  # noqa: ANN001
    plan = _plan(matcher, requests, args)
    written = [
        _write(plan.assignment, out / f"assignment.{fmt}"),
        _write(plan.unstaffed, out / f"unstaffed.{fmt}"),
        _write(plan.bookings, out / f"bookings.{fmt}"),
    ]
    roster_out = getattr(args, "roster_out", None)
    if roster_out:
        from .round_plan import add_bookings
        from .validate import read_table

        roster = add_bookings(read_table(args.experts, "experts"), plan.bookings, holidays=matcher.holidays)
        written.append(_write(roster, Path(roster_out)))
    return plan, written


def _cmd_assign(args: argparse.Namespace) -> int:
    _check_assign_args(args)
    matcher = _matcher(args).fit(args.experts, evidence=args.evidence, cases=args.cases)
    plan, written = _assign(matcher, args.requests, args, Path(args.out), args.format)
    for path in written:
        print(f"wrote {path}")
    print(f"{plan.outcome()}; plan: {written[0]}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import report_format
    from .validate import read_table

    try:
        report_format(args.out)
    except InputError as exc:
        raise _Usage(str(exc)) from None
    if args.top < 1 or args.top_cases < 0:
        raise _Usage("--top must be >= 1 and --top-cases >= 0")
    _check_assign_args(args)
    matcher = _matcher(args).fit(args.experts, evidence=args.evidence, cases=args.cases)
    requests = read_table(args.requests, "requests")
    result = matcher.shortlist(requests, k=args.top, k_cases=args.top_cases)
    plan = _plan(matcher, requests, args)
    inputs = {kind: getattr(args, kind) for kind in ("requests", "experts", "evidence", "cases")}
    path = _report(args.out, requests, matcher, result, plan, title=args.title, inputs=inputs)
    print(f"{plan.outcome()}; report: {path}")
    return EXIT_OK


def _report(out: str | Path, requests: pd.DataFrame, matcher, result, plan, *, title: str, inputs) -> Path:  # noqa: ANN001
    from .report import write_report

    return write_report(
        out,
        requests=requests,
        experts=matcher.experts_,
        shortlists_experts=result.experts,
        shortlists_cases=result.cases,
        cases=matcher.cases_,
        assignment=plan.assignment,
        unstaffed=plan.unstaffed,
        bookings=plan.bookings,
        candidates=plan.candidates,
        title=title,
        inputs={kind: path for kind, path in inputs.items() if path},
        model=matcher.embedder_.name,
        weights=matcher.weights.as_dict(),
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from .catalog import demo_paths

    if args.top < 1:
        raise _Usage(f"--top must be >= 1, got {args.top}")
    paths = demo_paths()
    # The demo is `report` on the bundled files with every other option at its default.
    demo_argv = ["report", "--out", str(Path(args.out) / "report.html"), "--top", str(args.top), "--top-cases", "3"]
    for kind in ("requests", "experts", "evidence"):
        demo_argv += [f"--{kind}", str(paths[kind])]
    if args.embedder is not None:
        demo_argv += ["--embedder", args.embedder]
    ns = _parser().parse_args(demo_argv)
    ns.quiet = args.quiet
    print(f"demo: synthetic roster and round from {paths['experts'].parent}")
    from .validate import read_table

    matcher = _matcher(ns).fit(ns.experts, evidence=ns.evidence)
    out = Path(args.out)
    requests = read_table(ns.requests, "requests")
    result, written = _shortlist(matcher, requests, ns, out, "csv")
    plan, plan_files = _assign(matcher, requests, ns, out, "csv")
    inputs = {kind: paths[kind] for kind in ("requests", "experts", "evidence")}
    title = "GSCP demo round (synthetic data)"
    report = _report(ns.out, requests, matcher, result, plan, title=title, inputs=inputs)
    for path in [*written, *plan_files, report]:
        print(f"wrote {path}")
    print(f"{plan.outcome()}; report: {report}")
    return EXIT_OK


def _cutoffs(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise _Usage(f"--k must be whole numbers separated by commas, got {text!r}") from None
    if not values or min(values) < 1:
        raise _Usage(f"--k must be whole numbers >= 1, got {text!r}")
    return values


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .metrics import evaluate, read_judgments, read_rankings
    from .validate import read_table

    cutoffs = _cutoffs(args.k)
    rankings = read_rankings(args.rankings, item=args.item)
    judgments = read_judgments(args.judgments, item=args.item)
    asked = read_table(args.requests, "requests")["request_id"].tolist() if args.requests else None
    result = evaluate(
        rankings, judgments, item=args.item, k=cutoffs, threshold=args.threshold, gain=args.gain, requests=asked
    )
    for name, value in result.summary().items():
        print(f"{name}\t{int(value)}" if str(name).startswith("n_") else f"{name}\t{value:.4f}")
    if result.excluded:
        print(f"not evaluated (no judged item at relevance >= {args.threshold:g}): {', '.join(result.excluded)}")
    if args.out:
        print(f"wrote {_write(result.per_request, Path(args.out))}")
    return EXIT_OK


def _cmd_learn_weights(args: argparse.Namespace) -> int:
    from .learn import learn_weights, save_weights

    if args.candidates < 1:
        raise _Usage("--candidates must be >= 1")
    if Path(args.out).suffix.lower() != ".json":
        raise _Usage(f"--out must be a .json file, got {args.out!r}")
    learning = learn_weights(
        _matcher(args),
        args.requests,
        args.history,
        experts=args.experts,
        evidence=args.evidence,
        candidates=args.candidates,
        label=args.label,
        metric=args.metric,
    )
    per_round = learning.per_round()
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(per_round.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print()
        print(learning.summary().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    fit = learning.learned
    print()
    print("weights: " + ", ".join(f"{c}={v:.3f}" for c, v in fit.weights.as_dict().items()))
    if fit.unidentified:
        print(f"kept at the reference weight (never differ between candidates): {', '.join(fit.unidentified)}")
    if len(learning.masked):
        print(f"{len(learning.masked)} selected pair(s) are removed by the hard filters now and were left out")
    verdict = "beat" if learning.beats_reference else "do NOT beat"
    print(f"learned weights {verdict} the reference weights on held-out rounds ({learning.metric})")
    data = {"history": str(args.history), "requests": str(args.requests), "experts": str(args.experts)}
    print(f"wrote {save_weights(learning, args.out, data=data)}")
    if args.per_round:
        print(f"wrote {_write(per_round, Path(args.per_round))}")
    return EXIT_OK


class _Usage(Exception):
    """A usage error found after parsing."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gscp-match`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "quiet", False):
        os.environ["GSCP_MATCH_QUIET"] = "1"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return int(args.run(args))
    except _Usage as exc:
        print(f"gscp-match {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
