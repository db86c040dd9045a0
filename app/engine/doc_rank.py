"""Which documents a question names, from the metadata each file got at index time.

A question like "Amazon's gross margin in the most recent 10-Q" names a document by
what it is; passage retrieval alone lets a well-matching table of another company
win. Here each document is a small field index (names on its first pages, file-name
words, title, kind words), scored BM25-style against the question's words, then
narrowed by the periods the question names ("Q2 2023", "in 2022") and by relative
references resolved against the documents' own dates ("latest", "previous quarter").
A question that names nothing yields no focus and retrieval runs as before.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Callable, Collection, Mapping, Sequence

from ingest import docmeta
from ingest.docmeta import Period
from ingest.keyword_rank import STOPWORDS

if TYPE_CHECKING:
    from ingest.keyword import KeywordIndex

K1 = 1.2  # BM25 term-frequency saturation (no length norm: fields are short by design)
FIELD_WEIGHTS = {"names": 1.0, "file": 1.0, "title": 0.8, "kinds": 0.5}
MIN_TERM_IDF = 0.3  # a word most documents hold names none of them
OWNED_SHARE = 0.75  # a word names documents that hold this share of its mentions, not a topic
MIN_NAME_SCORE = 0.6  # ~ one word held by at most half of the documents (idf ln 2)
NAMED_SHARE = 0.6  # documents scoring this share of the best are named too

# Words that ask rather than name: never matched against document fields.
_ASKING = frozenset("""
what which how why when where who whom whose does did do is are was were has have had can could
would should will may might shall report reported reports reporting filing filings document
documents quarter quarters quarterly period periods year years annual fiscal latest recent most
last previous prior past current compare compared comparing comparison over time across each
trend trends change changes changed between total company companies first second third fourth
month months week weeks day days ended ending dated
""".split()) | frozenset(docmeta.MONTH_NAMES)
_LATEST = re.compile(r"\b(latest|most\s+recent|newest|last\s+(?:quarter|report|filing|year|period|"
                     r"10-?[qk])|this\s+quarter)\b", re.I)
_PREVIOUS = re.compile(r"\b(previous|prior|preceding)\s+(quarter|report|filing|year|period)\b(?!s)", re.I)
# Questions that span documents: over time, across periods, each company, these reports.
_SPAN = re.compile(
    r"\b(over\s+time|quarter[\s-]+(?:to|over)[\s-]+quarter|"
    r"period[\s-]+to[\s-]+period|year[\s-]+over[\s-]+year|historical\s+periods|"
    r"(?:across|over|during|throughout|in|between|through)\s+(?:the\s+|these\s+|its\s+|all\s+)?"
    r"(?:reported\s+|reporting\s+|past\s+|various\s+)?(?:quarters|periods|years|filings|reports|"
    r"documents|10-?[qk]s|timeframe|reporting\s+(?:period|timeframe))|"
    r"these\s+(?:quarters|periods|10-?[qk]s|reports|filings|documents|quarterly\s+reports)|"
    r"(?:previous|prior|past|earlier)\s+(?:quarters|periods|years|reports|filings)|"
    r"each\s+(?:reported\s+|reporting\s+)?(?:company|period|quarter|year|report|filing|document)|"
    r"(?:previous|prior|earlier)\s+ones|10-?[qk]s|"
    r"reported\s+(?:quarters|periods)|quarterly\s+reports)\b", re.I)
# A question that speaks of documents as such ("in the 10-Q", "Apple's report", "the lease").
_DOCUMENT_WORDS = re.compile(r"\b(10-?[qk]s?|reports?|filings?|documents?|files?|papers?|contracts?|"
                             r"agreements?|leases?|invoices?|memos?|letters?|minutes|manuals?|"
                             r"policies|policy|handbooks?|presentations?|proposals?|theses|thesis)\b", re.I)
_BARE_YEAR = re.compile(r"(?<![\w$.,])((?:19|20)\d\d)(?![\w%])")


class FocusKind(str, Enum):
    NONE = "none"  # the question names no document: the passage ranking stands alone
    NAMED = "named"  # it names one document or a few alternatives: retrieve from those
    SPAN = "span"  # it spans documents (over time, each company): passages from each


class Relative(str, Enum):
    NONE = "none"
    LATEST = "latest"
    PREVIOUS = "previous"


@dataclass(frozen=True)
class QuestionRefs:
    """What a question says about which documents it means."""

    terms: tuple[str, ...]
    periods: tuple[Period, ...]
    relative: Relative
    spans: bool
    dates: tuple[str, ...] = ()  # ISO dates written out ("the quarter ended April 1, 2023")
    text: str = ""
    mentions_document: bool = False  # speaks of a report, filing, contract, paper...


@dataclass(frozen=True)
class DocFocus:
    kind: FocusKind
    file_ids: tuple[str, ...] = ()  # best first (SPAN: newest first)
    scores: tuple[tuple[str, float], ...] = ()  # the name ranking, for reports
    reason: str = ""
    # The question less what picked the documents (their names, periods, "latest", kind
    # words): inside those documents such words match every passage and rank nothing.
    query: str = ""

    @property
    def keyword_query(self) -> str:
        """What the keyword index matches inside those documents: the residual question's
        content words. Its asking words ("report", "quarter", "compare") are in any passage
        of them or in none that matters, and only flatten the BM25 ranking."""
        return " ".join(content_terms(self.query)) if self.query else ""


NO_FOCUS = DocFocus(FocusKind.NONE)


def parse_question(question: str) -> QuestionRefs:
    periods = docmeta.find_periods(question)
    labelled = {p.year for p in periods}
    undated = docmeta.DATE_ANY.sub(" ", question)  # a written date's year is not a period asked
    periods += [Period(int(y)) for y in _BARE_YEAR.findall(undated) if int(y) not in labelled]
    periods = list(dict.fromkeys(periods))
    relative = Relative.LATEST if _LATEST.search(question) else (
        Relative.PREVIOUS if _PREVIOUS.search(question) else Relative.NONE)
    quarters = {(p.year, p.quarter) for p in periods if p.quarter}
    spans = bool(_SPAN.search(question)) or len(quarters) > 1 or len({p.year for p in periods}) > 1
    dates = tuple(dict.fromkeys(d.isoformat() for _, d in docmeta.find_dates(question)))
    return QuestionRefs(tuple(content_terms(question)), tuple(periods), relative, spans, dates, question,
                        bool(_DOCUMENT_WORDS.search(question)))


def content_terms(text: str) -> list[str]:
    """The words of text that could name something: no stopwords, asking words or periods."""
    out = []
    for t in docmeta.tokens(text):
        if t in STOPWORDS or t in _ASKING or t.isdigit() or re.fullmatch(r"q[1-4]|fy\d*|\d+q\d*", t):
            continue
        out.append(t)
    return list(dict.fromkeys(out))


@dataclass
class DocProfile:
    """One document as the ranker sees it: per-field term counts, labels, its date."""

    file_id: str
    path: str
    fields: dict[str, Counter[str]]
    labels: tuple[Period, ...]  # quarters/years it names itself (file name, title, opening)
    period_end: str | None
    derived: bool = False

    @classmethod
    def build(cls, stored: docmeta.StoredMeta) -> "DocProfile":
        m = stored.meta
        name_terms: Counter[str] = Counter()
        for phrase, count in m.names:
            for t in set(content_terms(phrase)):
                name_terms[t] += count
        fname = docmeta.file_name_text(stored.path)
        fields = {"names": name_terms, "file": Counter(content_terms(fname)),
                  "title": Counter(content_terms(m.title)),
                  "kinds": Counter(t for k in m.kinds for t in content_terms(k))}
        labels = tuple(dict.fromkeys(docmeta.find_periods(fname) + docmeta.find_periods(m.title)
                                     + list(m.periods)))
        return cls(stored.file_id, stored.path, fields, labels, m.period_end, stored.from_chunks)

    def order_key(self) -> tuple[str, int, int]:
        """Newest last: the period end date, else its own latest quarter label."""
        best = max(((p.year, p.quarter or 0) for p in self.labels), default=(0, 0))
        return (self.period_end or "", best[0], best[1])

    def matches(self, period: Period) -> bool:
        """A document's own labels decide; its period end date only where it has none."""
        quarters = [p for p in self.labels if p.quarter]
        if period.quarter is not None:
            if quarters:
                return any(p == period for p in quarters)
            if self.period_end:  # the calendar quarter it covers; one ending on a month's first
                end = date.fromisoformat(self.period_end) - timedelta(days=10)  # days covers the months before
                return end.year == period.year and (end.month - 1) // 3 + 1 == period.quarter
            return False
        years = {p.year for p in self.labels}
        return period.year in years or bool(self.period_end and int(self.period_end[:4]) == period.year)


class DocRanker:
    """Ranks a library's documents against a question: what each is (ingest.docmeta) and
    which hold a word, read through the keyword index."""

    def __init__(self, keyword: "KeywordIndex") -> None:
        self.keyword = keyword
        self._lock = threading.Lock()
        self._version: tuple[object, ...] | None = None
        self._profiles: list[DocProfile] = []
        self._holders: dict[str, dict[str, int]] = {}

    def profiles(self) -> list[DocProfile]:
        with self._lock:
            current = self.keyword.documents_version()
            if current != self._version:
                self._profiles = [DocProfile.build(s) for s in self.keyword.documents()]
                self._holders.clear()
                self._version = current
            return self._profiles

    def focus(self, question: str, scope: Collection[str] | None = None) -> DocFocus:
        """The documents the question names within `scope` (file ids; None = all)."""
        docs = [p for p in self.profiles() if scope is None or p.file_id in scope]
        return focus_of(parse_question(question), docs, self.holders)

    def holders(self, term: str) -> Mapping[str, int]:
        """{file id: chunks whose text holds `term`} (FTS5), cached until the library changes."""
        with self._lock:
            if term not in self._holders:
                self._holders[term] = self.keyword.holders(term)
            return self._holders[term]


@dataclass(frozen=True)
class NameScore:
    score: float  # BM25-like over the fields (term counts saturated): orders documents
    presence: float  # the same with every count 1: decides which documents are named
    terms: frozenset[str]  # the question's words its fields hold


Holders = Callable[[str], Mapping[str, int]]  # word -> {file id: chunks whose text holds it}


def name_scores(terms: Sequence[str], docs: Sequence[DocProfile],
                holders: Holders | None = None) -> dict[str, NameScore]:
    """How strongly each document's fields hold the question's words. A word's weight is
    how few documents hold it anywhere (fields or text, via `holders`): "Apple" names a
    filing, "revenue" on a contents page does not, since every filing's text has it."""
    n = len(docs)
    ids = {d.file_id for d in docs}
    in_fields = {t: {d.file_id for d in docs if any(d.fields[f][t] for f in FIELD_WEIGHTS)} for t in terms}
    idf: dict[str, float] = {}
    for t, held in in_fields.items():
        if held:
            df = len(held | (set(holders(t)) & ids if holders else set()))
            weight = math.log(1 + (n - df + 0.5) / (df + 0.5))
            if weight >= MIN_TERM_IDF:
                idf[t] = weight
    out: dict[str, NameScore] = {}
    for d in docs:
        score = presence = 0.0
        hit = set()
        for t, w_t in idf.items():
            if d.file_id not in in_fields[t]:
                continue
            score += w_t * sum(w * _sat(d.fields[f][t]) for f, w in FIELD_WEIGHTS.items() if d.fields[f][t])
            presence += w_t * max(w for f, w in FIELD_WEIGHTS.items() if d.fields[f][t])
            hit.add(t)
        out[d.file_id] = NameScore(score, presence, frozenset(hit))
    return out


def _sat(tf: int) -> float:
    return tf * (K1 + 1) / (tf + K1)


def focus_of(q: QuestionRefs, docs: Sequence[DocProfile], holders: Holders | None = None) -> DocFocus:
    if len(docs) < 2:
        return NO_FOCUS
    scores = name_scores(q.terms, docs, holders)
    best = max(s.presence for s in scores.values())
    ranking = tuple(sorted(((fid, round(s.score, 4)) for fid, s in scores.items()), key=lambda x: -x[1]))
    named = best >= MIN_NAME_SCORE
    cands = [d for d in docs if scores[d.file_id].presence >= NAMED_SHARE * best] if named else list(docs)
    if named and holders is not None and _owned_share(cands, scores, holders) < OWNED_SHARE:
        named, cands = False, list(docs)  # "gasket" in one file's name, but others discuss gaskets
    reason = []
    if named:
        reason.append("names " + ",".join(sorted(set().union(*(scores[d.file_id].terms for d in cands)))))
    if q.dates:
        dated = [d for d in cands if d.period_end in q.dates]
        if dated:
            cands = dated
            reason.append("dates " + ",".join(q.dates))
    elif q.periods:
        dated = [d for d in cands if any(d.matches(p) for p in q.periods)]
        if dated:
            cands = dated
            reason.append("periods " + ",".join(f"{p.year}" + (f"Q{p.quarter}" if p.quarter else "")
                                               for p in q.periods))
    if q.relative is not Relative.NONE and not q.spans:
        cands = _relative(cands, scores, q.relative)
        reason.append(q.relative.value)
    if reason == [r for r in reason if r.startswith("names")] and not (q.spans or q.mentions_document):
        # Names alone, no reference to a document, a period or a comparison: a claim about
        # "ALDH1" is about the topic, and abstracts that name it are not the only evidence.
        return DocFocus(FocusKind.NONE, (), ranking, "names a topic, not a document")
    if len(cands) == len(docs) or not cands:
        return DocFocus(FocusKind.NONE, (), ranking, "names nothing")
    kind = FocusKind.SPAN if q.spans and len(cands) > 1 else FocusKind.NAMED
    ordered = sorted(cands, key=lambda d: d.order_key(), reverse=True)  # newest first
    if kind is FocusKind.NAMED:
        ordered.sort(key=lambda d: -scores[d.file_id].score)  # stable: ties stay newest first
    shared = frozenset.intersection(*(scores[d.file_id].terms for d in cands))
    return DocFocus(kind, tuple(d.file_id for d in ordered), ranking, "; ".join(reason),
                    residual_question(q.text, shared))


def _owned_share(cands: Sequence[DocProfile], scores: dict[str, NameScore], holders: Holders) -> float:
    """The largest share of a naming word's mentions (chunks holding it) that fall in the
    named documents: ~1 for a company's name in its own filings, low for a topic word."""
    ids = {d.file_id for d in cands}
    shared = frozenset.intersection(*(scores[d.file_id].terms for d in cands))
    best = 0.0
    for t in shared:
        held = holders(t)
        total = sum(held.values())
        best = max(best, 1.0 if not total else sum(n for f, n in held.items() if f in ids) / total)
    return best


def residual_question(question: str, names: Collection[str]) -> str:
    """`question` without the words that say which documents it means."""
    text = docmeta.DATE_ANY.sub(" ", question)
    for rx in docmeta.PERIOD_PATTERNS:
        text = rx.sub(" ", text)
    text = _LATEST.sub(" ", text)
    text = re.sub(r"\b10-?[qk]s?\b", " ", text, flags=re.I)
    if names:
        words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        text = re.sub(rf"\b(?:{words})(?:['’]s)?\b", " ", text, flags=re.I)
    text = " ".join(text.split())
    return text if len(content_terms(text)) else question


def _relative(cands: list[DocProfile], scores: dict[str, NameScore],
              relative: Relative) -> list[DocProfile]:
    """Newest (or second newest) document of each named group: "the latest 10-Q" of
    each company the question names, resolved against the documents' own dates."""
    groups: list[tuple[set[str], list[DocProfile]]] = []
    for d in cands:  # documents sharing a matched name word are one group (one company)
        terms = set(scores[d.file_id].terms)
        home = [g for g in groups if g[0] & terms or not (g[0] or terms)]
        merged: tuple[set[str], list[DocProfile]] = (terms, [d])
        for g in home:
            merged[0].update(g[0])
            merged[1].extend(g[1])
            groups.remove(g)
        groups.append(merged)
    out = []
    for _terms, members in groups:
        members = sorted(members, key=lambda d: d.order_key(), reverse=True)
        pick = 1 if relative is Relative.PREVIOUS and len(members) > 1 else 0
        out.append(members[pick])
    return out
