"""Real llama.cpp (SmolLM2): owner thread, stop latency, KV-cache reuse across a chat."""
from __future__ import annotations

import threading

import pytest

from app.engine.answer import Answerer
from app.engine.events import DoneEvent, SourcesEvent, TokenEvent
from ingest.passage import Passage

pytestmark = pytest.mark.slow  # SmolLM2 loaded and generating through llama.cpp


class ListRetriever:
    """Fixed passages: these tests are about the model side, not retrieval."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def search(self, query, k, where=None):  # type: ignore[no-untyped-def]
        return self.passages[:k]


def _passages(n: int, words: int = 60) -> list[Passage]:
    return [Passage(f"c:{i}", f"/docs/report{i}.pdf", i + 1, i + 1,
                    f"Report {i}. " + " ".join(f"The figure for item {j} is {j * i}." for j in range(words // 8)),
                    0.9 - i / 100) for i in range(n)]


@pytest.fixture(scope="module")
def answerer(smollm_path):
    from app.engine.llm import LocalLLM

    a = Answerer(ListRetriever(_passages(6)), LocalLLM(smollm_path, n_ctx=8192, n_threads=2),
                 top_k=6, max_answer_tokens=400, temperature=0.7)
    a.load()
    yield a
    a.close()


def _run(events):  # type: ignore[no-untyped-def]
    out = {"tokens": [], "done": None}
    for e in events:
        if isinstance(e, TokenEvent):
            out["tokens"].append(e.text)
        elif isinstance(e, DoneEvent):
            out["done"] = e.answer
    return out


def test_model_calls_happen_on_the_owner_thread(answerer):
    seen = []
    real = answerer.llm.prepare

    def spy(messages):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread())
        return real(messages)

    answerer.llm.prepare = spy
    try:
        _run(answerer.ask("What is the figure for item 3?"))
    finally:
        answerer.llm.prepare = real
    assert seen and all(t is answerer.owner.thread for t in seen)


def test_stop_during_generation_is_fast_and_model_stays_usable(answerer):
    cancel = threading.Event()
    tokens = after_stop = 0
    events = answerer.ask("Write a long essay about every report, item by item.", cancel=cancel)
    done = None
    for e in events:
        if isinstance(e, TokenEvent):
            tokens += 1
            after_stop += cancel.is_set()
            if tokens == 3:
                cancel.set()
        elif isinstance(e, DoneEvent):
            done = e.answer
    assert cancel.is_set() and done is not None
    # Within a token of the stop, whatever this machine's speed (the seconds are in
    # tests/bench: bench_answer's stop figures): at most the one already in flight.
    assert after_stop <= 1, f"{after_stop} tokens arrived after Stop"
    assert done.finish_reason == "cancelled" and done.completion_tokens <= 4
    again = _run(answerer.ask("What is the figure for item 2?"))
    assert again["done"] is not None and "".join(again["tokens"]).strip()


class _StopOnceEvaluating(threading.Event):
    """Sets itself once llama.cpp's abort callback has polled it many times: the prompt's
    evaluation is then under way (the callback runs per graph node of a decode), on any CPU."""

    POLLS = 200

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0
        self.polls_when_set = 0

    def is_set(self) -> bool:
        if not super().is_set():  # the few checks before a decode starts stay far below POLLS
            self.polls += 1
            if self.polls >= self.POLLS:
                self.polls_when_set = self.polls
                self.set()
        return super().is_set()


def test_stop_interrupts_a_long_prompt_evaluation(smollm_path):
    from app.engine.llm import LocalLLM

    # ~6,000 prompt tokens: several seconds of evaluation for SmolLM2 on 2 cores.
    a = Answerer(ListRetriever(_passages(40, 160)), LocalLLM(smollm_path, n_ctx=8192, n_threads=2),
                 top_k=40, max_answer_tokens=64)
    a.load()
    try:
        cancel = _StopOnceEvaluating()
        events = a.ask("Summarise all reports.", cancel=cancel)
        first = next(events)
        assert isinstance(first, SourcesEvent) and first.prompt_tokens > 4000
        result = None
        for e in events:
            if isinstance(e, DoneEvent):
                result = e.answer
        assert cancel.polls_when_set > 0, "the stop was asked while the prompt was being evaluated"
        assert result is not None and result.finish_reason == "cancelled"
        assert result.completion_tokens == 0, "stopped before the prompt was evaluated"
        a.top_k = 2  # a short follow-up: the model must still work after an aborted decode
        after = _run(a.ask("Summarise report 1."))
        assert after["done"] is not None and after["done"].finish_reason in ("stop", "length")
    finally:
        a.close()


def test_follow_up_reuses_the_kv_cache(answerer):
    chat = answerer.chat()
    first = _run(chat.ask("What is the figure for item 4 in report 1?"))["done"]
    second = _run(chat.ask("And in report 2?"))["done"]
    assert first is not None and second is not None
    assert len(chat.turns) == 2
    # Everything of the first turn (system, sources, question, answer) is served from cache.
    assert second.cached_tokens >= first.prompt_tokens
    assert second.prompt_tokens - second.cached_tokens < first.prompt_tokens / 2


def test_follow_up_is_retrieved_with_the_question_before_it(answerer):
    queries: list[str] = []
    inner = answerer.retriever

    class Recording:
        def search(self, query, k, where=None):  # type: ignore[no-untyped-def]
            queries.append(query)
            return inner.search(query, k, where)

    answerer.retriever = Recording()
    try:
        chat = answerer.chat()
        _run(chat.ask("What is the figure for item 4 in report 1?"))
        _run(chat.ask("And a year earlier?"))
    finally:
        answerer.retriever = inner
    assert queries == ["What is the figure for item 4 in report 1?",
                       "What is the figure for item 4 in report 1? And a year earlier?"]


def test_an_answerer_keeps_its_own_system_prompt(smollm_path):
    """The answer benchmark A/Bs the prompt's rules through this: every prompt the model
    reads (the warmed prefix and each question) starts with them; the default is Docent's."""
    from app.engine.llm import LocalLLM
    from app.engine.prompt import SYSTEM_PROMPT

    rules = "You are a test assistant. Answer in one short sentence from the sources."
    a = Answerer(ListRetriever(_passages(2)), LocalLLM(smollm_path, n_ctx=2048, n_threads=2),
                 max_answer_tokens=16, temperature=0.0, system_prompt=rules)
    seen = []
    real = a.llm.prepare

    def spy(messages):  # type: ignore[no-untyped-def]
        seen.append(list(messages))
        return real(messages)

    a.llm.prepare = spy
    try:
        a.load()
        out = _run(a.ask("What is the figure for item 1?"))
    finally:
        a.close()
    assert out["done"] is not None and out["done"].text
    assert any(m[-1].role == "user" for m in seen)  # the question's prompt was among them
    assert all(m[0].role == "system" and m[0].content == rules for m in seen)
    assert Answerer(ListRetriever([]), a.llm).builder().system_messages()[0].content == SYSTEM_PROMPT
