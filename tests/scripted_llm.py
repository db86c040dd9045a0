"""A scripted language model for tests whose subject is not the model.

As simonw/llm's MockModel does, answers are queued and handed out in order; with
none queued, a fixed default answer citing [1] is given. It implements
app.engine.backend.LLMBackend, so an Answerer, a Library or a Core takes it where
they take llama.cpp:

    llms = ScriptedLLMs()                       # the maker: one ScriptedLLM per model load
    core = Core(settings, embedder=..., llm=llms)   # or Library(settings, llm=llms)
    llms.enqueue("The bakery opens at 6:30 [1].")
    llms.enqueue("A long answer to stop ...", hold_after=1)   # waits for the stop after 1 piece

Tokens are counted as words and punctuation marks (deterministic, no tokenizer);
a stream yields one word (with its trailing space) per token, stops after
`max_tokens` ("length"), at a cancel ("cancelled") or at the end ("stop").
"""
from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from app.engine.backend import GenerationStats, PreparedPrompt
from app.engine.chat_template import Message

DEFAULT_ANSWER = ("According to the sources, the answer is given plainly in the first passage [1], which "
                  "states the details asked for; nothing else in the library contradicts what it says, "
                  "and the other passages add only context.")
HOLD_S = 120.0  # a held answer ends on its own after this, so a test that never stops it cannot hang


def pieces_of(text: str) -> tuple[str, ...]:
    """One piece per word, each with the spaces after it: joined, they give `text` back."""
    return tuple(re.findall(r"\s*\S+\s*", text)) or (text,)


@dataclass(frozen=True)
class Scripted:
    """One queued answer: its pieces, and after how many of them it waits for a stop."""

    pieces: tuple[str, ...]
    hold_after: int | None = None


class AnswerQueue:
    """Answers in the order they will be given; shared by every model a maker made."""

    def __init__(self, default: str = DEFAULT_ANSWER) -> None:
        self.default = default
        self._answers: deque[Scripted] = deque()
        self._lock = threading.Lock()

    def enqueue(self, answer: str | Sequence[str], hold_after: int | None = None) -> None:
        pieces = pieces_of(answer) if isinstance(answer, str) else tuple(answer)
        with self._lock:
            self._answers.append(Scripted(pieces, hold_after))

    def next(self) -> Scripted:
        with self._lock:
            return self._answers.popleft() if self._answers else Scripted(pieces_of(self.default))

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)


def count_tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


class ScriptedLLM:
    """An LLMBackend that answers from an AnswerQueue and records what it was asked."""

    def __init__(self, name: str = "scripted.gguf", n_ctx: int = 4096,
                 answers: AnswerQueue | None = None) -> None:
        self.name = name
        self.n_ctx = n_ctx
        self.answers = answers if answers is not None else AnswerQueue()
        self.warnings: list[str] = []
        self.loads = 0  # loads that did something (load() is called before every answer)
        self.loaded = False
        self.closed = False
        self.warmed: list[str] = []  # the prefixes warm() was given
        self.prompts: list[str] = []  # every prompt streamed, in order
        self.finishes: list[str] = []  # how each stream ended: stop | length | cancelled
        self.grammars: list[str | None] = []  # the grammar each stream was given (None: free text)
        self.threads: set[str] = set()  # the threads that called the model

    def enqueue(self, answer: str | Sequence[str], hold_after: int | None = None) -> None:
        self.answers.enqueue(answer, hold_after)

    def _called(self) -> None:
        self.threads.add(threading.current_thread().name)

    def load(self) -> None:
        self._called()
        if not self.loaded:
            self.loads += 1
            self.loaded, self.closed = True, False

    def count_tokens(self, text: str) -> int:
        self._called()
        return count_tokens(text)

    @staticmethod
    def render(messages: Sequence[Message], generation_prompt: bool = True) -> str:
        text = "".join(f"<|{m.role}|>\n{m.content}\n" for m in messages)
        return text + ("<|assistant|>\n" if generation_prompt else "")

    def prepare(self, messages: Sequence[Message]) -> PreparedPrompt:
        self._called()
        text = self.render(messages)
        return PreparedPrompt(count_tokens(text), text, (), text)

    def warm(self, messages: Sequence[Message]) -> None:
        self._called()
        self.warmed.append(self.render(messages, generation_prompt=False))

    def stream(self, prompt: PreparedPrompt, max_tokens: int, temperature: float,
               cancel: threading.Event | None, stats: GenerationStats,
               grammar: str | None = None) -> Iterator[str]:
        self._called()
        self.grammars.append(grammar)  # a computed answer's plan is asked for under a grammar
        text = str(prompt.payload)
        stats.prompt_tokens = prompt.n_tokens
        stats.cached_tokens = self._cached(text)
        self.prompts.append(text)
        script = self.answers.next()
        t0 = time.perf_counter()
        stopped = lambda: cancel is not None and cancel.is_set()  # noqa: E731
        try:
            for i, piece in enumerate(script.pieces):
                if script.hold_after is not None and i == script.hold_after:
                    deadline = time.monotonic() + HOLD_S
                    while not stopped() and time.monotonic() < deadline:
                        time.sleep(0.005)
                if stopped():
                    stats.finish_reason = "cancelled"
                    return
                if i >= max_tokens:
                    stats.finish_reason = "length"
                    return
                stats.record(piece, None, t0)
                yield piece
            stats.finish_reason = "cancelled" if stopped() else "stop"
        finally:
            stats.seconds = time.perf_counter() - t0
            self.finishes.append(stats.finish_reason or "closed")  # closed: its consumer left

    def _cached(self, text: str) -> int:
        """Tokens this prompt shares at its start with the one before (a KV cache's reuse)."""
        if not self.prompts:
            before = self.warmed[-1] if self.warmed else ""
        else:
            before = self.prompts[-1]
        n = 0
        for a, b in zip(before, text, strict=False):  # the shared start of two lengths
            if a != b:
                break
            n += 1
        return count_tokens(text[:n])

    def close(self) -> None:
        self._called()
        self.loaded, self.closed = False, True


class ScriptedLLMs:
    """The `llm=` maker a Library or Core is given: a ScriptedLLM per model load, named
    as the model the settings (or the caller) chose, with the settings' context size;
    all of them answer from one queue."""

    def __init__(self, default: str = DEFAULT_ANSWER) -> None:
        self.answers = AnswerQueue(default)
        self.made: list[ScriptedLLM] = []

    def __call__(self, settings: Any, model: str | None = None) -> ScriptedLLM:
        name = Path(model or settings.model_path or "scripted.gguf").name
        llm = ScriptedLLM(name, settings.n_ctx or 4096, self.answers)
        self.made.append(llm)
        return llm

    def enqueue(self, answer: str | Sequence[str], hold_after: int | None = None) -> None:
        self.answers.enqueue(answer, hold_after)

    @property
    def prompts(self) -> list[str]:
        return [p for llm in self.made for p in llm.prompts]

    @property
    def loads(self) -> int:
        return sum(llm.loads for llm in self.made)

    @property
    def finishes(self) -> list[str]:
        return [f for llm in self.made for f in llm.finishes]


@dataclass
class AnswerModel:
    """What a test answers with: the scripted model, or a real GGUF through llama.cpp."""

    path: str  # what load_model, settings.model_path or --model are given
    llm: ScriptedLLMs | None  # the llm= maker; None: the real model at `path`

    @property
    def scripted(self) -> bool:
        return self.llm is not None

    def hold_next(self) -> None:
        """The next answer lasts until it is stopped (SmolLM2's long answers do by themselves)."""
        if self.llm is not None:
            self.llm.enqueue(DEFAULT_ANSWER, hold_after=1)
