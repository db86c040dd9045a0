"""Build the prompt of one chat turn inside the model's context budget.

Layout, chosen so consecutive questions share the longest possible prefix
(llama.cpp then reuses that part of its KV cache instead of re-evaluating it):

  [system: fixed]  [user: sources 1..6 + question 1]  [assistant: answer 1]
  [user: only the sources not shown yet (7, 8) + question 2]  ...

Source numbers are global within a chat, so [3] means the same passage in
every answer. When the conversation outgrows the budget, the oldest turns go
first, then the lowest-ranked new sources, then the tail of the last source.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from app.engine.backend import PreparedPrompt
from app.engine.chat_template import Message
from ingest.passage import Passage

# Every prompt carries this (KV-cached, but still read on a cold start and counted in the
# budget), so it is as short as the rules allow: 84 SmolLM2 tokens, was 117.
SYSTEM_PROMPT = (
    "You are Docent. Answer the question from the numbered sources only, concisely, copying "
    "figures exactly as written. Cite the source after each claim, like [1] or [2, 3]. If the "
    "sources do not answer it, or are about another company, person or period than asked, say "
    "the documents do not contain it and name the documents you looked at; never give a figure "
    "from another document.")


@dataclass(frozen=True)
class NumberedSource:
    """A passage as one answer numbers it ([number] in the prompt and the answer), with
    what the finished answer did with it. The one wrapper of a Passage from the prompt to
    the chat store and the sources pane."""

    number: int
    passage: Passage
    cited: bool | None = None  # the answer points at it; None: not known yet (still being written)
    inferred: bool = False  # cited only by Docent's [~n]: the model wrote no [n] for it


@dataclass
class Turn:
    question: str
    answer: str
    sources: list[NumberedSource] = field(default_factory=list)  # shown first in this turn
    reused: list[int] = field(default_factory=list)  # earlier numbers pointed at again


@dataclass
class BuiltPrompt:
    prepared: PreparedPrompt
    turn: Turn  # the new turn (answer empty until generated)
    visible: dict[int, Passage]  # every source number the model can see, history included
    history_turns: int
    dropped_passages: int = 0
    truncated: bool = False

    @property
    def sources(self) -> list[NumberedSource]:
        """Sources for this answer: the new ones, then the re-used earlier ones."""
        reused = [NumberedSource(n, self.visible[n]) for n in self.turn.reused]
        return self.turn.sources + reused


def format_sources(sources: Sequence[NumberedSource]) -> str:
    parts = []
    for s in sources:
        p = s.passage
        where = f"{p.name}, {p.pages_label}" if p.pages_label else p.name
        parts.append(f"[{s.number}] {where}\n{p.text.strip()}")
    return "\n\n".join(parts)


def user_message(turn: Turn, instruction: str = "") -> str:
    lines = []
    if turn.sources:
        lines.append(f"Sources:\n\n{format_sources(turn.sources)}")
    if turn.reused:
        lines.append("Also relevant, shown above: " + ", ".join(f"[{n}]" for n in turn.reused) + ".")
    if not turn.sources and not turn.reused:
        lines.append("Sources: none found.")
    lines.append(f"Question: {turn.question}")
    if instruction:  # how to answer this one question (a computed answer's form); not kept in the history
        lines.append(instruction)
    return "\n\n".join(lines)


class PromptBuilder:
    def __init__(self, prepare: Callable[[Sequence[Message]], PreparedPrompt], n_ctx: int,
                 answer_tokens: int, system_prompt: str = SYSTEM_PROMPT) -> None:
        self.prepare = prepare
        self.n_ctx = n_ctx
        self.answer_tokens = answer_tokens
        self.system_prompt = system_prompt

    @property
    def budget(self) -> int:
        """Prompt tokens allowed: what's left after the answer's room and a small margin."""
        return max(64, self.n_ctx - self.answer_tokens - 8)

    @staticmethod
    def follow_up_new(k: int) -> int:
        """New sources a follow-up may add: a third of a fresh question's."""
        return max(1, -(-k // 3))

    def system_messages(self) -> list[Message]:
        return [Message("system", self.system_prompt)]

    def _messages(self, history: Sequence[Turn], turn: Turn, instruction: str = "") -> list[Message]:
        msgs = self.system_messages()
        for t in history:
            msgs += [Message("user", user_message(t)), Message("assistant", t.answer)]
        return msgs + [Message("user", user_message(turn, instruction))]

    def build(self, question: str, passages: Sequence[Passage],
              history: Sequence[Turn] = (), instruction: str = "") -> BuiltPrompt:
        history = list(history)
        # Numbers never repeat within a chat, even after old turns leave the window.
        first = max([s.number for t in history for s in t.sources] or [0]) + 1
        ranked = list(passages)
        dropped, truncated = 0, False
        while True:
            turn, visible = _new_turn(question, ranked, history, first)
            if turn.reused and len(turn.sources) > self.follow_up_new(len(passages)):
                # A follow-up on the topic under discussion: its best passages are already
                # in the conversation (and the KV cache), so add only the best few new ones.
                for extra in turn.sources[self.follow_up_new(len(passages)):]:
                    ranked.remove(extra.passage)
                continue
            prepared = self.prepare(self._messages(history, turn, instruction))
            if prepared.n_tokens <= self.budget:
                return BuiltPrompt(prepared, turn, visible, len(history), dropped, truncated)
            if history:
                history.pop(0)
            elif len(turn.sources) > 1:
                ranked.remove(turn.sources[-1].passage)
                dropped += 1
            elif turn.sources and len(turn.sources[0].passage.text) > 80:
                p = turn.sources[0].passage
                over = prepared.n_tokens - self.budget
                cut = max(40, len(p.text) - int(over * 4.5) - 40)  # ~4 chars a token, overshoot a bit
                # as trimming does: the model reads less, the viewer still lights the passage
                ranked[ranked.index(p)] = replace(p, text=p.text[:cut])
                truncated = True
            elif len(question) > 20:
                question = question[len(question) // 4:]  # keep the end, the part that asks
                truncated = True
            else:
                return BuiltPrompt(prepared, turn, visible, len(history), dropped, truncated)


def _new_turn(question: str, ranked: Sequence[Passage], history: Sequence[Turn],
              next_number: int) -> tuple[Turn, dict[int, Passage]]:
    visible: dict[int, Passage] = {}
    by_chunk: dict[str, int] = {}
    for t in history:
        for s in t.sources:
            visible[s.number] = s.passage
            by_chunk[s.passage.chunk_id] = s.number
    turn = Turn(question, "")
    for p in ranked:
        if p.chunk_id in by_chunk:
            if by_chunk[p.chunk_id] not in turn.reused:
                turn.reused.append(by_chunk[p.chunk_id])
            continue
        turn.sources.append(NumberedSource(next_number, p))
        visible[next_number] = p
        next_number += 1
    return turn, visible
