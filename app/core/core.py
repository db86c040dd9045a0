"""The application core: for one data folder, owns the library for the life of the process.

CONTRACT (the window in app/ui/ and `docent serve` are thin shells around this; keep it stable):

    core = Core(settings, embedder=None)        # builds nothing yet; no heavy import
    unsubscribe = core.subscribe(fn)             # fn(CoreEvent) on the core's threads
    core.start()                                 # returns at once; parts are built on a starter
                                                 # thread in a defined order (lock, manifest,
                                                 # embedder, store, keyword, indexer), then the
                                                 # writer, sync and the local service start;
                                                 # CoreStateEvent(READY) or (FAILED, message)
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
AnswerEvent(..., engine ErrorEvent) or core ErrorEvent with the message from app/errors.py.
"""
from __future__ import annotations
