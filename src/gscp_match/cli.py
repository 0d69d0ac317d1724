"""Command line: ``gscp-match validate | generate | shortlist | assign | report | demo | evaluate | learn-weights``.

Exit codes: 0 success, 1 input error (a bad file: one line per problem on stderr), 2 usage error, 130 interrupted,
143 terminated (SIGTERM is handled like Ctrl-C).

Every input file is validated before anything slow starts. A command's outputs are all-or-nothing
(:func:`gscp_match.tables._io.staged_outputs`): written aside, then renamed into place together, so a failed or
interrupted
run leaves the previous files as they were; temporaries a killed run left are swept at the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gscp_match._progress import run_progress, step
from gscp_match.errors import InputError

if TYPE_CHECKING:  # pandas is imported by the commands that need it, so --help and usage errors stay fast
    import pandas as pd

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
    _add_validate(sub)
    _add_generate(sub)
    _add_shortlist(sub)
    _add_assign(sub)
    _add_report(sub)
    _add_demo(sub)
    _add_evaluate(sub)
    _add_learn_weights(sub)
    _add_ingest(sub)
    return parser


#: The options that choose the model and the expert model, shared by every command that scores.
_MODEL_OPTIONS = ("embedder", "aggregation", "normalize")


def _add_validate(sub: Any) -> None:
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


def _add_generate(sub: Any) -> None:
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


def _add_shortlist(sub: Any) -> None:
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


def _add_assign(sub: Any) -> None:
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


def _add_report(sub: Any) -> None:
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


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run the main job on the bundled demo data",
        description="Shortlist experts and cases for the bundled synthetic demo round and write the results.",
        epilog="example:\n  gscp-match demo --out demo_out\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    p.add_argument("--out", default="gscp_demo", help="output folder (default ./gscp_demo)")
    _add_model_args(p)
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_demo)


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score rankings against graded judgments or past selections",
        description="Score a ranking file (for example expert_shortlist.csv) against graded judgments: hit@k, "
        "recall@k, nDCG@k, MRR and MAP per request, and their means. A history of past selections (round, "
        "request_id, expert_id, selected, rating) serves as judgments too: selected = relevant, rating = grade. "
        "When the ranking file has a score column, also the pairwise loss: per expert, over the pairs of requests "
        "its judgments grade differently, the share of weight (grade difference) the scores order the wrong way, "
        "ties half; the mean over experts (0 perfect, 0.5 a constant score). A judged pair missing from the "
        "rankings (cut by --top) counts as scored below all others.",
        epilog="example:\n  gscp-match evaluate --rankings results/expert_shortlist.csv --judgments judgments.csv "
        "--k 1,5,10 --out per_request.csv --pairwise-out per_expert.csv\n\n" + _EPILOG_EXIT,
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
    p.add_argument("--pairwise-out", help="also write the pairwise loss per expert (needs a score column)")
    p.set_defaults(run=_cmd_evaluate)


def _add_learn_weights(sub: Any) -> None:
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
    _add_model_args(p)
    p.add_argument("--weights", help="reference weights JSON (default: src/gscp_match/models/default_weights.json)")
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


def _add_ingest(sub: Any) -> None:
    p = sub.add_parser(
        "ingest",
        help="build a roster from a folder of CVs (.docx, .pdf, .txt/.md, .html)",
        description="Read a folder of CVs, one expert per file or per sub-folder (a CV plus that expert's reports), "
        "and write experts, evidence (one row per assignment, publication or report) and ingest_review (fields "
        "not found or uncertain, and files not read). Nothing leaves the machine.",
        epilog="example:\n  gscp-match ingest cvs/ --out myround/ --redact\n  gscp-match validate "
        "myround/experts.csv --kind experts\n\n" + _EPILOG_EXIT,
        formatter_class=_formatter,
    )
    p.add_argument("folder", help="folder of CVs")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--ids", help="table with columns file, expert_id (default: ids from the file names)")
    p.add_argument("--redact", action="store_true", help="drop e-mail addresses and phone numbers from stored texts")
    p.add_argument("--max-size-mb", type=float, default=20.0, help="skip files larger than this (default 20)")
    p.add_argument("--jobs", type=int, default=1, help="processes reading documents (default 1)")
    p.add_argument("--format", choices=["csv", "xlsx", "parquet", "json"], default="csv")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_ingest)


def _add_model_args(p: argparse.ArgumentParser) -> None:
    # Choices and defaults come from the expert model's record (numpy only), so one edit there changes both.
    from gscp_match.match._options import AGGREGATIONS, NORMALIZATIONS, ExpertModel

    model = ExpertModel.defaults()
    p.add_argument(
        "--embedder",
        default=None,
        help="minilm (default: all-MiniLM-L6-v2 on ONNX Runtime, int8), minilm-fp32, minilm-torch, hashing, or a "
        "sentence-transformers model folder (see models/README.md)",
    )
    p.add_argument(
        "--aggregation",
        choices=AGGREGATIONS,
        default=None,
        help="how an expert's documents add up: the best three weighted 1, 1/2, 1/3 (topk), the best (max) or the "
        f"mean (mean); default {model['aggregation']}",
    )
    p.add_argument(
        "--normalize",
        choices=NORMALIZATIONS,
        default=None,
        help="text scores standardized per request over the roster (zscore) or raw cosines (none); default "
        f"{model['normalize']}",
    )


def _add_matching_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--requests", required=True, help="requests file")
    p.add_argument("--experts", required=True, help="roster file")
    p.add_argument("--evidence", help="evidence file (optional)")
    p.add_argument("--cases", help="case catalog (default: the bundled Korean catalog)")
    _add_model_args(p)
    p.add_argument("--weights", help="weights JSON file (default: src/gscp_match/models/default_weights.json)")
    p.add_argument("--cache", default="default", help="embedding cache folder, or 'none'")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--scheduler",
        help="score on Dask: local, threads, processes or a scheduler address (tcp://host:8786); "
        "needs gscp_match[distributed]",
    )
    p.add_argument("--store", help="profile store folder: encode only new or changed profiles, reuse the rest")


#: Each solver flag of ``assign`` and ``report``, by the :class:`~gscp_match.core._assign.SolveOptions` field it
#: sets (its argparse dest).
_SOLVER_FLAGS = {
    "method": "--method",
    "korean_share": "--korean-share",
    "require_korean": "--no-korean-rule",
    "time_limit": "--time-limit",
    "spread_weight": "--spread-weight",
}


def _add_assign_args(p: argparse.ArgumentParser) -> None:
    # The defaults live in SolveOptions and match._options (numpy only): a flag the user does not give is not
    # set (argparse.SUPPRESS), so the library's default applies, and the help shows that same default.
    from gscp_match.core._solve_options import METHODS, SolveOptions
    from gscp_match.match._options import N_ALTERNATES, TOP_M

    solver = SolveOptions.defaults()
    unset = argparse.SUPPRESS
    p.add_argument(
        "--top-m", type=int, default=unset, help=f"candidates per request given to the solver (default {TOP_M})"
    )
    p.add_argument(
        "--alternates", type=int, default=unset, help=f"stand-by experts listed per request (default {N_ALTERNATES})"
    )
    p.add_argument("--method", choices=METHODS, default=unset, help=f"solver (default {solver['method']})")
    p.add_argument(
        "--korean-share",
        type=float,
        default=unset,
        help="minimum share of Korean-experienced experts in the round (0-1; default none)",
    )
    p.add_argument(
        "--no-korean-rule",
        dest="require_korean",
        action="store_false",
        default=unset,
        help="do not require a Korean-experienced expert on requests that ask for Korean experience",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=unset,
        help=f"solver time limit in seconds (default {solver['time_limit']:g})",
    )
    p.add_argument(
        "--history",
        help="past selections (round, request_id, expert_id, selected): with --spread-weight, experts selected in "
        "the last --recent-rounds rounds score lower, so opportunities go round",
    )
    p.add_argument(
        "--spread-weight",
        type=float,
        default=unset,
        help=f"score lowered per recent engagement (default {solver['spread_weight']:g})",
    )
    p.add_argument("--recent-rounds", type=int, default=3, help="rounds of --history that count as recent (default 3)")


def _version() -> str:
    from gscp_match._version import __version__

    return __version__


def _write(frame: pd.DataFrame, path: Path) -> Path:
    from gscp_match.tables._io import write_table

    return write_table(frame, path)


def _cmd_validate(args: argparse.Namespace) -> int:
    from gscp_match.tables._validate import read_table

    # One run lists every problem: the roster's, the table's and its unknown expert ids (same pass, file rows).
    problems: list = []
    roster = None
    if args.experts:
        try:
            roster = read_table(args.experts, "experts")
        except InputError as exc:
            problems.extend(exc.problems)
    references = roster if args.kind in ("evidence", "requests") else None
    try:
        table = read_table(args.path, args.kind, experts=references)
    except InputError as exc:
        problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    print(f"ok: {len(table)} rows")
    return EXIT_OK


def _cmd_generate(args: argparse.Namespace) -> int:
    from gscp_match.synthetic._generate import generate_round

    if args.experts < 1 or args.requests < 1:
        raise _Usage("--experts and --requests must be >= 1")
    tables = generate_round(args.experts, args.requests, seed=args.seed)
    out = Path(args.out)
    with _outputs() as outputs:
        for kind, frame in tables.items():
            _write(frame, outputs.path(out / f"{kind}.{args.format}"))
    for kind, frame in tables.items():
        print(f"wrote {out / f'{kind}.{args.format}'} ({len(frame)} rows, synthetic)")
    return EXIT_OK


def _matcher(args: argparse.Namespace, weights: Any = None):
    from gscp_match.match._matcher import Matcher

    cache = None if str(args.cache).lower() == "none" else args.cache
    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None:  # checked here too, so that a bad --scheduler is a usage error (exit 2)
        from gscp_match.scale._dask import check_scheduler

        try:
            check_scheduler(scheduler)
        except (ValueError, ImportError) as exc:
            raise _Usage(str(exc)) from None
    return Matcher(
        args.embedder,
        weights=weights if weights is not None else args.weights,
        cache=cache,
        aggregation=getattr(args, "aggregation", None),
        normalize=getattr(args, "normalize", None),
        show_progress=False if args.quiet else None,
        scheduler=scheduler,
        store=getattr(args, "store", None),
    )


def _cmd_shortlist(args: argparse.Namespace) -> int:
    if args.top < 1 or args.top_cases < 0:
        raise _Usage("--top must be >= 1 and --top-cases >= 0")
    inputs = _read_inputs(args)
    matcher = _fit(args, inputs)
    result = matcher.shortlist(inputs.requests, k=args.top, k_cases=args.top_cases)
    with _outputs() as outputs:
        written = _write_shortlists(result, Path(args.out), args.format, outputs)
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


@dataclass(frozen=True, slots=True)
class _Inputs:
    """Every input file of a matching command, read and validated (and cross-checked) before anything slow."""

    requests: pd.DataFrame
    experts: pd.DataFrame
    evidence: pd.DataFrame | None
    cases: pd.DataFrame | None
    recent: pd.Series | None  # selections per expert in the recent rounds of --history
    weights: Any  # Weights from --weights, or None for the shipped ones


class _InputProblems(InputError):
    """The problems of several input files, each file's lines as its own InputError gives them."""

    def __init__(self, errors: list[InputError]) -> None:
        ValueError.__init__(self, "\n".join(line for error in errors for line in error.lines))
        self.problems = [problem for error in errors for problem in error.problems]


def _read_inputs(args: argparse.Namespace) -> _Inputs:
    """Read and validate requests, roster, evidence, cases, history and weights, and the references between them,
    before any model is loaded or any text encoded. Every problem of every file is raised at once."""
    step("reading and checking the input files")
    from gscp_match.tables._validate import check_references, read_table
    from gscp_match.tables._weights import read_weights

    errors: list[InputError] = []

    def attempt(read, *values):
        try:
            return read(*values)
        except InputError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(InputError(f"{exc.filename or (values[0] if values else 'input')}: {exc.strerror or exc}"))
        return None

    experts = attempt(read_table, args.experts, "experts")
    evidence = attempt(read_table, args.evidence, "evidence") if args.evidence else None
    cases = attempt(read_table, args.cases, "cases") if getattr(args, "cases", None) else None
    requests = attempt(read_table, args.requests, "requests")
    history = attempt(read_table, args.history, "history") if getattr(args, "history", None) else None
    weights = attempt(read_weights, args.weights) if args.weights else None
    if experts is not None and (evidence is not None or requests is not None):
        attempt(lambda: check_references(experts=experts, evidence=evidence, requests=requests))
    if errors:
        raise _InputProblems(errors)
    recent = _recent(history, args.recent_rounds) if history is not None else None
    return _Inputs(requests, experts, evidence, cases, recent, weights)


def _fit(args: argparse.Namespace, inputs: _Inputs):
    step("fitting the roster (languages, words, passages)")
    return _matcher(args, inputs.weights).fit(inputs.experts, evidence=inputs.evidence, cases=inputs.cases)


def _outputs():
    """All-or-nothing outputs for a command (:func:`gscp_match.tables._io.staged_outputs`)."""
    from gscp_match.tables._io import staged_outputs

    return staged_outputs()


def _write_shortlists(result, out: Path, fmt: str, outputs) -> list[Path]:
    step("writing the outputs")
    targets = [out / f"{name}.{fmt}" for name in ("expert_shortlist", "case_shortlist", "filters")]
    for frame, target in zip((result.experts, result.cases, result.filters), targets, strict=True):
        _write(frame, outputs.path(target))
    return targets


def _assign_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``Matcher.assign`` from the flags given (a flag not given leaves the library's default), each
    checked once by the library's own checks, before anything slow; a bad one is a usage error naming its flag."""
    from gscp_match.core._solve_options import SolveOptions
    from gscp_match.match._options import check_count

    options: dict[str, Any] = {}
    problems: list[str] = []
    try:
        options["options"] = SolveOptions(**{f: getattr(args, f) for f in _SOLVER_FLAGS if hasattr(args, f)})
    except InputError as exc:
        problems += [_flag_names(line) for line in exc.lines]
    for flag, keyword, least in (("--top-m", "top_m", 1), ("--alternates", "n_alternates", 0)):
        dest = flag[2:].replace("-", "_")
        try:
            if hasattr(args, dest):
                options[keyword] = check_count(flag, getattr(args, dest), least)
        except InputError as exc:
            problems += exc.lines
    if args.recent_rounds < 1:
        problems.append(f"--recent-rounds must be >= 1, got {args.recent_rounds}")
    if problems:
        raise _Usage("; ".join(problems))
    if options["options"].spread_weight > 0 and not args.history:
        raise _Usage("--spread-weight needs --history (the past selections to count)")
    if getattr(args, "roster_out", None):
        from gscp_match.tables._io import format_of

        try:
            format_of(args.roster_out)
        except InputError as exc:
            raise _Usage(f"--roster-out: {exc}") from None
    return options


def _flag_names(line: str) -> str:
    """A problem line of the solver's options with the option named as its flag (``korean_share:`` ->
    ``--korean-share:``)."""
    field, sep, rest = line.partition(": ")
    return f"{_SOLVER_FLAGS[field]}: {rest}" if sep and field in _SOLVER_FLAGS else line


def _natural(name: str) -> list[tuple[int, int | str]]:
    """Sort key reading the numbers in a name as numbers: R9 < R10, 2026-R2 < 2026-R11."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", str(name))]


def _recent(history: pd.DataFrame, recent_rounds: int) -> pd.Series:
    """Selections per expert in the last ``recent_rounds`` rounds of a history (rounds in natural order)."""
    recent = sorted(history["round"].unique(), key=_natural)[-recent_rounds:]
    chosen = history[history["round"].isin(recent) & history["selected"]]
    return chosen.groupby("expert_id").size().astype(float)


def _write_plan(plan, out: Path, fmt: str, outputs, args: argparse.Namespace, inputs: _Inputs, matcher) -> list[Path]:
    step("writing the outputs")
    targets = [out / f"{name}.{fmt}" for name in ("assignment", "unstaffed", "bookings")]
    for frame, target in zip((plan.assignment, plan.unstaffed, plan.bookings), targets, strict=True):
        _write(frame, outputs.path(target))
    roster_out = getattr(args, "roster_out", None)
    if roster_out:
        from gscp_match.plan._round_plan import add_bookings

        roster = add_bookings(inputs.experts, plan.bookings, holidays=matcher.holidays)
        targets.append(Path(roster_out))
        _write(roster, outputs.path(roster_out))
    return targets


def _cmd_assign(args: argparse.Namespace) -> int:
    options = _assign_options(args)
    inputs = _read_inputs(args)
    matcher = _fit(args, inputs)
    step("staffing the round")
    plan = matcher.assign(inputs.requests, recent_engagements=inputs.recent, **options)
    print(f"plan: {plan.summary()}")
    with _outputs() as outputs:
        written = _write_plan(plan, Path(args.out), args.format, outputs, args, inputs, matcher)
    for path in written:
        print(f"wrote {path}")
    print(f"{plan.outcome()}; plan: {written[0]}")
    return EXIT_OK


def _shortlist_and_plan(matcher, inputs: _Inputs, args: argparse.Namespace, options: dict[str, Any]):
    """Shortlists and the round plan from one scoring run (report, demo); ``options`` from :func:`_assign_options`."""
    result, plan = matcher.shortlist_and_assign(
        inputs.requests, k=args.top, k_cases=args.top_cases, recent_engagements=inputs.recent, **options
    )
    print(f"plan: {plan.summary()}")
    return result, plan


def _cmd_report(args: argparse.Namespace) -> int:
    from gscp_match.report._report import report_format

    try:
        report_format(args.out)
    except InputError as exc:
        raise _Usage(str(exc)) from None
    if args.top < 1 or args.top_cases < 0:
        raise _Usage("--top must be >= 1 and --top-cases >= 0")
    options = _assign_options(args)
    inputs = _read_inputs(args)
    matcher = _fit(args, inputs)
    result, plan = _shortlist_and_plan(matcher, inputs, args, options)
    files = {kind: getattr(args, kind) for kind in ("requests", "experts", "evidence", "cases")}
    with _outputs() as outputs:
        _report(outputs.path(args.out), inputs.requests, matcher, result, plan, title=args.title, inputs=files)
    print(f"wrote {Path(args.out)}")
    print(f"{plan.outcome()}; report: {Path(args.out)}")
    return EXIT_OK


def _report(out: str | Path, requests: pd.DataFrame, matcher, result, plan, *, title: str, inputs) -> Path:
    step("writing the report")
    from gscp_match.report._report import write_report

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
    from gscp_match.tables._catalog import demo_paths

    if args.top < 1:
        raise _Usage(f"--top must be >= 1, got {args.top}")
    paths = demo_paths()
    # The demo is `report` on the bundled files with every other option at its default.
    demo_argv = ["report", "--out", str(Path(args.out) / "report.html"), "--top", str(args.top), "--top-cases", "3"]
    for kind in ("requests", "experts", "evidence"):
        demo_argv += [f"--{kind}", str(paths[kind])]
    for option in _MODEL_OPTIONS:
        if getattr(args, option) is not None:
            demo_argv += [f"--{option}", getattr(args, option)]
    ns = _parser().parse_args(demo_argv)
    ns.quiet = args.quiet
    options = _assign_options(ns)
    print(f"demo: synthetic roster and round from {paths['experts'].parent}")
    inputs = _read_inputs(ns)
    matcher = _fit(ns, inputs)
    out = Path(args.out)
    result, plan = _shortlist_and_plan(matcher, inputs, ns, options)
    files = {kind: paths[kind] for kind in ("requests", "experts", "evidence")}
    report = Path(ns.out)
    with _outputs() as outputs:
        written = _write_shortlists(result, out, "csv", outputs)
        written += _write_plan(plan, out, "csv", outputs, ns, inputs, matcher)
        title = "GSCP demo round (synthetic data)"
        _report(outputs.path(ns.out), inputs.requests, matcher, result, plan, title=title, inputs=files)
    for path in [*written, report]:
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
    from gscp_match.evaluate._metrics import evaluate, evaluate_pairwise, read_judgments, read_rankings
    from gscp_match.tables._validate import read_table

    cutoffs = _cutoffs(args.k)
    rankings = read_rankings(args.rankings, item=args.item)
    if args.pairwise_out and "score" not in rankings.columns:
        raise _Usage(f"--pairwise-out needs scores: {args.rankings} has no 'score' column")
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
    if "score" not in rankings.columns:
        print(f"pairwise loss not computed: {args.rankings} has no 'score' column")
        return EXIT_OK
    # Judged pairs of the asked requests only; a judged pair without a score ranks below every score.
    judged = judgments if asked is None else judgments[judgments["request_id"].isin(asked)]
    pairwise = evaluate_pairwise(rankings, judged, item=args.item)
    summary = pairwise.summary()
    print(f"pairwise_loss\t{summary['pairwise_loss']:.4f}")
    print(f"pairwise_n_items\t{int(summary['n_items'])}")
    print(f"pairwise_n_excluded\t{int(summary['n_excluded'])}")
    if args.pairwise_out:
        print(f"wrote {_write(pairwise.per_item, Path(args.pairwise_out))}")
    return EXIT_OK


def _cmd_learn_weights(args: argparse.Namespace) -> int:
    from gscp_match.evaluate._learn import learn_weights, save_weights

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
    import pandas as pd

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
    with _outputs() as outputs:
        save_weights(learning, outputs.path(args.out), data=data)
        if args.per_round:
            _write(per_round, outputs.path(args.per_round))
    print(f"wrote {Path(args.out)}")
    if args.per_round:
        print(f"wrote {Path(args.per_round)}")
    return EXIT_OK


def _cmd_ingest(args: argparse.Namespace) -> int:
    from gscp_match.ingestion import ingest

    if args.max_size_mb <= 0 or args.jobs < 1:
        raise _Usage("--max-size-mb must be > 0 and --jobs >= 1")
    result = ingest(
        args.folder,
        out=args.out,
        ids=args.ids,
        redact_contacts=args.redact,
        max_bytes=int(args.max_size_mb * 1024 * 1024),
        n_jobs=args.jobs,
        file_format=args.format,
        show_progress=False if args.quiet else None,
    )
    # The files not read were logged as warnings, one line each (file and what is wrong).
    counts = [f"{len(result.experts)} experts", f"{len(result.evidence)} evidence rows"]
    for path, what in zip(result.written, [*counts, f"{len(result.review)} rows to review"], strict=True):
        print(f"wrote {path} ({what})")
    if result.problems:
        print(f"{len(result.problems)} file(s) not ingested: see {result.written[-1]}")
    return EXIT_OK


class _Usage(Exception):
    """A usage error found after parsing."""


class _Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt, so every temporary file and staging folder is removed."""


#: Exit codes of an interrupted run, as a shell reports a process killed by the signal (128 + its number).
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

#: Commands whose --out is a folder (the others write --out as one file).
_FOLDER_OUTPUTS = frozenset({"generate", "shortlist", "assign", "demo"})


@contextlib.contextmanager
def _terminate_like_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM (timeout, batch schedulers, containers) raises :class:`_Terminated`."""
    if not hasattr(signal, "SIGTERM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: let the clean-up run to its end
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sweep_temporaries(args: argparse.Namespace) -> None:
    """Remove the temporary files that an earlier, killed run of a command left in this command's output folders."""
    folders: set[Path] = set()
    for attribute in ("out", "roster_out", "per_round"):
        value = getattr(args, attribute, None)
        if value:
            path = Path(value)
            folders.add(path if attribute == "out" and args.command in _FOLDER_OUTPUTS else path.parent)
    if not folders:
        return
    from gscp_match._tempfiles import sweep_stale_temporaries

    for folder in sorted(folders):
        for path in sweep_stale_temporaries(folder):
            logging.getLogger("gscp_match").info("removed %s, left by an interrupted run", path)


@contextlib.contextmanager
def _third_party_warnings_quiet() -> Iterator[None]:
    """Hide the third-party warnings a user can do nothing about; the library's own warnings still show.

    Each filter is narrow (a message and a category): matplotlib substitutes a box for a character its font lacks
    (a Hangul name in a chart) and says so once per glyph and figure; its constrained layout gives up quietly on a
    figure too small for its labels and says so.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from (current )?font", category=UserWarning)
        warnings.filterwarnings("ignore", message=r".*constrained_layout not applied", category=UserWarning)
        yield


def _configure_logging() -> None:
    """The library's warnings on stderr, one line each; other loggers only from ERROR (their warnings, such as
    matplotlib's glyph substitutions, are nothing a user of this command can act on). A no-op when the process
    already configured logging (an embedding application, pytest)."""
    handler = logging.StreamHandler()
    handler.addFilter(lambda record: record.name.split(".")[0] == "gscp_match" or record.levelno >= logging.ERROR)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gscp-match`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "quiet", False):
        os.environ["GSCP_MATCH_QUIET"] = "1"
    _configure_logging()
    try:
        with _terminate_like_interrupt(), _third_party_warnings_quiet(), run_progress():
            _sweep_temporaries(args)
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
        print("interrupted: no output was changed unless listed as written above", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Terminated:
        print("terminated (SIGTERM): no output was changed unless listed as written above", file=sys.stderr)
        return EXIT_TERMINATED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
