"""Run every benchmark, each in its own subprocess: `python -m tests.bench.run_all`.

A fresh process per benchmark keeps peak-RSS numbers clean and one crash from
hiding the rest. Each prints one JSON line (also written to .bench/<name>.json);
they are echoed here and summarised in .bench/all.json. Exit status is non-zero
only if a benchmark crashed or printed no JSON: a missed target is data in the
JSON, not a failure.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from tests.bench.common import BENCH_OUT, REPO, log

# Order: cheap and LLM-free first, the LLM last (it needs tests.bench.models).
BENCHMARKS: dict[str, str] = {
    "index": "tests.bench.bench_index",
    "sync": "tests.bench.bench_sync",
    "viewer": "tests.bench.bench_viewer",
    "ocr": "tests.bench.bench_ocr",  # scanned 10-Q pages through the parser worker: s/page, accuracy
    "ui": "tests.bench.bench_ui",  # the real window offscreen: start, Enter->sources, stalls, Esc, close
    "startup": "tests.bench.bench_startup",  # 100k synthetic chunks: build, check, reconcile
    "retrieval_scifact": "tests.bench.bench_retrieval_scifact",
    "retrieval_hybrid": "tests.bench.bench_retrieval_hybrid",  # builds the SciFact cache used below
    "sec_retrieval": "tests.bench.bench_sec_retrieval",
    "latency": "tests.bench.bench_latency",
    "answer": "tests.bench.bench_answer",
    "chat": "tests.bench.bench_chat",
    "answers": "tests.bench.bench_answers",  # sec-10-q end to end with the 1.5B (~1 h on 2 cores)
    "compute": "tests.bench.bench_compute",  # computed answers vs prose on 26 questions, the 1.5B
}
# Run only when named with --only: they need something built first (`make package`).
ON_DEMAND: dict[str, str] = {
    "package": "tests.bench.bench_package",
}


@dataclass
class Outcome:
    name: str
    returncode: int
    seconds: float
    result: dict[str, Any] | None
    timed_out: bool = False

    @property
    def crashed(self) -> bool:
        return self.returncode != 0 or self.result is None


def run_one(name: str, module: str, extra: list[str], timeout_s: float) -> Outcome:
    log(f"running {name} ({module})")
    t0 = time.perf_counter()
    # Own session, so a hung benchmark is stopped together with its worker processes.
    proc = subprocess.Popen([sys.executable, "-m", module, *extra], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, start_new_session=True)  # stderr passes through
    timed_out = False
    try:
        stdout, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        log(f"{name}: no result after {timeout_s:.0f}s, stopping it")
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            stdout, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    result = None
    for line in reversed((stdout or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                result = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    if result is not None:
        print(json.dumps(result), flush=True)
    log(f"{name}: exit {proc.returncode} after {seconds:.0f}s")
    return Outcome(name, proc.returncode if not timed_out else 124, seconds, result, timed_out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=sorted({**BENCHMARKS, **ON_DEMAND}),
                    help="run just this benchmark (repeatable)")
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds one benchmark may take before it counts as crashed")
    ap.add_argument("extra", nargs=argparse.REMAINDER,
                    help="arguments after -- go to every benchmark run (use with --only)")
    args = ap.parse_args(argv)
    extra = [a for a in args.extra if a != "--"]
    names = args.only or list(BENCHMARKS)
    outcomes = [run_one(n, {**BENCHMARKS, **ON_DEMAND}[n], extra, args.timeout) for n in names]
    BENCH_OUT.mkdir(parents=True, exist_ok=True)
    summary = {o.name: {**asdict(o), "crashed": o.crashed} for o in outcomes}
    (BENCH_OUT / "all.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    crashed = [o.name for o in outcomes if o.crashed]
    if crashed:
        log(f"crashed: {', '.join(crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
