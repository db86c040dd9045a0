"""The core's writer queue: every change to the index is a WriterJob on one serial queue.

A part of Core (app/core/core.py), kept apart so each module owns one thing: jobs are
journalled before they are queued (a kill loses none), jobs asked for before the writer
exists wait in `_early`, and the sync thread's events are passed on here (with their folder).
Uses the state Core.__init__ sets up (_ids, _jobs_lock, _early, _journal, sync, ...).
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from app.core.events import CoreErrorEvent, CoreState, FileEvent, FileState, IndexProgress
from app.core.jobs import JobKind, JobState, WriterJob
from app.core.translate import with_folder
from app.core.writer import JobHooks, WriterTask
from app.errors import DocentError, index_write_failed_message

if TYPE_CHECKING:
    from app.core.events import CoreEvent
    from app.core.jobs import JobJournal
    from app.core.supervisor import Supervisor
    from app.core.writer import GuardedIndexer


class WriterQueue:
    """Core's writer-queue methods (a mixin: Core is its only subclass)."""

    if TYPE_CHECKING:  # Core's fields and methods, set up in Core.__init__
        settings: Any
        sync: Any
        _state: CoreState
        _closing: threading.Event
        _ids: Iterator[int]
        _jobs_lock: threading.Lock
        _early: list[WriterJob]
        _paused: bool
        _current: str
        _supervisor: Supervisor
        _indexer: GuardedIndexer | None
        _journal: JobJournal | None
        _reader: Any

        def _emit(self, event: CoreEvent) -> None: ...
        def wait_ready(self, timeout: float | None = None) -> bool: ...

    def _job(self, kind: JobKind, paths: Iterable[Path | str], detail: str = "") -> WriterJob:
        job = WriterJob(next(self._ids), kind, tuple(_abs(p) for p in paths), detail)
        job.when_cancelled(self._cancelled)
        with self._jobs_lock:
            if self._state in (CoreState.CLOSING, CoreState.CLOSED, CoreState.FAILED) \
                    or self.writer_down:
                job.finish(JobState.FAILED, index_write_failed_message("Docent is not indexing"))
            elif self.sync is None:
                self._early.append(job)
            else:
                self._queue(job)
        return job

    def _queue(self, job: WriterJob) -> None:
        """Journal then queue; called with _jobs_lock held, once the writer exists."""
        job.when_cancelled(self._cancelled)
        if not job.journal_id and self._journal is not None:
            job.journal_id = self._journal.record(job.kind, job.paths, job.detail)
        self.sync.submit(WriterTask(job, JobHooks(lambda j: None, self._job_ended, self._job_failed)))

    def _cancelled(self, job: WriterJob) -> None:
        if job.state == JobState.RUNNING and self._indexer is not None:
            self._indexer.cancel_event.set()  # the writer clears it when the job returns

    def _job_ended(self, job: WriterJob) -> None:
        if self._journal is not None and job.journal_id:
            self._journal.done(job.journal_id)

    def _job_failed(self, job: WriterJob, e: BaseException) -> None:
        message = str(e) if isinstance(e, DocentError) else \
            index_write_failed_message(f"{type(e).__name__}: {e}")
        self._job_ended(job)
        self._emit(CoreErrorEvent(message, detail=repr(e)))  # before finish: waiters see it
        job.finish(JobState.FAILED, message)

    def add_paths(self, paths: Iterable[Path | str]) -> WriterJob:
        """Files or folders dropped by the user, indexed once (watched folders sync themselves)."""
        return self._job(JobKind.ADD, paths)

    def reindex(self, path: Path | str) -> WriterJob:
        return self._job(JobKind.REINDEX, [path])

    def forget(self, paths: Iterable[Path | str]) -> WriterJob:
        return self._job(JobKind.FORGET, paths)

    def watch_folder(self, folder: Path | str) -> WriterJob:
        path = _abs(folder)
        if not os.path.isdir(path):
            from app.errors import not_a_folder_message

            job = WriterJob(next(self._ids), JobKind.WATCH, (path,))
            job.finish(JobState.FAILED, not_a_folder_message(path))
            self._emit(CoreErrorEvent(job.result.message))
            return job
        if path not in self.settings.watched_folders:
            self._save_folders([*self.settings.watched_folders, path])
        return self._job(JobKind.WATCH, [path])

    def unwatch_folder(self, folder: Path | str, keep_chunks: bool) -> WriterJob:
        path = _abs(folder)
        self._save_folders([f for f in self.settings.watched_folders if _abs(f) != path])
        return self._job(JobKind.UNWATCH, [path], "keep" if keep_chunks else "drop")

    def _save_folders(self, folders: list[str]) -> None:
        try:
            if hasattr(self.settings, "update"):
                self.settings.update(watched_folders=folders)
            else:
                self.settings.watched_folders = folders
                self.settings.save()
        except (DocentError, OSError) as e:
            self._emit(CoreErrorEvent(str(e)))

    def pause_indexing(self) -> None:
        self._paused = True
        if self.sync is not None:
            self.sync.pause()

    def resume_indexing(self) -> None:
        self._paused = False
        if self.sync is not None:
            self.sync.resume()

    @property
    def writer_down(self) -> bool:
        """The writer kept dying and is no longer restarted (reads and answers still work)."""
        return self._supervisor.writer_down

    @property
    def paused(self) -> bool:
        return self._paused

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once the queue is empty and the folders settled (False: timeout, or no writer)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.wait_ready(timeout):
            return False
        while not self._closing.is_set() and not self.writer_down:
            left = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            if left <= 0:
                return False
            sync = self.sync
            if sync.wait_idle(left) and sync.alive and not self._early:
                return True
        return False

    # --- sync events, supervision -----------------------------------------------------
    def _on_sync(self, event: Any) -> None:
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



def _abs(p: Path | str) -> str:
    return os.path.abspath(os.path.expanduser(str(p)))
