"""Computed answers on sec-10-q: `python -m tests.bench.bench_compute` (in `make bench-answers`'s family).

Questions (tests/bench/data/compute_questions.csv): 15 written over two filings' statements
with answers computed from their cells (`pages` names the inputs' pages), the sec-10-q
questions whose reference answer is itself a computation (a ratio, share or sum of
figures it states; picked from the 30 that tests/bench's derivation flags, by hand: see
the README), and out-of-library computation questions (a company or period the folder
lacks: the right answer says so).

Each question is answered twice by the same Answerer over the same index: as prose
(`computes=False`, Docent before computed answers) and computed. Per arm: the answer holds
the reference figure (app.engine.figures: to the coarser precision of the two), the
computation's status, computed results whose inputs are not in their cited passages
(must be 0), out-of-library questions refused, and seconds per answer (ratio per question).
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.common import BENCH_LLM, REPO, SEC_DOCS, cpu_info, emit, log, peak_rss_mb, quiet_env

QUESTIONS = REPO / "tests" / "bench" / "data" / "compute_questions.csv"
CACHE_HOME = REPO / ".bench" / "cache" / "answers-home"  # bench_answers' index, reused
ARMS = {"both": (("prose", False), ("computed", True)), "prose": (("prose", False),),
        "computed": (("computed", True),)}


@dataclass(frozen=True)
class Question:
    kind: str  # written | sec | out_of_library
    text: str
    glob: str
    answer: str


@dataclass
class Row:
    kind: str
    question: str
    arm: str
    answer: str
    right: bool
    status: str  # the computation's status, "" for prose
    unsupported_inputs: int  # computed inputs whose figure is not in the passage they cite
    refused: bool
    seconds: float
    completion_tokens: int


def load(path: Path = QUESTIONS) -> list[Question]:
    with path.open(encoding="utf-8") as f:
        return [Question(r["kind"], r["question"], r["source_docs"], r["answer"]) for r in csv.DictReader(f)]


def ask(answerer: Any, q: Question, arm: str) -> Row:
    from app.engine.events import DoneEvent, ErrorEvent
    from app.engine.figures import found_in, parse_figures

    answer = None
    t0 = time.perf_counter()
    for ev in answerer.ask(q.text):
        if isinstance(ev, ErrorEvent):
            raise RuntimeError(f"{q.text!r}: {ev.message}")
        if isinstance(ev, DoneEvent):
            answer = ev.answer
    seconds = time.perf_counter() - t0
    assert answer is not None
    c = answer.computation
    right = holds_reference(q.answer, answer.text, c.value if c is not None and c.has_result else None)
    by_number = {s.number: s.passage.text for s in answer.sources}
    unsupported = 0
    if c is not None and c.has_result:
        for i in c.inputs:
            own = parse_figures(i.text)
            if not own or not found_in(own[0], parse_figures(by_number.get(i.source, ""))):
                unsupported += 1
    refused = answer.grounding.status.value in ("refused", "unsupported") or (
        c is not None and c.status.value == "not_in_sources")
    return Row(q.kind, q.text, arm, answer.text, right, c.status.value if c else "", unsupported, refused,
               seconds, answer.completion_tokens)


def _negative(text: str) -> bool:
    return text.lstrip().startswith(("-", "−", "–", "("))


def holds_reference(reference: str, answer: str, result: Any = None) -> bool:
    """The answer holds every figure of the reference (to the coarser precision of the two),
    and its sign where the answer writes one: a figure written with a minus or in brackets
    does not match a positive reference ("-5,608 million" for an increase of $5,608 million),
    and a computed `result` must have the reference's sign. A positive figure may stand for a
    negative reference (prose says "fell 1.4%" for -1.40%)."""
    from app.engine.figures import key_figures, same_figure

    ref, said = key_figures(reference), key_figures(answer)
    held = bool(ref) and all(any(same_figure(f, g) and (_negative(f.text) or not _negative(g.text)) for g in said)
                             for f in ref)
    if held and result is not None and len(ref) == 1:
        return (result < 0) == _negative(ref[0].text)
    return held


def summarise(rows: list[Row], arm: str) -> dict[str, Any]:
    mine = [r for r in rows if r.arm == arm]
    lib = [r for r in mine if r.kind != "out_of_library"]
    ool = [r for r in mine if r.kind == "out_of_library"]

    def share(xs: list[bool]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    statuses: dict[str, int] = {}
    for r in mine:
        statuses[r.status or "prose"] = statuses.get(r.status or "prose", 0) + 1
    return {
        "questions": len(lib), "figure_right": share([r.right for r in lib]),
        "figure_right_written": share([r.right for r in lib if r.kind == "written"]),
        "figure_right_sec": share([r.right for r in lib if r.kind == "sec"]),
        "computed_with_unsupported_inputs": sum(r.unsupported_inputs > 0 for r in mine),
        "out_of_library_refused": share([r.refused for r in ool]),
        "statuses": statuses,
        "mean_seconds": round(statistics.mean(r.seconds for r in mine), 2) if mine else None,
        "mean_completion_tokens": round(statistics.mean(r.completion_tokens for r in mine), 1) if mine else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet_env()
    from app.engine.library import Library
    from app.resources import sample_model
    from app.settings import Settings

    questions = load()
    if args.limit:
        questions = [q for q in questions if q.kind != "out_of_library"][:args.limit] + \
            [q for q in questions if q.kind == "out_of_library"][:max(1, args.limit // 4)]
    s = Settings.load(args.home)
    s.model_path = str(sample_model() if args.quick else args.model)
    s.n_ctx, s.n_threads, s.max_answer_tokens, s.temperature = args.n_ctx, args.threads, args.max_tokens, 0.0
    rows: list[Row] = []
    with Library(s) as lib:
        report = lib.indexer.index_paths([args.docs])
        log(f"index: {report.indexed} indexed, {report.unchanged} unchanged")
        answerer = lib.answerer()
        answerer.load()
        try:
            for i, q in enumerate(questions, 1):
                for arm, computes in ARMS[args.arms]:
                    answerer.computes = computes
                    r = ask(answerer, q, arm)
                    rows.append(r)
                    log(f"{i}/{len(questions)} {q.kind} {arm}: right={r.right} {r.status or '-'} "
                        f"{r.seconds:.1f}s | {' '.join(r.answer.split())[:140]}")
        finally:
            answerer.close()
    ratios = [c.seconds / p.seconds for p, c in zip(rows[0::2], rows[1::2], strict=True)
              if p.seconds > 0] if args.arms == "both" else []
    return {"model": Path(s.model_path).name, "questions_file": str(QUESTIONS.relative_to(REPO)),
            "prose": summarise(rows, "prose"), "computed": summarise(rows, "computed"),
            "time_ratio_computed_to_prose_median": round(statistics.median(ratios), 3) if ratios else None,
            "settings": {"n_ctx": args.n_ctx, "threads": args.threads, "max_answer_tokens": args.max_tokens},
            "rows": rows, "peak_rss": peak_rss_mb(), "machine": cpu_info()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=BENCH_LLM)
    ap.add_argument("--quick", action="store_true", help="the SmolLM2-135M test model instead of --model")
    ap.add_argument("--docs", type=Path, default=SEC_DOCS)
    ap.add_argument("--home", type=Path, default=CACHE_HOME)
    ap.add_argument("--limit", type=int, default=0, help="only the first N library questions")
    ap.add_argument("--arms", choices=sorted(ARMS), default="both", help="prose, computed, or both (the ratio)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if not args.docs.is_dir():
        print(f"bench_compute: {args.docs} not found", file=sys.stderr)
        return 2
    if not args.quick and not args.model.is_file():
        print(f"bench_compute: {args.model} missing: run `make bench-models` (or use --quick)", file=sys.stderr)
        return 2
    emit("compute_quick" if args.quick else "compute", run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
