"""The indexer: files in, chunks + vectors + manifest rows out, incrementally.

Write order per file (so a kill at any instant is repairable, never duplicated):
  1. manifest row -> INDEXING (with the new hash)
  2. Chroma upsert of the new chunks (ids are file_id:index, so idempotent)
  3. Chroma delete of the file's chunk ids beyond the new count
  4. manifest row -> INDEXED with the chunk count
`repair()` turns any row left in INDEXING into a clean re-index.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from ingest import docmeta, scan_lines
from ingest.chunker import Chunk, Chunker
from ingest.discover import discover
from ingest.embedder import Embedder
from ingest.errors import MESSAGES, FileErrorKind
from ingest.isolation import LoadResult, ParserPool
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.manifest import FileRecord, FileStatus, Manifest
from ingest.passage import Passage
from ingest.store import ChromaStore, chunk_id

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class FileFailure:
    path: str
    kind: FileErrorKind
    message: str


@dataclass
class IndexReport:
    files_seen: int = 0
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: list[FileFailure] = field(default_factory=list)
    chunks_added: int = 0
    chunks_deleted: int = 0
    embed_tokens: int = 0
    pages: int = 0
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Progress:
    """Emitted as work advances; `phase` is scanned | file_done | finished, or pages: `done`
    of `total` pages of the scan `path` read by OCR so far (from the parser's thread)."""

    phase: str
    done: int = 0
    total: int = 0
    path: str = ""
    chunks: int = 0
    error: str = ""


ProgressFn = Callable[[Progress], None]


class SecondaryIndex(Protocol):
    """Another index over the same chunks (e.g. keyword search), kept in step with Chroma."""

    def replace_file(self, file_id: str, chunks: Sequence[Passage]) -> None: ...

    def delete_file(self, file_id: str) -> int: ...

    def rename_file(self, file_id: str, new_path: str) -> None: ...


def file_id_for(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class _Work:
    path: Path
    size: int
    mtime_ns: int
    sha256: str
    previous: FileRecord | None


@dataclass
class _Embedding:
    """A file whose chunks are being embedded, waiting to be written."""

    work: _Work
    record: FileRecord
    chunks: list[Chunk]
    pages: int
    vectors: Future[np.ndarray]


def _first_parsed(queue: deque[tuple[_Work, Future[LoadResult]]],
                  embedded: Future[np.ndarray] | None) -> tuple[_Work, Future[LoadResult]] | None:
    """The first file in `queue` whose parse is done, taken off it, waiting until one is;
    None if `embedded` finishes first. Parses end out of order when a scan is read aside."""
    waiting: list[Future[Any]] = [f for _, f in queue] + ([embedded] if embedded is not None else [])
    wait(waiting, return_when=FIRST_COMPLETED)
    for i, (work, fut) in enumerate(queue):
        if fut.done():
            del queue[i]
            return work, fut
    return None


class Indexer:
    def __init__(self, manifest: Manifest, store: ChromaStore, embedder: Embedder,
                 chunker: Chunker, pool: ParserPool, index_version: str, prefetch: int = 3,
                 secondary: Sequence[SecondaryIndex] = ()) -> None:
        self.manifest = manifest
        self.secondary = list(secondary)
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.pool = pool
        self.version = index_version
        self.prefetch = max(1, prefetch)
        self.cancel_event = threading.Event()

    # --- recovery ------------------------------------------------------------
    def repair(self) -> int:
        """Undo half-written files from a crash: drop their chunks, force a re-index."""
        fixed = 0
        for rec in self.manifest.all(FileStatus.INDEXING):
            self._delete_chunks(rec.file_id)
            rec.status, rec.sha256, rec.chunk_count = FileStatus.QUEUED, "", 0
            self.manifest.put(rec)
            fixed += 1
        return fixed

    # --- main entry ----------------------------------------------------------
    def index_paths(self, paths: list[Path], progress: ProgressFn | None = None) -> IndexReport:
        t0 = time.perf_counter()
        emit = progress or (lambda p: None)
        report = IndexReport()
        self.repair()
        found = discover(paths, SUPPORTED_SUFFIXES)
        report.files_seen = len(found.files)
        for p in found.unsupported:
            self._fail(report, str(p), None, FileErrorKind.UNSUPPORTED, p.suffix or "no extension")
        present = {str(f) for f in found.files}
        gone = [str(p) for p in found.missing]
        for root in found.roots:
            gone += [r.path for r in self.manifest.under(str(root)) if r.path not in present]
        for path in gone:
            rec = self.manifest.get(path)
            if rec is not None:
                report.chunks_deleted += self._delete_chunks(rec.file_id)
                self.manifest.delete(rec.file_id)
                report.removed += 1
            elif path in {str(p) for p in found.missing}:
                self._fail(report, path, None, FileErrorKind.VANISHED, "path not found")

        todo = [w for f in found.files if (w := self._plan(f, report)) is not None]
        emit(Progress("scanned", 0, len(todo)))
        set_progress = getattr(self.pool, "set_progress", None)
        heard = set_progress(lambda path, page: emit(Progress("pages", page.done, page.total, str(path)))) \
            if set_progress and progress else None
        try:
            self._run(todo, report, emit)
        finally:
            if set_progress and progress:
                set_progress(heard)
        report.seconds = time.perf_counter() - t0
        emit(Progress("finished", len(todo), len(todo)))
        return report

    def forget(self, paths: list[Path]) -> int:
        """Remove files (or everything under folders) from the index. Returns files removed."""
        removed = 0
        for p in paths:
            ap = os.path.abspath(os.path.expanduser(str(p)))
            recs = [r for r in [self.manifest.get(ap)] if r] + list(self.manifest.under(ap))
            for rec in recs:
                self._delete_chunks(rec.file_id)
                self.manifest.delete(rec.file_id)
                removed += 1
        return removed

    def rename(self, rec: FileRecord, new_path: Path) -> FileRecord:
        """Same bytes at a new path (a move): re-point its chunks, embed nothing.

        Chunk metadata first, manifest row last: a kill in between leaves the row
        at the old path, and the next reconciliation matches the hash again.
        """
        new = os.path.abspath(str(new_path))
        st = os.stat(new)
        other = self.manifest.get(new)
        if other is not None and other.file_id != rec.file_id:
            self.forget([Path(new)])  # the file it replaced, or a queued placeholder
        self.store.rename_file(rec.file_id, new)
        for index in self.secondary:
            index.rename_file(rec.file_id, new)
        rec.path, rec.size, rec.mtime_ns, rec.status = new, st.st_size, st.st_mtime_ns, FileStatus.INDEXED
        self.manifest.put(rec)
        return rec

    def _delete_chunks(self, file_id: str) -> int:
        scan_lines.forget(self.manifest.db, file_id)
        for index in self.secondary:
            index.delete_file(file_id)
        return self.store.delete_file(file_id)

    # --- steps ---------------------------------------------------------------
    def _plan(self, path: Path, report: IndexReport) -> _Work | None:
        key = str(path)
        rec = self.manifest.get(key)
        try:
            st = path.stat()
        except FileNotFoundError:
            self._fail(report, key, rec, FileErrorKind.VANISHED, "")
            return None
        except OSError as e:
            self._fail(report, key, rec, FileErrorKind.UNREADABLE, e.strerror or str(e))
            return None
        if rec is not None and rec.unchanged(st.st_size, st.st_mtime_ns, self.version):
            if rec.status == FileStatus.INDEXED:
                report.unchanged += 1
            else:  # failed before, for a reason that would recur
                report.failures.append(FileFailure(key, FileErrorKind(rec.error_kind), rec.error or ""))
            return None
        try:
            sha = sha256_file(path)
        except FileNotFoundError:
            self._fail(report, key, rec, FileErrorKind.VANISHED, "")
            return None
        except OSError as e:
            self._fail(report, key, rec, FileErrorKind.UNREADABLE, e.strerror or str(e))
            return None
        if rec and rec.index_version == self.version and rec.sha256 == sha and rec.status == FileStatus.INDEXED:
            rec.size, rec.mtime_ns = st.st_size, st.st_mtime_ns  # touched, not changed
            self.manifest.put(rec)
            report.unchanged += 1
            return None
        return _Work(path, st.st_size, st.st_mtime_ns, sha, rec)

    def _run(self, todo: list[_Work], report: IndexReport, emit: ProgressFn) -> None:
        """Parse ahead in worker processes; while one file is embedded, chunk the next
        and write the previous one, so the encoder never waits for this thread."""
        queue: deque[tuple[_Work, Future[LoadResult]]] = deque()
        it = iter(todo)
        done = 0
        embedding: _Embedding | None = None

        def file_done(path: Path, chunks: int) -> None:
            nonlocal done
            done += 1
            rec = self.manifest.get(str(path))
            emit(Progress("file_done", done, len(todo), str(path), chunks,
                          rec.error or "" if rec and rec.status == FileStatus.ERROR else ""))

        def finish(job: _Embedding) -> None:
            self._write(job, report)
            file_done(job.work.path, len(job.chunks))

        while True:
            while len(queue) < self.prefetch and not self.cancel_event.is_set():
                w = next(it, None)
                if w is None:
                    break
                queue.append((w, self.pool.submit(w.path)))
            if not queue:
                break
            if self.cancel_event.is_set():  # parsed ahead, not begun: left for the resume
                break  # (chunking a big file takes seconds; closing must not wait for it)
            parsed = _first_parsed(queue, embedding.vectors if embedding is not None else None)
            if parsed is None:  # embedded before anything parsed: written now, not behind a long scan
                assert embedding is not None
                finish(embedding)
                embedding = None
                continue
            work, fut = parsed
            job = self._prepare(work, fut.result(), report)
            if embedding is not None:  # write the previous file while this one is embedded
                finish(embedding)
            embedding = job
            if job is None:  # failed or empty: recorded already
                file_done(work.path, 0)
        if embedding is not None:
            finish(embedding)
        report.cancelled = self.cancel_event.is_set() and done < len(todo)

    def _prepare(self, w: _Work, result: LoadResult, report: IndexReport) -> _Embedding | None:
        """Chunk a parsed file, mark it INDEXING and start embedding it."""
        key = str(w.path)
        if not result.ok or result.document is None:
            self._fail(report, key, w.previous, result.error_kind or FileErrorKind.INTERNAL,
                       result.error_detail, w)
            return None
        doc = result.document
        chunks = self.chunker.chunk(doc)
        if not chunks:
            kind = FileErrorKind.NO_TEXT if doc.kind == "pdf" else FileErrorKind.EMPTY
            self._fail(report, key, w.previous, kind, "", w)
            return None
        fid = w.previous.file_id if w.previous else file_id_for(key)
        rec = FileRecord(fid, key, w.size, w.mtime_ns, w.sha256, FileStatus.INDEXING,
                         chunk_count=len(chunks), page_count=doc.page_count, index_version=self.version)
        self.manifest.put(rec)
        docmeta.record(self.manifest.db, fid, doc)  # what the file is, for questions that name it
        scan_lines.record(self.manifest.db, fid, w.sha256, doc)  # where a scan's lines are, for the viewer
        vectors = self.embedder.submit([c.text for c in chunks], [c.token_count for c in chunks])
        return _Embedding(w, rec, chunks, doc.page_count or 0, vectors)

    def _write(self, job: _Embedding, report: IndexReport) -> None:
        """Store an embedded file's chunks, drop its stale ones, mark it INDEXED."""
        rec, key, fid = job.record, job.record.path, job.record.file_id
        vectors = job.vectors.result()
        stored = [Passage(chunk_id(fid, c.index), key, c.page_start, c.page_end, c.text, 0.0, c.heading,
                          c.spans, c.body) for c in job.chunks]
        self.store.upsert(stored, vectors, job.work.sha256)
        keep = {s.chunk_id for s in stored}
        stale = [i for i in self.store.ids_for_file(fid) if i not in keep]
        if stale:
            self.store.delete_ids(stale)
        for index in self.secondary:
            index.replace_file(fid, stored)
        rec.status = FileStatus.INDEXED
        self.manifest.put(rec)
        report.indexed += 1
        report.chunks_added += len(job.chunks)
        report.chunks_deleted += len(stale)
        report.embed_tokens += sum(c.token_count for c in job.chunks)
        report.pages += job.pages

    def _fail(self, report: IndexReport, path: str, previous: FileRecord | None,
              kind: FileErrorKind, detail: str, work: _Work | None = None) -> None:
        message = MESSAGES[kind] + (f" ({detail})" if detail else "")
        report.failures.append(FileFailure(path, kind, message))
        fid = previous.file_id if previous else file_id_for(path)
        if previous is not None:
            report.chunks_deleted += self._delete_chunks(fid)  # stale content must not answer
        self.manifest.put(FileRecord(
            fid, path, work.size if work else 0, work.mtime_ns if work else 0,
            work.sha256 if work else "", FileStatus.ERROR, kind.value, message, 0, None, self.version))
