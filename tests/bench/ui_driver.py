"""The measured side of bench_ui: runs inside the app's own process (`bench_ui --child`).

It wraps `QApplication.exec` to find the window `app.ui.app.main()` shows, then drives it
with the window's own signals and keys (Ctrl+Enter, Esc, close) and records what it sees,
one JSON line per event, into the file the parent polls. Nothing in app/ knows about it.
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

LIBRARY = ("2023 Q3 AAPL.pdf", "2023 Q3 MSFT.pdf", "2023 Q3 NVDA.pdf")
QUESTIONS = ("What were Apple's total net sales in the third quarter of 2023?",
             "What was NVIDIA's revenue for the quarter?",
             "Summarize the main risk factors Microsoft describes.")
STREAM_QUESTION = "How much cash and cash equivalents did Apple have?"
HEARTBEAT_MS = 10


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
    A sampler that wakes late could not get the GIL either: it then notes every other
    thread's innermost frame, which names who was holding it (e.g. a C call that keeps it).
    """

    LATE_MS = 20.0

    def __init__(self, gui_ident: int, loop_code: Any, interval_s: float = 0.004) -> None:
        super().__init__(name="bench-stack-sampler", daemon=True)
        self.gui_ident, self.loop_code, self.interval_s = gui_ident, loop_code, interval_s
        self.samples: list[tuple[float, str, str]] = []
        self.late: list[tuple[float, float, dict[str, str]]] = []  # (time, late ms, thread -> frame)
        self.stop_event = threading.Event()

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stop_event.wait(self.interval_s):
            now = time.perf_counter()
            frames = sys._current_frames()
            late_ms = (now - last - self.interval_s) * 1000
            last = now
            if late_ms > self.LATE_MS:
                names = {t.ident: t.name for t in threading.enumerate()}
                self.late.append((now, late_ms, {
                    names.get(ident, str(ident)):
                        f"{Path(f.f_code.co_filename).stem}.{f.f_code.co_qualname}:{f.f_lineno}"
                    for ident, f in frames.items()
                    if ident not in (self.gui_ident, threading.get_ident())}))
            frame = frames.get(self.gui_ident)
            chain = []
            while frame is not None and frame.f_code is not self.loop_code:
                chain.append(frame)
                frame = frame.f_back
            if frame is None or not chain:
                self.samples.append((now, "(Qt C++ or GIL wait)", ""))
                continue
            slot, leaf = chain[-1].f_code, chain[0]
            self.samples.append((now,
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
        self.rec("stall", **stall_summary(self.beats, self.sampler.samples, self.sampler.late),
                 window_s=time.perf_counter() - self.stall_t0,
                 gc_frozen_objects=gc.get_freeze_count(),  # app.ui.app.keep_gc_pauses_short
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


def stall_summary(beats: list[tuple[float, str]], samples: list[tuple[float, str, str]],
                  late: Sequence[tuple[float, float, dict[str, str]]] = ()) -> dict[str, Any]:
    """Stall of a tick = its gap beyond the 10 ms interval; per phase max, p99, count; the
    slots the sampler saw on the GUI thread during the five worst stalls, and the other
    threads' frames when the sampler itself woke late inside them (who held the GIL)."""
    import bisect

    by_phase: dict[str, list[float]] = {}
    gaps: list[tuple[float, float, float, str]] = []
    for (t0, _), (t1, phase) in zip(beats, beats[1:], strict=False):
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
        held = [{"sampler_late_ms": round(ms, 1), "threads": frames}
                for t, ms, frames in late if t0 <= t <= t1 + 0.05][:2]
        worst.append({"stall_ms": round(stall, 1), "phase": phase,
                      "gui_thread_samples": dict(sorted(seen.items(), key=lambda kv: -kv[1])[:4]),
                      "gil_held_by": held})
    top = max(gaps, default=(0.0, 0, 0, "none"))
    return {"max_ms": round(max(every, default=0.0), 1), "p99_ms": round(p99(every), 1),
            "max_phase": top[3], "phases": phases, "worst": worst,
            "sampler_samples": len(samples), "sampler_late_wakeups": len(late)}


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
    ui_app.exit_process(code)  # as app.ui.app.run() ends the real process
    return code
