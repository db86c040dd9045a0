"""The application core: for one data folder, owns the library for the life of the process.

The window in app/ui/ and `docent serve` are thin shells around it; its contract (what they
call, and what each call promises) is app/core/contract.py. Core holds its collaborators:
the writer queue (app/core/writer_queue.py: every change to the index), the answer service
(app/core/answers.py), the supervisor (app/core/supervisor.py) and the bounded shutdown
(app/core/shutdown.py); it builds them in order at start-up and answers the library pane's reads.
"""
from __future__ import annotations

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
from app.core.jobs import JobKind, WriterJob
from app.core.shutdown import Parts, teardown
from app.core.supervisor import Supervisor
from app.core.translate import file_info, folder_state
from app.core.writer import WriteGuard
from app.core.writer_queue import WriterQueue, abs_path
from app.engine.owner_lock import OWNER_WAIT_S
from app.engine.search_service import RetrieverCache, search_here
from app.errors import DocentError, core_start_failed_message
from ingest.paths import inside

if TYPE_CHECKING:
    from app.core.chats import ChatStore
    from app.engine.library import LLMFactory
    from app.settings import Settings

_log = logging.getLogger(__name__)
_STOPPED = (CoreState.CLOSING, CoreState.CLOSED, CoreState.FAILED)  # no new writer jobs


class Core:
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
        self.guard = WriteGuard()
        self.writer = WriterQueue(settings, self._emit, closing=self._closing, wait_ready=self.wait_ready,
                                  stopped=lambda: self._state in _STOPPED,
                                  writer_down=lambda: self._supervisor.writer_down)
        self._supervisor = Supervisor(lambda: self.writer.sync, lambda: self._answers, self._emit, self._closing)
        self.library: Any = None
        self._reader: Any = None
        self._answers: AnswerService | None = None
        self._chats: "ChatStore | None" = None
        self._service: Any = None
        self._threads: dict[str, threading.Thread] = {}
        self._retrievers, self._search_lock = RetrieverCache(), threading.Lock()  # the service searches on many threads
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
            self.writer.forget_parts()
            self.library = self._reader = self._answers = self._chats = self._service = None
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

        # The store in its own process: its writes would hold the GIL (window stalls).
        lib = self.library = Library(self.settings, embedder=self._embedder, store_process=True,
                                     command=self.command, llm=self._llm)
        self._chats = self._open_chats()  # readable while another process holds the index
        if not own_index(lib, self._emit, self._closing, self.owner_wait_s):
            return  # closed while another process held the index
        lib.build()  # lock, manifest, embedder, store, keyword, indexer: once, in this order
        if self._closing.is_set():
            return
        self._reader = ManifestReader(self.settings.manifest_path)
        self._fast_paths = _fast_paths()
        self.writer.open(lib, self.guard, self._reader, watch=self._watch, quiet_s=self._quiet_s, poll_s=self._poll_s)
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
        self.writer.fail_early(message)
        teardown(self._parts(), time.monotonic() + 3.0)
        self._state = CoreState.FAILED
        self._ready.set()
        self._emit(CoreStateEvent(CoreState.FAILED, message))

    # --- every change to the index: the writer queue --------------------------------------
    def add_paths(self, paths: Iterable[Path | str]) -> WriterJob:
        """Files or folders dropped by the user, indexed once (watched folders sync themselves)."""
        return self.writer.add_paths(paths)

    def reindex(self, path: Path | str) -> WriterJob:
        return self.writer.reindex(path)

    def forget(self, paths: Iterable[Path | str]) -> WriterJob:
        return self.writer.forget(paths)

    def watch_folder(self, folder: Path | str) -> WriterJob:
        return self.writer.watch_folder(folder)

    def unwatch_folder(self, folder: Path | str, keep_chunks: bool) -> WriterJob:
        return self.writer.unwatch_folder(folder, keep_chunks)

    def pause_indexing(self) -> None:
        self.writer.pause()

    def resume_indexing(self) -> None:
        self.writer.resume()

    @property
    def paused(self) -> bool:
        return self.writer.paused

    @property
    def writer_down(self) -> bool:
        """The writer kept dying and is no longer restarted (reads and answers still work)."""
        return self.writer.writer_down

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once the queue is empty and the folders settled (False: timeout, or no writer)."""
        return self.writer.wait_idle(timeout)

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
        return self._reader.record(abs_path(path)) if self._reader is not None else None

    def scan_pages(self, path: Path | str, sha256: str, pages: Iterable[int] | None = None) -> dict[int, Any]:
        """Lines OCR read on a scan's pages and where they are (ingest.scan_lines.ScanPage per
        1-based page), as indexed from the bytes `sha256`: the viewer lights a cited scan with them."""
        return self._reader.scan_pages(abs_path(path), sha256, pages) if self._reader is not None else {}

    def folders(self) -> list[tuple[str, FolderState]]:
        sync = self.writer.sync
        if sync is not None:
            return [(f, folder_state(st)) for f, st in sync.folder_states().items()]
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
        if change.reembed and self.writer.sync is not None:
            self.writer.job(JobKind.REEMBED, [])
        if change.changed:
            self._emit(event)
        return event

    # --- shutdown ----------------------------------------------------------------------
    def _parts(self) -> Parts:
        w = self.writer
        return Parts(self._answers, w.sync, w.cancellable, w.indexer, self._service,
                     (w.journal, self._reader, self._chats), self.library)

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
