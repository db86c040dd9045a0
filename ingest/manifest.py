"""SQLite manifest: what is indexed, from which bytes, and what went wrong.

The manifest is the source of truth for incremental indexing: a file whose
size and mtime are unchanged is skipped without reading it, one whose bytes
hash the same is skipped without re-embedding. Schema changes are numbered
migrations, applied in order, never edited once shipped.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterator

from ingest.errors import FileErrorKind
from ingest.paths import below_range


class FileStatus(str, Enum):
    QUEUED = "queued"
    INDEXING = "indexing"  # chunks may be half-written: repaired at start-up
    INDEXED = "indexed"
    ERROR = "error"
    REMOVED = "removed"


@dataclass
class FileRecord:
    file_id: str
    path: str
    size: int
    mtime_ns: int
    sha256: str
    status: FileStatus
    error_kind: str | None = None
    error: str | None = None
    chunk_count: int = 0
    page_count: int | None = None
    index_version: str = ""
    updated_at: float = 0.0

    def unchanged(self, size: int, mtime_ns: int, version: str) -> bool:
        """Nothing to do for the file this row describes, now `size` bytes at `mtime_ns`:
        the same as when it was indexed under this recipe (`version`), or when it failed
        for a reason that trying again would not change (FileErrorKind.retried_when_unchanged)."""
        if (self.size, self.mtime_ns, self.index_version) != (size, mtime_ns, version):
            return False
        if self.status == FileStatus.INDEXED:
            return True
        if self.status != FileStatus.ERROR:
            return False
        try:
            return not FileErrorKind(self.error_kind).retried_when_unchanged
        except ValueError:  # no kind, or one this version does not know: try again
            return False


MIGRATIONS: list[str] = [
    # 1: files and key/value metadata
    """
    CREATE TABLE files (
        file_id TEXT PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        status TEXT NOT NULL,
        error_kind TEXT,
        error TEXT,
        chunk_count INTEGER NOT NULL DEFAULT 0,
        page_count INTEGER,
        index_version TEXT NOT NULL DEFAULT '',
        updated_at REAL NOT NULL
    );
    CREATE INDEX files_sha ON files(sha256);
    CREATE INDEX files_status ON files(status);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: keyword index (ingest/keyword.py). Chunk rows + an FTS5 table sharing their rowid,
    # in this DB so keyword rows commit next to the manifest rows that vouch for them.
    """
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        chunk_id TEXT NOT NULL UNIQUE,
        file_id TEXT NOT NULL,
        path TEXT NOT NULL,
        chunk_index INTEGER NOT NULL,
        page_start INTEGER,
        page_end INTEGER,
        heading TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX chunks_file ON chunks(file_id, chunk_index);
    CREATE INDEX chunks_path ON chunks(path);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, source, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    """,
    # 3: scope look-ups (a folder = a path range) read file ids and rowids from the index alone.
    """
    CREATE INDEX chunks_path_file ON chunks(path, file_id);
    DROP INDEX chunks_path;
    """,
    # 4: what each document is (ingest/docmeta.py: title, dates, period, names, kinds) as JSON.
    # Rows of files indexed before this are derived from their stored chunks until re-indexed.
    """
    CREATE TABLE doc_meta (
        file_id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 5: each scanned page's lines read by OCR, with their boxes (ingest/scan_lines.py), for the viewer.
    """
    CREATE TABLE scan_lines (
        file_id TEXT NOT NULL,
        page INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        data TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (file_id, page)
    );
    """,
]

_COLUMNS = ("file_id, path, size, mtime_ns, sha256, status, error_kind, error, chunk_count, "
            "page_count, index_version, updated_at")


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open explicit transactions where it matters.
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                  timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for stmt in _statements(sql):
                    self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {number}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    # --- reads ---------------------------------------------------------------
    def get(self, path: str) -> FileRecord | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM files WHERE path = ?", (path,)).fetchone()
        return _record(row) if row else None

    def by_id(self, file_id: str) -> FileRecord | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM files WHERE file_id = ?", (file_id,)).fetchone()
        return _record(row) if row else None

    def by_sha(self, sha256: str) -> list[FileRecord]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM files WHERE sha256 = ?", (sha256,))
        return [_record(r) for r in rows]

    def all(self, status: FileStatus | None = None) -> list[FileRecord]:
        if status is None:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM files ORDER BY path")
        else:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM files WHERE status = ? ORDER BY path",
                                   (status.value,))
        return [_record(r) for r in rows]

    def under(self, folder: str) -> Iterator[FileRecord]:
        """Records whose path lies inside folder (string prefix on a path boundary)."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM files WHERE path >= ? AND path < ?",
                               below_range(folder))
        for r in rows:
            yield _record(r)

    # --- writes --------------------------------------------------------------
    def put(self, rec: FileRecord) -> None:
        rec.updated_at = time.time()
        self.db.execute(
            f"INSERT INTO files ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(file_id) DO UPDATE SET path=excluded.path, size=excluded.size, "
            "mtime_ns=excluded.mtime_ns, sha256=excluded.sha256, status=excluded.status, "
            "error_kind=excluded.error_kind, error=excluded.error, chunk_count=excluded.chunk_count, "
            "page_count=excluded.page_count, index_version=excluded.index_version, "
            "updated_at=excluded.updated_at",
            (rec.file_id, rec.path, rec.size, rec.mtime_ns, rec.sha256, rec.status.value,
             rec.error_kind, rec.error, rec.chunk_count, rec.page_count, rec.index_version,
             rec.updated_at),
        )

    def delete(self, file_id: str) -> None:
        self.db.execute("DELETE FROM files WHERE file_id = ?", (file_id,))

    def has_indexed_chunks(self) -> bool:
        """Whether some indexed file has chunks (a keyword index left empty by an older
        version is rebuilt from the vector store when so)."""
        return self.db.execute("SELECT 1 FROM files WHERE status = ? AND chunk_count > 0 LIMIT 1",
                               (FileStatus.INDEXED.value,)).fetchone() is not None

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


def _record(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(row[0], row[1], row[2], row[3], row[4], FileStatus(row[5]), row[6], row[7],
                      row[8], row[9], row[10], row[11])
