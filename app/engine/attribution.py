"""Which passage each answer sentence draws on, whether or not the model wrote [n].

Small models often write no markers at all, yet the answer came from the passages.
After the answer has streamed, each sentence is compared with every passage given
for it: shared content words (stop words and one- or two-letter words left out) and
shared figures (normalised, see app.engine.figures; a figure weighs as much as three
words, since a number copied from a passage is the strongest sign of where a claim
came from). A sentence's markers, when the model wrote them, are its sources; else the
passages that cover enough of its content are, marked inferred. Pure text work on a
few hundred words and six passages: well under a millisecond per sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from app.engine.citations import MARKER
from app.engine.figures import Figure, found_in, key_figures, parse_figures

_WORD = re.compile(r"[a-z][a-z0-9'&-]*[a-z0-9]|[a-z]")
# After a sentence's end (and any [n] right behind it), where the next one starts.
_END = re.compile(r"[.!?](?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*(?=\s+[\"'(*\-•A-Z0-9\[]|\s*$)")
_STOP = frozenset("""
a about above according after again against all also am an and any are as at based be because been
before being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers him his how i if in into is it its itself just me more
most my no nor not now of off on once only or other our out over own same she should so some such
than that the their them then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your provided document documents
source sources information mentioned stated states report reported according shows show given
""".split())
_FIGURE_WEIGHT = 3.0
MIN_COVER = 0.34  # share of a sentence's content a passage must hold to be its inferred source
MIN_SHARED = 2.0  # and at least this much weight in common (two words, or one figure)
NEAR_BEST = 0.75  # a second passage covering nearly as much is named as well


@dataclass(frozen=True)
class SentenceAttribution:
    sentence: str
    start: int  # offsets in Answer.text
    end: int
    sources: tuple[int, ...]  # source numbers, best first; () when nothing supports it
    inferred: bool  # True: Docent matched it; False: the model's own [n]
    cover: float = 0.0  # share of the sentence's content the best source holds


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or list item; markers stay with their sentence."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for m in _END.finditer(line.group()):
            end = line.start() + m.end()
            spans.append((start, end))
            start = end
        spans.append((start, line.end()))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        if a < b and text[a:b].strip():
            out.append((a, b))
    return out


@dataclass(frozen=True)
class _Content:
    words: frozenset[str]
    figures: tuple[Figure, ...]

    @property
    def weight(self) -> float:
        return len(self.words) + _FIGURE_WEIGHT * len(self.figures)


def _stem(word: str) -> str:
    """Crude suffix stripping, the same on both sides: "bakes", "baked", "baking" -> "bak"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4:
        for suffix in ("ies", "ing", "ed", "es", "s", "e"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[:-len(suffix)]
    return word


def _words(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP)


def content(text: str) -> _Content:
    return _Content(_words(MARKER.sub(" ", text)), tuple(key_figures(text)))


class PassageIndex:
    """Each given passage's words and figures, computed once per answer."""

    def __init__(self, texts: Mapping[int, str]) -> None:
        self.words = {n: _words(t) for n, t in texts.items()}
        self.figures = {n: parse_figures(t) for n, t in texts.items()}

    def shared(self, c: _Content, n: int) -> float:
        words = len(c.words & self.words[n])
        figs = sum(1 for f in c.figures if found_in(f, self.figures[n]))
        return words + _FIGURE_WEIGHT * figs

    def best(self, c: _Content) -> list[tuple[float, float, int]]:
        """(cover, shared weight, number) for every passage, best first."""
        if not c.weight:
            return []
        scored = [(self.shared(c, n) / c.weight, self.shared(c, n), n) for n in self.words]
        return sorted(scored, key=lambda s: (-s[0], s[2]))


def attribute(text: str, index: PassageIndex, valid: Iterable[int],
              candidates: Iterable[int] | None = None) -> list[SentenceAttribution]:
    """One attribution per sentence of text (the answer with its [n] markers). valid: the
    numbers a marker may name; candidates: those an inferred attribution may pick (the
    passages given for this answer; default: every indexed passage)."""
    ok = set(valid)
    pick = set(index.words if candidates is None else candidates)
    out = []
    for a, b in split_sentences(text):
        sentence = text[a:b]
        written = tuple(dict.fromkeys(int(n) for m in MARKER.finditer(sentence)
                                      for n in m.group(1).split(",") if int(n) in ok))
        ranked = index.best(content(sentence))
        if written:
            cover = max((c for c, _, n in ranked if n in written), default=0.0)
            out.append(SentenceAttribution(sentence, a, b, written, False, round(cover, 3)))
            continue
        top = [(c, s, n) for c, s, n in ranked if c >= MIN_COVER and s >= MIN_SHARED and n in pick]
        chosen = tuple(n for c, _, n in top[:2] if c >= NEAR_BEST * top[0][0]) if top else ()
        out.append(SentenceAttribution(sentence, a, b, chosen, True, round(top[0][0], 3) if top else 0.0))
    return out


def supporting_sources(attributions: Iterable[SentenceAttribution]) -> list[tuple[int, bool]]:
    """(source number, inferred) for every source some sentence draws on, first use first;
    a source the model cited anywhere counts as written."""
    seen: dict[int, bool] = {}
    for att in attributions:
        for n in att.sources:
            seen[n] = seen.get(n, True) and att.inferred
    return list(seen.items())
