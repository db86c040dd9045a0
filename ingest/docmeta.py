"""What a document is, read from its first pages at index time: title, dates and the
period it covers, the names that dominate its opening, and kind words.

Questions name documents by what they are ("Amazon's Q2 2023 10-Q", "the latest
annual report", "the lease with Quay Street"), and those words are on a file's
first pages far more reliably than in the chunk a question's other words match.
Stored per file in the manifest DB (migration 4, table doc_meta) as JSON; the
query side (app/engine/doc_rank.py) matches questions against it. The date and
period parsers here are shared by both sides so a question and a document agree.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import PurePath
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from ingest.document import Document

FIRST_PAGES = 3  # the cover, the contents, the opening: where a document says what it is
UNPAGED_CHARS = 6000  # the same for text without pages
MAX_NAMES = 80

_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTH_ABBR = {m[:3]: i for m, i in _MONTHS.items()} | {"sept": 9}
MONTH_NAMES = tuple(_MONTHS) + tuple(_MONTH_ABBR)
_MONTH_RE = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
             r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DATE_MDY = re.compile(_MONTH_RE + r"\s+(?P<day>\d{1,2}),?\s+(?P<year>(?:19|20)\d\d)\b", re.I)
_DATE_DMY = re.compile(r"\b(?P<day>\d{1,2})\s+" + _MONTH_RE + r",?\s+(?P<year>(?:19|20)\d\d)\b", re.I)
_DATE_ISO = re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<mon>\d\d)-(?P<day>\d\d)\b")
_DATE_US = re.compile(r"\b(?P<mon>\d{1,2})/(?P<day>\d{1,2})/(?P<year>(?:19|20)\d\d)\b")
# Any written date, for removing dates from text (their years are not periods asked about).
DATE_ANY = re.compile("|".join(re.sub(r"\(\?P<\w+>", "(?:", rx.pattern)
                               for rx in (_DATE_MDY, _DATE_DMY, _DATE_ISO, _DATE_US)), re.I)
# "quarterly period ended October 29, 2023", "for the year ended 31 December 2022", "as of ..."
_ENDED = re.compile(r"\b(?:ended|ending|as\s+of|dated)\s*$", re.I)

_ORD = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_YEAR = r"(?:19|20)\d\d"
_Q_LABELS = [
    re.compile(rf"\bq(?P<q>[1-4])[\s\-_/,]*(?:fy|fiscal\s+(?:year\s+)?)?(?P<y>{_YEAR}|'?\d\d)\b", re.I),
    re.compile(rf"\b(?:fy|fiscal\s+(?:year\s+)?)?(?P<y>{_YEAR})[\s\-_/,]*q(?P<q>[1-4])\b", re.I),
    re.compile(rf"\b(?P<q>[1-4])q[\s\-_']*(?P<y>{_YEAR}|\d\d)\b", re.I),
    re.compile(rf"\b(?P<q>first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter\s+"
               rf"(?:of\s+)?(?:(?:the\s+)?(?:fiscal\s+|calendar\s+)?(?:year\s+)?)?(?P<y>{_YEAR})\b", re.I),
]
_Y_LABELS = [
    re.compile(rf"\b(?:fy|fiscal\s+(?:year\s+)?)[\s\-']*(?P<y>{_YEAR}|\d\d)\b", re.I),
    re.compile(rf"\b(?P<y>{_YEAR})\s+(?:annual|fiscal)\b", re.I),
]
_KINDS = ("quarterly report", "annual report", "10-q", "10-k", "8-k", "20-f", "proxy statement",
          "prospectus", "contract", "agreement", "lease", "invoice", "policy", "manual", "paper",
          "thesis", "report", "minutes", "memorandum", "letter", "statement", "presentation",
          "specification", "proposal", "resume", "handbook", "guide")
_NAME_TOKEN = re.compile(r"[A-Z][\w&'’.\-]*[\w&]|[A-Z]")
_NAME_GLUE = {"of", "and", "&", "for", "de", "la", "the"}
# Words capitalised by position or form-filling, not because they name something.
_NOT_NAMES = frozenset("""
a an the this that these those it its in on at of for to by with from as is are be or and
yes no not none n/a i ii iii iv item part page table contents index note notes form section
""".split()) | frozenset(_MONTHS) | frozenset(_MONTH_ABBR)


@dataclass(frozen=True)
class Period:
    """A span a document covers or a question asks about: a year, or a quarter of one."""

    year: int
    quarter: int | None = None


@dataclass(frozen=True)
class DocMeta:
    title: str = ""
    dates: tuple[str, ...] = ()  # ISO dates on the first pages, first seen first
    period_end: str | None = None  # the date the document is "as of" / its period ends
    periods: tuple[Period, ...] = ()  # labels it gives itself ("Q3 2023", "fiscal 2022")
    names: tuple[tuple[str, int], ...] = ()  # capitalised phrases, most frequent first
    kinds: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "DocMeta":
        try:
            d = json.loads(text)
            return cls(d.get("title", ""), tuple(d.get("dates", ())), d.get("period_end"),
                       tuple(Period(int(p["year"]), p.get("quarter")) for p in d.get("periods", ())),
                       tuple((str(n), int(c)) for n, c in d.get("names", ())), tuple(d.get("kinds", ())))
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()


# --- parsing shared with the query side -------------------------------------------
def find_dates(text: str) -> list[tuple[int, date]]:
    """(offset, date) for every calendar date written out in text, in order."""
    found: list[tuple[int, date]] = []
    for rx in (_DATE_MDY, _DATE_DMY, _DATE_ISO, _DATE_US):
        for m in rx.finditer(text):
            mon = m.group("mon").lower().rstrip(".")
            month = int(mon) if mon.isdigit() else _MONTHS.get(mon) or _MONTH_ABBR.get(mon[:4]) \
                or _MONTH_ABBR.get(mon[:3])
            try:
                found.append((m.start(), date(int(m.group("year")), int(month or 0), int(m.group("day")))))
            except ValueError:
                continue
    return sorted(found, key=lambda x: x[0])


def _year(text: str) -> int:
    digits = text.strip("'")
    return int(digits) if len(digits) == 4 else 2000 + int(digits)


PERIOD_PATTERNS = tuple(_Q_LABELS + _Y_LABELS)


def find_periods(text: str) -> list[Period]:
    """Quarter and year labels written in text ("Q2 2023", "2023 Q2", "second quarter of
    fiscal 2023", "3Q23", "FY2022"), in order, without repeats. A bare year is not a label
    here (documents are full of them); the query side reads bare years itself."""
    hits: list[tuple[int, Period]] = []
    taken: list[tuple[int, int]] = []
    for rx in _Q_LABELS:
        for m in rx.finditer(text):
            q = m.group("q").lower()
            hits.append((m.start(), Period(_year(m.group("y")), _ORD.get(q) or int(q))))
            taken.append(m.span())
    for rx in _Y_LABELS:
        for m in rx.finditer(text):
            if not any(a <= m.start() < b for a, b in taken):
                hits.append((m.start(), Period(_year(m.group("y")))))
    return list(dict.fromkeys(p for _, p in sorted(hits, key=lambda x: x[0])))


def principal_date(text: str) -> date | None:
    """The date a document is about: the first one written after "ended"/"as of" (a
    report's period end, a contract's date), else the most frequent one."""
    dates = find_dates(text)
    for offset, d in dates:
        if _ENDED.search(text[max(0, offset - 40):offset]):
            return d
    if not dates:
        return None
    counts = Counter(d for _, d in dates)
    return max(counts, key=lambda d: (counts[d], d))


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, possessives dropped, "10-Q" kept as "10q"."""
    text = re.sub(r"(\w)['’]s\b", r"\1", text)
    text = re.sub(r"\b(\d+)-([a-zA-Z])\b", r"\1\2", text)
    return [w for w in re.findall(r"\w+", text.lower()) if len(w) > 1 or w.isdigit()]


def file_name_text(path: str) -> str:
    return re.sub(r"[_\-.]+", " ", PurePath(path).stem)


# --- extraction --------------------------------------------------------------------
def _names(text: str) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        words = line.split()
        run: list[str] = []
        for i, raw in enumerate(words + [""]):
            w = raw.strip("()[]{},;:\"“”")
            if w and _NAME_TOKEN.fullmatch(w) and w.lower() not in _NOT_NAMES:
                run.append(w)
                continue
            if run and w.lower() in _NAME_GLUE and i + 1 < len(words) and words[i + 1][:1].isupper():
                run.append(w)
                continue
            while run and run[-1].lower() in _NAME_GLUE:
                run.pop()
            if run:
                counts[" ".join(run[:6]).rstrip(".,")] += 1
            run = []
    return counts.most_common(MAX_NAMES)


def extract(first_pages: str, title: str = "") -> DocMeta:
    """Metadata from a document's opening text (and its embedded title, if any)."""
    head = f"{title}\n{first_pages}" if title else first_pages
    dates = list(dict.fromkeys(d.isoformat() for _, d in find_dates(head)))
    end = principal_date(first_pages) or principal_date(title)
    lowered = " ".join(head.lower().split())
    kinds = tuple(k for k in _KINDS if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", lowered)
                  or (k[-2] == "-" and k.replace("-", "") in lowered.split()))
    return DocMeta(" ".join(title.split())[:300], tuple(dates[:40]), end.isoformat() if end else None,
                   tuple(find_periods(head)), tuple(_names(first_pages)), kinds)


def opening_text(doc: "Document") -> str:
    pages = doc.page_texts()
    if doc.page_count:  # capped: a "page" of a malformed PDF can hold a whole book
        return "\n".join(pages[p] for p in sorted(pages) if p <= FIRST_PAGES)[:UNPAGED_CHARS * 5]
    return "\n".join(pages[p] for p in sorted(pages))[:UNPAGED_CHARS]


def record(db: sqlite3.Connection, file_id: str, doc: "Document") -> DocMeta:
    """Extract and store one parsed file's metadata (the indexer calls this)."""
    meta = extract(opening_text(doc), doc.title or "")
    db.execute("INSERT INTO doc_meta (file_id, data, updated_at) VALUES (?, ?, ?) "
               "ON CONFLICT(file_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
               (file_id, meta.to_json(), time.time()))
    return meta


@dataclass(frozen=True)
class StoredMeta:
    file_id: str
    path: str
    meta: DocMeta
    from_chunks: bool = False  # derived from stored chunks: a library indexed before migration 4


def load(db: sqlite3.Connection, file_ids: Iterable[str] | None = None) -> list[StoredMeta]:
    """Every indexed file's metadata. Files indexed before doc_meta existed get it
    derived, in memory, from their stored first-page chunks (re-indexing stores it)."""
    rows = db.execute("SELECT f.file_id, f.path, m.data FROM files f LEFT JOIN doc_meta m "
                      "ON m.file_id = f.file_id WHERE f.status = 'indexed' AND f.chunk_count > 0 "
                      "ORDER BY f.path").fetchall()
    wanted = None if file_ids is None else set(file_ids)
    out = [StoredMeta(fid, path, DocMeta.from_json(data)) for fid, path, data in rows
           if data is not None and (wanted is None or fid in wanted)]
    missing = [(fid, path) for fid, path, data in rows
               if data is None and (wanted is None or fid in wanted)]
    out += [StoredMeta(fid, path, extract(_chunk_opening(db, fid)), True) for fid, path in missing]
    return out


def _chunk_opening(db: sqlite3.Connection, file_id: str) -> str:
    rows = db.execute("SELECT f.text FROM chunks c JOIN chunks_fts f ON f.rowid = c.id "
                      "WHERE c.file_id = ? AND (c.page_start IS NULL OR c.page_start <= ?) "
                      "ORDER BY c.chunk_index LIMIT 40", (file_id, FIRST_PAGES)).fetchall()
    return "\n".join(r[0] for r in rows)[: UNPAGED_CHARS * 3]


def version(db: sqlite3.Connection) -> tuple[object, ...]:
    """Changes whenever any file's metadata or indexed state does: a cache key."""
    files = db.execute("SELECT count(*), max(updated_at) FROM files").fetchone()
    meta = db.execute("SELECT count(*), max(updated_at) FROM doc_meta").fetchone()
    return tuple(files) + tuple(meta)


__all__ = ["DocMeta", "Period", "StoredMeta", "extract", "find_dates", "find_periods",
           "file_name_text", "load", "principal_date", "record", "tokens", "version"]
