"""The local service's host: the Core (`docent serve`, the window) behind the service.

It turns service requests into the Core's own work: index and forget go through the
Core's one writer, answers through its one loaded answerer, searches through its one
retriever cache.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from app.core.wire import AskRequest, ChatReply, FileRow, StatusReply, WatchReply
from app.engine.search_service import SearchReply, SearchRequest
from app.errors import OwnerRequestError
from ingest.paths import inside

if TYPE_CHECKING:
    from ingest.pipeline import IndexReport, Progress


class CoreServiceHost:
    """The application Core (app/core/core.py) behind the service, through its public contract."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.settings = core.settings

    def search(self, req: SearchRequest) -> SearchReply:
        reply: SearchReply = self.core.search(req)  # the core's one retriever cache (built before its service)
        return reply

    def watch(self, paths: list[Path]) -> WatchReply:
        """Folders added through the core's writer; their files are indexed from now on."""
        before = set(self.core.settings.watched_folders)
        for p in paths:
            job = self.core.watch_folder(p)
            job.wait(None)
            _raise_if_failed(job)
        folders = list(self.core.settings.watched_folders)
        return WatchReply([f for f in folders if f not in before], folders)

    def unwatch(self, paths: list[Path], forget: bool) -> WatchReply:
        from app.errors import not_watched_message

        watched = set(self.core.settings.watched_folders)
        gone = [f for f in (os.path.abspath(str(p)) for p in paths) if f in watched]
        if not gone:
            raise OwnerRequestError(not_watched_message())
        removed = 0
        for folder in gone:
            job = self.core.unwatch_folder(folder, keep_chunks=not forget)
            job.wait(None)
            _raise_if_failed(job)
            removed += int(job.result.files) if forget else 0
        return WatchReply(gone, list(self.core.settings.watched_folders), removed)

    def new_chat(self, title: str) -> ChatReply:
        from app.errors import owner_cannot_message

        chats = self.core.chats
        if chats is None:
            raise OwnerRequestError(owner_cannot_message("keep chats"))
        return ChatReply(chats.create(title or "New chat").id)

    def status(self) -> StatusReply:
        from app.core.events import FileState
        from ingest.loaders import pdf_speedups

        st = self.core.status()
        infos = self.core.files()
        indexed = [f for f in infos if f.state == FileState.INDEXED]
        rows = [FileRow(f.path, f.state.value, f.chunks, f.pages, f.error_kind or None, f.message or None)
                for f in infos]
        return StatusReply(len(infos), len(indexed), sum(f.state == FileState.ERROR for f in infos),
                           sum(f.chunks for f in indexed), rows, list(st.folders), st.model_name,
                           st.state.value, pdf_fast_paths=st.pdf_fast_paths or pdf_speedups.probe())

    def index(self, paths: list[Path], progress: Callable[["Progress"], None] | None) -> "CoreIndexJob":
        return CoreIndexJob(self.core, paths, progress)

    def forget(self, paths: list[Path]) -> int:
        job = self.core.forget(paths)
        job.wait(None)
        _raise_if_failed(job)
        return int(job.result.files)

    def ask(self, req: AskRequest, cancel: threading.Event) -> Iterator[object]:
        from app.core.events import AnswerEvent, ModelEvent, ModelState
        from app.engine.events import DoneEvent, ErrorEvent
        from app.engine.scope import Scope

        events: queue.Queue[object] = queue.Queue()
        unsubscribe = self.core.subscribe(
            lambda e: events.put(e) if isinstance(e, (AnswerEvent, ModelEvent)) else None)
        job: Any = None
        finished = False
        try:
            if req.model:
                loaded = self.core.loaded_model()
                if loaded and os.path.abspath(loaded) != os.path.abspath(req.model):
                    from app.errors import owner_model_in_use_message

                    raise OwnerRequestError(owner_model_in_use_message(loaded, req.model))
                if not loaded:  # none in memory yet: queued before the question, loaded first
                    self.core.load_model(req.model)
            scope = Scope.of(req.folders, req.files)
            job = self.core.ask(req.question, chat_id=req.chat, scope=scope, k=req.k)
            started = cancelled = False
            while True:
                if cancel.is_set() and not cancelled:
                    job.cancel()
                    cancelled = True
                e = _get(events, 0.05)
                if isinstance(e, ModelEvent) and req.model and not started \
                        and e.state in (ModelState.ERROR, ModelState.NONE):
                    job.cancel()  # else the core would answer with the model it had before
                    raise OwnerRequestError(e.message)
                if isinstance(e, AnswerEvent) and e.job_id == job.id:
                    started = True
                    yield e.event
                    if isinstance(e.event, (DoneEvent, ErrorEvent)):
                        finished = True
                        return
        finally:
            if job is not None and not finished:
                job.cancel()  # the stream was closed early (the client left): stop generating
            unsubscribe()


class CoreIndexJob:
    """A Core writer job seen as a HostJob: per-file progress and an IndexReport, from FileEvents."""

    def __init__(self, core: Any, paths: list[Path], progress: Callable[["Progress"], None] | None) -> None:
        from ingest.discover import discover
        from ingest.loaders import SUPPORTED_SUFFIXES
        from ingest.pipeline import IndexReport, Progress

        self._roots = [str(p) for p in paths]
        self._progress = progress
        self._t0 = time.perf_counter()
        self._seen = {str(f) for f in discover(paths, SUPPORTED_SUFFIXES).files}
        self._touched: set[str] = set()  # files of this job the writer indexed or failed
        self.report = IndexReport(files_seen=len(self._seen))
        self._done = 0
        self._finished = False
        self._lock = threading.Lock()
        self._core = core
        if progress is not None:
            progress(Progress("scanned", 0, self.report.files_seen))
        self._unsubscribe = core.subscribe(self._on_event)
        try:
            self._job = core.add_paths(paths)
        except BaseException:
            self._unsubscribe()
            raise
        self.id = self._job.id

    def _on_event(self, e: object) -> None:
        from app.core.events import FileEvent, FileState
        from ingest.pipeline import FileFailure, Progress

        if not isinstance(e, FileEvent) or not any(inside(e.path, r) for r in self._roots):
            return
        if e.state not in (FileState.INDEXED, FileState.ERROR, FileState.REMOVED):
            return
        with self._lock:
            r = self.report
            if e.state == FileState.REMOVED:
                r.removed += 1
                return
            if e.state == FileState.ERROR:
                r.failures.append(FileFailure(e.path, _kind(e.error_kind), e.message))
            else:
                r.indexed += 1
                r.chunks_added += e.chunks
            self._done += 1
            self._touched.add(e.path)
            done = self._done
        if self._progress is not None:
            self._progress(Progress("file_done", done, self.report.files_seen, e.path, e.chunks,
                                    e.message if e.state == FileState.ERROR else ""))

    def wait(self, timeout: float | None) -> "IndexReport | None":
        from app.core.events import FileState
        from ingest.pipeline import FileFailure

        if not self._job.wait(timeout):
            return None
        self._unsubscribe()
        _raise_if_failed(self._job)
        with self._lock:
            r = self.report
            if not self._finished:
                self._finished = True
                untouched = self._seen - self._touched  # the writer skips unchanged files...
                for f in self._core.files():  # ...and files that failed before, unchanged since
                    if f.path in untouched and f.state == FileState.ERROR:
                        untouched.discard(f.path)
                        r.failures.append(FileFailure(f.path, _kind(f.error_kind), f.message))
                r.unchanged = len(untouched)
                r.cancelled = self._job.cancelled
                r.seconds = time.perf_counter() - self._t0
            return r


def _raise_if_failed(job: Any) -> None:
    from app.core.jobs import JobState

    if job.state == JobState.FAILED:
        raise OwnerRequestError(job.result.message or "the owner's writer could not do that")


def _kind(value: str) -> "Any":
    from ingest.errors import FileErrorKind

    try:
        return FileErrorKind(value)
    except ValueError:
        return FileErrorKind.INTERNAL


def _get(q: "queue.Queue[object]", timeout: float) -> object:
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        return None
