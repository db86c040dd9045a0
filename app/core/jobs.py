"""Writer jobs: the changes a user asks for, queued for the one writer thread.

A job is small: what to do (kind + paths), where it stands (state), and a way
to cancel or wait for it. Jobs that change what is indexed are journalled in a
small SQLite file beside the index before they are queued, and leave it when
they end, so a process killed with jobs waiting runs them at its next start.
"""
from __future__ import annotations

import enum
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


class JobKind(str, enum.Enum):
    ADD = "add"  # files or folders dropped outside the watched folders: indexed once
    REINDEX = "reindex"  # parse and embed again even if unchanged
    FORGET = "forget"
    WATCH = "watch"
    UNWATCH = "unwatch"  # detail "keep" or "drop": the folder's chunks
    REEMBED = "reembed"  # every document again (the chunking or embedder changed)


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


_FINAL = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass
class JobResult:
    files: int = 0  # files indexed or removed
    errors: int = 0
    message: str = ""  # when FAILED: the user-facing reason


@dataclass(eq=False)
class WriterJob:
    id: int
    kind: JobKind
    paths: tuple[str, ...] = ()
    detail: str = ""
    state: JobState = JobState.QUEUED
    result: JobResult = field(default_factory=JobResult)
    created_at: float = field(default_factory=time.time)
    journal_id: int = 0  # its row in the JobJournal; 0 until recorded
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _on_cancel: list[Callable[[WriterJob], None]] = field(default_factory=list, repr=False)

    @property
    def indexes(self) -> bool:
        """Whether it parses and embeds (waits while indexing is paused)."""
        return self.kind in (JobKind.ADD, JobKind.REINDEX, JobKind.WATCH, JobKind.REEMBED)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        return self.state in _FINAL

    def cancel(self) -> None:
        """A queued job never runs; a running one stops after the file in hand."""
        if self.finished:
            return
        self._cancel.set()
        for fn in list(self._on_cancel):
            fn(self)

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has ended (done, failed or cancelled)."""
        return self._done.wait(timeout)

    def when_cancelled(self, fn: Callable[[WriterJob], None]) -> None:
        """Call fn(job) when the job is cancelled (once per fn, however often it is added)."""
        if fn not in self._on_cancel:
            self._on_cancel.append(fn)

    def finish(self, state: JobState, message: str = "") -> None:
        self.state = state
        if message:
            self.result.message = message
        self._done.set()


class JobJournal:
    """Jobs not yet finished, in their own small database (own connection, any thread)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, kind TEXT "
                             "NOT NULL, paths TEXT NOT NULL, detail TEXT NOT NULL, created_at REAL)")

    def record(self, kind: JobKind, paths: tuple[str, ...], detail: str = "") -> int:
        with self._lock:
            cur = self._db.execute("INSERT INTO jobs (kind, paths, detail, created_at) VALUES "
                                   "(?, ?, ?, ?)", (kind.value, json.dumps(list(paths)), detail,
                                                    time.time()))
            return int(cur.lastrowid or 0)

    def done(self, job_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def pending(self) -> list[WriterJob]:
        """What a previous run left, oldest first; unknown kinds (a newer Docent) are dropped."""
        with self._lock:
            rows = self._db.execute("SELECT id, kind, paths, detail, created_at FROM jobs "
                                    "ORDER BY id").fetchall()
        jobs = []
        for job_id, kind, paths, detail, created in rows:
            try:
                jobs.append(WriterJob(0, JobKind(kind), tuple(json.loads(paths)), detail,
                                      created_at=float(created or 0), journal_id=int(job_id)))
            except (ValueError, TypeError):
                self.done(int(job_id))
        return jobs

    def close(self) -> None:
        with self._lock:
            self._db.close()
