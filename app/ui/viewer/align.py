"""Find a passage's words in a page text that was extracted by another library.

The passage comes from pypdf (what was indexed); the page text the viewer can
highlight comes from pdfium (QtPdf). The two differ in whitespace, line
breaks, spacing around punctuation and sometimes in the order of table cells,
so character offsets do not carry over. Both are cut into normalised word
tokens and aligned with difflib; runs of matching words become character
ranges in pdfium's text. No Qt here: this is plain logic, tested alone.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Sequence

_WORD = re.compile(r"\w+")
# A run of fewer matching words than this is an anchor only between longer runs:
# single common words ("the", "of", "2023") match everywhere on a page.
_ANCHOR_WORDS = 3


@dataclass(frozen=True)
class Token:
    norm: str
    start: int
    end: int


@dataclass(frozen=True)
class CharRange:
    """`length` characters from `start` in the page text of 0-based `page_index`."""

    page_index: int
    start: int
    length: int


@dataclass(frozen=True)
class Alignment:
    ranges: tuple[CharRange, ...]
    matched_words: int  # passage words found on the pages
    passage_words: int

    @property
    def found(self) -> bool:
        return bool(self.ranges)

    @property
    def coverage(self) -> float:
        return self.matched_words / self.passage_words if self.passage_words else 0.0


def tokens(text: str) -> list[Token]:
    """Word tokens with their offsets in `text`, compared case- and ligature-blind."""
    out = []
    for m in _WORD.finditer(text):
        word = m.group()
        norm = word.lower() if word.isascii() else unicodedata.normalize("NFKC", word).lower()
        out.append(Token(norm, m.start(), m.end()))
    return out


def align(passage: str, pages: Sequence[tuple[int, str]]) -> Alignment:
    """Where `passage`'s words are in `pages` ((page_index, text) in reading order).

    Pages are aligned as one sequence so a passage that runs over a page break
    is found on both sides of it.
    """
    words = [t.norm for t in tokens(passage)]
    page_tokens: list[tuple[int, Token]] = [(index, tok) for index, text in pages for tok in tokens(text)]
    if not words or not page_tokens:
        return Alignment((), 0, len(words))
    matcher = SequenceMatcher(None, words, [t.norm for _, t in page_tokens], autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    runs = _cluster(_anchored(blocks, len(words)), len(words))
    matched = sum(size for _, _, size in runs)
    return Alignment(tuple(_char_ranges(_merged(runs), page_tokens)), matched, len(words))


def _anchored(blocks: list, n_words: int) -> list[tuple[int, int, int]]:
    """Runs long enough to trust, plus short ones lying between two trusted runs."""
    need = min(_ANCHOR_WORDS, max(1, n_words // 2))
    anchors = [i for i, b in enumerate(blocks) if b.size >= need]
    if not anchors:
        return []
    first, last = anchors[0], anchors[-1]
    kept = []
    for i, b in enumerate(blocks):
        if b.size >= need or first < i < last:
            kept.append((b.a, b.b, b.size))
    return kept


def _cluster(runs: list[tuple[int, int, int]], n_words: int) -> list[tuple[int, int, int]]:
    """The densest group of runs: a stray match far down the page is not the passage."""
    if len(runs) < 2:
        return runs
    groups: list[list[tuple[int, int, int]]] = [[runs[0]]]
    for prev, run in zip(runs, runs[1:], strict=False):
        gap_page = run[1] - (prev[1] + prev[2])
        gap_passage = run[0] - (prev[0] + prev[2])
        # Page furniture (a footer, a page number, a repeated table header) may sit
        # between two parts of one passage; a gap far longer than the passage's own is not that.
        if gap_page > max(40, 3 * gap_passage + 20, n_words):
            groups.append([])
        groups[-1].append(run)
    return max(groups, key=lambda g: sum(size for _, _, size in g))


def _merged(runs: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Runs as [first, last] page-token spans, joining runs split by a differently
    spelled word or two (the page's gap no longer than the passage's)."""
    spans: list[tuple[int, int]] = []
    prev_a_end = None
    for a, b, size in runs:
        if spans and prev_a_end is not None:
            gap_page = b - spans[-1][1] - 1
            gap_passage = a - prev_a_end
            if gap_page <= gap_passage + 1:
                spans[-1] = (spans[-1][0], b + size - 1)
                prev_a_end = a + size
                continue
        spans.append((b, b + size - 1))
        prev_a_end = a + size
    return spans


def _char_ranges(spans: list[tuple[int, int]], page_tokens: list[tuple[int, Token]]) -> list[CharRange]:
    """Token spans as character ranges, cut at page breaks."""
    out = []
    for first, last in spans:
        i = first
        while i <= last:
            page = page_tokens[i][0]
            j = i
            while j + 1 <= last and page_tokens[j + 1][0] == page:
                j += 1
            start, end = page_tokens[i][1].start, page_tokens[j][1].end
            out.append(CharRange(page, start, end - start))
            i = j + 1
    return out
