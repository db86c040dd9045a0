"""Retrieval latency at 100k chunks, embedded and Chroma server: `python -m tests.bench.bench_latency`.

Real chunks (the SciFact index that bench_retrieval_hybrid leaves in
.bench/cache/scifact-home) are replicated with distinct ids, files and folders
(one folder per replica) to 100k chunks, written to a fresh Chroma + FTS5.
Queries are SciFact's, embedded once up front: `search_ms` is the whole
HybridRetriever.search() (both indexes, fusion, hydration, merging) without the
query embedding, which is reported on its own (`embed_query_ms`).
Whole library, one folder (~1/8 of the chunks) and one file are measured, plus
the raw Chroma cost of each scoping strategy, which is what the design rests on.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from tests.bench.common import cpu_info, emit, log, quiet_env

SOURCE = Path(__file__).resolve().parents[2] / ".bench" / "cache" / "scifact-home"
NAME = "latency-bench"


@dataclass
class Timing:
    p50_ms: float
    p95_ms: float
    n: int


@dataclass
class LatencyBench:
    chunks: int
    folders: int
    build_s: float
    embed_query_ms: Timing
    embedded: dict[str, Timing] = field(default_factory=dict)
    server: dict[str, Timing] = field(default_factory=dict)
    raw_chroma_embedded: dict[str, Timing] = field(default_factory=dict)
    targets_ms: dict[str, float] = field(default_factory=lambda: {"p50": 50.0, "p95": 150.0})
    notes: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)


def timing(fn: Callable[[int], object], n: int) -> Timing:
    fn(0)  # warm caches and lazy loads
    ms = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        ms.append(1000 * (time.perf_counter() - t))
    ms.sort()
    return Timing(round(statistics.median(ms), 2), round(ms[min(n - 1, int(0.95 * n))], 2), n)


class _FixedEmbedder:
    """Hands back precomputed query vectors so search_ms excludes the encoder."""

    def __init__(self, vectors: dict[str, Any]) -> None:
        self.vectors = vectors

    def encode_query(self, text: str) -> Any:
        return self.vectors[text]


def _open(home: Path, client: Any = None):  # type: ignore[no-untyped-def]
    from ingest.keyword import KeywordIndex
    from ingest.manifest import Manifest
    from ingest.store import ChromaStore

    m = Manifest(home / "manifest.sqlite3")
    return ChromaStore(home / "chroma", NAME, client=client), KeywordIndex(m.db)


def build(home: Path, target: int) -> tuple[float, list[str], str]:
    """Replicate the source index to `target` chunks; returns (seconds, folders, one file path)."""
    from ingest.passage import Passage
    from ingest.store import ChromaStore

    src = ChromaStore(SOURCE / "index" / "chroma", _source_name())
    got = src.col.get(include=["embeddings", "documents", "metadatas"])
    store, kw = _open(home)
    t0 = time.perf_counter()
    step, done, r = 5000, 0, 0
    folders: list[str] = []
    while done < target:
        folder = f"/bench/library/part{r:02d}"
        folders.append(folder)
        batch: list[Passage] = []
        vecs = []
        for _cid, vec, doc, meta in zip(got["ids"], got["embeddings"], got["documents"], got["metadatas"], strict=True):
            doc = meta.get("text") or doc  # text in metadata since the store stopped writing documents
            if done + len(batch) >= target:
                break
            fid = f"r{r:02d}{str(meta['file_id'])[3:]}"
            batch.append(Passage(f"{fid}:{int(meta['chunk_index']):05d}",
                                 f"{folder}/{Path(str(meta['path'])).name}", None, None, doc or ""))
            vecs.append(vec)
        import numpy as np

        arr = np.asarray(vecs, dtype=np.float32)
        for i in range(0, len(batch), step):
            store.upsert(batch[i:i + step], arr[i:i + step], "")
        with kw._tx():  # one transaction per replica: 100k autocommits would dominate
            kw.add(batch)
        done += len(batch)
        r += 1
        log(f"built {done} chunks")
    return time.perf_counter() - t0, folders, batch[0].path


def _source_name() -> str:
    import chromadb

    client = chromadb.PersistentClient(str(SOURCE / "index" / "chroma"))
    return client.list_collections()[0].name


def measure(home: Path, queries: dict[str, Any], folder: str, file: str, n: int,
            url: str = "") -> tuple[dict[str, Timing], dict[str, Timing]]:
    from app.engine.hybrid import HybridRetriever

    client = None
    if url:
        from ingest.remote import http_client

        client = http_client(url)
    store, kw = _open(home, client)
    texts = list(queries)
    r = HybridRetriever(_FixedEmbedder(queries), store, kw)  # type: ignore[arg-type]
    out = {
        "whole_library": timing(lambda i: r.search(texts[i % len(texts)], 6), n),
        "scoped_folder": timing(lambda i: r.search(texts[i % len(texts)], 6, {"folder": folder}), n),
        "scoped_file": timing(lambda i: r.search(texts[i % len(texts)], 6, {"path": file}), n),
        "keyword_only_whole": timing(lambda i: kw.search(texts[i % len(texts)], 50), n),
    }
    raw: dict[str, Timing] = {}
    if not url:
        vec = [queries[t] for t in texts]
        fid = kw.scope(paths=[file]).counts
        ids = kw.ids_for_files(fid)
        folder_fids = list(kw.scope(folders=[folder]).counts)
        raw = {
            "unfiltered_k50": timing(lambda i: store.query_ids(vec[i % len(vec)], 50), n),
            "unfiltered_k2000_ids_only": timing(lambda i: store.query_ids(vec[i % len(vec)], 2000), n),
            "file_where_filter": timing(lambda i: store.query_ids(
                vec[i % len(vec)], 50, where={"file_id": list(fid)[0]}), n),
            "file_ids_exact": timing(lambda i: store.query_ids(vec[i % len(vec)], 50, ids=ids), n),
            "folder_where_in_filter": timing(lambda i: store.query_ids(
                vec[i % len(vec)], 50, where={"file_id": {"$in": folder_fids}}), max(5, n // 5)),
        }
    return out, raw


def _measure_child(args: tuple) -> tuple[dict, dict]:  # type: ignore[type-arg]
    quiet_env()
    out, raw = measure(*args)
    return {k: asdict(v) for k, v in out.items()}, {k: asdict(v) for k, v in raw.items()}


def run(target: int, n: int) -> LatencyBench:
    quiet_env()
    from app.engine.evaluation import load_beir
    from app.resources import bundled_embedder
    from ingest.embedder import Embedder
    from tests.app.chroma_server import chroma_server
    from tests.bench.common import SCIFACT

    emb = Embedder(bundled_embedder())
    texts = list(load_beir(SCIFACT).queries.values())[:n]
    embed_t = timing(lambda i: emb.encode_query(texts[i % len(texts)]), min(n, 50))
    queries = dict(zip(texts, emb.encode(texts), strict=True))
    with tempfile.TemporaryDirectory(prefix="docent-latency-") as tmp:
        home = Path(tmp)
        ctx = mp.get_context("spawn")
        with ctx.Pool(1) as pool:  # build + embedded runs in a child that exits and frees the files
            build_s, folders, file = pool.apply(_build_child, ((home, target),))
            emb_out, raw = pool.apply(_measure_child, ((home, queries, folders[0], file, n),))
        with chroma_server(home / "chroma") as url:
            srv_out, _ = measure(home, queries, folders[0], file, n, url)
    return LatencyBench(
        target, len(folders), build_s, embed_t, {k: Timing(**v) for k, v in emb_out.items()},
        srv_out, {k: Timing(**v) for k, v in raw.items()},
        notes=[f"{n} SciFact queries; k=6 sources; folder scope = 1 of {len(folders)} folders; "
               "file scope = one file (2-3 chunks)",
               "server: `chroma run` on 127.0.0.1 over the same persisted data"],
        machine=cpu_info())


def _build_child(args: tuple) -> tuple:  # type: ignore[type-arg]
    quiet_env()
    return build(*args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args(argv)
    if not (SOURCE / "index" / "chroma").is_dir():
        print("bench_latency: run tests.bench.bench_retrieval_hybrid first (it builds the source index)",
              file=sys.stderr)
        return 2
    emit("retrieval_latency_100k", run(args.chunks, args.queries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
