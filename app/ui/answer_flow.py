"""One answer at a time for the shown chat: core.ask / regenerate, its events -> the views.

The sources pane is filled from the SourcesEvent, before the first token; the
authoritative numbers and the cited/not-cited marks come with the DoneEvent.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.events import AnswerEvent
from app.engine.answer_marks import answer_notes, matched_only, shown_text
from app.engine.events import DoneEvent, ErrorEvent, ProgressEvent, SourcesEvent, TokenEvent
from app.engine.prompt import NumberedSource
from app.ui.accessibility import Announcer, answer_announcement
from app.ui.chat_view import ChatView, ShownTurn
from app.ui.sources_pane import SourcesPane

log = logging.getLogger(__name__)


class AnswerFlow(QObject):
    started = Signal()
    sourcesShown = Signal(int)  # how many
    progressShown = Signal(int, int)  # steps done, steps in all (whole-document requests)
    tokenShown = Signal(str)
    finished = Signal()

    def __init__(self, core: Any, view: ChatView, sources: SourcesPane,
                 parent: QObject | None = None, announcer: Announcer | None = None) -> None:
        super().__init__(parent)
        self.core, self.view, self.sources = core, view, sources
        # a screen reader hears each answer once, when it is done (never token by token)
        self.announcer = announcer or Announcer(self)
        self.chat_id: int | None = None
        self.job: Any = None
        self.question = ""
        self._next_number = 1
        self.stopped = False

    @property
    def busy(self) -> bool:
        return self.job is not None

    def show_chat(self, chat: Any) -> None:
        """Show a stored chat (None: nothing). A running answer in another chat is stopped."""
        if self.job is not None and (chat is None or chat.id != self.chat_id):
            self.stop()
        self.chat_id = chat.id if chat is not None else None
        turns = chat.turns if chat is not None else []
        self.view.set_turns([ShownTurn(t.question, t.answer, t.stopped, notes=tuple(t.notes)) for t in turns])
        numbers = [s.number for t in turns for s in t.sources]
        self._next_number = max(numbers, default=0) + 1
        if turns:
            matched = matched_only(turns[-1].answer)
            self.sources.show_sources(turns[-1].question, [replace(r, inferred=r.number in matched)
                                                           for r in turns[-1].sources])
        else:
            self.sources.clear()

    def ask(self, question: str) -> None:
        if self.job is not None or self.chat_id is None:
            return
        chat = self.core.chats.get(self.chat_id)
        scope = chat.scope.to_scope() if chat is not None else None
        self.question = question
        self.view.begin_answer(question)
        self.sources.show_sources(question, [])
        self.stopped = False
        self.job = self.core.ask(question, chat_id=self.chat_id, scope=scope)
        self.started.emit()

    def regenerate(self) -> None:
        if self.job is not None or self.chat_id is None or not self.view.turns:
            return
        self.question = self.view.turns[-1].question
        # the sources being replaced had numbers from _next_number down: reuse them
        chat = self.core.chats.get(self.chat_id)
        earlier = [s.number for t in (chat.turns[:-1] if chat else []) for s in t.sources]
        self._next_number = max(earlier, default=0) + 1
        self.view.begin_answer(self.question, replace_last=True)
        self.sources.show_sources(self.question, [])
        self.stopped = False
        self.job = self.core.regenerate(self.chat_id)
        self.started.emit()

    def stop(self) -> None:
        if self.job is not None:
            self.stopped = True
            self.job.cancel()

    def on_answer_event(self, ev: AnswerEvent) -> None:
        if self.job is None or ev.job_id != self.job.id:
            return  # a stopped or replaced answer's late events
        e = ev.event
        if isinstance(e, SourcesEvent):
            # the engine's [n]; an event decoded from another process may come without them
            numbers = e.numbers or range(self._next_number, self._next_number + len(e.passages))
            items = [NumberedSource(n, p) for n, p in zip(numbers, e.passages, strict=False)]
            self.sources.show_sources(self.question, items)
            self.view.sources_ready(len(items))
            self.sourcesShown.emit(len(items))
        elif isinstance(e, ProgressEvent):  # a whole document, read part by part
            self.view.show_progress(e.what, e.done, e.total)
            self.progressShown.emit(e.done, e.total)
        elif isinstance(e, TokenEvent):
            self.view.append_token(e.text)
            self.tokenShown.emit(e.text)
        elif isinstance(e, DoneEvent):
            a = e.answer
            cited = {c.number for c in a.citations}
            if a.sources:
                items = list(a.sources)
                self._next_number = max(s.number for s in a.sources) + 1
            else:
                items = None
            shown = shown_text(a)
            self.sources.mark_cited(cited, items, matched_only(shown))
            stopped = self.stopped or a.finish_reason == "cancelled"
            self.job = None
            notes = tuple(answer_notes(a))
            self.view.finish_answer(shown, stopped=stopped, notes=notes)
            cited_items = [i for i in self.sources.items if i.cited]
            self.announcer.announce(self.view.transcript,
                                    answer_announcement(shown, cited_items, notes, stopped))
            self.finished.emit()
        elif isinstance(e, ErrorEvent):
            self.job = None
            self.view.finish_answer(None, stopped=self.stopped, error=e.message)
            self.announcer.announce(self.view.transcript,
                                    answer_announcement(self.view.last_answer(), [], (),
                                                        self.stopped, e.message), assertive=True)
            self.finished.emit()
