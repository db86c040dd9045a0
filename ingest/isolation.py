"""Parse files in long-lived worker processes so a hostile file fails alone.

A PDF that loops forever or balloons in memory must cost one file, not the
indexing run. Each worker is a "spawn" process (the parent holds torch and its
threads, which fork would copy in a broken state) with an address-space cap;
a parse that overruns its time is killed with its worker, which is replaced.

This module is the parent's side; what runs inside a worker is ingest.parser_worker.
Workers import only that module and ingest.loaders, but spawn also re-imports
the parent's main module (`-m app.cli`, or the entry script), so that module
must keep heavy imports inside functions. A warning is logged if it does not.
"""
from __future__ import annotations

import concurrent.futures as cf
import functools
import itertools
import logging
import multiprocessing as mp
import queue
import signal
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import progress
from ingest.child_start import ChildDidNotStart, StartInterrupted, await_hello
from ingest.document import Document
from ingest.errors import FileErrorKind, LoadError
from ingest.lanes import Lane, Lanes
from ingest.loaders import LoadLimits, load_document
from ingest.parser_worker import EXIT_OOM, LoadFn, run_one, worker_main

ProgressFn = Callable[[Path, progress.PageProgress], None]  # pages of a scan read so far

_STARTUP_TIMEOUT_S = 60.0
_POLL_S = 0.2  # how soon a dispatcher notices close(); replies wake it at once
_CRASH_SIGNALS = frozenset({"SIGSEGV", "SIGBUS", "SIGABRT", "SIGFPE", "SIGILL"})
_log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    path: Path
    document: Document | None = field(repr=False)  # can be megabytes; keep logs short
    error_kind: FileErrorKind | None = None
    error_detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.document is not None and self.error_kind is None

    @property
    def error_message(self) -> str:
        return LoadError(self.error_kind, self.error_detail).message if self.error_kind else ""


def _result(path: Path, doc: Document | None, kind: str | None, detail: str, secs: float) -> LoadResult:
    return LoadResult(path, doc, FileErrorKind(kind) if kind else None, detail, secs)


# --- parent side -------------------------------------------------------------
class _Worker:
    """One worker process and its pipe; used by exactly one dispatcher thread."""

    def __init__(self, memory_limit_mb: int, limits: LoadLimits, load_fn: LoadFn) -> None:
        self._args = (memory_limit_mb, limits, load_fn)
        self.proc: Any = None
        self.conn: Any = None

    def start(self, stop: threading.Event) -> bool:
        """Make sure a worker is up; False if close() interrupted. Raises if it cannot start."""
        if self.proc is not None and self.proc.is_alive():
            return True
        self.discard()
        ctx = mp.get_context("spawn")
        self.conn, child_conn = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=worker_main, args=(child_conn, *self._args), name="docent-parser", daemon=True)
        self.proc.start()
        child_conn.close()  # so this side sees EOF when the worker dies
        try:
            [heavy] = await_hello([self.conn], self.proc, _STARTUP_TIMEOUT_S, stop)
        except StartInterrupted:
            self.discard()
            return False
        except ChildDidNotStart as e:
            self.discard()
            raise RuntimeError(f"parser process did not start: {e}") from e
        if heavy:
            _log.warning("parser workers imported %s via the main module; import those inside functions", heavy)
        return True

    def discard(self, graceful: bool = False) -> None:
        """Stop and forget the process; the pipe may be mid-message, so never reuse it."""
        if self.proc is not None and self.proc.pid is not None:  # started
            if graceful and self.proc.is_alive():
                try:
                    self.conn.send(None)
                    self.proc.join(2)
                except OSError:
                    pass
            self.proc.kill()
            self.proc.join(5)
            if self.proc.exitcode is not None:  # else stuck in the kernel; leave it
                self.proc.close()
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None

    def death_result(self, path: Path, seconds: float) -> LoadResult:
        """The worker vanished mid-parse: say why, from its exit status."""
        self.proc.join(5)
        code = self.proc.exitcode
        self.discard()
        kind, detail = FileErrorKind.INTERNAL, f"parser process exited unexpectedly (status {code})"
        if code == EXIT_OOM:
            kind, detail = FileErrorKind.OUT_OF_MEMORY, ""
        elif code == -signal.SIGKILL:  # what the kernel's OOM killer sends
            kind = FileErrorKind.OUT_OF_MEMORY
            detail = "the system stopped the parser, most likely for using too much memory"
        elif code is not None and code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            if sig in _CRASH_SIGNALS:
                kind, detail = FileErrorKind.CORRUPT, f"the parser crashed on this file ({sig})"
            else:
                detail = f"parser process was stopped by {sig}"
        return LoadResult(path, None, kind, detail, seconds)


class _PoolState:
    """Everything the dispatcher threads share. It holds no reference to the
    ParserPool, so an unreferenced pool is collected and its finalizer runs."""

    def __init__(self, timeout_s: float, limits: LoadLimits, load_fn: LoadFn,
                 on_progress: ProgressFn | None = None, lanes: int = 1, scan_lanes: int = 0) -> None:
        self.timeout_s = timeout_s
        self.limits = limits
        self.load_fn = load_fn
        self.on_progress = on_progress
        self.jobs: queue.SimpleQueue[tuple[cf.Future[LoadResult], Path] | None] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.workers: list[_Worker] = []
        self.threads = 0
        self.job_ids = itertools.count(1)
        self.lanes = Lanes(lanes, scan_lanes)  # files parsed at once; scans read aside besides

    def dispatch(self, worker: _Worker | None) -> None:
        try:
            while True:
                lane = self.lanes.claim()  # close() and shutdown_now() queue a None per thread
                try:
                    item = self.jobs.get()
                    if item is None:
                        break
                    future, path = item
                    if not future.set_running_or_notify_cancel():
                        continue
                    try:
                        result = self.run_isolated(worker, path, lane) if worker else self.run_here(path)
                    except Exception as exc:  # a bug here must not strand the caller
                        result = LoadResult(path, None, FileErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")
                    if result is None:
                        future.set_exception(cf.CancelledError("ParserPool closed during the parse"))
                    else:
                        future.set_result(result)
                finally:
                    lane.leave()
        finally:
            if worker is not None:
                worker.discard(graceful=not self.stop.is_set())

    def run_here(self, path: Path) -> LoadResult:
        report = functools.partial(self.on_progress, path) if self.on_progress else None
        with progress.reporting(report):
            return _result(path, *run_one(self.load_fn, path, self.limits))

    def time_limit(self, page: progress.PageProgress | None) -> float:
        """Seconds a parse may take: the file's limit, plus per page its scan has to OCR."""
        return self.timeout_s + (page.total * self.limits.ocr_page_timeout_s if page else 0.0)

    def run_isolated(self, worker: _Worker, path: Path, lane: Lane | None = None) -> LoadResult | None:
        """The parse's result; None if close() interrupted it."""
        try:
            if not worker.start(self.stop):
                return None
        except (RuntimeError, OSError, EOFError) as exc:
            return LoadResult(path, None, FileErrorKind.INTERNAL, f"could not start a parser process: {exc}")
        t0 = time.monotonic()  # after start-up: spawning a replacement is not the file's fault
        job_id = next(self.job_ids)
        limit = self.time_limit(None)
        try:
            worker.conn.send((job_id, str(path)))
            while True:
                if self.stop.is_set():
                    worker.discard()
                    return None
                remaining = t0 + limit - time.monotonic()
                if remaining <= 0:
                    worker.discard()
                    return LoadResult(path, None, FileErrorKind.TIMEOUT, f"stopped after {limit:g} s",
                                      time.monotonic() - t0)
                if worker.conn.poll(min(_POLL_S, remaining)):
                    message = worker.conn.recv()
                    if len(message) == 2:  # pages of a scan read so far
                        if message[0] == job_id:
                            limit = max(limit, self.time_limit(message[1]))
                            if lane is not None and message[1].total:
                                lane.to_scan_lane()  # the files behind it go on meanwhile
                            if (listener := self.on_progress) is not None:
                                listener(path, message[1])
                        continue
                    got_id, doc, kind, detail, secs = message
                    if got_id == job_id:  # always, with one job per worker; be safe anyway
                        break
        except (EOFError, OSError):
            if self.stop.is_set():  # shutdown_now killed it, not the file
                worker.discard()
                return None
            return worker.death_result(path, time.monotonic() - t0)
        if kind == FileErrorKind.OUT_OF_MEMORY.value:
            worker.discard()  # it is exiting; do not hand it the next file
        return _result(path, doc, kind, detail, secs)

    def shutdown_now(self) -> None:
        """close(wait=False), finalizer and atexit path: cancel, kill, never block."""
        self.stop.set()
        while True:
            try:
                item = self.jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for worker in self.workers:
            try:
                worker.proc.kill()  # its dispatcher thread reaps it
            except (AttributeError, OSError, ValueError):  # none, or already closed
                pass
        for _ in range(self.threads):
            self.jobs.put(None)


class ParserPool:
    """Parse files off the main process; `submit` never raises for a bad file.

    workers=0 parses in-process on one thread, without isolation or timeout
    (tests, debugging). `load_fn` must be a module-level function, so that
    spawned workers can import it. A file whose scanned pages are read by OCR gets
    `limits.ocr_page_timeout_s` more per page on top of `timeout_s`, and each page read
    is passed to `on_progress` (called on a dispatcher thread). Such a file moves to one
    of `scan_lanes` more worker processes (started when first needed), so the files
    queued behind it are parsed meanwhile; results then come in their own order.
    """

    def __init__(self, workers: int = 1, timeout_s: float = 120.0, memory_limit_mb: int = 2048,
                 limits: LoadLimits = LoadLimits(), load_fn: LoadFn = load_document,
                 on_progress: ProgressFn | None = None, scan_lanes: int = 1) -> None:
        lanes = max(1, workers)
        scan_lanes = max(0, scan_lanes) if workers > 0 else 0
        self._state = state = _PoolState(timeout_s, limits, load_fn, on_progress, lanes, scan_lanes)
        self._lock = threading.Lock()
        self._closed = False
        if workers > 0:
            state.workers = [_Worker(memory_limit_mb, limits, load_fn) for _ in range(workers + scan_lanes)]
        # Daemon threads: a stuck parse must never block interpreter exit.
        self._threads = [
            threading.Thread(target=state.dispatch, args=(w,), name=f"docent-parse-{i}", daemon=True)
            for i, w in enumerate(state.workers or [None])
        ]
        state.threads = len(self._threads)
        for t in self._threads:
            t.start()
        self._finalizer = weakref.finalize(self, _PoolState.shutdown_now, state)

    def submit(self, path: Path) -> cf.Future[LoadResult]:
        future: cf.Future[LoadResult] = cf.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("ParserPool is closed")
            self._state.jobs.put((future, Path(path)))
        return future

    def load(self, path: Path) -> LoadResult:
        return self.submit(path).result()

    def set_progress(self, on_progress: ProgressFn | None) -> ProgressFn | None:
        """Who hears of scanned pages read from now on (ingest.pipeline, per index run);
        returns who did."""
        previous, self._state.on_progress = self._state.on_progress, on_progress
        return previous

    def close(self, wait: bool = True) -> None:
        """wait=True finishes queued and running parses first; wait=False cancels
        queued ones and kills running ones (their futures raise CancelledError)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if wait:
            for _ in self._threads:
                self._state.jobs.put(None)  # behind every queued job
        else:
            self._finalizer()  # runs shutdown_now, at most once
        for t in self._threads:
            t.join()
        self._finalizer.detach()

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(wait=exc_info[0] is None)
