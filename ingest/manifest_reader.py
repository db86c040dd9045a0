"""Library-pane reads from the manifest on their own connection, a page at a time.

The writer's connection may be inside a transaction on the writer thread; a
separate read-only connection (WAL) sees only committed rows and never waits on
it. Rows come in keyset pages, so a 100k-file library is never one huge query.
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Iterator

from ingest import scan_lines
from ingest.manifest import _COLUMNS, FileRecord, FileStatus, _record
from ingest.paths import below_range, inside
from ingest.scan_lines import ScanPage

PAGE = 1000


class ManifestReader:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                                   timeout=30)
        self._lock = threading.Lock()

    def rows(self, folder: str | None = None, offset: int = 0,
             limit: int | None = None) -> Iterator[FileRecord]:
        """Rows by path (inside `folder` when given), `offset` rows skipped, up to `limit`."""
        lo, hi = "", None
        if folder:
            lo, hi = below_range(folder)
        last = None
        skip, left = offset, limit
        while left is None or left > 0:
            n = PAGE
            sql = f"SELECT {_COLUMNS} FROM files WHERE path {'>' if last is not None else '>='} ?"
            args: list[object] = [last if last is not None else lo]
            if hi is not None:
                sql += " AND path < ?"
                args.append(hi)
            sql += " ORDER BY path LIMIT ?"
            args.append(n)
            with self._lock:
                page = self._db.execute(sql, args).fetchall()
            if not page:
                return
            last = page[-1][1]
            for row in page:
                if skip:
                    skip -= 1
                    continue
                yield _record(row)
                if left is not None:
                    left -= 1
                    if left == 0:
                        return
            if len(page) < n:
                return

    def record(self, path: str) -> FileRecord | None:
        """The row of one file (None: not in the library)."""
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM files WHERE path = ?", (path,)).fetchone()
        return _record(row) if row is not None else None

    def scan_pages(self, path: str, sha256: str, pages: Iterable[int] | None = None) -> dict[int, ScanPage]:
        """The lines OCR read on the file's scanned `pages` (None: all), with their boxes, as
        indexed from the bytes `sha256` (ingest.scan_lines)."""
        with self._lock:
            return scan_lines.load(self._db, path, sha256, pages)

    def counts(self) -> tuple[dict[str, int], int]:
        """(files per status, chunks of indexed files)."""
        with self._lock:
            by = {str(k): int(v) for k, v in
                  self._db.execute("SELECT status, COUNT(*) FROM files GROUP BY status")}
            chunks = self._db.execute("SELECT COALESCE(SUM(chunk_count), 0) FROM files WHERE "
                                      "status = ?", (FileStatus.INDEXED.value,)).fetchone()[0]
        return by, int(chunks)

    def outside(self, roots: list[str], version: str) -> list[str]:
        """Rows outside the watched folders that still need indexing (queued, cut short by
        a kill, or from an older recipe): what dropped files resume from."""
        out = []
        for rec in self.rows():
            if any(inside(rec.path, r) for r in roots):
                continue
            if rec.status in (FileStatus.QUEUED, FileStatus.INDEXING) or (
                    rec.status == FileStatus.INDEXED and rec.index_version != version):
                out.append(rec.path)
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
