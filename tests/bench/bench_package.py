"""The installer: bundle size and what dominates it, archive size, frozen vs source start-up.

`python -m tests.bench.run_all --only package` (not in the default run: it needs
`make package` first). Measures dist/docent as built:
- size on disk, total and the ten largest parts (top-level packages of the bundle) and files;
- the .tar.gz next to it (or one made now, gzip level 6);
- `--self-test` (index the sample PDF + text, answer with SmolLM2) wall time, frozen vs
  `python -m app.cli.selftest` from source; the same for the window (start -> shown);
- `--naive`: a plain `pyinstaller --onedir packaging/entry.py` of the same entry point (no
  hooks, no excludes, no filtering), built once into .bench/naive/ (~15 min), its size and
  whether its own self-test passes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.bench.common import BENCH_OUT, REPO, emit, load_average, log

DIST = REPO / "dist" / "docent"
NAIVE = BENCH_OUT / "naive"


def disk_usage(root: Path) -> tuple[int, dict[str, int], list[tuple[str, int]]]:
    """Total bytes, bytes per top-level part of the bundle, and every file's size."""
    inner = root / "_internal" if (root / "_internal").is_dir() else root
    parts: dict[str, int] = defaultdict(int)
    files = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            size = p.stat().st_size
            rel = p.relative_to(inner if p.is_relative_to(inner) else root)
            parts[rel.parts[0] if len(rel.parts) > 1 else "(top-level files)"] += size
            files.append((p.relative_to(root).as_posix(), size))
    return sum(s for _, s in files), dict(parts), files


def mib(n: int) -> float:
    return round(n / 2**20, 1)


def size_report(root: Path) -> dict[str, Any]:
    total, parts, files = disk_usage(root)
    top_parts = sorted(parts.items(), key=lambda kv: -kv[1])[:10]
    top_files = sorted(files, key=lambda kv: -kv[1])[:10]
    return {"total_mib": mib(total), "files": len(files),
            "largest_parts_mib": {k: mib(v) for k, v in top_parts},
            "largest_files_mib": {k: mib(v) for k, v in top_files}}


def archive_size(root: Path) -> dict[str, Any]:
    existing = sorted(root.parent.glob("docent-*.tar.gz"))
    if existing:
        return {"path": existing[-1].name, "mib": mib(existing[-1].stat().st_size), "made_now": False}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "docent.tar.gz"
        t0 = time.perf_counter()
        with tarfile.open(out, "w:gz", compresslevel=6) as tar:
            tar.add(root, arcname="docent")
        return {"path": None, "mib": mib(out.stat().st_size), "made_now": True,
                "seconds": round(time.perf_counter() - t0, 1)}


def timed(cmd: list[str], timeout: float = 900) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("LLAMA_CPP_LIB_PATH", None)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)
    seconds = time.perf_counter() - t0
    try:
        report = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        report = {}
    out = {"seconds": round(seconds, 2), "exit": proc.returncode, "ok": report.get("ok")}
    if "seconds" in report:
        out["inner_seconds"] = report["seconds"]
    if "seconds_to_shown" in report:
        out["seconds_to_shown"] = report["seconds_to_shown"]
    if proc.returncode != 0:
        out["stderr_tail"] = proc.stderr[-600:]
    return out


def build_naive() -> dict[str, Any]:
    """PyInstaller with nothing but the entry point (and the repo on its path)."""
    dist = NAIVE / "dist"
    if not (dist / "entry").is_dir():
        log("building the naive bundle (~15 min)")
        t0 = time.perf_counter()
        subprocess.run(["nice", "-n", "10", sys.executable, "-m", "PyInstaller", "--noconfirm", "--onedir",
                        "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(NAIVE / "build"),
                        "--specpath", str(NAIVE), "--paths", str(REPO), str(REPO / "packaging" / "entry.py")],
                       check=True, cwd=REPO)
        (NAIVE / "build_seconds.txt").write_text(f"{time.perf_counter() - t0:.0f}\n")
    return {"root": dist / "entry"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--naive", action="store_true", help="also build/measure the naive bundle")
    ap.add_argument("--no-run", action="store_true", help="sizes only, no self-test runs")
    args = ap.parse_args(argv)
    exe = DIST / "docent"
    if not exe.is_file():
        emit("package", {"error": f"{exe} is missing: run `make package` first"})
        return 1
    from app.resources import sample_model

    model = str(sample_model())
    result: dict[str, Any] = {"bundle": size_report(DIST), "archive": archive_size(DIST),
                              "load_average": load_average()}
    if not args.no_run:
        log("self-test, frozen then from source")
        result["self_test_frozen"] = timed([str(exe), "--self-test", "--model", model])
        result["self_test_source"] = timed([sys.executable, "-m", "app.cli.selftest", "--model", model])
        if (DIST / "_internal" / "PySide6").is_dir():
            log("window, frozen then from source")
            result["window_frozen"] = timed([str(exe), "--window-check"])
            result["window_source"] = timed([sys.executable, "-c", "import sys; from app.cli.selftest import "
                                             "window_check_main as m; sys.exit(m([]))"])
    if args.naive:
        naive = build_naive()["root"]
        result["naive"] = {**size_report(naive),
                           "build_seconds": float((NAIVE / "build_seconds.txt").read_text() or 0)
                           if (NAIVE / "build_seconds.txt").exists() else None}
        if not args.no_run:
            result["naive"]["self_test"] = timed([str(naive / "entry"), "--self-test", "--model", model], 600)
        result["bundle_vs_naive"] = round(result["bundle"]["total_mib"] / result["naive"]["total_mib"], 3)
    emit("package", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
