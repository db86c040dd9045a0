"""Answers for the core: one Answerer, built on first use, asked on one answer thread.

Questions queue on the answer thread (the model answers one at a time anyway);
model calls run on the Answerer's own ModelOwner thread. Every failure (no model,
a load error, SQLite or Chroma during retrieval, llama.cpp) becomes an engine
ErrorEvent on the job's stream; the thread goes on with the next question.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from app.core.events import AnswerEvent, ModelEvent, ModelState
from app.engine.events import Answer, DoneEvent, ErrorEvent
from app.errors import DocentError, answer_failed_message

if TYPE_CHECKING:
    from app.core.chats import ChatStore
    from app.core.events import CoreEvent
    from app.engine.library import Library

_log = logging.getLogger(__name__)
Emit = Callable[["CoreEvent"], None]


@dataclass(eq=False)
class AnswerJob:
    id: int
    question: str
    chat_id: int | None = None
    regenerate: bool = False
    answer: Answer | None = None
    error: str = ""
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        """Stops the answer within a token; what was said so far is kept, marked stopped."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> Answer | None:
        """The answer (None on error, or while it still runs at `timeout`)."""
        self._done.wait(timeout)
        return self.answer

    @property
    def cancel_event(self) -> threading.Event:
        """Set once cancelled: what the worker doing the job polls."""
        return self._cancel

    def mark_done(self) -> None:
        """Called by the worker when the job has ended; wakes wait()."""
        self._done.set()


@dataclass
class _Ask:
    job: AnswerJob
    where: dict[str, Any] | None
    k: int | None = None  # passages for this question (None: settings.top_k)


@dataclass
class _Load:
    path: str | None


class AnswerService:
    """Owns the core's one Answerer; runs loads and questions on the answer thread."""

    def __init__(self, library: "Library", chats: "ChatStore | None", emit: Emit) -> None:
        self.library = library
        self.chats = chats
        self._emit = emit
        self._answerer: Any = None
        self._model_path: str | None = None
        self.model_file = ""  # the GGUF in memory or loading ("" when none)
        self._retrieval: tuple[Any, ...] = ()  # what the answerer's retriever was built from
        self._loaded: tuple[Any, ...] = ()  # the settings the model in memory was loaded with
        self.state = ModelState.NONE
        self.model_name = ""
        self._queue: queue.Queue[_Ask | _Load | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._current: AnswerJob | None = None
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = self._initial_state()

    def _initial_state(self) -> ModelState:
        if self.library.settings.llm_backend != "local":
            return ModelState.UNLOADED
        try:
            self.model_name = self.library.model_path().name
        except DocentError:  # none chosen: the host offers the download or a local GGUF
            return ModelState.NONE
        return ModelState.UNLOADED

    # --- threads ---------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="docent-answer", daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _main(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, _Load):
                self._load(item.path)
            else:
                self._answer(item)

    # --- requests ----------------------------------------------------------------------
    def load_model(self, path: str | None = None) -> None:
        self._queue.put(_Load(path))

    def ask(self, question: str, chat_id: int | None, where: dict[str, Any] | None,
            regenerate: bool = False, k: int | None = None) -> AnswerJob:
        job = AnswerJob(next(self._ids), question, chat_id, regenerate)
        if self._closing.is_set():
            self._fail(job, answer_failed_message("Docent is closing"))
            return job
        self._queue.put(_Ask(job, where, k))
        return job

    def ask_in(self, question: str, chat_id: int | None, scope: Any, regenerate: bool,
               k: int | None = None) -> AnswerJob:
        """ask() with a chat's scope (unless `scope` is given); never raises: a bad chat or
        scope ends the job at once with an error event."""
        try:
            if scope is None and chat_id is not None and self.chats is not None:
                chat = self.chats.get(chat_id)
                if chat is None:
                    from app.errors import ChatNotFoundError

                    raise ChatNotFoundError(chat_id)
                scope = chat.scope
            where = scope.where() if hasattr(scope, "where") else scope
            if regenerate and not question:
                raise DocentError(answer_failed_message("this chat has no answer to regenerate"))
            return self.ask(question, chat_id, where, regenerate, k)
        except Exception as e:
            message = str(e) if isinstance(e, DocentError) else answer_failed_message(repr(e))
            return failed_job(self._emit, question, chat_id, message)

    # --- on the answer thread -------------------------------------------------------
    def _set_state(self, state: ModelState, message: str = "") -> None:
        self.state = state
        self._emit(ModelEvent(state, self.model_name, message=message))

    def _load(self, path: str | None) -> bool:
        """Build (or swap to) the answerer; True when it is ready."""
        if self._answerer is not None and (path is None or path == self._model_path) \
                and self._loaded == self.library.model_key:
            return True
        self._close_answerer()
        try:
            if path is None and self.library.settings.llm_backend == "local":
                self.model_name = self.library.model_path().name  # NoModelError: say how to get one
            elif path is not None:
                self.model_name = self.library.model_path(path).name
            self._set_state(ModelState.LOADING)
            if self.library.settings.llm_backend == "local" or path is not None:
                self.model_file = str(self.library.model_path(path))
            answerer = self.library.answerer(path)
            for warning in answerer.load():
                _log.warning("model: %s", warning)
        except DocentError as e:
            none = "No language model" in str(e) and path is None
            self.model_file = ""
            self._set_state(ModelState.NONE if none else ModelState.ERROR, str(e))
            return False
        except Exception as e:  # llama.cpp refusing a file, a bad GGUF, out of memory
            _log.exception("model load failed")
            self.model_file = ""
            self._set_state(ModelState.ERROR, answer_failed_message(f"{type(e).__name__}: {e}"))
            return False
        self._answerer, self._model_path = answerer, path
        self._loaded, self._retrieval = self.library.model_key, self.library.retrieval_key
        self._set_state(ModelState.READY)
        return True

    def _answer(self, item: _Ask) -> None:
        job = item.job
        self._current = job
        try:
            if job.cancelled:
                self._fail(job, answer_failed_message("stopped before it started"))
                return
            if not self._load(self._model_path):
                self._fail(job, self._state_message())
                return
            self._apply_settings(item)
            history: list[Any] = []
            if job.chat_id is not None and self.chats is not None:
                history = self.chats.history(job.chat_id, without_last=job.regenerate)
            for event in self._answerer.ask(job.question, history, job.cancel_event, item.where):
                if isinstance(event, DoneEvent):
                    job.answer = event.answer
                    self._save(job, event.answer)
                elif isinstance(event, ErrorEvent):
                    job.error = event.message
                self._emit(AnswerEvent(job.id, job.chat_id, event))
        except Exception as e:  # SQLite, Chroma, a scope, llama.cpp: an error event, never a crash
            _log.exception("answer failed")
            message = str(e) if isinstance(e, DocentError) else \
                answer_failed_message(f"{type(e).__name__}: {e}")
            self._fail(job, message)
        finally:
            self._current = None
            job.mark_done()

    def _apply_settings(self, item: _Ask) -> None:
        """What the Settings window changed applies from the next question on: the retriever
        is rebuilt when a re-embed switched collections or its mode or reranker changed;
        the passage budget, answer length and temperature are read afresh. (A changed
        model, context size or thread count reloads the model in _load.)"""
        a, s = self._answerer, self.library.settings
        if self._retrieval != self.library.retrieval_key:
            a.retriever = self.library.retriever()
            a.whole_doc = self.library.whole_doc(a.retriever)
            self._retrieval = self.library.retrieval_key
        a.top_k = item.k or s.top_k
        a.max_answer_tokens, a.temperature = s.max_answer_tokens, s.temperature
        if a.budget is not None:
            a.budget = replace(a.budget, tokens=s.context_tokens)

    def _save(self, job: AnswerJob, answer: Answer) -> None:
        if job.chat_id is None or self.chats is None:
            return
        from app.core.chat_types import ChatTurn

        turn = ChatTurn.from_answer(answer, stopped=job.cancelled or answer.finish_reason == "cancelled")
        if job.regenerate:
            self.chats.replace_last_turn(job.chat_id, turn)
        else:
            self.chats.add_turn(job.chat_id, turn)

    def _fail(self, job: AnswerJob, message: str) -> None:
        _end_with_error(self._emit, job, message)

    def _state_message(self) -> str:
        from app.errors import NoModelError

        return str(NoModelError()) if self.state == ModelState.NONE else \
            answer_failed_message("the model could not be loaded")

    def _close_answerer(self) -> None:
        if self._answerer is not None:
            try:
                self._answerer.close()
            except Exception:
                _log.exception("closing the model failed")
            self._answerer = None
            self.model_file = ""

    # --- shutdown ----------------------------------------------------------------------
    def close(self, timeout: float) -> None:
        """Stop the answer in progress, drop queued questions, unload within `timeout`."""
        self._closing.set()
        if self._current is not None:
            self._current.cancel()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Ask):
                self._fail(item.job, answer_failed_message("Docent is closing"))
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._answerer is not None and not self.alive:
            closer = threading.Thread(target=self._close_answerer, name="docent-model-close",
                                      daemon=True)
            closer.start()
            closer.join(max(0.1, timeout))


def failed_job(emit: Emit, question: str, chat_id: int | None, message: str) -> AnswerJob:
    """A job that could not start (id 0): its one event is the error."""
    job = AnswerJob(0, question, chat_id)
    _end_with_error(emit, job, message)
    return job


def _end_with_error(emit: Emit, job: AnswerJob, message: str) -> None:
    job.error = message
    emit(AnswerEvent(job.id, job.chat_id, ErrorEvent(message)))
    job.mark_done()
