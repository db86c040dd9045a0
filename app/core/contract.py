"""What the shells need from a core: `Core` implements it, and so does the UI tests' stand-in
(tests/ui/standin.py); mypy checks both (`make lint`). `WindowCore` below is the part the window
calls, typed.

The whole contract of app/core/core.py's `Core` (the window in app/ui/ and `docent serve` are thin
shells around it; keep it stable):

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

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from app.core.chats import ChatStore
    from app.core.events import CoreEvent, FileInfo, FolderState, ModelState


class Job(Protocol):
    """A queued piece of work (an index change, an answer, a download) the window can stop."""

    @property
    def id(self) -> int: ...

    def cancel(self) -> None: ...


class WindowCore(Protocol):
    @property
    def settings(self) -> Any: ...  # app.settings.Settings, or a stand-in's

    @property
    def chats(self) -> ChatStore | None: ...

    @property
    def model_state(self) -> ModelState: ...

    def subscribe(self, fn: Callable[[CoreEvent], None], /) -> Callable[[], None]: ...

    def start(self) -> None: ...

    def close(self, timeout: float = 3.0) -> None: ...

    # the library pane
    def files(self) -> list[FileInfo]: ...

    def file_record(self, path: str, /) -> Any: ...

    def folders(self) -> list[tuple[str, FolderState]]: ...

    # every change to the index: one serial writer queue
    def add_paths(self, paths: list[Path], /) -> Job: ...

    def watch_folder(self, folder: Path, /) -> Job: ...

    def unwatch_folder(self, folder: Path, /, keep_chunks: bool) -> Job: ...

    def reindex(self, path: Path, /) -> Job: ...

    def forget(self, paths: list[Path], /) -> Job: ...

    def pause_indexing(self) -> None: ...

    def resume_indexing(self) -> None: ...

    # answers and models
    def load_model(self, path: str | None = None) -> None: ...

    def ask(self, question: str, chat_id: int | None = None, scope: Any = None) -> Job: ...

    def regenerate(self, chat_id: int, /) -> Job: ...

    def download_model(self, entry: Any = None) -> Job: ...

    def update_settings(self, **changes: Any) -> Any: ...
