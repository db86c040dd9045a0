"""Retrieval scored on a BEIR-format dataset through the real path (`docent eval`, tests/bench).

Documents are written as text files, indexed by the real Indexer (parser
worker, token-aware chunking, embedder, Chroma + FTS5), and ranked by the
real HybridRetriever. A document is scored by its best chunk and counts once.
Metrics follow pytrec_eval as BEIR/MTEB use it: graded gains from the qrels,
1/log2(rank+1) discount, ideal DCG from the qrels, every qrels query counted.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

Qrels = dict[str, dict[str, int]]
Run = dict[str, list[str]]  # query id -> doc ids, best first
MODES = ("dense", "keyword", "hybrid")


@dataclass
class BeirData:
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # only queries that have qrels in the split
    qrels: Qrels


@dataclass
class RetrievalMetrics:
    ndcg_at_10: float
    recall_at_10: float
    mrr_at_10: float
    recall_at_100: float


@dataclass
class EvalReport:
    dataset: str
    queries: int
    corpus_docs: int
    chunks: int
    index_seconds: float
    query_ms_mean: float  # both candidate lists + fusion, per query
    modes: dict[str, RetrievalMetrics] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_beir(root: Path, split: str = "test") -> BeirData:
    qrels: Qrels = {}
    with open(root / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = int(row["score"])
    corpus: dict[str, tuple[str, str]] = {}
    with open(root / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                corpus[str(d["_id"])] = (str(d.get("title") or ""), str(d.get("text") or ""))
    queries: dict[str, str] = {}
    with open(root / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                if str(q["_id"]) in qrels:
                    queries[str(q["_id"])] = str(q["text"])
    return BeirData(corpus, queries, qrels)


def score(run: Run, qrels: Qrels) -> RetrievalMetrics:
    nd = rec10 = mrr = rec100 = 0.0
    for qid, rels in qrels.items():
        ranked = list(dict.fromkeys(run.get(qid, [])))
        relevant = {d for d, g in rels.items() if g > 0}
        top10 = ranked[:10]
        dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top10))
        ideal = sorted((g for g in rels.values() if g > 0), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        nd += dcg / idcg if idcg else 0.0
        if relevant:
            rec10 += len(relevant & set(top10)) / len(relevant)
            rec100 += len(relevant & set(ranked[:100])) / len(relevant)
        mrr += next((1.0 / (i + 1) for i, d in enumerate(top10) if d in relevant), 0.0)
    n = max(1, len(qrels))
    return RetrievalMetrics(nd / n, rec10 / n, mrr / n, rec100 / n)


def doc_filename(doc_id: str) -> str:
    safe = re.sub(r"[^\w.-]", "_", doc_id)[:80]
    if safe != doc_id:  # keep distinct ids distinct after sanitising
        safe += "-" + hashlib.sha256(doc_id.encode()).hexdigest()[:8]
    return safe + ".txt"


def write_corpus(data: BeirData, folder: Path) -> dict[str, str]:
    """One text file per document (title, blank line, text); returns path -> doc id.
    Existing files are left alone so re-runs are incremental."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    for doc_id, (title, text) in data.corpus.items():
        path = folder / doc_filename(doc_id)
        if not path.exists():
            path.write_text(f"{title}\n\n{text}\n" if title else f"{text}\n", encoding="utf-8")
        out[str(path)] = doc_id
    return out


def evaluate(lib: Any, data: BeirData, corpus_dir: Path, name: str = "",
             modes: Sequence[str] = MODES, depth: int = 100,
             log: Callable[[str], None] = lambda m: None) -> EvalReport:
    """Index the corpus into `lib` (a Library) and score each retrieval mode."""
    paths = write_corpus(data, corpus_dir)
    log(f"indexing {len(paths)} documents")
    t0 = time.perf_counter()
    report = lib.indexer.index_paths([corpus_dir])
    index_s = time.perf_counter() - t0
    fid_to_doc = {r.file_id: paths[r.path] for r in lib.manifest.all() if r.path in paths}
    retriever = lib.retriever("hybrid")
    runs: dict[str, Run] = {m: {} for m in modes}
    log(f"ranking {len(data.queries)} queries")
    t1 = time.perf_counter()
    for qid, text in data.queries.items():
        cands = retriever.candidates(text, depth, modes=("dense", "keyword"))
        for m in modes:
            docs = [fid_to_doc.get(cid.split(":", 1)[0]) for cid, _ in retriever.fuse(cands, m)]
            runs[m][qid] = [d for d in dict.fromkeys(docs) if d is not None]
    query_ms = 1000 * (time.perf_counter() - t1) / max(1, len(data.queries))
    notes = [f"{depth} chunk candidates per list; a document is ranked by its best chunk",
             f"index: {report.indexed} indexed, {report.unchanged} unchanged, "
             f"{len(report.failures)} failed"]
    return EvalReport(name, len(data.queries), len(data.corpus), lib.keyword.count(), index_s, query_ms,
                      {m: score(runs[m], data.qrels) for m in modes}, notes)
