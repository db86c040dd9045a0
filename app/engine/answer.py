"""Question in, event stream out: retrieve, build the prompt, stream, cite.

While it streams, an answer that starts repeating itself is stopped (app.engine.loops).
After it, each sentence is attributed to the passages it draws on (app.engine.attribution),
its figures are looked up in them (app.engine.figures) and the whole is checked for support
(app.engine.grounding): all of it lands on the Answer of the DoneEvent.

Retrieval runs on the caller's thread; everything that touches the model
runs on the ModelOwner thread. A ChatSession keeps the turns of one chat so
follow-ups reuse the KV cache of everything said before.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, Sequence

from app.engine.attribution import PassageIndex, SentenceAttribution, attribute, supporting_sources
from app.engine.backend import GenerationStats, LLMBackend, PreparedPrompt
from app.engine.citations import MarkerFilter, clean_markers
from app.engine.compute_request import compute_request
from app.engine.events import Answer, DoneEvent, ErrorEvent, Event, SourcesEvent, TokenEvent
from app.engine.figures import FigureCheck, FigureStatus, PassageFigures, check_figures
from app.engine.grounding import Grounding, GroundingCheck, check_grounding
from app.engine.loops import LoopDetector
from app.engine.owner import ModelOwner
from app.engine.prompt import SYSTEM_PROMPT, BuiltPrompt, NumberedSource, PromptBuilder, Turn
from app.engine.selection import Budget, select_passages
from app.errors import DocentError
from ingest.passage import Passage

if TYPE_CHECKING:
    from app.engine.computation import Computation
    from app.engine.whole_doc import DocumentTarget, WholeDocRequests

log = logging.getLogger(__name__)


class Retriever(Protocol):
    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]: ...


class StopFlag(threading.Event):
    """Set by Docent (a loop was found) or by the caller's own cancel flag."""

    def __init__(self, caller: threading.Event | None) -> None:
        super().__init__()
        self.caller = caller

    def is_set(self) -> bool:
        return super().is_set() or (self.caller is not None and self.caller.is_set())


class Answerer:
    def __init__(self, retriever: Retriever, llm: LLMBackend, top_k: int = 6,
                 max_answer_tokens: int = 512, temperature: float = 0.2,
                 owner: ModelOwner | None = None, budget: Budget | None = None,
                 describe: Callable[[Sequence[str]], list[str]] | None = None,
                 whole_doc: "WholeDocRequests | None" = None, system_prompt: str = SYSTEM_PROMPT,
                 computes: bool = True) -> None:
        self.retriever = retriever
        self.computes = computes  # False: arithmetic questions are answered in prose like any other
        self.system_prompt = system_prompt  # fixed per Answerer: load() warms its KV once
        self.whole_doc = whole_doc  # None: every question is answered from retrieval
        # paths -> what those documents say they are (grounding.document_descriptions)
        self.describe = describe
        self.budget = budget  # None: every retrieved passage is offered to the prompt builder
        self.llm = llm
        self.top_k = top_k
        self.max_answer_tokens = max_answer_tokens
        self.temperature = temperature
        self.owner = owner or ModelOwner()

    def builder(self) -> PromptBuilder:
        return PromptBuilder(self.llm.prepare, self.llm.n_ctx, self.max_answer_tokens, self.system_prompt)

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
        """Yields SourcesEvent, TokenEvent..., then DoneEvent (or ErrorEvent). A whole-document
        request (app.engine.whole_doc) is read part by part instead: ProgressEvents first."""
        t0 = time.perf_counter()
        try:
            target = self.whole_doc.target(question, where) if self.whole_doc is not None else None
            if target is not None:
                yield from self._digest(question, target, history or [], cancel)
                return
            passages = self.retriever.search(retrieval_query(question, history or []), self.top_k, where)
            self.load()
            request = compute_request(question) if self.computes else None
            if request is not None:
                from app.engine.compute_answer import answer_by_computing

                yield from answer_by_computing(self, question, passages, history or [], request,
                                               StopFlag(cancel), t0)
                return
            prompt = self.owner.call(lambda: self.build_prompt(question, passages, history or []))
        except DocentError as e:
            yield ErrorEvent(str(e))
            return
        yield SourcesEvent([s.passage for s in prompt.sources], prompt.prepared.n_tokens,
                           tuple(s.number for s in prompt.sources))
        stats = GenerationStats()
        markers = MarkerFilter(prompt.visible)
        loops = LoopDetector()
        stop = StopFlag(cancel)
        try:
            for piece in self.generate(prompt.prepared, self.max_answer_tokens, stop, stats, loops):
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
        elif loops.loop is not None:
            stats.finish_reason = "repetition"
            log.info("answer stopped after %d tokens: it repeats %r", stats.completion_tokens,
                     loops.loop.unit[:80])
        # A looped answer keeps its text up to the first repetition, in the history too.
        prompt.turn.answer = loops.kept_text().strip()
        yield DoneEvent(self.checked_answer(prompt, stats, time.perf_counter() - t0, passages))

    def build_prompt(self, question: str, passages: Sequence[Passage], history: Sequence[Turn],
                     instruction: str = "") -> BuiltPrompt:
        """This turn's prompt from the passages the budget keeps (on the owner thread: it
        counts tokens with the model). instruction: how to answer (a computed answer's plan)."""
        chosen = passages
        if self.budget is not None:
            chosen = select_passages(passages, self.llm.count_tokens, self.budget)
        return self.builder().build(question, chosen, history, instruction)

    def generate(self, prepared: PreparedPrompt, max_tokens: int, stop: StopFlag,
                 stats: GenerationStats, loops: LoopDetector, grammar: str | None = None,
                 temperature: float | None = None) -> Iterator[str]:
        """The model's pieces for `prepared`, streamed from the owner thread. Once `loops`
        sees the text repeat, `stop` is set (the model stops within a token) and nothing
        more is yielded; `stats` are final when this returns. grammar: GBNF its output follows."""
        heat = self.temperature if temperature is None else temperature
        for piece in self.owner.stream(lambda: self.llm.stream(
                prepared, max_tokens, heat, stop, stats, grammar=grammar), stop):
            if loops.feed(piece):
                stop.set()
                self.owner.call(lambda: None)  # queued behind the stream: its stats are final
                return
            yield piece

    def _digest(self, question: str, target: "DocumentTarget", history: list[Turn],
                cancel: threading.Event | None) -> Iterator[Event]:
        from app.engine.digest import Digest

        assert self.whole_doc is not None
        try:
            yield from Digest(self, self.whole_doc).run(question, target, history, StopFlag(cancel))
        except DocentError as e:
            yield ErrorEvent(str(e))
        except Exception as e:  # llama.cpp / HTTP / the store: the user hears why, the app lives
            log.exception("reading the whole document failed")
            yield ErrorEvent(f"The model failed while reading {target.path}: {e}")

    def checked_answer(self, prompt: BuiltPrompt, stats: GenerationStats, seconds: float,
                       retrieved: Sequence[Passage] = (), computation: "Computation | None" = None) -> Answer:
        """The Answer of a finished turn: its text with valid markers only, every sentence
        attributed, its figures and its grounding checked against the passages shown. The
        figures of a computation's result line are Docent's own: marked computed."""
        text = clean_markers(prompt.turn.answer, prompt.visible).strip()
        try:
            attributions, figures, grounding = self._checks(text, prompt, retrieved)
        except Exception:  # a check that fails must not cost the user the answer
            log.exception("checking the answer against its sources failed")
            attributions, figures, grounding = [], [], GroundingCheck(Grounding.UNCHECKED)
        if computation is not None:
            a, b = computation.result_span
            figures = [replace(f, status=FigureStatus.COMPUTED) if a <= f.start < b else f for f in figures]
        citations = [NumberedSource(n, prompt.visible[n], True, inferred)
                     for n, inferred in supporting_sources(attributions)]
        return Answer(prompt.turn.question, text, citations,
                      prompt.sources, stats.prompt_tokens, stats.completion_tokens, stats.ttft_s,
                      seconds, stats.finish_reason, self.llm.name, stats.cached_tokens,
                      prompt.turn, attributions, figures, grounding, computation)

    def _checks(self, text: str, prompt: BuiltPrompt, retrieved: Sequence[Passage],
                ) -> tuple[list[SentenceAttribution], list[FigureCheck], GroundingCheck]:
        """Attribution, figure check and grounding, after the stream, against the passages
        as the model saw them."""
        index = PassageIndex({n: p.text for n, p in prompt.visible.items()})
        attributions = attribute(text, index, prompt.visible, [s.number for s in prompt.sources])
        figures = check_figures(text, [(a.start, a.end, a.sources) for a in attributions],
                                PassageFigures(index.figures), prompt.turn.question)
        grounding = check_grounding(prompt.turn.question, text, prompt.sources, attributions,
                                    [p.text for p in retrieved] + self._descriptions(prompt))
        return attributions, figures, grounding

    def _descriptions(self, prompt: BuiltPrompt) -> list[str]:
        if self.describe is None:
            return []
        try:
            return self.describe(list(dict.fromkeys(s.passage.path for s in prompt.sources)))
        except Exception:  # a check that cannot run must not cost the user the answer
            log.exception("reading the documents' descriptions failed")
            return []

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

