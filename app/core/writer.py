"""The one writer: every change to the index runs on the sync service's worker thread.

`WriterTask` wraps a WriterJob for SyncService.submit(); `GuardedIndexer` is
the only handle on the Indexer the core gives out, and counts concurrent
writers (it must never see two); `CancellableEmbedder` lets close() fail the
embeddings in flight at once instead of waiting for a big file to finish.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from app.core.jobs import JobKind, JobState, WriterJob

if TYPE_CHECKING:
    from ingest.sync.service import SyncService

_log = logging.getLogger(__name__)
_WRITES = frozenset({"index_paths", "forget", "rename", "repair"})


class WriteGuard:
    """Counts threads inside an index write at once; one writer means max_active == 1."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.calls = 0
        self.threads: set[str] = set()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.calls += 1
            self.max_active = max(self.max_active, self.active)
            self.threads.add(threading.current_thread().name)
            if self.active > 1:
                _log.error("two index writers at once (%s)", threading.current_thread().name)
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1


class GuardedIndexer:
    """The Indexer, with its write methods counted by a WriteGuard; everything else passes."""

    def __init__(self, inner: Any, guard: WriteGuard) -> None:
        self._inner = inner
        self._guard = guard

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _WRITES:
            return attr
        guard = self._guard

        def write(*args: Any, **kwargs: Any) -> Any:
            with guard.writing():
                return attr(*args, **kwargs)

        return write


class CancellableEmbedder:
    """The indexer's embedder; cancel_pending() fails every embedding still in flight."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def submit(self, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:  # nothing new for encoder threads that are being stopped
            refused: Future[Any] = Future()
            refused.set_exception(CancelledError("Docent is closing"))
            return refused
        fut: Future[Any] = self._inner.submit(*args, **kwargs)
        with self._lock:
            self._pending.add(fut)
        fut.add_done_callback(self._forget)
        return fut

    def _forget(self, fut: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(fut)

    def close_soon(self) -> None:
        """Stop the encoder threads without waiting for the batch in hand (up to seconds on
        a busy CPU); a later close() by the library then has nothing left to wait for."""
        threading.Thread(target=self._inner.close, name="docent-embed-close", daemon=True).start()

    def cancel_pending(self) -> int:
        """Queued batches of a failed future are skipped by the encoder workers; later
        submits fail at once."""
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        n = 0
        for fut in pending:
            try:
                fut.set_exception(CancelledError("Docent is closing"))
                n += 1
            except Exception:  # finished meanwhile
                pass
        return n


class JobHooks:
    """What a task reports back to the core (events, journal)."""

    def __init__(self, started: Callable[[WriterJob], None],
                 ended: Callable[[WriterJob], None],
                 failed: Callable[[WriterJob, BaseException], None]) -> None:
        self.started, self.ended, self.failed = started, ended, failed


class WriterTask:
    """A WriterJob as SyncService runs it (on its worker, between batches)."""

    def __init__(self, job: WriterJob, hooks: JobHooks) -> None:
        self.job = job
        self.hooks = hooks
        self.indexes = job.indexes

    def run(self, svc: "SyncService") -> bool:
        job = self.job
        if job.cancelled:
            job.finish(JobState.CANCELLED)
            self.hooks.ended(job)
            return True
        job.state = JobState.RUNNING
        self.hooks.started(job)
        indexer = svc.library.indexer
        try:
            complete = _RUNNERS[job.kind](job, svc)
        except Exception as e:  # SQLite, Chroma, a bug: this job fails, the writer goes on
            if svc.stopping:  # closing cut it short (parsers killed, embeddings failed):
                job.state = JobState.QUEUED  # journalled still; the next start runs it
                return False
            _log.exception("writer job %s failed", job.kind.value)
            try:
                indexer.repair()  # a file cut short mid-write is re-queued, not half-indexed
            except Exception:
                _log.exception("repair after a failed job failed too")
            job.state = JobState.FAILED
            self.hooks.failed(job, e)
            return True
        finally:
            if job.cancelled and not svc.interrupted:
                indexer.cancel_event.clear()
        if not complete and not job.cancelled:
            job.state = JobState.QUEUED  # paused or stopping: again on resume or next start
            return False
        job.finish(JobState.CANCELLED if job.cancelled else JobState.DONE)
        self.hooks.ended(job)
        return True


# --- what each kind does -------------------------------------------------------------
def _changed(svc: "SyncService", files: list[Path]) -> list[Path]:
    from ingest.sync.reconcile import unchanged

    manifest, version = svc.library.indexer.manifest, svc.library.indexer.version
    return [f for f in files if (rec := manifest.get(str(f))) is None or not unchanged(rec, f, version)]


def _discover(svc: "SyncService", job: WriterJob) -> list[Path]:
    """Supported files under the job's paths; the rest are recorded as failures."""
    from ingest.discover import discover
    from ingest.loaders import SUPPORTED_SUFFIXES
    from ingest.sync.events import FileEvent, FileState

    found = discover([Path(p) for p in job.paths], SUPPORTED_SUFFIXES)
    bad = found.unsupported + found.missing
    if bad:
        report = svc.library.indexer.index_paths(bad)  # records why, nothing to parse
        for f in report.failures:
            svc.emit(FileEvent(f.path, FileState.ERROR, error_kind=f.kind.value, message=f.message))
        job.result.errors += len(report.failures)
    return found.files


def _add(job: WriterJob, svc: "SyncService") -> bool:
    files = _changed(svc, _discover(svc, job))
    left = svc.index_files(files)
    job.result.files = len(files) - len(left)
    return not left


def _reindex(job: WriterJob, svc: "SyncService") -> bool:
    manifest = svc.library.indexer.manifest
    files = _discover(svc, job)
    for f in files:  # forget what made it look unchanged; chunks stay until replaced
        rec = manifest.get(str(f))
        if rec is not None:
            rec.sha256, rec.mtime_ns = "", 0
            manifest.put(rec)
    left = svc.index_files(files)
    job.result.files = len(files) - len(left)
    return not left


def _forget(job: WriterJob, svc: "SyncService") -> bool:
    from ingest.sync.events import FileEvent, FileState

    indexer = svc.library.indexer
    for p in job.paths:
        ap = os.path.abspath(os.path.expanduser(p))
        recs = [r for r in [indexer.manifest.get(ap)] if r] + list(indexer.manifest.under(ap))
        indexer.forget([Path(ap)])
        for rec in recs:
            svc.emit(FileEvent(rec.path, FileState.REMOVED, rec.chunk_count))
        job.result.files += len(recs)
    return True


def _watch(job: WriterJob, svc: "SyncService") -> bool:
    for p in job.paths:
        svc.roots.add(Path(p))  # its files are scanned and indexed by the sync loop
    return True


def _unwatch(job: WriterJob, svc: "SyncService") -> bool:
    for p in job.paths:
        svc.roots.remove(Path(p), keep_chunks=True)
    if job.detail == "drop":  # forget directly: a rerun after a kill still drops them
        return _forget(job, svc)
    return True


def _reembed(job: WriterJob, svc: "SyncService") -> bool:
    """Every file again under the settings' recipe, into its own collection; the library
    switches searches to it only once all are done (a pause or a kill resumes: the manifest
    rows still carry the old index_version)."""
    lib = svc.library
    version = lib.begin_recipe()
    files = [Path(r.path) for r in lib.manifest.all()
             if r.index_version != version and os.path.isfile(r.path)]
    left = svc.index_files(files)
    job.result.files = len(files) - len(left)
    if left:
        return False
    lib.finish_recipe()
    return True


_RUNNERS: dict[JobKind, Callable[[WriterJob, "SyncService"], bool]] = {
    JobKind.ADD: _add, JobKind.REINDEX: _reindex, JobKind.FORGET: _forget,
    JobKind.WATCH: _watch, JobKind.UNWATCH: _unwatch, JobKind.REEMBED: _reembed,
}
