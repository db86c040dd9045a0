"""What the answering code needs from a language model, local or remote."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

from app.engine.chat_template import Message


@dataclass
class PreparedPrompt:
    """A prompt in the backend's own form, with its exact (or bounded) token count."""

    n_tokens: int
    payload: Any  # token ids for llama.cpp, a message list for an HTTP endpoint
    stop: tuple[str, ...] = ()
    text: str = ""


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV cache was reused
    completion_tokens: int = 0
    ttft_s: float = 0.0
    seconds: float = 0.0
    finish_reason: str = ""  # stop | length | cancelled
    warnings: list[str] = field(default_factory=list)

    def record(self, text: str, finish_reason: str | None, started: float) -> None:
        """Account for one streamed piece (time to first token, count, why it ended)."""
        if text:
            if self.completion_tokens == 0:
                self.ttft_s = time.perf_counter() - started
            self.completion_tokens += 1
        if finish_reason:
            self.finish_reason = finish_reason


class LLMBackend(Protocol):
    name: str
    n_ctx: int

    def load(self) -> None: ...

    def prepare(self, messages: Sequence[Message]) -> PreparedPrompt: ...

    def count_tokens(self, text: str) -> int: ...

    def warm(self, messages: Sequence[Message]) -> None:
        """Evaluate a fixed prefix (the system prompt) ahead of the first question."""

    def stream(self, prompt: PreparedPrompt, max_tokens: int, temperature: float,
               cancel: threading.Event | None, stats: GenerationStats,
               grammar: str | None = None) -> Iterator[str]:
        """grammar: a GBNF grammar the output must follow (llama.cpp's form); a backend that
        cannot constrain its output passes it on or ignores it (the caller parses leniently)."""

    def close(self) -> None: ...
