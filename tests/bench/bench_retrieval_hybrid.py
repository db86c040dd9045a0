"""Hybrid vs dense vs keyword on BEIR SciFact through Docent's own ingest and retrieval:
`python -m tests.bench.bench_retrieval_hybrid`.

Unlike bench_retrieval_scifact (document-level, no chunking, to reproduce the
published MiniLM number), this writes each doc as a file, indexes it with the
real Indexer (chunking, Chroma, FTS5) and ranks with HybridRetriever; a doc is
scored by its best chunk. The index is kept in .bench/cache/scifact-home so a
re-run (and bench_latency) reuses it.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import (
    BENCH_OUT,
    SCIFACT,
    add_embedder_args,
    bench_embedder,
    cpu_info,
    emit,
    log,
    peak_rss_mb,
    quiet_env,
)

PUBLISHED = {"dense": 0.6451, "keyword": 0.665}  # MTEB all-MiniLM-L6-v2; BEIR BM25 (Anserini)
TARGET_HYBRID = 0.71
MODES = ("dense", "keyword", "hybrid", "hybrid-rrf", "hybrid-convex")
CACHE_HOME = BENCH_OUT / "cache" / "scifact-home"


@dataclass
class HybridBench:
    report: Any
    published_ndcg_at_10: dict[str, float]
    target_hybrid_ndcg_at_10: float
    hybrid_meets_target: bool
    hybrid_beats_both_published: bool
    peak_rss: dict[str, float] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)


def open_library(home: Path, vectors: Path | None = None, threads: int = 0):  # type: ignore[no-untyped-def]
    from app.engine.library import Library
    from app.settings import Settings

    return Library(Settings(home=home), embedder=bench_embedder(vectors, threads))


def run(root: Path, home: Path, threads: int = 0, vectors: Path | None = None,
        prune_min_chunks: int | None = None) -> HybridBench:
    quiet_env()
    from app.engine.evaluation import evaluate, load_beir

    data = load_beir(root)
    with open_library(home, vectors, threads) as lib:
        if prune_min_chunks is not None:  # SciFact (13k chunks) is below the default: force the plan
            from dataclasses import replace

            ranker = lib.keyword.ranker
            ranker.config = replace(ranker.config, prune_min_chunks=prune_min_chunks)
        rep = evaluate(lib, data, home / "corpus", "scifact", modes=MODES, log=log)
        rep.notes.append(f"default fusion: {lib.retriever().config.fusion}")
        rep.notes.append(f"keyword plan: {lib.keyword.ranker.config}")
        if vectors is not None:
            rep.notes.append(f"chunk vectors from {vectors} (same MiniLM weights run on a GPU; "
                             f"local re-embeds: {lib.embedder.misses} texts, queries embedded locally)")
    nd = {m: r.ndcg_at_10 for m, r in rep.modes.items()}
    return HybridBench(rep, PUBLISHED, TARGET_HYBRID, nd["hybrid"] >= TARGET_HYBRID,
                       nd["hybrid"] > max(PUBLISHED.values()), peak_rss_mb(), cpu_info())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SCIFACT)
    ap.add_argument("--home", type=Path, default=CACHE_HOME)
    add_embedder_args(ap)
    ap.add_argument("--prune-min-chunks", type=int, help="apply BM25 common-term pruning from this "
                    "many chunks (default: the product's setting)")
    args = ap.parse_args(argv)
    if not (args.data / "corpus.jsonl").is_file():
        print(f"bench_retrieval_hybrid: {args.data} not found", file=sys.stderr)
        return 2
    emit("retrieval_hybrid_scifact", run(args.data, args.home, args.threads, args.vectors,
                                                  args.prune_min_chunks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
