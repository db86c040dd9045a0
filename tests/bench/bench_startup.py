"""Start-up of a large library: `python -m tests.bench.bench_startup`.

What a long-running owner (`docent serve`, the window) does before it answers:
Library.build() (owner lock, manifest, MiniLM, Chroma, keyword index, indexer),
the consistency check and the reconciliation of a watched folder where nothing
changed. Measured at 100k chunks (2,000 files x 50) after an unclean shutdown
(the full check: every chunk id read from Chroma, in pages) and after a clean one.

The library is synthetic (tests/ingest/synthetic_library.py: real files, random
unit vectors, written straight into the indexes) and cached in
.bench/startup-cache (--fresh rebuilds). Each start-up is timed in a fresh
process, so Chroma opens cold as it does for a user.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import BENCH_OUT, REPO, cpu_info, emit, log, quiet_env

CACHE = BENCH_OUT / "startup-cache"
TARGET_CHECK_AND_SCAN_S = 2.0  # consistency check (full) + reconciliation, model loading excluded


@dataclass
class StartupBench:
    chunks: int
    files: int
    build_library_s: float  # building the synthetic library (0 when cached)
    unclean: dict[str, Any]
    clean: dict[str, Any]
    targets_met: dict[str, bool]
    notes: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)


def _settings(home: Path):  # type: ignore[no-untyped-def]
    from app.settings import Settings

    return Settings.load(home)


def build(files: int, per_file: int, fresh: bool) -> tuple[float, int]:
    import shutil

    from app.engine.library import Library
    from tests.ingest.synthetic_library import build_library

    stamp = CACHE / "built.json"
    if not fresh and stamp.exists() and json.loads(stamp.read_text()) == {"files": files, "per_file": per_file}:
        return 0.0, files * per_file
    shutil.rmtree(CACHE, ignore_errors=True)
    settings = _settings(CACHE / "home")
    settings.watched_folders = [str(CACHE / "docs")]
    settings.save()
    with Library(settings) as lib:
        syn = build_library(lib, CACHE / "docs", files, per_file)
        log(f"built {syn.chunks} chunks in {syn.seconds:.1f} s")
    stamp.write_text(json.dumps({"files": files, "per_file": per_file}))
    return syn.seconds, syn.chunks


def measure(home: Path, unclean: bool) -> dict[str, Any]:
    """One start-up, in this (fresh) process."""
    t_start = time.perf_counter()
    quiet_env()
    from app.engine.library import Library
    from ingest.sync.reconcile import CLEAN_SHUTDOWN_KEY
    from ingest.sync.service import SyncService

    settings = _settings(home)
    with Library(settings, store_process=True) as lib:  # as the core runs it
        parts: dict[str, float] = {}
        t0 = time.perf_counter()
        lib.manifest.set_meta(CLEAN_SHUTDOWN_KEY, "0" if unclean else "1")
        # Library.build()'s order; index_version loads MiniLM (the store's name needs its fingerprint).
        # The store process is spawned first, so its start overlaps MiniLM's load.
        lib.start_store_process()
        for name in ("manifest", "embedder", "index_version", "store", "keyword", "indexer"):
            t = time.perf_counter()
            getattr(lib, name)
            parts[name] = round(time.perf_counter() - t, 3)
        lib.build()  # a no-op now: everything is built
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        svc = SyncService(lib, watch=False)
        svc.start()
        if not svc.wait_idle(1800) or svc.error is not None:
            raise RuntimeError(f"sync did not finish: {svc.error!r}")
        svc.stop()
        to_idle = time.perf_counter() - t0
        c, d = svc.startup.consistency, svc.startup.drift  # type: ignore[union-attr]
        return {"library_build_s": round(built, 3), "parts_s": parts,
                "full_check": c.full_check, "consistency_s": round(c.seconds, 3),
                "scan_s": round(d.seconds, 3), "sync_to_idle_s": round(to_idle, 3),
                "unchanged_files": d.unchanged, "changed_files": len(d.changed),
                "orphans": c.orphan_files, "requeued": c.requeued,
                "process_to_idle_s": round(time.perf_counter() - t_start, 3),
                "chunks": lib.store.count()}


def _child(home: Path, unclean: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "tests.bench.bench_startup", "--measure", str(home)]
                       + (["--unclean"] if unclean else []), cwd=REPO, capture_output=True, text=True,
                       timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"start-up measurement failed:\n{r.stderr[-3000:]}")
    data = json.loads(r.stdout.strip().splitlines()[-1])
    data["python_start_to_exit_s"] = round(time.perf_counter() - t0, 3)
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--chunks-per-file", type=int, default=50)
    ap.add_argument("--fresh", action="store_true", help="rebuild the cached library")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child: one start-up
    ap.add_argument("--unclean", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        data = measure(args.measure, args.unclean)
        print(json.dumps(data), flush=True)
        return 0
    quiet_env()
    log(f"library of {args.files * args.chunks_per_file} chunks (cached in {CACHE})")
    build_s, chunks = build(args.files, args.chunks_per_file, args.fresh)
    home = CACHE / "home"
    log("start-up after an unclean shutdown (full consistency check)")
    unclean = _child(home, True)
    log("start-up after a clean shutdown")
    clean = _child(home, False)
    check_scan = unclean["consistency_s"] + unclean["scan_s"]
    result = StartupBench(
        chunks, args.files, round(build_s, 1), unclean, clean,
        {f"full_check_plus_scan_under_{TARGET_CHECK_AND_SCAN_S:g}s": check_scan < TARGET_CHECK_AND_SCAN_S,
         "nothing_reindexed": unclean["changed_files"] == 0 == clean["changed_files"],
         "all_chunks_kept": unclean["chunks"] == clean["chunks"] == chunks},
        ["library_build_s includes loading MiniLM (parts_s.index_version)",
         "process_to_idle_s: from the child's first line (after interpreter start) to sync idle"],
        cpu_info())
    emit("startup", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
