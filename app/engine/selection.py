"""How many passages go into the prompt: by token budget and score gap, not a fixed k.

Every prompt token costs time on a CPU, so a passage joins only if it fits the
remaining budget and its score is close enough to the best one; a source far
below the top is more likely to distract a small model than to help it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import AbstractSet, Any, Callable, Protocol, Sequence

from app.engine.figures import key_figures
from ingest.passage import Passage, after_heading
from ingest.tables import is_separator, is_table_line

CountTokens = Callable[[str], int]
SOURCE_OVERHEAD_TOKENS = 12  # "[n] name, pp. x-y" line and separators per source


class _Retriever(Protocol):
    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]: ...


@dataclass(frozen=True)
class Budget:
    tokens: int = 1200  # source text allowed in the prompt
    # Drop passages scoring below this share of the best. 0.6, not 0.45: on sec-10-q the
    # prompt's key figures held (0.159 of questions) at 957 tokens instead of 1,055.
    min_relative: float = 0.6
    min_passages: int = 1
    # Documents whose best passage scores this share of the top each get one passage
    # first (a comparison needs each side), then the budget fills best-first.
    each_document_relative: float = 0.9


def select_passages(passages: Sequence[Passage], count_tokens: CountTokens,
                    budget: Budget = Budget()) -> list[Passage]:
    """Passages that fit the budget and clear the score-gap cut, in their given order:
    first the best passage of each near-top document, then the rest best-first."""
    if not passages:
        return []
    top = max(passages[0].score, 1e-9)
    cost = [count_tokens(p.text) + SOURCE_OVERHEAD_TOKENS for p in passages]
    chosen: set[int] = set(range(min(budget.min_passages, len(passages))))
    used = sum(cost[i] for i in chosen)
    seen_docs = {passages[i].path for i in chosen}
    for i, p in enumerate(passages):  # one per document that is about as relevant as the top
        if i in chosen or p.path in seen_docs or p.score < budget.each_document_relative * top:
            continue
        seen_docs.add(p.path)
        if used + cost[i] <= budget.tokens:
            chosen.add(i)
            used += cost[i]
    for i, p in enumerate(passages):
        if i in chosen:
            continue
        if p.score < budget.min_relative * top or used + cost[i] > budget.tokens:
            break
        chosen.add(i)
        used += cost[i]
    return [passages[i] for i in sorted(chosen)]


# --- trimming: the sentences and table rows a question matches ------------------------
# Shorter passages go in whole. 50, not 80: a short table is many tokens per word (its
# figures), and cutting it to its matching rows kept the same key figures on sec-10-q.
TRIM_MIN_WORDS = 50
TRIM_MAX_WORDS = 110  # the most a trimmed passage keeps
HEADER_MAX_WORDS = 40  # a table's column header joins its kept rows if it is this short
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(\"“$])")
_NUMBER = re.compile(r"\(?\$?\d[\d,]*(?:\.\d+)?%?\)?")
_WORD = re.compile(r"[a-z][a-z0-9]*")
GAP = "…"


@dataclass(frozen=True)
class _Unit:
    text: str
    row: bool  # a table row: kept whole, never split


def _stem(word: str) -> str:
    return word[:5]


def _stems(text: str) -> set[str]:
    """The crude stems of every word in `text` (lower-cased)."""
    return {_stem(w) for w in _WORD.findall(text.lower())}


def query_stems(query: str) -> set[str]:
    """The question's content words, crudely stemmed (what a unit must share to be kept)."""
    from app.engine.doc_rank import content_terms

    return {_stem(w) for w in content_terms(query) if not w[0].isdigit()}


def _is_row(line: str) -> bool:
    words = line.split()
    figures = len(_NUMBER.findall(line))
    return (figures >= 2 and figures >= 0.3 * len(words)) or "|" in line or "  " in line.strip()


def _units(text: str) -> list[_Unit]:
    """Table rows whole; the prose between them (PDF lines re-joined) split into sentences."""
    out: list[_Unit] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            out.extend(_Unit(u.strip(), False) for u in _SENTENCE.split(" ".join(prose)) if u.strip())
            prose.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
        elif _is_row(line):
            flush()
            out.append(_Unit(line.strip(), True))
        else:
            prose.append(line.strip())
    flush()
    return out


def _table_heads(units: Sequence[_Unit]) -> dict[int, int]:
    """Markdown table rows (ingest.tables) -> the index of their table's header row (the
    row above a separator); header rows and separators map to it too."""
    heads: dict[int, int] = {}
    head = -1
    for i, u in enumerate(units):
        if not (u.row and is_table_line(u.text)):
            head = -1
            continue
        if i + 1 < len(units) and is_separator(units[i + 1].text):
            head = i
        if head >= 0:
            heads[i] = head
    return heads


def trim_text(text: str, stems: set[str], seen: set[str] | None = None,
              max_words: int = TRIM_MAX_WORDS, shared: set[str] | None = None) -> str:
    """The units of `text` that share a word with the question (most shared first, up
    to max_words, then back in reading order; a kept row brings its column header),
    gaps between them marked "…"; units already in `seen` (another passage's overlap)
    left out, and so are units stating no figure that are in `shared` (any file's passage
    above: boilerplate repeated in every filing says nothing new the second time).
    Text with no matching unit is returned whole (it was retrieved for its meaning);
    text whose matching units are all in `seen` comes back empty."""
    units = _units(text)
    if sum(len(u.text.split()) for u in units) < TRIM_MIN_WORDS or not stems:
        return text
    seen = set() if seen is None else seen
    shared = set() if shared is None else shared
    keys = [" ".join(u.text.lower().split()) for u in units]
    heads = _table_heads(units)
    header_rows = set(heads.values())
    hits = [0 if i in header_rows or is_separator(units[i].text) else len(stems & _stems(k))
            for i, k in enumerate(keys)]
    for h in header_rows:  # a caption comes with its rows: it does not compete with them
        if h > 0 and not units[h - 1].row and any(hits[i] for i, head in heads.items() if head == h):
            hits[h - 1] = 0
    figured: dict[int, bool] = {}  # parsed only for units that could be kept (a hot path)

    def states_figure(i: int) -> bool:
        if i not in figured:
            figured[i] = bool(key_figures(units[i].text))
        return figured[i]

    # Most question words first; among equals one stating a figure, a table row, the shorter.
    order = sorted((i for i, h in enumerate(hits)
                    if h and keys[i] not in seen and (keys[i] not in shared or states_figure(i))),
                   key=lambda i: (-hits[i], not states_figure(i), not units[i].row, len(keys[i])))
    if not order:  # nothing matched: whole; all it matched is shown already: nothing
        return "" if any(hits) else text
    keep: set[int] = set()
    words = 0
    for i in order:
        n = len(units[i].text.split())
        if keep and words + n > max_words:
            continue
        keep.add(i)
        words += n
    for i in sorted(keep):  # a table row keeps its table's header row, separator and caption
        if i in heads:
            h = heads[i]
            keep.update(j for j in (h, h + 1) if j < len(units))
            if h > 0 and not units[h - 1].row and len(units[h - 1].text.split()) <= HEADER_MAX_WORDS:
                keep.add(h - 1)
    for i in sorted(keep):  # a row's header: the prose unit just above its run of rows
        if units[i].row and i not in heads:
            j = i - 1
            while j >= 0 and units[j].row:
                j -= 1
            if j >= 0 and j not in keep and len(units[j].text.split()) <= HEADER_MAX_WORDS:
                keep.add(j)
    seen.update(keys[i] for i in keep)
    shared.update(keys[i] for i in keep if not states_figure(i))
    parts: list[str] = []  # "…" only between kept units: the source line says where it is
    for i in sorted(keep):
        if parts and i - 1 not in keep and not (i in heads and i - 1 in heads):
            parts.append(GAP)  # not inside a table: "…" there would break its rows
        parts.append(units[i].text)
    return "\n".join(parts)


def trim_passages(passages: Sequence[Passage], query: str) -> list[Passage]:
    """Each passage's prompt text cut to what the question matches, no unit twice in one
    file's passages (the chunker's overlap) nor a figure-free one twice at all, headings
    as `shown_heading` says; `body` and `spans` keep the whole passage (the viewer's)."""
    stems = query_stems(query)
    seen: dict[str, set[str]] = {}  # per file: a figure in two filings may be two facts
    shared: set[str] = set()  # figure-free units shown in any file (repeated boilerplate)
    titled: set[str] = set()  # files whose title a passage above carried
    sectioned: set[tuple[str, str]] = set()  # and the sections it named
    out = []
    for p in passages:
        after = after_heading(p.text, p.heading)
        heading, rest = (p.heading, after) if after is not None else ("", p.text)
        cut = trim_text(rest, stems, seen.setdefault(p.path, set()), shared=shared)
        if not cut:  # all it would add is in a passage above
            continue
        shown = shown_heading(heading, p.path, titled, stems, sectioned)
        text = f"{shown}\n{cut}" if shown else cut
        out.append(p if text == p.text else replace(p, text=text, body=p.page_text))
    return out


def shown_heading(heading: str, path: str, titled: set[str],
                  stems: AbstractSet[str] = frozenset(), sectioned: set[tuple[str, str]] | None = None) -> str:
    """A chunk heading ("<file stem> · <title> > <section> > ...", ingest.chunker) as the
    prompt shows it: the source line names the file already, so the stem goes; the title
    goes with the file's first passage only (`titled` remembers which files had it); a
    section stays when it shares a word with the question (`stems`), as a sentence does
    in trim_text, and once per file (`sectioned`: the (file, section) pairs shown above).
    A heading that does not start with the stem is shown whole."""
    label, _, section = heading.partition(" > ")
    parts = label.split(" · ")
    if _words(parts[0]) != _words(PurePath(path).stem):
        return heading
    title = " · ".join(parts[1:])
    if title and path not in titled:
        titled.add(path)
    else:
        title = ""
    sections = [s for s in section.split(" > ") if s and stems & _stems(s)]
    if sectioned is not None:
        sections = [s for s in sections if (path, s) not in sectioned]
        sectioned.update((path, s) for s in sections)
    return " > ".join(x for x in (title, *sections) if x)


def _words(text: str) -> str:
    return " ".join(text.replace("_", " ").lower().split())


class BudgetedRetriever:
    """Wraps a retriever so Answerer gets budget-selected passages through the same protocol."""

    def __init__(self, inner: _Retriever, count_tokens: CountTokens, budget: Budget = Budget()) -> None:
        self.inner = inner
        self.count_tokens = count_tokens
        self.budget = budget

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        return select_passages(self.inner.search(query, k, where), self.count_tokens, self.budget)
