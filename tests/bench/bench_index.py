"""Indexing throughput on the 20 SEC 10-Q PDFs: `python -m tests.bench.bench_index`.

Runs the real Library/Indexer (parser worker process, token-aware chunker,
MiniLM, Chroma, manifest) into a fresh temp DOCENT_HOME, then, in the same
process, times the bare sentence-transformers encoder on the very chunk texts
the pipeline stored. e2e/raw says how much of the encoder's speed survives the
rest of the pipeline. Phases are timed by wrapping the components' methods on
their instances (no source changes), so a missed target says where time went.

Heavy imports stay inside functions: the parser pool spawns workers, and spawn
re-imports this module in each of them.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tests.bench.common import (
    SEC_DOCS,
    CpuWatch,
    MemorySampler,
    cpu_info,
    emit,
    log,
    peak_rss_mb,
    quiet_env,
    wait_for_quiet,
)

TARGET_RATIO = 0.85


@dataclass
class IndexBench:
    docs: str
    files: int
    files_indexed: int
    failed_files: list[dict[str, str]]
    pages: int
    chunks: int
    embed_tokens: int
    batch_size: int
    wall_s: float
    setup_s: float
    e2e_embed_tokens_per_s: float
    raw_encode_s: float
    raw_embed_tokens_per_s: float
    ratio_e2e_to_raw: float
    ratio_target: float
    ratio_target_met: bool
    reindex_unchanged_s: float
    reindex_chunks_added: int
    reindex_unchanged_files: int
    peak_rss: dict[str, float]
    phases_s: dict[str, float]
    parse_worker_s: float
    parser_cpu_s: float
    contention_index: dict[str, float]
    contention_raw: dict[str, float]
    contention_alone: dict[str, float]
    timings_trustworthy: bool  # other processes used < 10% of the CPU in both timed phases
    cpu_ratio_raw_to_e2e: float  # raw encode CPU-s / indexing CPU-s (incl. parser): contention-robust
    cpu_ratio_target_met: bool
    embed_workers_idle_s: float = 0.0  # encoder worker-seconds with no batch to encode
    repeated_texts_skipped: int = 0  # chunk texts repeated within their file, encoded once
    padding_share: dict[str, float] = field(default_factory=dict)  # encoded positions that were padding
    raw_encoder_threads: int = 0
    embedder_workers: int = 0
    embedder_alone_s: float = 0.0  # Docent's encoder (data-parallel workers) on the same texts, no pipeline
    embedder_alone_tokens_per_s: float = 0.0
    ratio_e2e_to_embedder_alone: float = 0.0  # what the pipeline around the encoder costs
    cpu_ratio_embedder_alone_to_e2e: float = 0.0
    notes: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)


class _Timers:
    """Accumulated seconds per phase, from wrappers around instance methods."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.parse_worker_s = 0.0

    def wrap(self, obj: object, attr: str, phase: str) -> None:
        fn: Callable[..., Any] = getattr(obj, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0

        setattr(obj, attr, timed)

    def wrap_wait(self, obj: object, attr: str, phase: str,
                  on_result: Callable[[Any], None] = lambda res: None) -> None:
        """Time how long the caller blocks on the futures that obj.attr returns."""
        submit: Callable[..., Any] = getattr(obj, attr)
        timers = self

        class _Waited:
            def __init__(self, fut: Any) -> None:
                self.fut = fut

            def result(self, timeout: float | None = None) -> Any:
                t0 = time.perf_counter()
                try:
                    res = self.fut.result(timeout)
                finally:
                    timers.seconds[phase] = timers.seconds.get(phase, 0.0) + time.perf_counter() - t0
                on_result(res)
                return res

        setattr(obj, attr, lambda *a, **k: _Waited(submit(*a, **k)))

    def wrap_pool(self, pool: Any) -> None:
        """Time how long the indexing thread blocks on parse results, and the parser's own time."""

        def add_parse_time(res: Any) -> None:
            self.parse_worker_s += float(getattr(res, "seconds", 0.0) or 0.0)

        self.wrap_wait(pool, "submit", "wait_parse", add_parse_time)


def _instrument(lib: Any, timers: _Timers) -> None:
    import ingest.pipeline as pipeline

    ix = lib.indexer
    timers.wrap(ix.chunker, "chunk", "chunk")
    timers.wrap_wait(ix.embedder, "submit", "wait_embed")  # the indexing thread blocked on it
    timers.wrap(ix.store, "upsert", "chroma_upsert")
    timers.wrap(ix.store, "ids_for_file", "chroma_ids_for_file")
    timers.wrap(ix.manifest, "put", "manifest_put")
    timers.wrap_pool(ix.pool)
    timers.wrap(pipeline, "sha256_file", "sha256")


def _children_cpu_s() -> float:
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def _padded_share(groups: list[list[int]], texts: list[str], tokens: list[int], batch: int,
                  by_tokens: bool) -> float:
    """Share of encoded positions that are padding, for batches cut from each group
    sorted by token count or, as SentenceTransformer.encode sorts, by characters."""
    padded = real = 0
    for rows in groups:
        order = sorted(rows, key=(lambda r: tokens[r]) if by_tokens else (lambda r: -len(texts[r])))
        for i in range(0, len(order), batch):
            cut = order[i:i + batch]
            padded += (max(tokens[r] for r in cut) + 2) * len(cut)  # + [CLS] and [SEP]
            real += sum(tokens[r] + 2 for r in cut)
    return round(1 - real / padded, 4) if padded else 0.0


def run(docs: Path, batch_size: int | None, quiet_wait_s: float) -> IndexBench:
    quiet_env()
    import torch

    from app.engine.library import Library
    from app.settings import Settings

    with tempfile.TemporaryDirectory(prefix="docent-bench-index-") as tmp:
        home = Path(tmp) / "home"
        os.environ["DOCENT_HOME"] = str(home)
        settings = Settings.load(home)
        default_threads = torch.get_num_threads()  # before the embedder sets its own
        if batch_size:
            settings.embed_batch_size = batch_size
        t0 = time.perf_counter()
        lib = Library(settings)
        emb = lib.embedder
        emb.model.encode(["warm up"], batch_size=1)  # model load is not indexing time
        indexer = lib.indexer
        setup_s = time.perf_counter() - t0
        timers = _Timers()
        _instrument(lib, timers)
        log(f"indexing {docs} (batch_size={emb.batch_size})")
        quiet_index = wait_for_quiet(quiet_wait_s)
        cpu0 = _children_cpu_s()
        with MemorySampler() as mem, CpuWatch() as cw_index:
            t1 = time.perf_counter()
            report = indexer.index_paths([docs])
            wall = time.perf_counter() - t1
        parser_cpu = _children_cpu_s() - cpu0
        main_phases = dict(timers.seconds)  # before the raw passes add to them
        workers = emb._batch_workers
        embed_idle = workers.idle_s if workers is not None else 0.0
        repeats = workers.repeats_skipped if workers is not None else 0
        rss_index = peak_rss_mb()
        log(f"indexed {report.indexed} files, {report.chunks_added} chunks in {wall:.1f}s")
        t2 = time.perf_counter()
        again = indexer.index_paths([docs])
        reindex_s = time.perf_counter() - t2

        stored = lib.store.all_chunks()
        texts = [c.text for c in stored]
        log(f"raw encode of {len(texts)} stored chunk texts")
        quiet_raw = wait_for_quiet(quiet_wait_s)
        pipeline_threads = torch.get_num_threads()
        torch.set_num_threads(default_threads)  # the bare encoder as anyone would call it
        with CpuWatch() as cw_raw:
            t3 = time.perf_counter()
            emb.model.encode(texts, batch_size=emb.batch_size, normalize_embeddings=True,
                             convert_to_numpy=True, show_progress_bar=False)
            raw_s = time.perf_counter() - t3
        torch.set_num_threads(pipeline_threads)
        log(f"Docent's encoder alone ({emb.workers} workers) on the same texts")
        # Per file, ordered by token count, as the indexer hands them over (the chunker's
        # counts; here the same tokenizer's, untimed).
        tokens = [len(ids) for ids in emb.tokenizer(texts, add_special_tokens=False)["input_ids"]]
        files: dict[str, list[int]] = {}
        for row, chunk in enumerate(stored):
            files.setdefault(chunk.file_id, []).append(row)
        batch = emb.batch_size
        padding = {
            "raw_one_call_by_chars": _padded_share([list(range(len(texts)))], texts, tokens, batch, False),
            "docent_per_file_by_tokens": _padded_share(list(files.values()), texts, tokens, batch, True),
        }
        quiet_alone = wait_for_quiet(quiet_wait_s)
        with CpuWatch() as cw_alone:
            t4 = time.perf_counter()
            futures = [emb.submit([texts[r] for r in rows], [tokens[r] for r in rows]) for rows in files.values()]
            for f in futures:
                f.result()
            alone_s = time.perf_counter() - t4
        lib.close()

    phases = {k: round(v, 3) for k, v in sorted(main_phases.items())}
    phases["other"] = round(wall - sum(main_phases.values()), 3)
    e2e = report.embed_tokens / wall if wall else 0.0
    raw = report.embed_tokens / raw_s if raw_s else 0.0
    ratio = e2e / raw if raw else 0.0
    notes = [
        "wall_s is Indexer.index_paths only (parser worker start included; embedder load and "
        "warm-up are in setup_s). raw re-encodes the stored chunk texts in one plain "
        "SentenceTransformer.encode() call at the same batch size with torch's default threads "
        "(raw_encoder_threads); it orders them by characters, as sentence-transformers does. "
        "embedder_alone re-encodes them with Docent's encoder as the indexer drives it "
        "(Embedder.submit per file with token counts, embedder_workers single-threaded workers) "
        "without the rest of the pipeline. padding_share is the share of encoded positions that "
        "were padding in each ordering. Both the "
        "pipeline and embedder_alone encode a text repeated within one submission once "
        "(repeated_texts_skipped, counted during indexing); raw encodes every text.",
        "phases_s are the indexing thread's; the encoder runs in its own worker threads meanwhile. "
        "wait_parse / wait_embed are the time it was blocked on the parser process / the encoder "
        "(parse_worker_s is the parser's own total); embed_workers_idle_s is the encoder workers' "
        "time with no batch queued (summed over workers, before the first file included).",
        f"chunk texts read back: {len(texts)}",
        "peak_rss: self_mb is after indexing (before the raw pass, whose peak is self_mb_final); "
        "children_max_mb comes from ru_maxrss of reaped children, which on Linux starts at "
        "the parent's RSS at fork (spawn forks, then execs), so the sampled values are the "
        "parser worker's real footprint.",
        "contention_*: CPU seconds other processes used during the phase; when "
        "others_share_of_machine is not ~0, wall-clock numbers are inflated by them. "
        "cpu_ratio_raw_to_e2e compares CPU seconds instead of wall time (indexing CPU "
        "includes the parser worker), a steadier view on a shared machine.",
    ]
    return IndexBench(
        docs=str(docs), files=report.files_seen, files_indexed=report.indexed,
        failed_files=[{"path": Path(f.path).name, "kind": f.kind.value, "message": f.message}
                      for f in report.failures],
        pages=report.pages, chunks=report.chunks_added, embed_tokens=report.embed_tokens,
        batch_size=settings.embed_batch_size, wall_s=wall, setup_s=setup_s,
        e2e_embed_tokens_per_s=e2e, raw_encode_s=raw_s, raw_embed_tokens_per_s=raw,
        ratio_e2e_to_raw=ratio, ratio_target=TARGET_RATIO, ratio_target_met=ratio >= TARGET_RATIO,
        reindex_unchanged_s=reindex_s, reindex_chunks_added=again.chunks_added,
        reindex_unchanged_files=again.unchanged,
        peak_rss={**rss_index, "self_mb_final": peak_rss_mb()["self_mb"], **mem.summary()},
        phases_s=phases, parse_worker_s=timers.parse_worker_s, parser_cpu_s=parser_cpu,
        contention_index={**quiet_index, **cw_index.summary()},
        contention_raw={**quiet_raw, **cw_raw.summary()},
        contention_alone={**quiet_alone, **cw_alone.summary()},
        timings_trustworthy=max(cw.summary()["others_share_of_machine"] for cw in (cw_index, cw_raw, cw_alone)) < 0.1,
        cpu_ratio_raw_to_e2e=cw_raw.own_cpu_s / cw_index.own_cpu_s if cw_index.own_cpu_s else 0.0,
        cpu_ratio_target_met=(cw_raw.own_cpu_s / cw_index.own_cpu_s if cw_index.own_cpu_s else 0.0)
        >= TARGET_RATIO,
        embed_workers_idle_s=embed_idle, repeated_texts_skipped=repeats, padding_share=padding,
        raw_encoder_threads=default_threads, embedder_workers=emb.workers, embedder_alone_s=alone_s,
        embedder_alone_tokens_per_s=report.embed_tokens / alone_s if alone_s else 0.0,
        ratio_e2e_to_embedder_alone=alone_s / wall if wall else 0.0,
        cpu_ratio_embedder_alone_to_e2e=cw_alone.own_cpu_s / cw_index.own_cpu_s if cw_index.own_cpu_s else 0.0,
        notes=notes, machine=cpu_info(),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=SEC_DOCS)
    ap.add_argument("--batch-size", type=int, default=0, help="override Settings.embed_batch_size")
    ap.add_argument("--quiet-wait", type=float, default=120.0,
                    help="max seconds to wait for other processes to go idle before each phase")
    args = ap.parse_args(argv)
    if not args.docs.is_dir():
        print(f"bench_index: {args.docs} not found", file=sys.stderr)
        return 2
    emit("index", run(args.docs.resolve(), args.batch_size or None, args.quiet_wait))
    return 0


if __name__ == "__main__":
    sys.exit(main())
