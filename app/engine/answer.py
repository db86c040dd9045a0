"""Question in, event stream out: retrieve, build the prompt, stream, cite."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Iterator, Protocol, Sequence

from app.engine.citations import MarkerFilter, clean_markers, marker_numbers
from app.engine.events import Answer, Citation, DoneEvent, ErrorEvent, Event, SourcesEvent, TokenEvent
from app.engine.llm import GenerationStats, LocalLLM
from app.engine.prompt import PromptBuilder, Turn
from app.engine.retrieval import Passage
from app.errors import DocentError

log = logging.getLogger(__name__)


class Retriever(Protocol):
    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]: ...


class Answerer:
    def __init__(self, retriever: Retriever, llm: LocalLLM, top_k: int = 6,
                 max_answer_tokens: int = 512, temperature: float = 0.2) -> None:
        self.retriever = retriever
        self.llm = llm
        self.top_k = top_k
        self.max_answer_tokens = max_answer_tokens
        self.temperature = temperature

    def ask(self, question: str, history: Sequence[Turn] = (),
            cancel: threading.Event | None = None,
            where: dict[str, Any] | None = None) -> Iterator[Event]:
        """Yields SourcesEvent, TokenEvent..., then DoneEvent (or ErrorEvent)."""
        t0 = time.perf_counter()
        try:
            passages = self.retriever.search(question, self.top_k, where)
            self.llm.load()
            assert self.llm.template is not None
            builder = PromptBuilder(self.llm.template, self.llm.tokenize, self.llm.n_ctx,
                                    self.max_answer_tokens)
            prompt = builder.build(question, passages, history)
        except DocentError as e:
            yield ErrorEvent(str(e))
            return
        yield SourcesEvent(prompt.passages, len(prompt.tokens))
        stats = GenerationStats()
        markers = MarkerFilter(len(prompt.passages))
        raw: list[str] = []
        try:
            for piece in self.llm.stream(prompt.tokens, self.max_answer_tokens, self.temperature,
                                         prompt.stop, cancel, stats):
                raw.append(piece)
                shown = markers.feed(piece)
                if shown:
                    yield TokenEvent(shown)
            tail = markers.flush()
            if tail:
                yield TokenEvent(tail)
        except Exception as e:  # llama.cpp failures must reach the user, not kill the app
            log.exception("generation failed")
            yield ErrorEvent(f"The model failed while answering: {e}")
            return
        text = "".join(raw).strip()
        yield DoneEvent(self._answer(question, text, prompt.passages, stats, time.perf_counter() - t0))

    def _answer(self, question: str, raw: str, passages: list[Passage], stats: GenerationStats,
                seconds: float) -> Answer:
        valid = range(1, len(passages) + 1)
        cited = [n for n in marker_numbers(raw) if n in valid]
        citations = [Citation(n, passages[n - 1].path, passages[n - 1].page_start,
                              passages[n - 1].page_end, _snippet(passages[n - 1].text),
                              passages[n - 1].score) for n in cited]
        return Answer(question, clean_markers(raw, valid).strip(), citations, passages,
                      stats.prompt_tokens, stats.completion_tokens, stats.ttft_s, seconds,
                      stats.finish_reason, self.llm.path.name)


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"
