"""The core's writer queue: every change to the index is a WriterJob on one serial queue.

Core (app/core/core.py) holds one and passes its index-changing calls on to it. It owns the
writer's side of a running core: the guarded indexer, the cancellable embedder, the job
journal and the sync service whose worker runs the jobs. Jobs are journalled before they are
queued (a kill loses none), jobs asked for before the writer exists wait until `open`, and
the sync thread's events become the core's typed events here.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from app.core.events import CoreErrorEvent, FileEvent, FileState, IndexProgress
from app.core.jobs import JobJournal, JobKind, JobState, WriterJob
from app.core.translate import with_folder
from app.core.writer import CancellableEmbedder, GuardedIndexer, JobHooks, WriterTask
from app.errors import DocentError, index_write_failed_message

if TYPE_CHECKING:
    from app.core.events import CoreEvent
    from app.core.writer import WriteGuard

JOURNAL_FILE = "writer-queue.sqlite3"


class _WriterView:
    """What SyncService sees of the library: the guarded indexer, never the raw one."""

    def __init__(self, library: Any, indexer: GuardedIndexer) -> None:
        self.settings = library.settings
        self.indexer = indexer
        self.manifest = library.manifest
        self._library = library

    def begin_recipe(self) -> str:
        """The indexer writes under the settings' recipe from now on (writer thread)."""
        version: str = self._library.begin_recipe()
        inner = self._library.indexer
        if not isinstance(inner.embedder, CancellableEmbedder):  # the embedder changed too
            inner.embedder = CancellableEmbedder(inner.embedder)
        return version

    def finish_recipe(self) -> None:
        self._library.finish_recipe()


class WriterQueue:
    """The one serial queue of index changes, and the writer that runs it.

    `stopped`: the core is closing, closed or failed (jobs fail at once); `writer_down`: the
    supervisor gave up restarting the writer; `wait_ready`: the core's start-up wait.
    """

    def __init__(self, settings: Any, emit: Callable[["CoreEvent"], None], *, stopped: Callable[[], bool],
                 writer_down: Callable[[], bool], wait_ready: Callable[[float | None], bool],
                 closing: threading.Event) -> None:
        self.settings = settings
        self._emit = emit
        self._stopped, self._writer_down, self._wait_ready = stopped, writer_down, wait_ready
        self._closing = closing
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._early: list[WriterJob] = []  # asked for before the writer exists
        self._paused = False
        self._current = ""  # the file the writer has in hand
        self.sync: Any = None  # ingest.sync.service.SyncService once open
        self.indexer: GuardedIndexer | None = None
        self.cancellable: CancellableEmbedder | None = None
        self.journal: JobJournal | None = None
        self._reader: Any = None  # ingest.manifest_reader.ManifestReader: page counts for INDEXED events

    # --- the writer's life ------------------------------------------------------------
    def open(self, library: Any, guard: "WriteGuard", reader: Any, *, watch: bool,
             quiet_s: float | None, poll_s: float | None) -> None:
        """Wrap the built library's indexer, open the journal, build the sync service, queue
        the journalled jobs, the dropped files left unindexed and the early jobs, and start it."""
        from ingest.sync.service import SyncService

        inner = library.indexer
        self.cancellable = inner.embedder = CancellableEmbedder(inner.embedder)
        self.indexer = GuardedIndexer(inner, guard)
        self.journal = JobJournal(self.settings.index_dir / JOURNAL_FILE)
        self._reader = reader
        sync = SyncService(_WriterView(library, self.indexer), on_event=self.on_sync,
                           watch=watch, quiet_s=quiet_s, poll_s=poll_s)
        if self._paused:
            sync.pause()
        roots = [str(f) for f in sync.folders]
        resumed = self.journal.pending()
        outside = reader.outside(roots, inner.version)
        if outside:  # dropped files a kill (or a recipe change) left unindexed
            resumed.append(WriterJob(0, JobKind.ADD, tuple(outside)))
        with self._lock:
            self.sync = sync
            for job in resumed:
                job.id = next(self._ids)
                self._queue(job)
            for job in self._early:
                self._queue(job)
            self._early.clear()
        sync.start()

    def forget_parts(self) -> None:
        """A start after a failed one builds the writer again from nothing."""
        self.sync = self.indexer = self.cancellable = self.journal = self._reader = None

    def fail_early(self, message: str) -> None:
        """The core failed to start: the jobs waiting for the writer fail with its message."""
        with self._lock:
            early, self._early = self._early, []
        for job in early:
            job.finish(JobState.FAILED, message)

    # --- jobs -------------------------------------------------------------------------
    def job(self, kind: JobKind, paths: Iterable[Path | str], detail: str = "") -> WriterJob:
        job = WriterJob(next(self._ids), kind, tuple(abs_path(p) for p in paths), detail)
        job.when_cancelled(self._cancelled)
        with self._lock:
            if self._stopped() or self.writer_down:
                job.finish(JobState.FAILED, index_write_failed_message("Docent is not indexing"))
            elif self.sync is None:
                self._early.append(job)
            else:
                self._queue(job)
        return job

    def _queue(self, job: WriterJob) -> None:
        """Journal then queue; called with _lock held, once the writer exists."""
        job.when_cancelled(self._cancelled)
        if not job.journal_id and self.journal is not None:
            job.journal_id = self.journal.record(job.kind, job.paths, job.detail)
        self.sync.submit(WriterTask(job, JobHooks(lambda j: None, self._job_ended, self._job_failed)))

    def _cancelled(self, job: WriterJob) -> None:
        if job.state == JobState.RUNNING and self.indexer is not None:
            self.indexer.cancel_event.set()  # the writer clears it when the job returns

    def _job_ended(self, job: WriterJob) -> None:
        if self.journal is not None and job.journal_id:
            self.journal.done(job.journal_id)

    def _job_failed(self, job: WriterJob, e: BaseException) -> None:
        message = str(e) if isinstance(e, DocentError) else \
            index_write_failed_message(f"{type(e).__name__}: {e}")
        self._job_ended(job)
        self._emit(CoreErrorEvent(message, detail=repr(e)))  # before finish: waiters see it
        job.finish(JobState.FAILED, message)

    def add_paths(self, paths: Iterable[Path | str]) -> WriterJob:
        """Files or folders dropped by the user, indexed once (watched folders sync themselves)."""
        return self.job(JobKind.ADD, paths)

    def reindex(self, path: Path | str) -> WriterJob:
        return self.job(JobKind.REINDEX, [path])

    def forget(self, paths: Iterable[Path | str]) -> WriterJob:
        return self.job(JobKind.FORGET, paths)

    def watch_folder(self, folder: Path | str) -> WriterJob:
        path = abs_path(folder)
        if not os.path.isdir(path):
            from app.errors import not_a_folder_message

            job = WriterJob(next(self._ids), JobKind.WATCH, (path,))
            job.finish(JobState.FAILED, not_a_folder_message(path))
            self._emit(CoreErrorEvent(job.result.message))
            return job
        if path not in self.settings.watched_folders:
            self._save_folders([*self.settings.watched_folders, path])
        return self.job(JobKind.WATCH, [path])

    def unwatch_folder(self, folder: Path | str, keep_chunks: bool) -> WriterJob:
        path = abs_path(folder)
        self._save_folders([f for f in self.settings.watched_folders if abs_path(f) != path])
        return self.job(JobKind.UNWATCH, [path], "keep" if keep_chunks else "drop")

    def _save_folders(self, folders: list[str]) -> None:
        try:
            if hasattr(self.settings, "update"):
                self.settings.update(watched_folders=folders)
            else:
                self.settings.watched_folders = folders
                self.settings.save()
        except (DocentError, OSError) as e:
            self._emit(CoreErrorEvent(str(e)))

    def pause(self) -> None:
        self._paused = True
        if self.sync is not None:
            self.sync.pause()

    def resume(self) -> None:
        self._paused = False
        if self.sync is not None:
            self.sync.resume()

    @property
    def writer_down(self) -> bool:
        """The writer kept dying and is no longer restarted (reads and answers still work)."""
        return self._writer_down()

    @property
    def paused(self) -> bool:
        return self._paused

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once the queue is empty and the folders settled (False: timeout, or no writer)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._wait_ready(timeout):
            return False
        while not self._closing.is_set() and not self.writer_down:
            left = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            if left <= 0:
                return False
            sync = self.sync
            if sync.wait_idle(left) and sync.alive and not self._early:
                return True
        return False

    # --- sync events ------------------------------------------------------------------
    def on_sync(self, event: Any) -> None:
        sync = self.sync
        folder_of = sync.root_of if sync is not None else (lambda p: None)
        core_event = with_folder(event, folder_of)
        if isinstance(core_event, IndexProgress) and core_event.current \
                and core_event.current != self._current:  # the file in hand moves on
            folder = folder_of(core_event.current)
            self._emit(FileEvent(core_event.current, FileState.INDEXING,
                                 folder=str(folder) if folder else ""))
        if isinstance(core_event, IndexProgress):
            self._current = core_event.current
        if isinstance(core_event, FileEvent) and core_event.state is FileState.INDEXED \
                and self._reader is not None:  # the sync event has no page count: the manifest does
            rec = self._reader.record(core_event.path)
            if rec is not None and rec.page_count is not None:
                core_event = dataclasses.replace(core_event, pages=rec.page_count)
        self._emit(core_event)


def abs_path(p: Path | str) -> str:
    return os.path.abspath(os.path.expanduser(str(p)))
