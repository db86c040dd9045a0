"""Right-document rate and prompt tokens on sec-10-q: `python -m tests.bench.bench_sec_retrieval`.

The 20 10-Q PDFs are indexed by the real Indexer (kept in .bench/cache/sec-home).
For each single-document question, the share whose top-5 passages come from
the filing that `Source Docs` names (any of 5, and the share of the 5), for
dense-only and hybrid. Prompt tokens are counted by building the real prompt
(PromptBuilder, SmolLM2's template and tokenizer): the old fixed top-6 dense
prompt against the budget-selected one (app.engine.selection).
"""
from __future__ import annotations

import argparse
import csv
import fnmatch
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.bench.common import (BENCH_OUT, SEC_DOCS, add_embedder_args, bench_embedder, cpu_info, emit, log,
                                peak_rss_mb, quiet_env)

CACHE_HOME = BENCH_OUT / "cache" / "sec-home"


@dataclass
class ModeResult:
    top5_any_from_doc: float  # share of questions with >= 1 of the top 5 from the named filing
    top5_share_from_doc: float  # mean share of the top-5 passages that come from it
    top1_from_doc: float
    budget_selected_has_doc: float  # the passages that go into the prompt include the filing
    mean_prompt_tokens: float  # whole prompt (system + sources + question), budget-selected
    mean_passages_in_prompt: float
    retrieval_ms_p50: float


@dataclass
class SecBench:
    questions: int
    files: int
    chunks: int
    index_seconds: float
    fixed_top6_dense_mean_prompt_tokens: float  # Docent before: DenseRetriever, k=6, no budget
    modes: dict[str, ModeResult] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    peak_rss: dict[str, float] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)


def load_questions(root: Path) -> list[tuple[str, str]]:
    with open(root / "qna_data.csv", encoding="utf-8-sig", newline="") as f:
        return [(r["Question"], r["Source Docs"]) for r in csv.DictReader(f)
                if r["Question Type"].startswith("Single-Doc")]


def run(docs: Path, home: Path, threads: int, vectors: Path | None = None) -> SecBench:
    quiet_env()
    from app.engine.library import Library
    from app.engine.llm import LocalLLM
    from app.engine.prompt import PromptBuilder
    from app.engine.retrieval import DenseRetriever
    from app.engine.selection import Budget, select_passages
    from app.resources import sample_model
    from app.settings import Settings

    questions = load_questions(docs.parent)
    settings = Settings(home=home)
    with Library(settings, embedder=bench_embedder(vectors, threads)) as lib:
        log(f"indexing {docs}")
        t0 = time.perf_counter()
        report = lib.indexer.index_paths([docs])
        index_s = time.perf_counter() - t0
        llm = LocalLLM(sample_model(), n_ctx=4096)
        llm.load()
        assert llm.template is not None
        builder = PromptBuilder(llm.prepare, llm.n_ctx, settings.max_answer_tokens)
        count = lambda text: len(llm.tokenize(text))  # noqa: E731
        budget = Budget(tokens=settings.context_tokens)

        def prompt_tokens(q: str, passages: list) -> int:  # type: ignore[type-arg]
            return builder.build(q, passages).prepared.n_tokens

        old = DenseRetriever(lib.embedder, lib.store)
        fixed = [prompt_tokens(q, old.search(q, 6)) for q, _ in questions]
        modes: dict[str, ModeResult] = {}
        for mode in ("dense", "hybrid-rrf", "hybrid-convex"):
            r = lib.retriever(mode.split("-")[0])
            if "-" in mode:
                r.config = replace(r.config, fusion=mode.split("-")[1])
            any5 = share5 = top1 = sel_hit = 0.0
            tokens: list[int] = []
            n_in: list[int] = []
            ms: list[float] = []
            for q, glob in questions:
                t = time.perf_counter()
                found = r.search(q, settings.top_k)
                ms.append(1000 * (time.perf_counter() - t))
                ok = [fnmatch.fnmatch(p.name, glob) for p in found]
                any5 += any(ok[:5])
                share5 += sum(ok[:5]) / 5
                top1 += bool(ok[:1] and ok[0])
                chosen = select_passages(found, count, budget)
                sel_hit += any(fnmatch.fnmatch(p.name, glob) for p in chosen)
                tokens.append(prompt_tokens(q, chosen))
                n_in.append(len(chosen))
            n = len(questions)
            modes[mode] = ModeResult(any5 / n, share5 / n, top1 / n, sel_hit / n,
                                     statistics.mean(tokens), statistics.mean(n_in),
                                     statistics.median(ms))
            log(f"{mode}: {modes[mode]}")
        return SecBench(len(questions), report.files_seen, lib.keyword.count(), index_s,
                        statistics.mean(fixed), modes,
                        {"top_k": settings.top_k, "context_tokens": settings.context_tokens,
                         "min_relative": budget.min_relative, "llm_tokenizer": "SmolLM2-135M",
                         "default_fusion": lib.retriever().config.fusion},
                        peak_rss_mb(), cpu_info())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=SEC_DOCS)
    ap.add_argument("--home", type=Path, default=CACHE_HOME)
    add_embedder_args(ap)
    args = ap.parse_args(argv)
    if not args.docs.is_dir():
        print(f"bench_sec_retrieval: {args.docs} not found", file=sys.stderr)
        return 2
    emit("retrieval_sec10q", run(args.docs, args.home, args.threads, args.vectors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
