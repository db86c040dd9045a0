"""Right filing, evidence pages and prompt tokens on sec-10-q: `python -m tests.bench.bench_sec_retrieval`.

The 20 10-Q PDFs are indexed by the real Indexer (kept in --home, default
.bench/cache/sec-home, so a re-run reuses the index). All 195 questions run
through HybridRetriever and the budget selection the Answerer uses, for each
configuration (passage ranking alone; + the document focus of app.engine.doc_rank;
+ passage trimming), and report:

* single-document questions: the right filing first; among the first 5; in the
  prompt; an evidence page among the first 5 passages and in the prompt. Evidence
  pages are the pages of the named filing whose text holds the most of the
  reference answer's key figures (numbers normalised: $, commas, %), questions
  whose figures are on no page are left out of that measure (counted);
* multi-document questions: the share of the required filings (every file the
  `Source Docs` glob names) among the first 5 passages and in the prompt;
* every question: prompt tokens (the real PromptBuilder with SmolLM2's template and
  tokenizer, i.e. the prompt builder's own count) and whether the prompt holds all /
  any of the reference's key figures (the accuracy a model can reach at most);
* first-stage reach: how deep the dense, keyword and fused chunk lists (inside the
  named filing) must be read to hold an evidence page, i.e. what a second-stage
  reranker over that many candidates could reach at most.
"""
from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import json
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.bench.common import (
    BENCH_OUT,
    SEC_DOCS,
    add_embedder_args,
    bench_embedder,
    cpu_info,
    emit,
    log,
    peak_rss_mb,
    quiet_env,
)

CACHE_HOME = BENCH_OUT / "cache" / "sec-home"
CONFIGS = {  # name -> (documents, trim)
    "passages_only": (False, False),
    "documents": (True, False),
    "documents_trimmed": (True, True),
}
_FIGURE = re.compile(r"\$?\d[\d,]*(?:\.\d+)?%?")
REACH_DEPTHS = (5, 10, 20, 50)


@dataclass(frozen=True)
class Question:
    text: str
    glob: str
    kind: str  # single | multi
    answer: str


@dataclass
class ConfigResult:
    single_first_from_doc: float
    single_top5_has_doc: float
    single_prompt_has_doc: float
    single_evidence_page_at5: float
    single_evidence_page_in_prompt: float
    single_half_figures_page_at5: float  # a page holding at least half of the key figures
    multi_required_share_at5: float
    multi_required_share_in_prompt: float
    prompt_all_key_figures: float  # every reference figure is in the prompt text
    prompt_any_key_figure: float
    mean_prompt_tokens: float
    mean_prompt_tokens_single: float
    mean_prompt_tokens_multi: float
    mean_passages_in_prompt: float
    focus_kinds: dict[str, int]
    retrieval_ms_p50: float
    # sha256 over every question's passages (chunk id, score) and prompt token ids: equal
    # before and after a change that must leave retrieval and prompts as they were.
    fingerprint: str = ""


@dataclass(frozen=True)
class Reach:
    """Share of the single-document questions with evidence pages whose evidence is
    among the first `depth` chunks of each first-stage list (before merging into sources)."""
    depth: int
    dense: float
    keyword: float
    either: float  # in the dense or the keyword list: what fusion could bring up
    fused: float  # the fused list a reranker would re-order


@dataclass
class SecBench:
    questions: int
    single: int
    multi: int
    single_with_evidence_pages: int
    files: int
    chunks: int
    index_seconds: float
    configs: dict[str, ConfigResult] = field(default_factory=dict)
    reach: list[Reach] = field(default_factory=list)
    targets: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    peak_rss: dict[str, float] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)


def load_questions(root: Path) -> list[Question]:
    with open(root / "qna_data.csv", encoding="utf-8-sig", newline="") as f:
        return [Question(r["Question"], r["Source Docs"],
                         "single" if r["Question Type"].startswith("Single-Doc") else "multi", r["Answer"])
                for r in csv.DictReader(f)]


def figures(text: str) -> set[str]:
    """Numbers as plain digits ("$82,959" -> "82959", "43.3%" -> "43.3"); bare years and
    small integers (quarter numbers, item numbers) are not key figures."""
    out = set()
    for m in _FIGURE.finditer(text):
        raw = m.group()
        num = raw.strip("$%").replace(",", "").rstrip(".")
        if not num or not num[0].isdigit():
            continue
        plain = "." not in num and "$" not in raw and "%" not in raw
        if plain and (len(num) < 3 or (len(num) == 4 and 1990 <= int(num) <= 2035)):
            continue
        out.add(num)
    return out


def text_figures(text: str) -> set[str]:
    return {m.group().strip("$%()").replace(",", "").rstrip(".") for m in _FIGURE.finditer(text)}


def page_texts(docs: Path, cache: Path) -> dict[str, dict[int, str]]:
    """Every filing's page texts as the loader reads them (cached beside the index)."""
    if cache.is_file():
        data = json.loads(cache.read_text(encoding="utf-8"))
        return {name: {int(p): t for p, t in pages.items()} for name, pages in data.items()}
    from ingest.loaders import load_document

    out = {p.name: load_document(p).page_texts() for p in sorted(docs.glob("*.pdf"))}
    cache.write_text(json.dumps(out), encoding="utf-8")
    return out


def evidence_pages(q: Question, pages: dict[str, dict[int, str]], strict: bool = True) -> set[tuple[str, int]]:
    """strict: the pages holding the most of the key figures; else every page holding
    at least half of them (a figure is often both in a statement and in the discussion)."""
    want = figures(q.answer)
    if not want:
        return set()
    hits: list[tuple[int, str, int]] = []
    for name, by_page in pages.items():
        if fnmatch.fnmatch(name, q.glob):
            hits += [(len(want & text_figures(t)), name, p) for p, t in by_page.items()]
    best = max((h for h, _, _ in hits), default=0)
    floor = best if strict else max(1, -(-len(want) // 2))
    return {(name, p) for h, name, p in hits if best and h >= floor}


def _on_evidence(p: Any, evidence: set[tuple[str, int]]) -> bool:
    """p: a Passage (anything with a path and a page range)."""
    if p.page_start is None:
        return False
    name = Path(p.path).name
    return any((name, page) in evidence for page in range(p.page_start, (p.page_end or p.page_start) + 1))


def first_stage_reach(r: Any, questions: list[Question], evidence: dict[str, set[tuple[str, int]]],
                      depths: tuple[int, ...] = REACH_DEPTHS) -> list[Reach]:
    """For each single-document question with evidence pages: the rank of the first
    evidence chunk in the dense, keyword and fused candidate lists that the search for
    it ranks (inside the documents it names, with the same residual queries)."""
    n = max(depths)
    ranks: list[tuple[float, float, float]] = []
    for q in questions:
        ev = evidence.get(q.text)
        if q.kind != "single" or not ev:
            continue
        focus = r.focus(q.text)
        where = {"file_id": {"$in": list(focus.file_ids)}} if focus.file_ids else None
        c = r.candidates(focus.query or q.text, n, where, keyword_query=focus.keyword_query)
        lists = (c.dense[:n], c.keyword[:n], r.fuse(c)[:n])
        chunks = r.hydrate(list({cid for ranked in lists for cid, _ in ranked}))
        ranks.append(tuple(next((i for i, (cid, _) in enumerate(ranked, 1)
                                 if cid in chunks and _on_evidence(chunks[cid], ev)), math.inf)
                           for ranked in lists))
    total = max(1, len(ranks))
    return [Reach(d, sum(a <= d for a, _, _ in ranks) / total, sum(b <= d for _, b, _ in ranks) / total,
                  sum(min(a, b) <= d for a, b, _ in ranks) / total, sum(f <= d for _, _, f in ranks) / total)
            for d in depths]


def run(docs: Path, home: Path, threads: int, vectors: Path | None = None,
        configs: tuple[str, ...] = tuple(CONFIGS), budgets: tuple[int, ...] = (),
        reranker: Path | None = None) -> SecBench:
    """`budgets`: prompt source-token budgets to score besides the settings' one (each
    config again as "<config>@<tokens>"), to see what a smaller budget costs.
    `reranker`: a cross-encoder folder, used as `reranker_path` is."""
    quiet_env()
    from app.engine.library import Library
    from app.engine.llm import LocalLLM
    from app.engine.prompt import PromptBuilder
    from app.engine.selection import Budget, select_passages
    from app.resources import sample_model
    from app.settings import Settings

    questions = load_questions(docs.parent)
    names = sorted(p.name for p in docs.glob("*.pdf"))
    settings = Settings(home=home, reranker_path=str(reranker or ""))
    with Library(settings, embedder=bench_embedder(vectors, threads)) as lib:
        log(f"indexing {docs}")
        t0 = time.perf_counter()
        report = lib.indexer.index_paths([docs])
        index_s = time.perf_counter() - t0
        log("page texts for evidence pages")
        pages = page_texts(docs, home / "sec-page-texts.json")
        evidence = {q.text: evidence_pages(q, pages) for q in questions if q.kind == "single"}
        lenient = {q.text: evidence_pages(q, pages, strict=False) for q in questions if q.kind == "single"}
        llm = LocalLLM(sample_model(), n_ctx=4096)
        llm.load()
        builder = PromptBuilder(llm.prepare, llm.n_ctx, settings.max_answer_tokens)
        count = lambda text: len(llm.tokenize(text))  # noqa: E731
        budget = Budget(tokens=settings.context_tokens)
        results: dict[str, ConfigResult] = {}
        for name in configs:
            documents, trim = CONFIGS[name]
            r = lib.retriever("hybrid")
            r.config = replace(r.config, documents=documents, trim=trim)
            for tokens in (None, *budgets):
                key = name if tokens is None else f"{name}@{tokens}"
                results[key] = _score(r, questions, names, evidence, lenient, builder, count,
                                      budget if tokens is None else replace(budget, tokens=tokens),
                                      settings.top_k, select_passages)
                log(f"{key}: {results[key]}")
        r = lib.retriever("hybrid")  # default config: documents focused, as search() does
        reach = first_stage_reach(r, questions, evidence)
        log(f"first-stage reach: {reach}")
        single = [q for q in questions if q.kind == "single"]
        return SecBench(len(questions), len(single), len(questions) - len(single),
                        sum(1 for q in single if evidence[q.text]), report.files_seen, lib.keyword.count(),
                        index_s, results, reach,
                        {"single_first_from_doc": 0.85, "single_prompt_has_doc": 0.95,
                         "single_evidence_page_at5": 0.75, "multi_required_share_at5": 0.85,
                         "mean_prompt_tokens_max": 800},
                        {"top_k": settings.top_k, "context_tokens": settings.context_tokens,
                         "min_relative": budget.min_relative, "prompt_tokenizer": "SmolLM2-135M (PromptBuilder)",
                         "fusion": r.config.fusion, "reranker": settings.reranker_path},
                        peak_rss_mb(), cpu_info())


def _score(r: Any, questions: list[Question], names: list[str], evidence: dict[str, set[tuple[str, int]]],
           lenient: dict[str, set[tuple[str, int]]], builder: Any, count: Any, budget: Any, k: int,
           select: Any) -> ConfigResult:
    first = top5 = in_prompt = ev5 = ev_prompt = half5 = 0.0
    req5: list[float] = []
    req_prompt: list[float] = []
    all_fig = any_fig = 0.0
    tokens: dict[str, list[int]] = {"single": [], "multi": []}
    n_in: list[int] = []
    ms: list[float] = []
    kinds: dict[str, int] = {}
    digest = hashlib.sha256()
    for q in questions:
        t = time.perf_counter()
        found = r.search(q.text, k)
        ms.append(1000 * (time.perf_counter() - t))
        kind = r.focus(q.text).kind.value
        kinds[kind] = kinds.get(kind, 0) + 1
        chosen = select(found, count, budget)
        prepared = builder.build(q.text, chosen).prepared
        tokens[q.kind].append(prepared.n_tokens)
        digest.update(repr(([(p.chunk_id, p.score) for p in found], prepared.payload)).encode())
        n_in.append(len(chosen))
        want = figures(q.answer)
        held = set().union(*(text_figures(p.text) for p in chosen)) if chosen else set()
        all_fig += bool(want) and want <= held
        any_fig += bool(want & held)
        ok = [fnmatch.fnmatch(p.name, q.glob) for p in found]
        if q.kind == "single":
            first += bool(ok and ok[0])
            top5 += any(ok[:5])
            in_prompt += any(fnmatch.fnmatch(p.name, q.glob) for p in chosen)
            ev = evidence[q.text]
            ev5 += any(_on_evidence(p, ev) for p in found[:5])
            ev_prompt += any(_on_evidence(p, ev) for p in chosen)
            half5 += any(_on_evidence(p, lenient[q.text]) for p in found[:5])
        else:
            required = {n for n in names if fnmatch.fnmatch(n, q.glob)}
            req5.append(len(required & {p.name for p in found[:5]}) / len(required))
            req_prompt.append(len(required & {p.name for p in chosen}) / len(required))
    ns = max(1, len(tokens["single"]))
    n_ev = max(1, sum(1 for q in questions if q.kind == "single" and evidence[q.text]))
    every = tokens["single"] + tokens["multi"]
    return ConfigResult(first / ns, top5 / ns, in_prompt / ns, ev5 / n_ev, ev_prompt / n_ev, half5 / n_ev,
                        statistics.mean(req5) if req5 else 0.0, statistics.mean(req_prompt) if req_prompt else 0.0,
                        all_fig / len(questions), any_fig / len(questions), statistics.mean(every),
                        statistics.mean(tokens["single"] or [0]), statistics.mean(tokens["multi"] or [0]),
                        statistics.mean(n_in), kinds, statistics.median(ms), digest.hexdigest())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=SEC_DOCS)
    ap.add_argument("--home", type=Path, default=CACHE_HOME)
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {list(CONFIGS)}")
    ap.add_argument("--budgets", default="", help="comma-separated source-token budgets to score as well")
    ap.add_argument("--reranker", type=Path,
                    help="a cross-encoder folder to rerank with (reranker_path); JSON retrieval_sec10q_reranked")
    add_embedder_args(ap)
    args = ap.parse_args(argv)
    for folder in (args.docs, args.reranker):
        if folder is not None and not folder.is_dir():
            print(f"bench_sec_retrieval: {folder} not found", file=sys.stderr)
            return 2
    configs = tuple(c for c in args.configs.split(",") if c)
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        print(f"bench_sec_retrieval: unknown config(s) {unknown}; choose from {list(CONFIGS)}", file=sys.stderr)
        return 2
    budgets = tuple(int(b) for b in args.budgets.split(",") if b)
    emit("retrieval_sec10q" + ("_reranked" if args.reranker else ""),
         run(args.docs, args.home, args.threads, args.vectors, configs, budgets, args.reranker))
    return 0


if __name__ == "__main__":
    sys.exit(main())
