"""BM25 top-n over the FTS5 table, planned so large libraries stay fast.

FTS5 finds matches cheaply (all rows of a 100k-chunk index matching a query:
~2 ms); what costs is scoring them: `ORDER BY rank` runs bm25() on every
match, and one common query word ("cells", "revenue") matches a third of the
library, ~40 ms. Two plans avoid that without changing any score:

* Scopes (a file, a folder) become rowid ranges. A file's chunks are written in
  one statement run, so their rowids are consecutive, and FTS5 seeks straight
  to a rowid range: only the scope's matches are scored.
* Large libraries: terms in more than `common_df` of the chunks only *score*,
  they never *select*. Rows holding a rarer term are scored with every term
  (bm25 is a sum over query phrases, each phrase idf is library-wide), so
  their scores are exactly the full query's; rows holding only common words
  are not visited. When that leaves fewer than n rows, the full query runs.
  This is the classic dynamic-stopword / MaxScore idea in two FTS5 queries.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass

# Classic English stopwords (Lucene/NLTK-like). They carry ~zero BM25 weight but
# make OR-queries walk huge posting lists, which costs milliseconds at 100k chunks.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)
# A token with a digit and inner punctuation (ZX-9000, 10-Q, 3.5mm) is kept as a phrase.
_CODE = re.compile(r"^(?=.*\d)\w+(?:[-./:]\w+)+$", re.UNICODE)

Ranked = list[tuple[int, float]]  # (chunks.id = FTS rowid, BM25 score), best first

_TOP = "SELECT rowid, -rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?"
_TOP_IN_FILES = (
    "SELECT f.rowid, -f.rank FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
    "WHERE chunks_fts MATCH ? AND c.file_id IN (SELECT value FROM json_each(?)) ORDER BY f.rank LIMIT ?")
_RANGE = ("SELECT * FROM (SELECT rowid AS r, -rank AS s FROM chunks_fts WHERE chunks_fts MATCH :e "
          "AND rowid BETWEEN {lo} AND {hi} ORDER BY rank LIMIT :n)")


def query_terms(query: str, stopwords: Collection[str] = STOPWORDS) -> list[str]:
    """User text -> quoted FTS5 phrases, so no query syntax leaks through."""
    phrases: list[str] = []
    words: list[str] = []
    for raw in query.split():
        token = raw.strip("\"'`()[]{}<>,;!?*^").lower()
        if _CODE.match(token):
            phrases.append(token)
        else:
            words += [w.lower() for w in _WORD.findall(token)]
    kept = [w for w in words if w not in stopwords and (len(w) > 1 or w.isdigit())]
    terms = list(dict.fromkeys(phrases + (kept or words)))  # all-stopword queries keep their words
    return ['"' + t.replace('"', '""') + '"' for t in terms]


def any_of(terms: Sequence[str]) -> str:
    return " OR ".join(terms)


@dataclass(frozen=True)
class RankConfig:
    prune_min_chunks: int = 20_000  # below this, scoring every match takes a few ms anyway
    common_df: float = 0.05  # share of chunks above which a term scores but does not select
    max_ranges: int = 16  # each rowid range is one FTS5 sub-query (~1-2 ms of set-up)


@dataclass(frozen=True)
class ScopeSet:
    """A resolved scope: its files' chunk counts and, when every file's chunks
    are consecutive rowids (always, for files Docent wrote), merged rowid ranges."""

    counts: dict[str, int]
    ranges: tuple[tuple[int, int], ...] | None

    @property
    def chunks(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[str, int, int, int]]) -> "ScopeSet":
        """rows: (file_id, chunk count, min rowid, max rowid) per file."""
        counts = {fid: n for fid, n, _, _ in rows}
        if any(hi - lo + 1 != n for _, n, lo, hi in rows):
            return cls(counts, None)
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted((lo, hi) for _, _, lo, hi in rows):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return cls(counts, tuple(merged))


class Bm25Ranker:
    """Top-n BM25 rows for quoted terms, whole library or within a ScopeSet."""

    def __init__(self, db: sqlite3.Connection, config: RankConfig | None = None) -> None:
        self.db = db
        self.config = config or RankConfig()
        self._stamp: tuple[int, int] | None = None
        self._rows = 0
        self._df: dict[str, int] = {}

    def top(self, terms: Sequence[str], n: int, scope: ScopeSet | None = None) -> Ranked:
        if not terms or n <= 0 or (scope is not None and not scope.counts):
            return []
        files: str | None = None
        if scope is not None:
            if scope.ranges is not None and len(scope.ranges) <= self.config.max_ranges:
                return self._in_ranges(any_of(terms), n, scope.ranges)
            files = json.dumps(list(scope.counts))
        return self._pruned(terms, n, files) or self._run(any_of(terms), n, files)

    def _pruned(self, terms: Sequence[str], n: int, files: str | None) -> Ranked | None:
        self._refresh()
        if self._rows < self.config.prune_min_chunks:
            return None
        limit = self.config.common_df * self._rows
        common = [t for t in terms if self._doc_freq(t) > limit]
        rare = [t for t in terms if t not in common]
        if not common or not rare:
            return None
        selective = f"({any_of(rare)})"
        best = dict(self._run(selective, n, files))  # rows with rare terms only: exact scores
        best.update(self._run(f"({any_of(common)}) AND {selective}", n, files))  # rows with both
        if len(best) < n:  # the top n may need rows holding only common words
            return None
        return sorted(best.items(), key=lambda x: -x[1])[:n]

    def _run(self, expr: str, n: int, files: str | None) -> Ranked:
        if files is None:
            return self.db.execute(_TOP, (expr, n)).fetchall()
        return self.db.execute(_TOP_IN_FILES, (expr, files, n)).fetchall()

    def _in_ranges(self, expr: str, n: int, ranges: Sequence[tuple[int, int]]) -> Ranked:
        parts = " UNION ALL ".join(_RANGE.format(lo=int(lo), hi=int(hi)) for lo, hi in ranges)
        sql = f"SELECT r, s FROM ({parts}) ORDER BY s DESC LIMIT :n"
        return self.db.execute(sql, {"e": expr, "n": n}).fetchall()

    # Document frequencies only steer the plan, never a score: cached until the DB changes.
    def _refresh(self) -> None:
        stamp = (int(self.db.execute("PRAGMA data_version").fetchone()[0]), self.db.total_changes)
        if stamp != self._stamp:
            self._stamp = stamp
            self._df.clear()
            self._rows = int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def _doc_freq(self, term: str) -> int:
        if term not in self._df:
            self._df[term] = int(self.db.execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (term,)).fetchone()[0])
        return self._df[term]
