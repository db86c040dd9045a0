"""Answer a whole-document request map-reduce: every part of the file is read.

The file's passages (app.engine.whole_doc), numbered as sources, are cut into parts
that fit the model's context. Each part is read with the task and gives short notes,
each note ending with the source numbers it comes from (the model's own [n], or ones
Docent attributes when the model wrote none). Notes that outgrow the context are
condensed again; the rest become the answer, streamed, and checked like any other
(attribution, figures, grounding) against the whole file. A ProgressEvent comes
before each step; Stop takes effect within a token, at any step.

The prompts keep Docent's fixed system prompt, so its KV cache stays warm for the
questions after.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterator, Sequence, TypeVar

from app.engine.answer import StopFlag
from app.engine.attribution import PassageIndex, attribute
from app.engine.backend import GenerationStats, PreparedPrompt
from app.engine.chat_template import Message
from app.engine.citations import MarkerFilter, clean_markers, marker_numbers
from app.engine.events import Answer, DoneEvent, ErrorEvent, Event, ProgressEvent, SourcesEvent, TokenEvent
from app.engine.loops import LoopDetector
from app.engine.prompt import BuiltPrompt, NumberedSource, Turn
from app.engine.whole_doc import DocumentTarget, WholeDocRequests
from ingest.passage import pages_label

if TYPE_CHECKING:
    import threading

    from app.engine.answer import Answerer

log = logging.getLogger(__name__)
T = TypeVar("T")

PART_TOKENS = 2000  # source tokens per part: a step of progress every ~minute on a laptop CPU
NOTE_TOKENS = 200  # the most a part's notes may say
EXTRACT_SOURCES = 3  # sources of a part quoted when its notes say nothing from it
_NOTHING = re.compile(r"^\W*(?:nothing(?: relevant)?|none|n/?a|no relevant \w+)\W*$", re.I)


@dataclass(frozen=True)
class Note:
    text: str  # with its [n] markers
    first_page: int | None  # the pages of the part(s) it notes
    last_page: int | None

    @property
    def label(self) -> str:
        return pages_label(self.first_page, self.last_page)


def page_bounds(sources: Sequence[NumberedSource]) -> tuple[int | None, int | None]:
    pages = [p for s in sources for p in (s.passage.page_start, s.passage.page_end) if p is not None]
    return (min(pages), max(pages)) if pages else (None, None)


def pages_of(sources: Sequence[NumberedSource]) -> str:
    return pages_label(*page_bounds(sources))


def part_message(question: str, name: str, part: Sequence[NumberedSource], i: int, n: int) -> str:
    body = "\n\n".join(f"[{s.number}] {s.passage.pages_label}\n{s.passage.text.strip()}" for s in part)
    return (f"Part {i} of {n} of the document \"{name}\" ({pages_of(part)}):\n\n{body}\n\n"
            f"Task: {question}\n\nWrite short notes from this part only that serve the task, as a "
            "bulleted list; end each note with the number of the source it comes from, like "
            f"[{part[0].number if part else 1}]. Copy figures exactly. If this part holds nothing "
            "for the task, write only: Nothing relevant.")


def notes_message(question: str, name: str, notes: Sequence[Note], condense: bool) -> str:
    body = "\n\n".join(f"From {n.label}:\n{n.text}" for n in notes)
    ask = ("Combine these notes into fewer, shorter notes that serve the task, keeping the source "
           "numbers in square brackets.") if condense else (
        "Answer the task for the whole document from these notes only. Keep the source numbers "
        "of the notes you use, in square brackets, like [3].")
    return (f"Notes taken while reading the document \"{name}\", part by part:\n\n{body}\n\n"
            f"Task: {question}\n\n{ask}")


class Digest:
    def __init__(self, answerer: "Answerer", reader: WholeDocRequests,
                 part_tokens: int = PART_TOKENS, note_tokens: int = NOTE_TOKENS) -> None:
        self.answerer = answerer
        self.reader = reader
        self.part_tokens = part_tokens
        self.note_tokens = note_tokens
        self.read = GenerationStats()  # every step's prompt and completion tokens, summed

    @property
    def llm(self) -> Any:  # the answerer's backend (LocalLLM or RemoteLLM)
        return self.answerer.llm

    def run(self, question: str, target: DocumentTarget, history: Sequence[Turn],
            stop: "threading.Event") -> Iterator[Event]:
        t0 = time.perf_counter()
        passages = self.reader.passages(target.file_id)
        if not passages:
            yield ErrorEvent(f"{target.path} has no indexed text to read.")
            return
        self.answerer.load()
        first = max([s.number for t in history for s in t.sources] or [0]) + 1
        sources = [NumberedSource(first + i, p) for i, p in enumerate(passages)]
        visible = {s.number: s.passage for s in sources}
        name = passages[0].name
        parts = self.answerer.owner.call(lambda: self._parts(question, name, sources))
        log.info("whole-document request (%s) on %s: %d passages in %d parts", target.why,
                 target.path, len(sources), len(parts))
        total, done = len(parts) + 1, 0
        notes: list[Note] = []
        for i, part in enumerate(parts):
            yield ProgressEvent(done, total, f"Reading {pages_of(part) or f'part {i + 1}'} of {name}")
            text = self._generate(part_message(question, name, part, i + 1, len(parts)), stop)
            done += 1
            if stop.is_set():
                break
            note = self._noted(text, part)
            if note is not None:
                notes.append(note)
        while not stop.is_set() and len(notes) > 1 and not self._fits(question, name, notes):
            groups = self._groups(question, name, notes)
            total += len(groups)
            condensed = []
            for g in groups:
                yield ProgressEvent(done, total, f"Combining the notes on {name}")
                text = self._generate(notes_message(question, name, g, condense=True), stop) \
                    if len(g) > 1 else g[0].text
                done += 1
                pages = [p for n in g for p in (n.first_page, n.last_page) if p is not None]
                condensed.append(Note(clean_markers(text.strip(), visible),
                                      min(pages, default=None), max(pages, default=None)))
            if len(condensed) >= len(notes):  # every note alone fills the context
                log.warning("notes on %s do not condense; the later half is left out", name)
                condensed = notes[: len(notes) // 2]
            notes = condensed
        if stop.is_set():
            yield DoneEvent(self._finish(question, "", [], visible, passages, t0, "cancelled"))
            return
        noted = [NumberedSource(n, visible[n]) for n in
                 marker_numbers("\n".join(n.text for n in notes)) if n in visible]
        yield SourcesEvent([s.passage for s in noted], self.read.prompt_tokens, tuple(s.number for s in noted))
        yield ProgressEvent(done, total, f"Writing the answer from the notes on {name}")
        yield from self._final(question, name, notes, noted, visible, passages, stop, t0, len(parts))

    # --- steps -------------------------------------------------------------------------
    def _final(self, question: str, name: str, notes: list[Note], noted: list[NumberedSource],
               visible: dict[int, Any], passages: list[Any], stop: "threading.Event", t0: float,
               n_parts: int) -> Iterator[Event]:
        if not notes:
            text = (f"I read all of {name} ({n_parts} part(s)) and found nothing in it for this "
                    "request.")
            yield TokenEvent(text)
            yield DoneEvent(self._finish(question, text, noted, visible, passages, t0, "stop"))
            return
        markers, loops = MarkerFilter(visible), LoopDetector()
        for piece in self._stream(notes_message(question, name, notes, condense=False), stop,
                                  self.answerer.max_answer_tokens, loops):
            shown = markers.feed(piece)
            if shown:
                self.read.ttft_s = self.read.ttft_s or time.perf_counter() - t0
                yield TokenEvent(shown)
        tail = markers.flush()
        if tail:
            yield TokenEvent(tail)
        reason = "cancelled" if stop.is_set() else self.read.finish_reason
        # A looped answer keeps its text up to the first repetition, as in Answerer.ask.
        yield DoneEvent(self._finish(question, loops.kept_text(), noted, visible, passages, t0, reason))

    def _finish(self, question: str, text: str, noted: list[NumberedSource], visible: dict[int, Any],
                passages: list[Any], t0: float, reason: str) -> Answer:
        self.read.finish_reason = reason
        turn = Turn(question, text.strip(), list(noted))
        prompt = BuiltPrompt(PreparedPrompt(self.read.prompt_tokens, None), turn, visible, 0)
        answer = self.answerer.checked_answer(prompt, self.read, time.perf_counter() - t0, passages)
        # The chat keeps the sources the answer cites: a follow-up re-reads them, not the file.
        cited = {c.number for c in answer.citations}
        turn.sources = [s for s in noted if s.number in cited] or noted[:3]
        answer.sources = list(turn.sources)
        return answer

    def _parts(self, question: str, name: str, sources: list[NumberedSource]) -> list[list[NumberedSource]]:
        """Consecutive sources, as many a part as fit both part_tokens and the context."""
        overhead = self.llm.prepare(self._messages(part_message(question, name, [], 1, 1))).n_tokens
        room = max(64, min(self.part_tokens, self.llm.n_ctx - self.note_tokens - overhead - 32))
        sized = []
        for s in sources:
            cost = self.llm.count_tokens(s.passage.text) + 8  # its "[n] p. 5" line
            if cost > room:  # one source too long for the context alone: read its head
                keep = max(40, int(len(s.passage.text) * room / cost) - 40)
                s = NumberedSource(s.number, replace(s.passage, text=s.passage.text[:keep]))
                cost = room
            sized.append((s, cost))
        return pack(sized, room)

    def _fits(self, question: str, name: str, notes: Sequence[Note]) -> bool:
        limit = self.llm.n_ctx - self.answerer.max_answer_tokens - 8
        msgs = self._messages(notes_message(question, name, notes, condense=False))
        fits: bool = self.answerer.owner.call(lambda: self.llm.prepare(msgs).n_tokens) <= limit
        return fits

    def _groups(self, question: str, name: str, notes: list[Note]) -> list[list[Note]]:
        """Runs of notes whose condensing prompt fits the context."""
        room = self.llm.n_ctx - self.note_tokens - 200
        sizes = self.answerer.owner.call(lambda: [self.llm.count_tokens(n.text) + 12 for n in notes])
        return pack(list(zip(notes, sizes, strict=True)), room)

    def _noted(self, text: str, part: Sequence[NumberedSource]) -> Note | None:
        """The part's notes, each sentence ending with its source: the model's [n], or the
        passage Docent attributes it to. A sentence no passage of the part supports is not a
        note on it (a small model restating the task, or inventing), and is dropped; when
        nothing is left of a note that was not "nothing relevant", the part is noted by its
        own opening sentences instead, so what the answer says stays traceable to pages."""
        numbers = [s.number for s in part]
        text = clean_markers(text.strip(), numbers)
        if _NOTHING.match(text):
            return None
        index = PassageIndex({s.number: s.passage.text for s in part})
        kept = []
        for a in attribute(text, index, numbers):
            sentence = text[a.start:a.end].strip()
            if a.sources and not a.inferred:
                kept.append(sentence)
            elif a.sources:
                kept.append(f"{sentence} [{', '.join(map(str, a.sources))}]")
        if not kept:
            log.info("notes on %s held nothing from the part; noting its opening sentences", pages_of(part))
            kept = [f"- {_opening(s.passage.text)} [{s.number}]" for s in part[:EXTRACT_SOURCES]]
        return Note("\n".join(kept), *page_bounds(part))

    # --- the model ---------------------------------------------------------------------
    def _messages(self, user: str) -> list[Message]:
        return self.answerer.builder().system_messages() + [Message("user", user)]

    def _generate(self, user: str, stop: "threading.Event") -> str:
        return "".join(self._stream(user, stop, self.note_tokens))

    def _stream(self, user: str, stop: "threading.Event", max_tokens: int,
                loops: LoopDetector | None = None) -> Iterator[str]:
        prepared = self.answerer.owner.call(lambda: self.llm.prepare(self._messages(user)))
        stats, loops = GenerationStats(), loops or LoopDetector()
        try:  # a loop ends this step (its own flag), not the whole request
            yield from self.answerer.generate(prepared, max_tokens, StopFlag(stop), stats, loops)
        finally:
            self.read.prompt_tokens += stats.prompt_tokens
            self.read.cached_tokens += stats.cached_tokens
            self.read.completion_tokens += stats.completion_tokens
            self.read.finish_reason = "repetition" if loops.loop is not None else stats.finish_reason


def pack(items: Sequence[tuple[T, int]], room: int) -> list[list[T]]:
    """Consecutive items, greedily, into runs whose sizes sum to at most `room` (an item
    larger than room alone is a run of its own)."""
    runs: list[list[T]] = [[]]
    used = 0
    for item, size in items:
        if runs[-1] and used + size > room:
            runs.append([])
            used = 0
        runs[-1].append(item)
        used += size
    return runs


def _opening(text: str, words: int = 30) -> str:
    """The first sentence of a passage, at most `words` words."""
    flat = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s+", flat, maxsplit=1)[0]
    cut = first.split()
    return " ".join(cut[:words]) + ("…" if len(cut) > words else "")
