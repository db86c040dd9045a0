"""Section headings in a PDF's extracted text, which carries no fonts or outline.

A chunk deep in "Note 4: Inventories" or "Share Repurchase Program" rarely
repeats those words, so neither the embedder nor BM25 can tell what it is
about; the chunker carries a heading as context on every chunk below it (as
it does for Markdown, HTML and DOCX). Here a line is a heading when it looks
like one in print: short, capitalised like a title, not a sentence, not a
table row, and not a running header or footer repeated on many pages.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

MAX_WORDS = 10
MAX_CHARS = 80
# A line on this share of the pages (and at least RUNNING_MIN_PAGES) is a running
# header or footer ("Table of Contents", the company's name), not a section.
RUNNING_SHARE = 0.2
RUNNING_MIN_PAGES = 3
PROSE_MIN_WORDS = 5  # a line this long, not a table row, is text under a heading
_MINOR = frozenset("a an and as at but by for from in into of on or per the to via vs with".split())
_NUMBER = re.compile(r"\d[\d,.]*")
_ENDS_CLAUSE = re.compile(r"[.,;:!?]$|\b(?:and|or|of|the|to|in|for|with)$", re.I)
_LETTERS = re.compile(r"[^\W\d_]")
_ASIDE = re.compile(r"\([^)]*\)")
_YEAR = re.compile(r"(?:19|20)\d\d")


def running_lines(pages: Sequence[str]) -> frozenset[str]:
    """Lines (digits blanked, so "Page 3" matches "Page 4") repeated on many pages."""
    if len(pages) < RUNNING_MIN_PAGES:
        return frozenset()
    seen: Counter[str] = Counter()
    for text in pages:
        seen.update({_key(line) for line in text.split("\n") if line.strip()})
    floor = max(RUNNING_MIN_PAGES, RUNNING_SHARE * len(pages))
    return frozenset(k for k, n in seen.items() if n >= floor)


def _key(line: str) -> str:
    return _NUMBER.sub("#", " ".join(line.lower().split()))


def heading_level(line: str, following: str, running: frozenset[str]) -> int:
    """1 for an ALL-CAPS heading, 2 for a Title Case one, 0 for anything else.
    `following` is the next non-blank line: a line over a table row or a date is a
    column header ("Three Months Ended"), not a section."""
    text = " ".join(line.split())
    words = text.split()
    if not words or len(words) > MAX_WORDS or len(text) > MAX_CHARS or _key(text) in running:
        return 0
    letters = _LETTERS.findall(text)
    if len(letters) < 3 or text[0] in "([" or "$" in text or "%" in text or _ENDS_CLAUSE.search(text):
        return 0
    if any(unicodedata.category(ch) == "So" for ch in text):
        return 0  # check boxes, bullets drawn as symbols: a form, not a title
    if (len(_NUMBER.findall(text)) > 1 or _NUMBER.fullmatch(words[-1]) or _YEAR.fullmatch(words[0])
            or _looks_tabular(following)):
        return 0  # a table row, a contents entry ("Signature 47"), a column header ("2022 Change")
    caps = _LETTERS.findall(_ASIDE.sub("", text))  # "BALANCE SHEETS (Unaudited)" is in capitals
    if caps and all(ch.isupper() for ch in caps):
        return 1 if len(caps) >= 4 else 0
    alpha = [w for w in words if _LETTERS.match(w)]
    if not alpha or not alpha[0][0].isupper():
        return 0
    major = [w for w in alpha[1:] if w.lower() not in _MINOR]
    return 2 if all(w[0].isupper() for w in major) else 0


def _prose(line: str) -> bool:
    return len(line.split()) >= PROSE_MIN_WORDS and not _looks_tabular(line)


def _looks_tabular(line: str) -> bool:
    words = line.split()
    return bool(words) and len(_NUMBER.findall(line)) >= max(2, 0.3 * len(words))


def page_headings(lines: Sequence[str], running: frozenset[str]) -> list[int]:
    """heading_level for each of a page's lines. A Title Case line is a heading only
    over prose, or over another heading that is ("Note 3 - Leases" / "Operating Lease"
    / text): short capitalised lines over short lines are a table's stacked column
    header ("Estimated Fair" / "Value"), and so is a run of three. ALL-CAPS headings
    need no text under them ("PART I" / "ITEM 1" / "BALANCE SHEETS" / a table)."""
    levels = [0] * len(lines)
    nxt, nxt_level = "", 0  # the next non-blank line below, and its level
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i].strip()
        if not line:
            continue
        level = heading_level(line, nxt, running)
        if level == 2 and not (_prose(nxt) or nxt_level):
            level = 0
        levels[i] = level
        nxt, nxt_level = line, level
    run: list[int] = []  # three Title Case headings in a row are a column header after all
    for i in [*(i for i, ln in enumerate(lines) if ln.strip()), len(lines)]:
        if i < len(lines) and levels[i] == 2:
            run.append(i)
            continue
        if len(run) >= 3:
            for j in run:
                levels[j] = 0
        run = []
    return levels
