"""A chat's value types: its scope, its turns and the sources each answer was shown.

Stored by ChatStore (app/core/chats.py); plain frozen/mutable dataclasses, no I/O.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.engine.events import Answer
    from app.engine.prompt import NumberedSource
    from app.engine.scope import Scope

DEFAULT_TITLE = "New chat"
TITLE_CHARS = 60


@dataclass(frozen=True)
class ChatScope:
    """Which documents a chat draws on; empty means all of them. Paths are absolute."""

    folders: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "folders", _norm(self.folders))
        object.__setattr__(self, "files", _norm(self.files))

    @property
    def is_all(self) -> bool:
        return not self.folders and not self.files

    def to_scope(self) -> "Scope | None":
        from app.engine.scope import Scope

        return Scope.of(self.folders, self.files)

    def where(self) -> dict[str, Any] | None:
        """The engine's where dict (keys `folder`, `path`), or None for all documents."""
        from app.engine.scope import where_of

        return where_of(self.folders, self.files)

    def describe(self) -> str:
        if self.is_all:
            return "All documents"
        if len(self.folders) + len(self.files) == 1:
            return f"Folder {Path(self.folders[0]).name}" if self.folders else Path(self.files[0]).name
        parts = [f"{n} {word}{'' if n == 1 else 's'}"
                 for n, word in ((len(self.folders), "folder"), (len(self.files), "file")) if n]
        return ", ".join(parts)


@dataclass
class ChatTurn:
    question: str
    answer: str  # as shown (invalid [n] markers removed, Docent's "[~n]" and flags added)
    sources: list["NumberedSource"] = field(default_factory=list)  # new ones first, then re-used ones
    stopped: bool = False  # the user stopped it: kept and shown, not fed back to the model
    created_at: float = field(default_factory=time.time)
    raw_answer: str = ""  # what the model wrote, fed back in history; "" means `answer`
    notes: list[str] = field(default_factory=list)  # what Docent's checks flagged (answer_marks)

    @classmethod
    def from_answer(cls, answer: "Answer", stopped: bool = False) -> "ChatTurn":
        """The turn to store for an engine Answer: its text as shown (with Docent's marks),
        its sources and which of them it cited, and the checks' notes."""
        from app.engine.answer_marks import answer_notes, shown_text

        cited = {c.number for c in answer.citations}
        raw = answer.turn.answer if answer.turn is not None else answer.text
        return cls(answer.question, shown_text(answer), [replace(s, cited=s.number in cited) for s in answer.sources],
                   stopped, raw_answer=raw, notes=answer_notes(answer))


@dataclass
class Chat:
    id: int
    title: str
    created_at: float
    updated_at: float
    scope: ChatScope = field(default_factory=ChatScope)
    turns: list[ChatTurn] = field(default_factory=list)  # empty from list(): get() loads them


def first_question_title(question: str) -> str:
    """A chat's automatic title: its first question, whitespace collapsed, cut at a word."""
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text
    cut = text[:TITLE_CHARS].rsplit(" ", 1)[0] or text[:TITLE_CHARS]
    return cut.rstrip(",;:.-") + "…"


def _norm(paths: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for p in paths:
        seen.setdefault(os.path.abspath(os.path.expanduser(str(p))), None)
    return tuple(seen)
