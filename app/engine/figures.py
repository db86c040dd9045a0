"""Numbers in an answer, normalised and looked up in the passages that should hold them.

"$81.8 billion", "81,797" under a table's "(in millions)", "$ 81,797 million" and
"(1,234)" are the same kinds of figure written differently. A figure is parsed into
a value, an explicit scale (thousand/million/billion) if written, and its precision
(the unit of its last digit); two figures match when, at some scale, they agree to
the coarser precision of the two: "$81.8 billion" is 81,797 million rounded. A table
cell carries no scale word, so an unscaled number may stand at any of the usual scales.
Signs are ignored: a "decrease of $1,234" is the "(1,234)" of the table.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterable, Mapping, Sequence

_SCALES = {"thousand": Decimal(10) ** 3, "k": Decimal(10) ** 3, "million": Decimal(10) ** 6,
           "mn": Decimal(10) ** 6, "m": Decimal(10) ** 6, "billion": Decimal(10) ** 9,
           "bn": Decimal(10) ** 9, "b": Decimal(10) ** 9, "trillion": Decimal(10) ** 12}
_IMPLICIT = (Decimal(1), Decimal(10) ** 3, Decimal(10) ** 6, Decimal(10) ** 9)
_NUMBER = re.compile(
    r"(?P<open>\()?(?P<neg>[-−–])?(?P<cur>\$\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<close>\))?(?P<pct>\s?%|\s?percent\b)?"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|mn|[kKmMbB])\b)?")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MARKER = re.compile(r"\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")


@dataclass(frozen=True)
class Figure:
    text: str  # as written
    start: int
    end: int
    value: Decimal  # absolute value as written, before any scale
    scale: Decimal | None  # explicit scale word, None when none was written
    unit: Decimal  # the last written digit's place (81.8 -> 0.1), in the figure's own scale
    percent: bool = False
    currency: bool = False

    @property
    def is_key(self) -> bool:
        """Worth checking: a measured quantity, not a year, a date's day or an item number."""
        if self.currency or self.percent or self.scale is not None:
            return True
        digits = re.sub(r"[^\d.]", "", self.text)  # "152)" or "(2023)" as written: the number
        if "." in digits or "," in self.text:
            return True
        if len(digits) == 4 and 1900 <= int(digits) <= 2100:
            return False  # a year
        return len(digits) >= 3


def parse_figures(text: str) -> list[Figure]:
    """Every number in text ([n] citation markers excluded), in order."""
    text = _MARKER.sub(lambda m: " " * len(m.group()), text)
    out: list[Figure] = []
    for m in _NUMBER.finditer(text):
        start, end = m.start("num"), m.end()
        before = text[max(0, start - 12):start].lower().split()
        after = text[m.end("num"):m.end("num") + 3]
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_."):
            continue  # part of a word ("Q3", "10-Q" is handled below) or a decimal tail
        if re.match(r"-[A-Za-z]", after) or (before and before[-1][:3] in _MONTHS and len(m.group("num")) <= 2):
            continue  # "10-Q", "July 1"
        num = m.group("num").replace(",", "")
        try:
            value = Decimal(num)
        except InvalidOperation:
            continue
        decimals = len(num.split(".")[1]) if "." in num else 0
        scale_word = (m.group("scale") or "")
        scale = _SCALES.get(scale_word.lower()) if scale_word else None
        if scale_word and len(scale_word) == 1 and not m.group("cur"):
            scale = None  # "5 M" without a currency is too ambiguous (a footnote, a unit)
            end = m.end("pct") if m.group("pct") else (m.end("close") if m.group("close") else m.end("num"))
        out.append(Figure(text[m.start():end].strip(), m.start(), end, abs(value), scale,
                          Decimal(1).scaleb(-decimals), bool(m.group("pct")), bool(m.group("cur"))))
    return out


def key_figures(text: str) -> list[Figure]:
    return [f for f in parse_figures(text) if f.is_key]


def _candidates(f: Figure) -> Sequence[Decimal]:
    if f.percent:
        return (Decimal(1),)
    return (f.scale,) if f.scale is not None else _IMPLICIT


def same_figure(a: Figure, b: Figure) -> bool:
    """a and b are one quantity written at different scales or precisions."""
    if a.percent and b.scale is not None or b.percent and a.scale is not None:
        return False
    for sa in _candidates(a):
        for sb in _candidates(b):
            va, vb = a.value * sa, b.value * sb
            tol = max(a.unit * sa, b.unit * sb) / 2
            if abs(va - vb) <= tol:  # the coarser of the two decides: "$2 billion" is 1,734 million
                return True
    return False


def found_in(f: Figure, figures: Iterable[Figure]) -> bool:
    return any(same_figure(f, g) for g in figures)


class FigureStatus(enum.Enum):
    VERIFIED = "verified"  # in a passage the sentence cites (or, uncited, in a given passage)
    OTHER_SOURCE = "other_source"  # not in the cited passages, but in another given passage
    FROM_QUESTION = "from_question"  # the question stated it
    UNVERIFIED = "unverified"  # in no passage given for the answer
    COMPUTED = "computed"  # Docent worked it out from verified inputs (app.engine.computation)


@dataclass(frozen=True)
class FigureCheck:
    text: str
    start: int  # offsets in Answer.text
    end: int
    status: FigureStatus
    cited: tuple[int, ...]  # the source numbers it was looked up in first
    found_in: tuple[int, ...]  # every given source that holds it

    @property
    def unverified(self) -> bool:
        return self.status in (FigureStatus.UNVERIFIED, FigureStatus.OTHER_SOURCE)


class PassageFigures:
    """Each source's figures, parsed once per answer."""

    def __init__(self, by_source: Mapping[int, list[Figure]]) -> None:
        self.by_source = dict(by_source)

    @classmethod
    def of_texts(cls, texts: Mapping[int, str]) -> "PassageFigures":
        return cls({n: parse_figures(t) for n, t in texts.items()})

    def holding(self, f: Figure, sources: Iterable[int] | None = None) -> tuple[int, ...]:
        keys = self.by_source if sources is None else [n for n in sources if n in self.by_source]
        return tuple(n for n in keys if found_in(f, self.by_source[n]))


def check_figures(text: str, sentence_sources: Sequence[tuple[int, int, tuple[int, ...]]],
                  passages: PassageFigures, question: str = "") -> list[FigureCheck]:
    """Look up every key figure of `text` in the sources its sentence draws on.

    sentence_sources: (start, end, source numbers) per sentence of text; a figure in a
    sentence with no sources is looked up in every given passage."""
    asked = parse_figures(question)
    out: list[FigureCheck] = []
    for f in key_figures(text):
        cited = next((s for a, b, s in sentence_sources if a <= f.start < b), ())
        everywhere = passages.holding(f)
        if cited:
            hit = any(n in everywhere for n in cited)
            status = FigureStatus.VERIFIED if hit else (
                FigureStatus.OTHER_SOURCE if everywhere else FigureStatus.UNVERIFIED)
        else:
            status = FigureStatus.VERIFIED if everywhere else FigureStatus.UNVERIFIED
        if status is not FigureStatus.VERIFIED and found_in(f, asked):
            status = FigureStatus.FROM_QUESTION
        out.append(FigureCheck(f.text, f.start, f.end, status, tuple(cited), everywhere))
    return out
