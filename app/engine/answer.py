"""Question in, event stream out: retrieve, build the prompt, stream, cite.

Retrieval runs on the caller's thread; everything that touches the model
runs on the ModelOwner thread. A ChatSession keeps the turns of one chat so
follow-ups reuse the KV cache of everything said before.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Iterator, Protocol

from app.engine.backend import GenerationStats, LLMBackend
from app.engine.citations import MarkerFilter, clean_markers, marker_numbers
from app.engine.events import Answer, Citation, DoneEvent, ErrorEvent, Event, SourcesEvent, TokenEvent
from app.engine.owner import ModelOwner
from app.engine.prompt import BuiltPrompt, PromptBuilder, Turn
from app.engine.retrieval import Passage, snippet
from app.engine.selection import Budget, select_passages
from app.errors import DocentError

log = logging.getLogger(__name__)


class Retriever(Protocol):
    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]: ...


class Answerer:
    def __init__(self, retriever: Retriever, llm: LLMBackend, top_k: int = 6,
                 max_answer_tokens: int = 512, temperature: float = 0.2,
                 owner: ModelOwner | None = None, budget: Budget | None = None) -> None:
        self.retriever = retriever
        self.budget = budget  # None: every retrieved passage is offered to the prompt builder
        self.llm = llm
        self.top_k = top_k
        self.max_answer_tokens = max_answer_tokens
        self.temperature = temperature
        self.owner = owner or ModelOwner()

    def builder(self) -> PromptBuilder:
        return PromptBuilder(self.llm.prepare, self.llm.n_ctx, self.max_answer_tokens)

    def load(self) -> list[str]:
        """Load the model and evaluate the fixed system prompt once. Returns warnings."""
        def run() -> list[str]:
            self.llm.load()
            self.llm.warm(self.builder().system_messages())
            return list(getattr(self.llm, "warnings", []))

        return self.owner.call(run)

    def chat(self) -> "ChatSession":
        return ChatSession(self)

    def ask(self, question: str, history: list[Turn] | None = None,
            cancel: threading.Event | None = None,
            where: dict[str, Any] | None = None) -> Iterator[Event]:
        """Yields SourcesEvent, TokenEvent..., then DoneEvent (or ErrorEvent)."""
        t0 = time.perf_counter()
        try:
            passages = self.retriever.search(retrieval_query(question, history or []), self.top_k, where)
            self.load()

            def build() -> BuiltPrompt:
                chosen = passages
                if self.budget is not None:
                    chosen = select_passages(passages, self.llm.count_tokens, self.budget)
                return self.builder().build(question, chosen, history or [])

            prompt = self.owner.call(build)
        except DocentError as e:
            yield ErrorEvent(str(e))
            return
        yield SourcesEvent([s.passage for s in prompt.sources], prompt.prepared.n_tokens)
        stats = GenerationStats()
        markers = MarkerFilter(prompt.visible)
        raw: list[str] = []
        try:
            for piece in self.owner.stream(lambda: self.llm.stream(
                    prompt.prepared, self.max_answer_tokens, self.temperature, cancel, stats), cancel):
                raw.append(piece)
                shown = markers.feed(piece)
                if shown:
                    yield TokenEvent(shown)
            tail = markers.flush()
            if tail:
                yield TokenEvent(tail)
        except Exception as e:  # llama.cpp / HTTP failures reach the user, never kill the app
            log.exception("generation failed")
            yield ErrorEvent(f"The model failed while answering: {e}")
            return
        if cancel is not None and cancel.is_set():
            stats.finish_reason = "cancelled"  # the owner may still be finishing its last token
        prompt.turn.answer = "".join(raw).strip()
        yield DoneEvent(self._answer(prompt, stats, time.perf_counter() - t0))

    def _answer(self, prompt: BuiltPrompt, stats: GenerationStats, seconds: float) -> Answer:
        raw = prompt.turn.answer
        cited = [n for n in marker_numbers(raw) if n in prompt.visible]
        citations = [Citation(n, p.path, p.page_start, p.page_end, snippet(p.page_text, 300), p.score,
                              p.spans, p.page_text) for n, p in ((n, prompt.visible[n]) for n in cited)]
        return Answer(prompt.turn.question, clean_markers(raw, prompt.visible).strip(), citations,
                      prompt.sources, stats.prompt_tokens, stats.completion_tokens, stats.ttft_s,
                      seconds, stats.finish_reason, self.llm.name, stats.cached_tokens,
                      prompt.turn)

    def close(self) -> None:
        self.owner.call(self.llm.close)
        self.owner.close()


class ChatSession:
    """The turns of one chat. Follow-ups see earlier answers and sources."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer
        self.turns: list[Turn] = []

    def ask(self, question: str, cancel: threading.Event | None = None,
            where: dict[str, Any] | None = None) -> Iterator[Event]:
        for event in self.answerer.ask(question, self.turns, cancel, where):
            if isinstance(event, DoneEvent) and event.answer.turn is not None:
                self.turns.append(event.answer.turn)
            yield event


def retrieval_query(question: str, history: list[Turn]) -> str:
    """A follow-up ("and a year earlier?") is searched together with the question before it,
    so it finds the passages of the topic under discussion, most of them already in the
    KV cache, instead of whatever its few words match alone."""
    return f"{history[-1].question} {question}" if history else question

