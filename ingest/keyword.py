"""Keyword index: SQLite FTS5 (BM25) over the same chunks as the vectors.

It lives in the manifest's database (migration 2), so a file's keyword rows
commit beside the manifest row that vouches for them, and the pipeline's
repair of rows left INDEXING after a crash clears both indexes alike.
`chunks` holds metadata keyed by `id`; `chunks_fts` holds the text under the
same rowid, so a hit is hydrated by two primary-key lookups.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from ingest import docmeta
from ingest.keyword_rank import Bm25Ranker, RankConfig, ScopeSet, query_terms
from ingest.passage import Passage
from ingest.paths import below_range
from ingest.store import PAGE

if TYPE_CHECKING:
    from ingest.manifest import Manifest
    from ingest.store import ChromaStore

_SQL_VARS = 900  # stay under SQLite's host-parameter limit on old builds
_SCOPE = "SELECT file_id, count(*), min(id), max(id) FROM chunks WHERE {} GROUP BY path, file_id"


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float  # BM25, higher is better


def source_terms(path: str) -> str:
    """The file's name as searchable words: users name files for what they hold
    ("2023 Q3 NVDA.pdf", "lease-quay-street.docx"), text chunks rarely repeat it."""
    return re.sub(r"[_\-.]+", " ", PurePath(path).stem)


class KeywordIndex:
    """Implements ingest.pipeline.SecondaryIndex; shares the manifest's connection.

    The engine reads the library's tables only through this class's reads: chunks by
    keyword, one file's chunks in order, which files hold a word, and what each
    document is (ingest.docmeta)."""

    def __init__(self, db: sqlite3.Connection, rank: RankConfig | None = None) -> None:
        self.db = db
        self.ranker = Bm25Ranker(db, rank)

    @classmethod
    def of(cls, manifest: "Manifest", rank: RankConfig | None = None) -> "KeywordIndex":
        """The keyword index in `manifest`'s database, on its connection."""
        return cls(manifest.db, rank)

    @contextmanager
    def _tx(self) -> Iterator[None]:
        # A savepoint nests inside a caller's transaction and is a transaction otherwise.
        self.db.execute("SAVEPOINT keyword")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO keyword")
            self.db.execute("RELEASE keyword")
            raise
        self.db.execute("RELEASE keyword")

    # --- SecondaryIndex --------------------------------------------------------
    def replace_file(self, file_id: str, chunks: Sequence[Passage]) -> None:
        with self._tx():
            self._delete(file_id)
            self.add(chunks)

    def add(self, chunks: Iterable[Passage]) -> None:
        for c in chunks:
            cur = self.db.execute(
                "INSERT INTO chunks (chunk_id, file_id, path, chunk_index, page_start, page_end, "
                "heading) VALUES (?,?,?,?,?,?,?)",
                (c.chunk_id, c.file_id, c.path, c.chunk_index, c.page_start, c.page_end, c.heading))
            self.db.execute("INSERT INTO chunks_fts (rowid, text, source) VALUES (?, ?, ?)",
                            (cur.lastrowid, c.text, source_terms(c.path)))

    def delete_file(self, file_id: str) -> int:
        with self._tx():
            return self._delete(file_id)

    def _delete(self, file_id: str) -> int:
        rows = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE file_id = ?", (file_id,))]
        for part in _batches(rows):
            marks = ",".join("?" * len(part))
            self.db.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({marks})", part)
            self.db.execute(f"DELETE FROM chunks WHERE id IN ({marks})", part)
        return len(rows)

    def rename_file(self, file_id: str, new_path: str) -> None:
        with self._tx():
            self.db.execute("UPDATE chunks SET path = ? WHERE file_id = ?", (new_path, file_id))
            self.db.execute("UPDATE chunks_fts SET source = ? WHERE rowid IN "
                            "(SELECT id FROM chunks WHERE file_id = ?)", (source_terms(new_path), file_id))

    def clear(self) -> None:
        with self._tx():
            self.db.execute("DELETE FROM chunks_fts")
            self.db.execute("DELETE FROM chunks")

    def rebuild_from(self, store: "ChromaStore", batch: int = PAGE) -> int:
        """Backfill from the vector store (an index made before the keyword index existed),
        a page at a time: one Chroma get() cannot return a large library."""
        with self._tx():
            self.db.execute("DELETE FROM chunks_fts")
            self.db.execute("DELETE FROM chunks")
            offset = 0
            while page := store.chunks_page(offset, batch):
                self.add(page)
                offset += len(page)
                if len(page) < batch:
                    break
        return self.count()

    # --- reads -------------------------------------------------------------------
    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def all_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")]

    def file_ids(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT file_id, count(*) FROM chunks GROUP BY file_id").fetchall())

    def ids_for_files(self, file_ids: Collection[str]) -> list[str]:
        out: list[str] = []
        for part in _batches(list(file_ids)):
            marks = ",".join("?" * len(part))
            out += [r[0] for r in self.db.execute(
                f"SELECT chunk_id FROM chunks WHERE file_id IN ({marks})", part)]
        return out

    def scope(self, paths: Collection[str] = (), folders: Collection[str] = (),
              file_ids: Collection[str] = ()) -> ScopeSet:
        """The files named by path, under folders, or by id, with their rowid ranges."""
        rows: dict[str, tuple[str, int, int, int]] = {}
        for p in paths:
            rows.update((r[0], r) for r in self.db.execute(_SCOPE.format("path = ?"), (p,)))
        for folder in folders:
            rows.update((r[0], r) for r in self.db.execute(  # on the (path, file_id) index
                _SCOPE.format("path >= ? AND path < ?"), below_range(folder)))
        for part in _batches(list(file_ids)):
            rows.update((r[0], r) for r in self.db.execute(
                _SCOPE.format(f"file_id IN ({','.join('?' * len(part))})"), part))
        return ScopeSet.from_rows(list(rows.values()))

    def search(self, query: str, n: int, scope: ScopeSet | None = None) -> list[KeywordHit]:
        """Top-n chunks by BM25, within `scope` (see scope()) if given."""
        ranked = self.ranker.top(query_terms(query), n, scope)
        ids = dict(self._chunk_ids([rowid for rowid, _ in ranked]))
        return [KeywordHit(ids[rowid], float(score)) for rowid, score in ranked if rowid in ids]

    def _chunk_ids(self, rowids: list[int]) -> Iterator[tuple[int, str]]:
        for part in _batches(rowids):
            yield from self.db.execute(
                f"SELECT id, chunk_id FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        """Hydrate chunk ids (from either index) into full chunks; unknown ids are absent."""
        out: dict[str, Passage] = {}
        for part in _batches(list(chunk_ids)):
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                    "SELECT c.chunk_id, c.path, c.page_start, c.page_end, f.text, c.heading "
                    f"FROM chunks c JOIN chunks_fts f ON f.rowid = c.id WHERE c.chunk_id IN ({marks})", part):
                cid, path, start, end, text, heading = row
                out[cid] = Passage(cid, path, start, end, text, heading=heading)
        return out

    def path_of(self, file_id: str) -> str | None:
        """The path a file's chunks are stored under (None: the file has none)."""
        row = self.db.execute("SELECT path FROM chunks WHERE file_id = ? LIMIT 1", (file_id,)).fetchone()
        return str(row[0]) if row else None

    def file_chunks(self, file_id: str) -> list[Passage]:
        """One file's chunks in reading order, with their text (the highlight spans are the
        vector store's: ChromaStore.get_chunks)."""
        return [Passage(cid, path, start, end, text, heading=heading)
                for cid, path, start, end, text, heading in self.db.execute(
                    "SELECT c.chunk_id, c.path, c.page_start, c.page_end, f.text, c.heading FROM chunks c "
                    "JOIN chunks_fts f ON f.rowid = c.id WHERE c.file_id = ? ORDER BY c.chunk_index",
                    (file_id,))]

    def holders(self, term: str) -> dict[str, int]:
        """{file id: chunks whose text holds `term`}, `term` matched as one FTS5 phrase."""
        rows = self.db.execute(
            "SELECT c.file_id, count(*) FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
            "WHERE chunks_fts MATCH ? GROUP BY c.file_id", ('"' + term.replace('"', '""') + '"',))
        return {str(fid): int(n) for fid, n in rows.fetchall()}

    def documents(self) -> list[docmeta.StoredMeta]:
        """What every indexed file is (title, dates, names...: ingest.docmeta.load)."""
        return docmeta.load(self.db)

    def documents_version(self) -> tuple[object, ...]:
        """Changes whenever any file's metadata or indexed state does (docmeta.version)."""
        return docmeta.version(self.db)


def _batches(items: list[Any], size: int = _SQL_VARS) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
