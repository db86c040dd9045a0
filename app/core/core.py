"""The application core: for one data folder, owns the library for the life of the process.

CONTRACT (the window in app/ui/ and `docent serve` are thin shells around this; keep it stable):

    core = Core(settings, embedder=None, command="docent serve", llm=None)  # builds nothing yet
    unsubscribe = core.subscribe(fn)             # fn(CoreEvent) on the core's threads
    core.start()                                 # returns at once; parts are built on a starter
                                                 # thread in a defined order (lock, manifest,
                                                 # embedder, store, keyword, indexer), then the
                                                 # writer, sync and the local service start;
                                                 # CoreStateEvent(READY) or (FAILED, message);
                                                 # another process holding the index is waited
                                                 # for (IndexWaitEvent) up to owner_wait_s;
                                                 # start() again after FAILED retries
    core.wait_ready(timeout) -> bool
    core.state -> CoreState

    # every change to the index goes through ONE serial writer queue
    core.add_paths([Path, ...]) -> WriterJob     # dropped files/folders, indexed once
    core.watch_folder(Path) -> WriterJob         # at run time; persisted in settings
    core.unwatch_folder(Path, keep_chunks: bool) -> WriterJob
    core.reindex(Path) -> WriterJob
    core.forget([Path, ...]) -> WriterJob
    core.pause_indexing(); core.resume_indexing(); core.paused -> bool
    core.wait_idle(timeout) -> bool              # writer queue empty and sync settled

    core.files() -> list[FileInfo]               # library pane rows (from the manifest)
    core.folders() -> list[tuple[str, FolderState]]
    core.status() -> LibraryStatus

    # answers (one loaded answerer, on its model-owner thread)
    core.model_state -> ModelState
    core.load_model(path: str | None = None) -> None   # async; ModelEvent(LOADING -> READY|ERROR)
    core.ask(question, chat_id: int | None = None, scope: Scope | None = None) -> AnswerJob
        # AnswerJob.id, .cancel(), .wait(timeout) -> Answer | None; its events arrive as
        # AnswerEvent(job_id, chat_id, SourcesEvent | TokenEvent | DoneEvent | ErrorEvent)
    core.regenerate(chat_id) -> AnswerJob        # replaces the chat's last answer
    core.chats -> ChatStore                      # app/core/chats.py: create/rename/delete/list/get

    core.settings -> Settings
    core.update_settings(**changes) -> SettingsChanged   # validated; re-embed via the writer
    core.download_model(entry=None) -> DownloadJob       # ModelEvent(DOWNLOADING, fraction...)

    core.close(timeout=3.0)                      # bounded: kills parse workers, keeps the queue

Errors never escape from the writer or an answer stream: they become FileEvent(ERROR),
AnswerEvent(..., engine ErrorEvent) or CoreErrorEvent with the message from app/errors.py.
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from app.core.answers import AnswerJob, AnswerService, failed_job
from app.core.events import (
    CoreErrorEvent,
    CoreEvent,
    CoreState,
    CoreStateEvent,
    EventFn,
    FileInfo,
    FolderState,
    LibraryStatus,
    ModelState,
    SettingsChanged,
)
from app.core.jobs import JobJournal, JobKind, JobState, WriterJob
from app.core.shutdown import Parts, teardown
from app.core.supervisor import Supervisor
from app.core.translate import file_info, folder_state
from app.core.writer import CancellableEmbedder, GuardedIndexer, WriteGuard
from app.core.writer_queue import WriterQueue, _abs
from app.engine.owner_lock import OWNER_WAIT_S
from app.engine.search_service import RetrieverCache, search_here
from app.errors import DocentError, core_start_failed_message
from ingest.paths import inside

if TYPE_CHECKING:
    from app.core.chats import ChatStore
    from app.engine.library import LLMFactory
    from app.settings import Settings

_log = logging.getLogger(__name__)
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


class Core(WriterQueue):
    def __init__(self, settings: "Settings", embedder: Any = None, *, watch: bool = True,
                 quiet_s: float | None = None, poll_s: float | None = None,
                 command: str = "Docent", owner_wait_s: float = OWNER_WAIT_S, llm: "LLMFactory | None" = None) -> None:
        self.settings = settings
        self.command = command  # what a waiting process calls this one
        self.owner_wait_s = owner_wait_s
        self._embedder, self._llm = embedder, llm  # injectable: tests share one MiniLM, script answers
        self._watch = watch  # False: reconcile and index only (`docent serve --once`)
        self._quiet_s, self._poll_s = quiet_s, poll_s
        self._subs: list[EventFn] = []
        self._subs_lock = threading.Lock()
        self._state = CoreState.STARTING
        self._ready = threading.Event()  # READY or FAILED
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._jobs_lock = threading.Lock()
        self._early: list[WriterJob] = []  # asked for before the writer exists
        self._paused = False
        self.guard = WriteGuard()
        self._supervisor = Supervisor(self, lambda: self._answers, self._emit, self._closing)
        self.library: Any = None
        self.sync: Any = None
        self._indexer: GuardedIndexer | None = None
        self._cancellable: CancellableEmbedder | None = None
        self._journal: JobJournal | None = None
        self._reader: Any = None
        self._answers: AnswerService | None = None
        self._chats: "ChatStore | None" = None
        self._service: Any = None
        self._threads: dict[str, threading.Thread] = {}
        self._retrievers, self._search_lock = RetrieverCache(), threading.Lock()  # the service searches on many threads
        self._current = ""  # the file the writer has in hand
        self._fast_paths: Any = None

    # --- events --------------------------------------------------------------------
    def subscribe(self, fn: EventFn) -> Callable[[], None]:
        with self._subs_lock:
            self._subs.append(fn)

        def unsubscribe() -> None:
            with self._subs_lock:
                if fn in self._subs:
                    self._subs.remove(fn)

        return unsubscribe

    def _emit(self, event: CoreEvent) -> None:
        with self._subs_lock:
            subs = list(self._subs)
        for fn in subs:
            try:
                fn(event)
            except Exception:  # a faulty listener must not stop the core's threads
                _log.exception("core event listener failed")

    def _set_state(self, state: CoreState, message: str = "") -> None:
        self._state = state
        self._emit(CoreStateEvent(state, message))

    @property
    def state(self) -> CoreState:
        return self._state

    # --- start-up ------------------------------------------------------------------
    def start(self) -> None:
        """Returns at once; the parts are built on the starter thread. After FAILED it
        starts again from nothing (the window's Retry)."""
        if self._state is CoreState.FAILED:
            self._ready.clear()
            self.library = self.sync = self._indexer = self._cancellable = None
            self._journal = self._reader = self._answers = self._chats = self._service = None
        self._set_state(CoreState.STARTING)
        self._spawn("start", self._build)

    def wait_ready(self, timeout: float | None = None) -> bool:
        self._ready.wait(timeout)
        return self._state == CoreState.READY

    def _spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        t = threading.Thread(target=target, name=f"docent-{name}", daemon=True)
        self._threads[name] = t
        t.start()
        return t

    def _build(self) -> None:
        try:
            self._build_parts()
        except DocentError as e:
            self._start_failed(str(e))
        except Exception as e:  # SQLite, Chroma, a bug: the host shows it, nothing hangs
            _log.exception("core start-up failed")
            self._start_failed(core_start_failed_message(f"{type(e).__name__}: {e}"))

    def _build_parts(self) -> None:
        from app.core.ownership import own_index
        from app.engine.library import Library
        from ingest.manifest_reader import ManifestReader
        from ingest.sync.service import SyncService

        s = self.settings
        # The store in its own process: its writes would hold the GIL (window stalls).
        lib = self.library = Library(s, embedder=self._embedder, store_process=True,
                                     command=self.command, llm=self._llm)
        self._chats = self._open_chats()  # readable while another process holds the index
        if not own_index(lib, self._emit, self._closing, self.owner_wait_s):
            return  # closed while another process held the index
        lib.build()  # lock, manifest, embedder, store, keyword, indexer: once, in this order
        if self._closing.is_set():
            return
        inner = lib.indexer
        self._cancellable = inner.embedder = CancellableEmbedder(inner.embedder)
        self._indexer = GuardedIndexer(inner, self.guard)
        self._journal = JobJournal(s.index_dir / JOURNAL_FILE)
        self._reader = ManifestReader(s.manifest_path)
        self._fast_paths = _fast_paths()
        sync = SyncService(_WriterView(lib, self._indexer), on_event=self._on_sync,
                           watch=self._watch, quiet_s=self._quiet_s, poll_s=self._poll_s)
        if self._paused:
            sync.pause()
        roots = [str(f) for f in sync.folders]
        resumed = self._journal.pending()
        outside = self._reader.outside(roots, inner.version)
        if outside:  # dropped files a kill (or a recipe change) left unindexed
            resumed.append(WriterJob(0, JobKind.ADD, tuple(outside)))
        with self._jobs_lock:
            self.sync = sync
            for job in resumed:
                job.id = next(self._ids)
                self._queue(job)
            for job in self._early:
                self._queue(job)
            self._early.clear()
        sync.start()
        self._answers = AnswerService(lib, self._chats, self._emit)
        self._answers.start()
        self._service = self._make_service(lib)
        self._spawn("supervisor", self._supervisor.run)
        self._ready.set()
        self._set_state(CoreState.READY)
        self._emit(self._answers_model_event())

    def _open_chats(self) -> "ChatStore | None":
        from app.core.chats import ChatStore

        path = getattr(self.settings, "chats_path", self.settings.home / "chats.sqlite3")
        try:
            return ChatStore(path)
        except DocentError as e:  # damaged: kept aside by ChatStore; start a new one
            self._emit(CoreErrorEvent(str(e)))
            try:
                return ChatStore(path)
            except DocentError as e2:
                self._emit(CoreErrorEvent(str(e2)))
                return None

    def _make_service(self, lib: Any) -> Any:
        """Other shells' `docent search/status/index/forget/ask`, answered by this core."""
        from app.core.service import LocalService
        from app.core.service_hosts import CoreServiceHost

        service = LocalService(CoreServiceHost(self))
        service.start()
        return service

    def search(self, req: Any) -> Any:
        """A SearchRequest answered here (the local service calls this for other shells)."""
        with self._search_lock:
            return search_here(self.library, req, self._retrievers)

    def _answers_model_event(self) -> CoreEvent:
        from app.core.events import ModelEvent

        a = self._answers
        return ModelEvent(a.state if a else ModelState.NONE, a.model_name if a else "")

    def _start_failed(self, message: str) -> None:
        with self._jobs_lock:
            early, self._early = self._early, []
        for job in early:
            job.finish(JobState.FAILED, message)
        teardown(self._parts(), time.monotonic() + 3.0)
        self._state = CoreState.FAILED
        self._ready.set()
        self._emit(CoreStateEvent(CoreState.FAILED, message))

    # --- the library pane -------------------------------------------------------------
    def files(self, folder: str | None = None, offset: int = 0,
              limit: int | None = None) -> list[FileInfo]:
        if self._reader is None:
            return []
        roots = self.folders()
        out = []
        for rec in self._reader.rows(folder, offset, limit):
            root = next(((f, st) for f, st in roots if inside(rec.path, f)), ("", None))
            out.append(file_info(rec, root[0], root[1] == FolderState.UNAVAILABLE))
        return out

    def file_record(self, path: Path | str) -> Any:
        """The manifest's record of one file (ingest.manifest.FileRecord: sha256, page_count,
        status...), None when it is not in the library: what the source viewer checks against."""
        return self._reader.record(_abs(path)) if self._reader is not None else None

    def scan_pages(self, path: Path | str, sha256: str, pages: Iterable[int] | None = None) -> dict[int, Any]:
        """Lines OCR read on a scan's pages and where they are (ingest.scan_lines.ScanPage per
        1-based page), as indexed from the bytes `sha256`: the viewer lights a cited scan with them."""
        return self._reader.scan_pages(_abs(path), sha256, pages) if self._reader is not None else {}

    def folders(self) -> list[tuple[str, FolderState]]:
        if self.sync is not None:
            return [(f, folder_state(st)) for f, st in self.sync.folder_states().items()]
        return [(f, FolderState.WATCHING if os.path.isdir(f) else FolderState.UNAVAILABLE)
                for f in self.settings.watched_folders]

    def status(self) -> LibraryStatus:
        by, chunks = self._reader.counts() if self._reader is not None else ({}, 0)
        a = self._answers
        return LibraryStatus(self._state, sum(by.values()), chunks, by,
                             tuple(f for f, _ in self.folders()),
                             a.state if a else ModelState.NONE, a.model_name if a else "",
                             pdf_fast_paths=self._fast_paths)

    # --- answers ---------------------------------------------------------------------
    @property
    def chats(self) -> "ChatStore | None":
        return self._chats

    @property
    def model_state(self) -> ModelState:
        return self._answers.state if self._answers is not None else ModelState.NONE

    def load_model(self, path: str | None = None) -> None:
        if self._answers is not None:
            self._answers.load_model(path)

    def loaded_model(self) -> str:
        """The model file in memory (or loading), "" when none: another shell's --model must
        not swap it."""
        return self._answers.model_file if self._answers is not None else ""

    def ask(self, question: str, chat_id: int | None = None, scope: Any = None,
            k: int | None = None) -> AnswerJob:
        """`k`: passages to retrieve for this question (None: settings.top_k)."""
        return self._ask(question, chat_id, scope, regenerate=False, k=k)

    def regenerate(self, chat_id: int) -> AnswerJob:
        chat = self._chats.get(chat_id) if self._chats is not None else None
        question = chat.turns[-1].question if chat is not None and chat.turns else ""
        return self._ask(question, chat_id, None, regenerate=True)

    def _ask(self, question: str, chat_id: int | None, scope: Any, regenerate: bool,
             k: int | None = None) -> AnswerJob:
        if not self.wait_ready(0) or self._answers is None:
            from app.errors import answer_failed_message

            return failed_job(self._emit, question, chat_id,
                              answer_failed_message("Docent is still opening its library"))
        return self._answers.ask_in(question, chat_id, scope, regenerate, k)

    def download_model(self, entry: Any = None) -> Any:
        """Download (resumable, checked), select and load a catalog model; ModelEvents."""
        from app.core.downloads import start_download

        return start_download(self.settings, entry, self._emit, lambda: self.load_model(None))

    def update_settings(self, **changes: Any) -> SettingsChanged:
        change = self.settings.update(**changes)
        # A re-embed runs now, on the writer (REEMBED job: every file under the new recipe,
        # with the usual progress; searches use the old collection until it is complete). A
        # core that is not running yet (or a kill meanwhile) re-embeds at its next start.
        event = SettingsChanged(change.changed, change.reembed, bool(getattr(change, "restart", False)))
        if change.reembed and self.sync is not None:
            self._job(JobKind.REEMBED, [])
        if change.changed:
            self._emit(event)
        return event

    # --- shutdown ----------------------------------------------------------------------
    def _parts(self) -> Parts:
        return Parts(self._answers, self.sync, self._cancellable, self._indexer, self._service,
                     (self._journal, self._reader, self._chats), self.library)

    def close(self, timeout: float = 3.0) -> None:
        """Bounded: stops answers, cancels indexing (parsers killed, embeddings failed),
        stops watchers and the service, releases the lock. Queued jobs stay journalled."""
        if self._state == CoreState.CLOSED:
            return
        deadline = time.monotonic() + timeout
        self._closing.set()
        self._set_state(CoreState.CLOSING)
        starter = self._threads.get("start")
        if starter is not None and starter.is_alive():
            starter.join(max(0.0, deadline - time.monotonic() - 1.5))
        teardown(self._parts(), deadline)
        self._state = CoreState.CLOSED
        self._ready.set()  # nobody waits for a start that will not come
        self._emit(CoreStateEvent(CoreState.CLOSED))

def _fast_paths() -> Any:
    from ingest.loaders import pdf_speedups

    try:
        return pdf_speedups.probe()  # what this process's parser workers get; pypdf stays unpatched here
    except Exception:  # a pypdf we cannot patch: status says none run
        _log.exception("pdf fast paths")
        return None


if TYPE_CHECKING:  # mypy: Core keeps the window's contract (app/core/contract.py)
    from app.core.contract import WindowCore

    _contract: type[WindowCore] = Core
