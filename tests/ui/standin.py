"""A minimal stand-in for app.core.core.Core, for unit tests of the widgets' logic only.

It keeps the contract's shape (subscribe, jobs, events on its own thread) and
records the calls the window makes; chats are the real ChatStore. The paths
through the real core are tested in test_window_core.py.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.chats import ChatStore
from app.core.events import (
    AnswerEvent,
    CoreState,
    CoreStateEvent,
    FileEvent,
    FileInfo,
    FileState,
    FolderState,
    ModelEvent,
    ModelState,
)
from app.engine.events import Answer, DoneEvent, SourcesEvent, TokenEvent
from app.engine.prompt import NumberedSource
from ingest.passage import Passage


@dataclass(eq=False)
class StandInJob:
    id: int
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()


class StandInCore:
    """The window's core in UI tests: implements app.core.contract.WindowCore (checked by mypy)."""

    def __init__(self, settings: Any, model: ModelState = ModelState.READY) -> None:
        self.settings = settings
        self.chats = ChatStore(settings.chats_path)
        self.model_state = model
        self.state = CoreState.STARTING
        self.calls: list[tuple[str, tuple]] = []
        self._subs: list[Any] = []
        self._ids = itertools.count(1)
        self._files: dict[str, FileInfo] = {}
        self.answer_tokens = ["The ", "answer ", "is ", "42 ", "[1]", "."]
        self.fail_with = ""  # set: the next answers end with this engine ErrorEvent
        self.passage_path = "/docs/report.pdf"  # the file every answer cites (page 3)
        self.token_delay = 0.0  # seconds between tokens: long enough to stop an answer

    def subscribe(self, fn: Any) -> Any:
        self._subs.append(fn)
        return lambda: self._subs.remove(fn) if fn in self._subs else None

    def _emit(self, ev: Any) -> None:
        for fn in list(self._subs):
            fn(ev)

    def _later(self, *events: Any) -> None:
        def emit_all() -> None:
            for e in events:
                self._emit(e)

        threading.Thread(target=emit_all, daemon=True).start()

    def start(self) -> None:
        self.state = CoreState.READY
        self._later(CoreStateEvent(CoreState.READY))

    def files(self) -> list[FileInfo]:
        return list(self._files.values())

    def file_record(self, path: Any) -> Any:
        return None  # no manifest: the viewer shows files unverified

    def scan_pages(self, path: Any, sha256: str, pages: Any = None) -> dict[int, Any]:
        return {}  # no manifest: no scan's lines stored

    def folders(self) -> list[tuple[str, FolderState]]:
        return []

    def add_paths(self, paths: list[Path]) -> StandInJob:
        self.calls.append(("add_paths", tuple(str(p) for p in paths)))
        events = [FileEvent(str(p), FileState.QUEUED) for p in paths]
        events += [FileEvent(str(p), FileState.INDEXED, chunks=3, pages=2) for p in paths]
        self._later(*events)
        return StandInJob(next(self._ids))

    def watch_folder(self, path: Path) -> StandInJob:
        self.calls.append(("watch_folder", (str(path),)))
        return StandInJob(next(self._ids))

    def unwatch_folder(self, path: Path, keep_chunks: bool) -> StandInJob:
        self.calls.append(("unwatch_folder", (str(path), keep_chunks)))
        return StandInJob(next(self._ids))

    def reindex(self, path: Path) -> StandInJob:
        self.calls.append(("reindex", (str(path),)))
        return StandInJob(next(self._ids))

    def forget(self, paths: list[Path]) -> StandInJob:
        self.calls.append(("forget", tuple(str(p) for p in paths)))
        return StandInJob(next(self._ids))

    def pause_indexing(self) -> None:
        self.calls.append(("pause", ()))

    def resume_indexing(self) -> None:
        self.calls.append(("resume", ()))

    def load_model(self, path: str | None = None) -> None:
        self.calls.append(("load_model", (path,)))
        self.model_state = ModelState.READY
        self._later(ModelEvent(ModelState.LOADING, "stand-in"), ModelEvent(ModelState.READY, "stand-in"))

    def update_settings(self, **changes: Any) -> Any:
        self.calls.append(("update_settings", tuple(sorted(changes.items()))))
        return self.settings.update(**changes)

    def ask(self, question: str, chat_id: int | None = None, scope: Any = None,
            regenerate: bool = False) -> StandInJob:
        self.calls.append(("regenerate" if regenerate else "ask", (question, chat_id, scope)))
        job = StandInJob(next(self._ids))
        passage = Passage("c1", self.passage_path, 3, 3, "Revenue grew to 42 million.", 0.8)

        def run() -> None:
            if self.fail_with:
                from app.engine.events import ErrorEvent

                self._emit(AnswerEvent(job.id, chat_id, ErrorEvent(self.fail_with)))
                return
            self._emit(AnswerEvent(job.id, chat_id, SourcesEvent([passage], 10)))
            said = []
            for t in self.answer_tokens:
                if job.cancelled.is_set():
                    break
                said.append(t)
                job.cancelled.wait(self.token_delay)
                self._emit(AnswerEvent(job.id, chat_id, TokenEvent(t)))
            text = "".join(said)
            answer = Answer(question, text, [NumberedSource(1, passage, True)]
                            if "[1]" in text else [], [NumberedSource(1, passage)],
                            finish_reason="cancelled" if job.cancelled.is_set() else "stop")
            if chat_id is not None:
                from app.core.chat_types import ChatTurn

                turn = ChatTurn.from_answer(answer, stopped=job.cancelled.is_set())
                (self.chats.replace_last_turn if regenerate else self.chats.add_turn)(chat_id, turn)
            self._emit(AnswerEvent(job.id, chat_id, DoneEvent(answer)))

        threading.Thread(target=run, daemon=True).start()
        return job

    def regenerate(self, chat_id: int) -> StandInJob:
        chat = self.chats.get(chat_id)
        assert chat is not None, chat_id
        return self.ask(chat.turns[-1].question, chat_id, regenerate=True)

    def download_model(self, entry: Any = None) -> StandInJob:
        """Downloads nothing: says so, as a failed download would."""
        name = getattr(entry, "name", "")
        self.calls.append(("download_model", (name,)))
        self._later(ModelEvent(ModelState.ERROR, name, message="The stand-in core downloads nothing."))
        return StandInJob(next(self._ids))

    def close(self, timeout: float = 3.0) -> None:
        self.calls.append(("close", ()))
        self.chats.close()


if TYPE_CHECKING:  # mypy: the stand-in keeps the window's contract
    from app.core.contract import WindowCore

    _contract: type[WindowCore] = StandInCore
