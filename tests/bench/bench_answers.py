"""End-to-end answers on sec-10-q: `python -m tests.bench.bench_answers` (`make bench-answers`).

The 20 10-Q PDFs are indexed by Docent's own Indexer into --home (default
.bench/cache/answers-home, so a re-run reuses the index), then each question is asked
through the real Answerer (hybrid retrieval, budget selection, prompt, stream, loop
stop, attribution, figure check, grounding check) with the Qwen2.5-1.5B stand-in
(`make bench-models`; --model another GGUF) or the SmolLM2 test model (--quick).

Questions: a fixed stratified subset (--per-type from each of the three question types,
seeded; all 195 with --all; --limit cuts it further), then the out-of-library questions
of tests/bench/data/out_of_library.csv (companies and periods the folder lacks), whose
right answer is that the documents do not contain it.

Per question: the reference answer's key figures present in the answer (numbers
normalised by app.engine.figures: $, commas, scale words, percentages, rounding to the
coarser precision); citations (written/inferred) and whether they are from the filing(s)
`Source Docs` names; the evidence in the prompt at all (named filing among the sources;
every reference figure in the prompt's passages; an evidence page among the first 5
sources, evidence pages being the named filing's pages that hold the most reference
figures); prompt tokens, TTFT, the grounding verdict (refused / unsupported), loops cut.
"""
from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.bench.common import BENCH_LLM, BENCH_OUT, REPO, SEC_DOCS, cpu_info, emit, log, peak_rss_mb, quiet_env

CACHE_HOME = BENCH_OUT / "cache" / "answers-home"
OUT_OF_LIBRARY = REPO / "tests" / "bench" / "data" / "out_of_library.csv"
TYPES = {"Single-Doc Single-Chunk RAG": "single_chunk", "Single-Doc Multi-Chunk RAG": "single_multi",
         "Multi-Doc RAG": "multi_doc"}
SEED = 16
N_CTX = 4096
MAX_TOKENS = 256


@dataclass(frozen=True)
class Question:
    text: str
    glob: str  # "" for out-of-library questions
    kind: str  # single_chunk | single_multi | multi_doc | out_of_library
    answer: str  # the reference ("" out of library)


@dataclass
class Scored:
    question: str
    kind: str
    answer: str
    key_figures: int  # in the reference
    key_figures_found: int  # of those, in the answer
    citations: int
    citations_inferred: int
    citations_right_filing: int
    prompt_has_filing: bool
    prompt_has_all_figures: bool
    evidence_page_at5: bool | None  # None: the reference's figures are on no page
    prompt_tokens: int
    ttft_s: float  # generation start -> first token
    ttft_wall_s: float  # ask() -> first shown token (retrieval and prompt build included)
    seconds: float
    completion_tokens: int
    finish_reason: str
    grounding: str
    figures: int
    unverified_before: int  # key figures no model-written [n] of their sentence holds
    unverified_after: int  # key figures in none of the passages their sentence draws on (flagged)
    sources: list[str] = field(default_factory=list)
    prompt_sha256: str = ""  # of the prompt the model was given (a refactor must leave it identical)


def load_sec(root: Path) -> list[Question]:
    with open(root / "qna_data.csv", encoding="utf-8-sig", newline="") as f:
        return [Question(r["Question"], r["Source Docs"], TYPES[r["Question Type"]], r["Answer"])
                for r in csv.DictReader(f)]


def load_out_of_library(path: Path = OUT_OF_LIBRARY) -> list[Question]:
    with open(path, encoding="utf-8", newline="") as f:
        return [Question(r["Question"], "", "out_of_library", "") for r in csv.DictReader(f)]


def stratified(questions: list[Question], per_type: int, seed: int = SEED) -> list[Question]:
    """per_type questions of each type, drawn once with a fixed seed, in the file's order."""
    rng = random.Random(seed)
    chosen: set[int] = set()
    for kind in TYPES.values():
        idx = [i for i, q in enumerate(questions) if q.kind == kind]
        chosen.update(rng.sample(idx, min(per_type, len(idx))))
    # Interleave the types so a --limit slice still spans all three.
    by_kind = {k: [questions[i] for i in sorted(chosen) if questions[i].kind == k] for k in TYPES.values()}
    out: list[Question] = []
    for row in range(max(len(v) for v in by_kind.values())):
        out += [v[row] for v in by_kind.values() if row < len(v)]
    return out


def list_lines(path: Path) -> list[str]:
    """A question list's lines, stripped, without blank lines and '#' comments."""
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def listed(questions: list[Question], path: Path) -> list[Question]:
    """The questions whose text is a line of `path` ('#' lines are comments), in its order:
    an A/B of the few that changed between two runs, at minutes per variant, not an hour."""
    by_text = {q.text.strip(): q for q in questions}
    lines = list_lines(path)
    unknown = [ln for ln in lines if ln not in by_text]
    if unknown:
        raise SystemExit(f"bench_answers: {path}: not a sec-10-q question: {unknown[0]!r}")
    return [by_text[ln] for ln in lines]


def page_figures(docs: Path, cache: Path) -> dict[str, dict[int, list[Any]]]:
    """Every filing's page texts as the loader reads them (cached beside the index), parsed."""
    from app.engine.figures import parse_figures

    if cache.is_file():
        texts = json.loads(cache.read_text(encoding="utf-8"))
    else:
        from ingest.loaders import load_document

        texts = {p.name: load_document(p).page_texts() for p in sorted(docs.glob("*.pdf"))}
        cache.write_text(json.dumps(texts), encoding="utf-8")
    return {name: {int(p): parse_figures(t) for p, t in pages.items()} for name, pages in texts.items()}


def evidence_pages(q: Question, pages: dict[str, dict[int, list[Any]]]) -> set[tuple[str, int]]:
    from app.engine.figures import found_in, key_figures

    want = key_figures(q.answer)
    hits = [(sum(found_in(f, figs) for f in want), name, p)
            for name, by_page in pages.items() if fnmatch.fnmatch(name, q.glob)
            for p, figs in by_page.items()] if want else []
    best = max((h for h, _, _ in hits), default=0)
    return {(name, p) for h, name, p in hits if best and h == best}


def _unverified_before(a: Any, index_figures: dict[int, list[Any]]) -> int:
    """Figures the model's own markers do not back (what a reader had before the check)."""
    from app.engine.figures import found_in, key_figures

    n = 0
    for f in key_figures(a.text):
        att = next((t for t in a.attributions if t.start <= f.start < t.end), None)
        written = att.sources if att is not None and not att.inferred else ()
        n += not any(found_in(f, index_figures.get(s, [])) for s in written)
    return n


def prompt_digests(answerer: Any) -> list[str]:
    """Records the sha256 of every prompt `answerer` generates from (its token ids, or its
    text for an HTTP backend), appended to the returned list as answers run."""
    seen: list[str] = []
    generate = answerer.generate

    def recording(prepared: Any, *args: Any, **kwargs: Any) -> Any:
        payload = prepared.payload if isinstance(prepared.payload, list) else prepared.text
        seen.append(hashlib.sha256(repr(payload).encode()).hexdigest())
        return generate(prepared, *args, **kwargs)

    answerer.generate = recording
    return seen


def ask_one(answerer: Any, q: Question, pages: dict[str, dict[int, list[Any]]],
            digests: list[str] | None = None) -> Scored:
    from app.engine.events import DoneEvent, ErrorEvent, SourcesEvent, TokenEvent
    from app.engine.figures import found_in, key_figures, parse_figures

    t0 = time.perf_counter()
    first = 0.0
    passages: list[Any] = []
    answer = None
    for ev in answerer.ask(q.text):
        if isinstance(ev, SourcesEvent):
            passages = list(ev.passages)
        elif isinstance(ev, TokenEvent):
            first = first or time.perf_counter() - t0
        elif isinstance(ev, ErrorEvent):
            raise RuntimeError(f"{q.text!r}: {ev.message}")
        elif isinstance(ev, DoneEvent):
            answer = ev.answer
    assert answer is not None
    ref = key_figures(q.answer)
    said = key_figures(answer.text)
    held = [g for p in passages for g in parse_figures(p.text)]
    right = [c for c in answer.citations if q.glob and fnmatch.fnmatch(c.passage.name, q.glob)]
    evidence = evidence_pages(q, pages) if q.glob and q.kind != "multi_doc" else set()
    at5 = None
    if evidence:
        at5 = any(p.page_start is not None and any(
            (p.name, pg) in evidence for pg in range(p.page_start, (p.page_end or p.page_start) + 1))
            for p in passages[:5])
    by_number = {s.number: parse_figures(s.passage.text) for s in answer.sources}
    return Scored(
        q.text, q.kind, answer.text, len(ref), sum(found_in(f, said) for f in ref), len(answer.citations),
        sum(c.inferred for c in answer.citations), len(right),
        bool(q.glob) and any(fnmatch.fnmatch(p.name, q.glob) for p in passages),
        bool(ref) and all(found_in(f, held) for f in ref), at5, answer.prompt_tokens, answer.ttft_s, first,
        answer.seconds, answer.completion_tokens, answer.finish_reason, answer.grounding.status.value,
        sum(1 for f in answer.figures), _unverified_before(answer, by_number), len(answer.unverified_figures),
        [f"{p.name} {p.pages_label}" for p in passages], digests[-1] if digests else "")


def _share(xs: list[bool]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def summarise(rows: list[Scored]) -> dict[str, Any]:
    lib = [r for r in rows if r.kind != "out_of_library"]
    ool = [r for r in rows if r.kind == "out_of_library"]
    with_fig = [r for r in lib if r.key_figures]
    cites = sum(r.citations for r in lib)
    out: dict[str, Any] = {
        "questions": len(lib), "out_of_library_questions": len(ool),
        "key_figure_recall": round(statistics.mean(r.key_figures_found / r.key_figures for r in with_fig), 4)
        if with_fig else None,
        "answers_with_all_key_figures": _share([r.key_figures_found == r.key_figures for r in with_fig]),
        "answers_with_any_key_figure": _share([r.key_figures_found > 0 for r in with_fig]),
        "answers_with_citation": _share([r.citations > 0 for r in lib]),
        "answers_with_written_citation": _share([r.citations > r.citations_inferred for r in lib]),
        "citations_right_filing": round(sum(r.citations_right_filing for r in lib) / cites, 4) if cites else None,
        "citations_inferred_share": round(sum(r.citations_inferred for r in lib) / cites, 4) if cites else None,
        "prompt_has_filing": _share([r.prompt_has_filing for r in lib]),
        "prompt_has_all_key_figures": _share([r.prompt_has_all_figures for r in with_fig]),
        "evidence_page_at5": _share([bool(r.evidence_page_at5) for r in lib if r.evidence_page_at5 is not None]),
        "answers_with_unverified_figure_before": _share([r.unverified_before > 0 for r in lib]),
        "answers_with_unverified_figure_after": _share([r.unverified_after > 0 for r in lib]),
        "figures_in_answers": sum(r.figures for r in lib),
        "figures_unverified_before": sum(r.unverified_before for r in lib),
        "figures_unverified_after": sum(r.unverified_after for r in lib),
        "in_library_refused_or_unsupported": _share([r.grounding in ("refused", "unsupported") for r in lib]),
        "out_of_library_says_not_in_documents": _share([r.grounding in ("refused", "unsupported") for r in ool]),
        "out_of_library_model_refused": _share([r.grounding == "refused" for r in ool]),
        "out_of_library_docent_flagged": _share([r.grounding == "unsupported" for r in ool]),
        "loops_cut": sum(r.finish_reason == "repetition" for r in rows),
        "hit_token_limit": sum(r.finish_reason == "length" for r in rows),
        "mean_prompt_tokens": round(statistics.mean(r.prompt_tokens for r in rows), 1) if rows else None,
        "median_ttft_s": round(statistics.median(r.ttft_s for r in rows), 3) if rows else None,
        "median_ttft_wall_s": round(statistics.median(r.ttft_wall_s for r in rows), 3) if rows else None,
        "mean_seconds_per_answer": round(statistics.mean(r.seconds for r in rows), 2) if rows else None,
        # One digest of every prompt, in order: equal before and after a change that must not alter them.
        "prompts_sha256": hashlib.sha256("".join(r.prompt_sha256 for r in rows).encode()).hexdigest(),
    }
    out["by_type"] = {k: {"n": len(v), "key_figure_recall": round(statistics.mean(
        r.key_figures_found / r.key_figures for r in v if r.key_figures), 4) if any(r.key_figures for r in v)
        else None, "answers_with_citation": _share([r.citations > 0 for r in v]),
        "prompt_has_filing": _share([r.prompt_has_filing for r in v])}
        for k in TYPES.values() if (v := [r for r in lib if r.kind == k])}
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet_env()
    from app.engine.library import Library
    from app.resources import sample_model
    from app.settings import Settings

    model = sample_model() if args.quick else args.model
    questions = load_sec(args.docs.parent)
    chosen = (listed(questions, args.questions) if args.questions else
              questions if args.all else stratified(questions, args.per_type, args.seed))
    if args.limit:
        chosen = chosen[:args.limit]
    ool = [] if args.ool_limit == 0 else load_out_of_library()[:args.ool_limit or None]
    s = Settings.load(args.home)
    s.model_path, s.n_ctx, s.n_threads = str(model), args.n_ctx, args.threads
    s.max_answer_tokens, s.temperature = args.max_tokens, 0.0
    with Library(s) as lib:
        t0 = time.perf_counter()
        report = lib.indexer.index_paths([args.docs])
        index_s = time.perf_counter() - t0
        log(f"index: {report.indexed} indexed, {report.unchanged} unchanged in {index_s:.0f}s")
        pages = page_figures(args.docs, args.home / "sec-page-texts.json")
        answerer = lib.answerer()
        if args.system_prompt:  # A/B of the prompt's rules (before load(): it warms them)
            answerer.system_prompt = args.system_prompt.read_text(encoding="utf-8").strip()
        if args.no_trim:  # A/B of passage trimming: the retrieved text whole
            answerer.retriever.config = replace(answerer.retriever.config, trim=False)
        answerer.load()
        digests = prompt_digests(answerer)
        rows: list[Scored] = []
        t_all = time.perf_counter()
        try:
            for i, q in enumerate(chosen + ool, 1):
                r = ask_one(answerer, q, pages, digests)
                rows.append(r)
                # A long run that is stopped still leaves what it measured.
                partial = BENCH_OUT / f"{args.name}.partial.json"
                partial.write_text(json.dumps({"done": i, "summary": summarise(rows)}, indent=2) + "\n",
                                   encoding="utf-8")
                log(f"{i}/{len(chosen) + len(ool)} {q.kind}: figures {r.key_figures_found}/{r.key_figures}, "
                    f"cites {r.citations} ({r.citations_inferred} inferred, {r.citations_right_filing} right), "
                    f"{r.grounding}, {r.finish_reason}, {r.prompt_tokens} prompt tok, {r.seconds:.0f}s")
        finally:
            answerer.close()
        answer_s = time.perf_counter() - t_all
    subset = (f"listed in {args.questions.name}" if args.questions else
              "all" if args.all else f"stratified {args.per_type}/type seed {args.seed}")
    return {"model": Path(model).name, "subset": subset,
            "limit": args.limit, "summary": summarise(rows), "index_seconds": round(index_s, 1),
            "answer_seconds": round(answer_s, 1),
            "settings": {"n_ctx": args.n_ctx, "threads": args.threads, "max_answer_tokens": args.max_tokens,
                         "top_k": s.top_k, "context_tokens": s.context_tokens, "temperature": 0.0},
            "variant": {"system_prompt": str(args.system_prompt or "default"), "trim": not args.no_trim},
            "rows": rows, "peak_rss": peak_rss_mb(), "machine": cpu_info()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=BENCH_LLM)
    ap.add_argument("--quick", action="store_true", help="the SmolLM2-135M test model instead of --model")
    ap.add_argument("--docs", type=Path, default=SEC_DOCS)
    ap.add_argument("--home", type=Path, default=CACHE_HOME, help="Docent home holding the index (kept)")
    ap.add_argument("--all", action="store_true", help="all 195 questions instead of the subset")
    ap.add_argument("--per-type", type=int, default=20, help="subset questions per question type")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--limit", type=int, default=0, help="only the first N library questions")
    ap.add_argument("--ool-limit", type=int, default=-1,
                    help="out-of-library questions to ask (-1: all, 0: none)")
    ap.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    ap.add_argument("--n-ctx", type=int, default=N_CTX)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--system-prompt", type=Path, help="a file whose text replaces Docent's system prompt (A/B)")
    ap.add_argument("--questions", type=Path,
                    help="only the questions written in this file, one per line (instead of the subset)")
    ap.add_argument("--no-trim", action="store_true", help="passages whole, not cut to what the question matches")
    ap.add_argument("--name", default="", help="JSON name under .bench/ (default answers / answers_quick)")
    args = ap.parse_args(argv)
    if args.ool_limit < 0:
        args.ool_limit = None
    if not args.docs.is_dir():
        print(f"bench_answers: {args.docs} not found", file=sys.stderr)
        return 2
    if not args.quick and not args.model.is_file():
        print(f"bench_answers: {args.model} missing: run `make bench-models` (or use --quick)", file=sys.stderr)
        return 2
    if args.questions and not args.questions.is_file():
        print(f"bench_answers: question file {args.questions} not found", file=sys.stderr)
        return 2
    if args.system_prompt and not args.system_prompt.is_file():
        print(f"bench_answers: system prompt file {args.system_prompt} not found", file=sys.stderr)
        return 2
    args.name = args.name or "answers" + ("_quick" if args.quick else "")
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    emit(args.name, run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
