"""Hosts for the local service: a Library (today's `docent serve`, tests) and the Core.

Both turn service requests into the owner's own work: index and forget go through
the owner's one writer, answers through its one loaded answerer.
"""
from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from app.core.wire import AskRequest, ChatReply, FileRow, Notice, StatusReply, WatchReply
from app.engine.search_service import RetrieverCache, SearchReply, SearchRequest, search_here
from app.errors import EmptyIndexError, OwnerRequestError

if TYPE_CHECKING:
    from app.engine.library import Library
    from app.settings import Settings
    from ingest.pipeline import IndexReport, Progress



def configured_model(settings: "Settings") -> str:
    """The model answers would come from, without loading anything ("" when none is chosen)."""
    if settings.llm_backend == "remote":
        return f"{settings.remote_model or 'remote'} at {settings.remote_url}" if settings.remote_url else ""
    if settings.model_path:
        return str(Path(settings.model_path).expanduser())
    from app.models.selection import selected_model

    chosen = selected_model(settings.home)
    return str(chosen) if chosen else ""


def scope_where(folders: list[str], files: list[str]) -> dict[str, Any] | None:
    from app.engine.scope import Scope

    return Scope(tuple(files), tuple(folders)).where() if folders or files else None


class FutureJob:
    """A HostJob over a Future of the writer."""

    def __init__(self, job_id: int, future: "Future[IndexReport]") -> None:
        self.id = job_id
        self._future = future

    def wait(self, timeout: float | None) -> "IndexReport | None":
        try:
            return self._future.result(timeout)
        except TimeoutError:
            return None


class LibraryServiceHost:
    """A Library's components behind the service; index and forget run on one writer thread.

    (The sync service of `docent serve` writes through the Library's indexer on its own
    thread; the Core replaces both with its single writer queue.)"""

    def __init__(self, lib: "Library") -> None:
        self.lib = lib
        self.settings = lib.settings
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docent-service-writer")
        self._ids = itertools.count(1)
        self._search_lock = threading.Lock()
        self._retrievers = RetrieverCache()
        self._answer_lock = threading.Lock()
        self._answerer: Any = None
        self._answerer_model: str | None = None
        self._warnings: list[str] = []
        self._indexing = False

    def search(self, req: SearchRequest) -> SearchReply:
        with self._search_lock:
            return search_here(self.lib, req, self._retrievers)

    def status(self) -> StatusReply:
        model = self._answerer.llm.name if self._answerer is not None else configured_model(self.settings)
        return StatusReply.from_records(self.lib.manifest.all(), self.settings.watched_folders, model)

    def index(self, paths: list[Path], progress: Callable[["Progress"], None] | None) -> FutureJob:
        return FutureJob(next(self._ids), self._writer.submit(self._index, paths, progress))

    def _index(self, paths: list[Path], progress: Callable[["Progress"], None] | None) -> "IndexReport":
        self._indexing = True
        try:
            report: "IndexReport" = self.lib.indexer.index_paths(paths, progress=progress)
            return report
        finally:
            self._indexing = False

    def forget(self, paths: list[Path]) -> int:
        removed: int = self._writer.submit(self.lib.indexer.forget, paths).result()
        return removed

    def ask(self, req: AskRequest, cancel: threading.Event) -> Iterator[object]:
        with self._answer_lock:  # one loaded model, one answer at a time
            if self.lib.store.count() == 0:
                raise EmptyIndexError()
            answerer = self._answerer_for(req.model)
            for w in self._warnings:
                yield Notice(w)
            answerer.top_k = req.k or self.settings.top_k
            yield from answerer.ask(req.question, cancel=cancel, where=scope_where(req.folders, req.files))

    def _answerer_for(self, model: str | None) -> Any:
        if self._answerer is not None and self._answerer_model == model:
            return self._answerer
        self._close_answerer()
        answerer = self.lib.answerer(model)
        self._warnings = answerer.load()
        self._answerer, self._answerer_model = answerer, model
        return answerer

    def _close_answerer(self) -> None:
        if self._answerer is not None:
            self._answerer.close()
        self._answerer = None

    def close(self) -> None:
        """Bounded: a running index stops after the file in hand; queued ones are dropped."""
        stopped = self._indexing
        if stopped:
            self.lib.indexer.cancel_event.set()
        self._writer.shutdown(wait=True, cancel_futures=True)
        if stopped:
            self.lib.indexer.cancel_event.clear()
        with self._answer_lock:
            self._close_answerer()


class CoreServiceHost:
    """The application Core (app/core/core.py) behind the service, through its public contract."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.settings = core.settings
        self._search_lock = threading.Lock()
        self._retrievers = RetrieverCache()

    def search(self, req: SearchRequest) -> SearchReply:
        with self._search_lock:  # the core's library is built before its service starts
            return search_here(self.core.library, req, self._retrievers)

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
                           st.state.value, pdf_fast_paths=st.pdf_fast_paths or pdf_speedups.install())

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
            scope = Scope(tuple(req.files), tuple(req.folders)) if req.folders or req.files else None
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

        if not isinstance(e, FileEvent) or not any(_inside(e.path, r) for r in self._roots):
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


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class SearchServer:
    """The service for a Library (its name when it answered search alone; `docent serve`
    before the Core). Stopping it also stops its writer and unloads its model."""

    def __init__(self, lib: "Library") -> None:
        from app.core.service import LocalService

        self.host = LibraryServiceHost(lib)
        self.service = LocalService(self.host)
        self.endpoint = self.service.endpoint

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()
        self.host.close()
