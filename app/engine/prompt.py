"""Build the prompt: fixed system text, earlier turns, then sources + question.

Order matters for speed: the system prompt and earlier turns come first and
never change between questions of one chat, so llama.cpp can reuse their KV
cache; only the sources and the new question are evaluated fresh.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from app.engine.chat_template import ChatTemplate, Message
from app.engine.retrieval import Passage

SYSTEM_PROMPT = (
    "You are Docent, an assistant that answers questions using only the user's documents. "
    "The user message contains numbered sources followed by a question. Answer from the "
    "sources, concisely. After each claim, cite the source number in square brackets, like [1] "
    "or [2, 3]. If the sources do not contain the answer, say that the documents do not say.")


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


@dataclass
class BuiltPrompt:
    text: str
    tokens: list[int]
    passages: list[Passage]  # numbered 1..n in this order
    history_turns: int
    truncated: bool = False
    dropped_passages: int = 0
    family: str = ""
    stop: tuple[str, ...] = field(default_factory=tuple)


def format_sources(passages: Sequence[Passage]) -> str:
    parts = []
    for i, p in enumerate(passages, start=1):
        where = f"{p.name}, {p.pages_label}" if p.pages_label else p.name
        parts.append(f"[{i}] {where}\n{p.text.strip()}")
    return "\n\n".join(parts)


def user_message(question: str, passages: Sequence[Passage]) -> str:
    if not passages:
        return f"Sources: none found.\n\nQuestion: {question}"
    return f"Sources:\n\n{format_sources(passages)}\n\nQuestion: {question}"


class PromptBuilder:
    def __init__(self, template: ChatTemplate, tokenize: Callable[[str], list[int]], n_ctx: int,
                 answer_tokens: int, system_prompt: str = SYSTEM_PROMPT) -> None:
        self.template = template
        self.tokenize = tokenize
        self.n_ctx = n_ctx
        self.answer_tokens = answer_tokens
        self.system_prompt = system_prompt

    @property
    def budget(self) -> int:
        """Prompt tokens allowed: what's left after the answer's room and a small margin."""
        return max(64, self.n_ctx - self.answer_tokens - 8)

    def _render(self, history: Sequence[Turn], question: str, passages: Sequence[Passage]):  # type: ignore[no-untyped-def]
        msgs = [Message("system", self.system_prompt)]
        for t in history:
            msgs += [Message("user", t.question), Message("assistant", t.answer)]
        msgs.append(Message("user", user_message(question, passages)))
        rendered = self.template.render(msgs)
        return rendered, self.tokenize(rendered.text)

    def build(self, question: str, passages: Sequence[Passage],
              history: Sequence[Turn] = ()) -> BuiltPrompt:
        """Fit into the budget: drop oldest turns first, then lowest-ranked passages,
        then shorten the last passage. Never exceeds n_ctx."""
        history = list(history)
        kept = list(passages)
        dropped = 0
        truncated = False
        rendered, tokens = self._render(history, question, kept)
        while len(tokens) > self.budget:
            if history:
                history.pop(0)
            elif len(kept) > 1:
                kept.pop()
                dropped += 1
            elif kept and len(kept[0].text) > 80:
                over = len(tokens) - self.budget
                p = kept[0]
                # ~4 chars per token; cut a bit more than needed so this converges fast
                cut = max(40, len(p.text) - int(over * 4.5) - 40)
                kept[0] = Passage(p.chunk_id, p.path, p.page_start, p.page_end, p.text[:cut],
                                  p.score, p.heading)
                truncated = True
            else:
                # even the bare question is too long: keep its end, the part that asks
                question = question[len(question) // 4:]
                truncated = True
                if not question:
                    break
            rendered, tokens = self._render(history, question, kept)
        return BuiltPrompt(rendered.text, tokens, kept, len(history), truncated, dropped,
                           rendered.family, rendered.stop)
