"""The sync service: watched folders and the index kept the same, whatever happens.

One worker thread owns every index write. Watchers only record hints in the
debouncer; the worker turns settled hints into moves (by content hash),
indexing (via Indexer, so parsing stays in the isolated ParserPool) and
deletions. Deletions wait until no hint is pending, so a move between two
folders (a delete and a create, in either order) is recognised as a move.

On start it repairs what a crash left (see reconcile.check_consistency), then
scans the folders for what changed while Docent was closed. The manifest rows
(queued / indexing / indexed / error / removed) are the persistent queue: any
work lost in a kill shows up again as a difference at the next start.

The worker is the only writer: other changes (files dropped outside the watched
folders, forget, folders added or removed at run time) are `WriterTask`s that
`submit()` queues and the worker runs between batches. A worker that died can be
`restart()`ed: it repairs (full consistency check) and rescans before going on.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from ingest.ignore import IgnoreRules
from ingest.manifest import FileRecord
from ingest.paths import inside
from ingest.sync import indexing
from ingest.sync.debounce import Debouncer
from ingest.sync.events import EventFn, FileEvent, FileState, IndexProgress, SyncEvent
from ingest.sync.progress import ProgressTracker
from ingest.sync.reconcile import (
    CLEAN_SHUTDOWN_KEY,
    ConsistencyReport,
    Drift,
    check_consistency,
    mark_removed,
    match_moves,
    scan,
    unchanged,
)
from ingest.sync.roots import Roots

_log = logging.getLogger(__name__)
_ROOT_CHECK_S = 5.0  # how often unavailable folders are looked for again
# A deletion waits this long for the create half of a move (inotify holds an
# unpaired move-out ~0.5 s; other platforms report the two halves in any order).
_REMOVAL_GRACE_S = 1.5


class WriterTask(Protocol):
    """Work for the writer thread. `run` returns False when pause or stop cut it short
    (it is put back at the head of the queue); it reports its own errors."""

    indexes: bool  # False: runs while indexing is paused (forget, folder changes)

    def run(self, service: "SyncService") -> bool: ...


@dataclass(frozen=True)
class StartupReport:
    consistency: ConsistencyReport
    drift: Drift


class SyncService:
    """`library` is an app Library (or anything with .settings and .indexer)."""

    def __init__(self, library: Any, folders: Sequence[Path] | None = None,
                 on_event: EventFn | None = None, quiet_s: float | None = None,
                 poll_s: float | None = None, ignore: Sequence[str] | None = None,
                 observer_factory: Callable[[], Any] | None = None, watch: bool = True) -> None:
        s = library.settings
        self.library = library
        self.rules = IgnoreRules(ignore if ignore is not None else s.ignore_patterns)
        self.debouncer = Debouncer(quiet_s if quiet_s is not None else s.watch_quiet_s)
        self._on_event = on_event
        self.roots = Roots([Path(os.path.abspath(os.path.expanduser(str(f))))
                            for f in (folders if folders is not None else s.watched_folders)], library,
                           hint=self.hint, emit=self._emit, ready=self._look_now, lost=self._drop_removals_under,
                           watch=watch,  # False: reconcile and index only (a one-shot sync)
                           poll_s=poll_s if poll_s is not None else s.watch_poll_s, observer_factory=observer_factory)
        self._ready: set[str] = set()  # paths to look at now (start-up scan, resumed work)
        self._removals: dict[str, FileRecord] = {}  # deletions waiting for the hints to settle
        self._removal_due = 0.0
        self._tasks: deque[WriterTask] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self.startup: StartupReport | None = None
        self.error: BaseException | None = None
        self.progress = ProgressTracker()

    # --- control ---------------------------------------------------------------
    def start(self) -> None:
        """Returns at once; start-up repair and reconciliation run on the worker thread."""
        self._thread = threading.Thread(target=self._main, name="docent-sync", daemon=True)
        self._thread.start()

    def restart(self) -> None:
        """Start a new worker after the last one died (repair and rescan first)."""
        if self.alive or self._stop.is_set():
            return
        self.error = None
        self._idle.clear()
        self.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the worker to stop and wait for it; False if it was still busy at `timeout`."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        self.library.indexer.cancel_event.clear()
        return True

    def request_stop(self) -> None:
        self._stop.set()
        self.library.indexer.cancel_event.set()  # finish the file in hand, not the batch
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def submit(self, task: WriterTask) -> None:
        """Queue a change for the writer thread; runs between batches, in order."""
        with self._lock:
            self._tasks.append(task)
            self._idle.clear()
        self._wake.set()

    def tasks_waiting(self) -> int:
        with self._lock:
            return len(self._tasks)

    def pause(self) -> None:
        self._paused.set()
        self.library.indexer.cancel_event.set()
        self._wake.set()

    def resume(self) -> None:
        self._paused.clear()
        self.library.indexer.cancel_event.clear()
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def wait_idle(self, timeout: float | None) -> bool:
        """True once nothing is pending (hints settled, queue empty, deletions applied)."""
        return self._idle.wait(timeout)

    def status_counts(self) -> dict[str, int]:
        rows = self.library.manifest.db.execute("SELECT status, COUNT(*) FROM files GROUP BY status")
        return {str(k): int(v) for k, v in rows}

    # --- the watched folders ------------------------------------------------------
    @property
    def folders(self) -> list[Path]:
        return self.roots.folders

    def folder_states(self) -> dict[str, str]:
        return self.roots.folder_states()

    def root_of(self, path: str) -> Path | None:
        return self.roots.root_of(path)

    def _look_now(self, path: str) -> None:
        with self._lock:
            self._ready.add(path)

    def _drop_removals_under(self, folder: Path) -> None:
        """The folder is gone or no longer watched: its pending deletions are not applied."""
        self._removals = {p: r for p, r in self._removals.items() if not inside(p, folder)}

    # --- hints (watchdog threads) ------------------------------------------------
    def hint(self, path: str) -> None:
        if self.library.settings.is_own_file(path):
            return  # our own writes, when a watched folder contains the data folder
        with self._lock:
            self._idle.clear()
            self.debouncer.touch(path)
        self._wake.set()

    # --- worker thread -------------------------------------------------------------
    def _main(self) -> None:
        indexer = self.library.indexer
        try:
            self._emit(IndexProgress("starting"))
            manifest = indexer.manifest
            unclean = manifest.get_meta(CLEAN_SHUTDOWN_KEY) != "1" and bool(manifest.all())
            consistency = check_consistency(indexer, full=unclean)
            manifest.set_meta(CLEAN_SHUTDOWN_KEY, "0")
            roots = self.roots.all()
            for root in roots:
                self.roots.bring_up(root)  # watch before scanning: nothing slips between the two
            self._emit(IndexProgress("reconciling"))
            drift = scan(manifest, [r.path for r in roots if r.available], self.rules, indexer.version)
            drift.unavailable = [r.path for r in roots if not r.available]
            self.startup = StartupReport(consistency, drift)
            with self._lock:
                self._ready.update(str(p) for p in drift.changed)
                self._ready.update(r.path for r in drift.gone)
            self._loop()
        except CancelledError:  # the host killed the parsers to stop fast: not a failure,
            if not self._stop.is_set():  # but the files in hand were cut short (no clean flag)
                self._died(RuntimeError("indexing was cancelled from outside the writer"))
            return
        except BaseException as e:  # reported, never silent; the host decides what to do
            self._died(e)
        finally:
            self.roots.stop_watchers()
            self._idle.set()  # nobody waits forever on a stopped service
        self._mark_clean()

    def _died(self, e: BaseException) -> None:
        if self._stop.is_set():  # shutting down: the index is closing under us
            _log.info("sync worker stopped while shutting down: %r", e)
            return
        _log.exception("sync service stopped", exc_info=e)
        self.error = e
        self._emit(IndexProgress("stopped"))

    def _mark_clean(self) -> None:
        try:
            self.library.manifest.set_meta(CLEAN_SHUTDOWN_KEY, "1")
        except Exception:  # closed under us at shutdown: the next start runs the full check
            _log.info("could not record a clean shutdown", exc_info=True)

    def _loop(self) -> None:
        next_root_check = time.monotonic() + _ROOT_CHECK_S
        was_paused = False
        while not self._stop.is_set():
            if self._run_task():
                continue
            if self._paused.is_set():
                if not was_paused:
                    self._emit(self.progress.snapshot("paused", self._pending()))
                was_paused = True
                self._wait(None)
                continue
            was_paused = False
            if time.monotonic() >= next_root_check:
                self.roots.check()
                next_root_check = time.monotonic() + _ROOT_CHECK_S
            with self._lock:
                batch, self._ready = sorted(self._ready), set()
            batch += self.debouncer.take_ready()
            if batch:
                self._process(batch)
                continue
            if self._removals and not len(self.debouncer) and time.monotonic() >= self._removal_due:
                self._apply_removals()
                continue
            if not self._removals and self._set_idle():
                self.progress.idle()
                self._emit(self.progress.snapshot("idle", 0))
            due = self.debouncer.next_due()
            if self._removals and due is None:
                due = max(0.0, self._removal_due - time.monotonic())
            self._wait(min(due, _ROOT_CHECK_S) if due is not None else _ROOT_CHECK_S)

    def _set_idle(self) -> bool:
        """Idle unless a hint or task arrived meanwhile (both clear the flag under the lock).
        True when it just became idle."""
        with self._lock:
            if len(self.debouncer) or self._tasks or self._ready:
                return False
            was = self._idle.is_set()
            self._idle.set()
        return not was

    def _run_task(self) -> bool:
        """Run the next queued task that may run now; False if there is none."""
        with self._lock:
            task = next((t for t in self._tasks if t.indexes is False or not self._paused.is_set()),
                        None)
            if task is None:
                return False
            self._tasks.remove(task)
        if not task.run(self):  # cut short by pause or stop: first again on resume
            with self._lock:
                self._tasks.appendleft(task)
        return True

    def _wait(self, timeout: float | None) -> None:
        self._wake.wait(timeout)
        self._wake.clear()

    def _pending(self) -> int:
        return len(self.debouncer) + len(self._ready) + len(self._tasks)

    @property
    def interrupted(self) -> bool:
        return self._stop.is_set() or self._paused.is_set()

    # --- the work --------------------------------------------------------------------
    def _process(self, batch: list[str]) -> None:
        manifest = self.library.indexer.manifest
        files: dict[str, Path] = {}
        gone: dict[str, FileRecord] = {}
        for p in batch:
            root = self.roots.find(p)
            if root is None:
                continue
            if not root.path.is_dir():  # the hint may be the folder vanishing: keep, never delete
                if root.available:
                    self.roots.mark_unavailable(root)
                continue
            path = Path(p)
            if path != root.path and self.rules.ignored(path, root.path):
                continue
            if path.is_dir():
                drift = scan(manifest, [path], self.rules, self.library.indexer.version)
                drift_files = [f for f in drift.changed if not self.rules.ignored(f, root.path)]
                files.update((str(f), f) for f in drift_files)
                gone.update((r.path, r) for r in drift.gone)
            elif path.is_file():
                if self.rules.indexable(path, root.path):
                    files[p] = path
            else:
                gone.update((r.path, r) for r in [manifest.get(p), *manifest.under(p)] if r)
        version = self.library.indexer.version
        files = {k: f for k, f in files.items()
                 if (rec := manifest.get(k)) is None or not unchanged(rec, f, version)}
        candidates = list(gone.values()) + [r for k, r in self._removals.items() if k not in gone]
        left, moves = match_moves(self.library.indexer, list(files.values()), candidates, self.roots.claimable)
        for m in moves:
            self._removals.pop(m.old_path, None)
            gone.pop(m.old_path, None)
            self._emit(FileEvent(m.new_path, FileState.INDEXED, m.chunks, old_path=m.old_path))
        mark_removed(manifest, gone.values())
        if gone:
            self._removals.update(gone)
            self._removal_due = time.monotonic() + _REMOVAL_GRACE_S
        self._index(left)

    def _index(self, files: list[Path]) -> None:
        left = self.index_files(files)
        if left:
            with self._lock:  # not done: picked up on resume (or by the next start's scan)
                self._ready.update(str(f) for f in left)

    def index_files(self, files: list[Path]) -> list[Path]:
        """Index files (queued rows first, progress per file); returns those that pause or
        stop left undone. Writer thread only (the loop, or a task)."""
        return indexing.index_files(self.library.indexer, files, self.progress, self._emit, self._pending,
                                    lambda: self.interrupted)

    def _apply_removals(self) -> None:
        indexer = self.library.indexer
        for key, rec in sorted(self._removals.items()):
            root = self.roots.find(key)
            if root is None or not root.path.is_dir():
                continue  # unavailable: keep the chunks
            if os.path.exists(key):  # came back: index it instead
                with self._lock:
                    self._ready.add(key)
                continue
            indexer.forget([Path(key)])
            self._emit(FileEvent(key, FileState.REMOVED, rec.chunk_count))
        self._removals.clear()

    def emit(self, event: SyncEvent) -> None:
        """Tell the host (tasks report their own files through the same stream)."""
        self._emit(event)

    def _emit(self, event: SyncEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a faulty listener must not stop the sync
            _log.exception("sync event listener failed")
