"""Does the answer rest on the passages it was given? A cheap check after it streams.

The model is told to say when the sources do not hold the answer, and small models
often do not: asked about a company or a year the library lacks, they reach for a
nearby figure from another document. Two signs that need no model: the question
names something (a capitalised name, a year) that appears in none of the passages,
or no sentence of the answer could be attributed to any passage. Either marks the
answer unsupported, with a note that names what Docent looked at; an answer that
itself says the documents do not hold it is marked refused and gets the same list.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Collection, Iterable, Sequence

from app.engine.attribution import SentenceAttribution
from app.engine.prompt import NumberedSource
from app.errors import (
    grounding_missing_note,
    grounding_no_overlap_note,
    grounding_no_sources_note,
    grounding_refused_note,
    no_answer_note,
)

if TYPE_CHECKING:
    from ingest.docmeta import StoredMeta

_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&\-]*[A-Za-z0-9](?:['’]s)?\b")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# Words a question capitalises that name nothing (question words, sentence openers).
_NOT_NAMES = frozenset("""
what how which who whom whose why when where did does do is are was were has have had can could
should would will the a an in on of for and or to from by with compare compared describe explain
list summarize summarise give tell provide show based according between during over across each
any all this that these those there its it their quarter quarterly fiscal year annual report form
item part note total net
""".split())
_NOT = r"(?:do(?:es)?\s*(?:n['’]?t|not)|did\s*(?:n['’]?t|not)|cannot|can['’]?t|could\s*(?:n['’]?t|not))"
_REFUSAL = re.compile("|".join((
    r"\b(?:documents?|sources?|filings?|reports?|context|passages?|provided text)\b[^.\n]{0,40}?" + _NOT
    + r"\s+(?:\w+\s+)?(?:contain|say|mention|provide|include|specify|state|disclose|cover|have|give|"
      r"discuss|address|show|list)",
    r"\bno\s+(?:specific\s+|relevant\s+|such\s+|direct\s+|explicit\s+)?(?:information|data|details|mention)"
    r"\b[^.\n]{0,60}?\b(?:in|within|from|about|on|regarding|of)\b",
    r"\b(?:" + _NOT + r"|unable to)\s+(?:find|locate|determine|answer|identify)\b",
    r"\bnot (?:mentioned|provided|specified|stated|available|found|included|disclosed|contained|given)"
    r"(?:\s+in\b|\s*\.|\s*$)",
    _NOT + r"\s+(?:have|contain)\s+(?:any\s+)?(?:specific\s+)?(?:information|data|details)",
)), re.IGNORECASE)


class Grounding(enum.Enum):
    UNCHECKED = "unchecked"  # cancelled or failed before the check ran
    GROUNDED = "grounded"  # its sentences are drawn from the passages
    REFUSED = "refused"  # it says the documents do not hold the answer
    UNSUPPORTED = "unsupported"  # Docent could not ground it (see the note)
    NO_ANSWER = "no_answer"  # it says nothing but where to look: source labels, markers, pages


@dataclass(frozen=True)
class GroundingCheck:
    status: Grounding
    missing: tuple[str, ...] = ()  # what the question names that no passage mentions
    looked_at: str = ""  # the files and pages given, as the note names them
    note: str = ""  # for the user; "" when grounded


_LABELS = re.compile(r"\[~?\d{1,3}(?:\s*,\s*\d{1,3})*\]|\bpp?\.\s*\d+(?:\s*[-–]\s*\d+)?|\b(?:page|pages|source|"
                     r"sources)\b", re.IGNORECASE)
CONTENT_MIN_WORDS = 3


def is_content_free(answer: str, sources: Sequence[NumberedSource]) -> bool:
    """An answer that is only a list of where to look ("[1] X.pdf, p. 15 [2] Y.pdf, p. 13"):
    at least two markers or page references, and with them and the sources' file names
    taken out, fewer than CONTENT_MIN_WORDS words left. A short answer ("It rose [2].")
    or an empty one (stopped before a word) is not one."""
    if len(_LABELS.findall(answer)) < 2:
        return False
    rest = _LABELS.sub(" ", answer)
    for s in sources:
        for name in {s.passage.name, s.passage.name.rsplit(".", 1)[0]}:
            rest = re.sub(re.escape(name), " ", rest, flags=re.IGNORECASE)
    return len(re.findall(r"[^\W\d_]{2,}", rest)) < CONTENT_MIN_WORDS


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text))


def named_terms(question: str) -> list[str]:
    """Names and years a question asks about, in order, without repeats."""
    out: dict[str, None] = {}
    for m in _NAME.finditer(question):
        word = re.sub(r"['’]s$", "", m.group())
        opens = not question[:m.start()].strip() or question[:m.start()].rstrip()[-1] in ".?!:"
        if opens and word[1:].islower() and word == m.group():
            continue  # "Write ...", "Summarise ...": capitalised because a sentence starts there
        if word.lower() not in _NOT_NAMES and not re.fullmatch(r"Q[1-4]|H[12]|FY\d*", word):
            out.setdefault(word, None)
    for m in _YEAR.finditer(question):
        out.setdefault(m.group(), None)
    return list(out)


def _mentions(haystack: str, term: str) -> bool:
    stem = term[:-1] if len(term) > 4 and term.endswith("s") else term
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(stem.lower()), haystack) is not None


def looked_at(sources: Sequence[NumberedSource]) -> str:
    """'a.pdf (pp. 3, 21), b.txt': every file given, with its pages, in first-given order."""
    pages: dict[str, list[int]] = {}
    for s in sources:
        p = s.passage
        seen = pages.setdefault(p.name, [])
        for page in range(p.page_start or 0, (p.page_end or p.page_start or 0) + 1):
            if page and page not in seen:
                seen.append(page)
    parts = []
    for name, nums in pages.items():
        nums.sort()
        label = f" ({'p.' if len(nums) == 1 else 'pp.'} {', '.join(map(str, nums))})" if nums else ""
        parts.append(name + label)
    return ", ".join(parts)


def document_descriptions(documents: Iterable["StoredMeta"], paths: Collection[str]) -> list[str]:
    """What the given files say they are (title, names and dates on their first pages, as
    stored at index time by ingest.docmeta; `documents`: KeywordIndex.documents()): a
    passage from "the Company's" 10-Q rarely names the company, its cover page does."""
    wanted = set(paths)
    return [" ".join([s.meta.title, *(n for n, _ in s.meta.names), *s.meta.dates])
            for s in documents if s.path in wanted]


def check_grounding(question: str, answer: str, sources: Sequence[NumberedSource],
                    attributions: Sequence[SentenceAttribution], also: Sequence[str] = ()) -> GroundingCheck:
    """also: other text about the documents looked at (passages the budget left out, what
    the documents say they are) where a named term counts as found."""
    where = looked_at(sources)
    if is_content_free(answer, sources):
        return GroundingCheck(Grounding.NO_ANSWER, (), where, no_answer_note(where))
    refused = is_refusal(answer)
    if not sources:
        return GroundingCheck(Grounding.REFUSED if refused else Grounding.UNSUPPORTED, (), "",
                              grounding_no_sources_note())
    haystack = "\n".join([f"{s.passage.name}\n{s.passage.heading}\n{s.passage.text}" for s in sources]
                         + list(also)).lower()
    missing = tuple(t for t in named_terms(question) if not _mentions(haystack, t))
    if refused:
        return GroundingCheck(Grounding.REFUSED, missing, where, grounding_refused_note(where))
    if missing:
        return GroundingCheck(Grounding.UNSUPPORTED, missing, where, grounding_missing_note(missing, where))
    if answer.strip() and not any(a.sources for a in attributions):
        return GroundingCheck(Grounding.UNSUPPORTED, (), where, grounding_no_overlap_note(where))
    return GroundingCheck(Grounding.GROUNDED, (), where)
