"""Text, Markdown, HTML and DOCX sources are parsed for the viewer in the parser worker
(ingest.isolation), never in the window's process: the indexer's time limit and memory cap
hold, so a huge or hostile file costs a message in the viewer, never the window.

One worker process, started on the first text source shown. The viewer only wants the
source it was asked for last: a parse still running when a later request comes is
stopped, worker and all (a hostile file would hold the next source behind it for the
whole time limit), and a fresh worker takes the next; an earlier request arriving late
(its file took longer to hash) is refused instead. `text()` blocks its caller until the worker
answers: the viewer calls it on its loading thread, never on the GUI thread.
"""
from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.isolation import LoadResult, ParserPool
    from ingest.parser_worker import LoadFn

# As ingest.document.page_texts joins an unpaged file's blocks: PageSpan offsets count in it.
BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class ParseLimits:
    """What the indexer's parses are allowed (Settings: parse_timeout_s, parse_memory_mb, max_file_mb)."""

    timeout_s: float
    memory_mb: int
    max_file_mb: int

    @classmethod
    def of(cls, settings: Any) -> ParseLimits:
        return cls(settings.parse_timeout_s, settings.parse_memory_mb, settings.max_file_mb)

    @classmethod
    def defaults(cls) -> ParseLimits:
        from app.settings import Settings

        return cls(Settings.parse_timeout_s, Settings.parse_memory_mb, Settings.max_file_mb)


class ParseFailed(Exception):
    """The worker could not parse the file (damaged, too large, too slow, out of memory, ...);
    the message is ingest.errors' wording of why."""


class ParseSuperseded(Exception):
    """A later parse, or closing the viewer, stopped this one."""


class DocumentParser:
    """The viewer's parses, one at a time, in one isolated parser worker. Thread-safe."""

    def __init__(self, limits: ParseLimits | None = None, load_fn: LoadFn | None = None) -> None:
        """`load_fn`: a module-level function the worker imports (default: ingest's load_document)."""
        self.limits = limits or ParseLimits.defaults()
        self._load_fn = load_fn
        self._lock = threading.Lock()
        self._pool: ParserPool | None = None
        self._pending: Future[LoadResult] | None = None
        self._pending_request = 0
        self._closed = False

    def text(self, path: str, request: int = 0) -> str:
        """The text the chunker saw for an unpaged file. `request`: the asker's order (a later
        one stops this parse). Raises ParseFailed or ParseSuperseded."""
        future = self._submit(Path(path), request)
        try:
            result = future.result()
        except CancelledError as exc:
            raise ParseSuperseded(path) from exc
        if not result.ok or result.document is None:
            raise ParseFailed(result.error_message)
        return BLOCK_SEPARATOR.join(b.text for b in result.document.blocks if b.text.strip())

    def close(self) -> None:
        """Stop the parse in progress and its worker; later parses are refused (superseded)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(wait=False)

    def _submit(self, path: Path, request: int) -> Future[LoadResult]:
        with self._lock:
            running = self._pending is not None and not self._pending.done()
            if self._closed or (running and request < self._pending_request):
                raise ParseSuperseded(str(path))
            if running and self._pool is not None:
                stale, self._pool = self._pool, None
                stale.close(wait=False)  # kills the running parse; its caller hears ParseSuperseded
            if self._pool is None:
                self._pool = self._new_pool()
            self._pending, self._pending_request = self._pool.submit(path), request
            return self._pending

    def _new_pool(self) -> ParserPool:
        from ingest.isolation import ParserPool
        from ingest.loaders import LoadLimits, load_document

        return ParserPool(workers=1, timeout_s=self.limits.timeout_s, memory_limit_mb=self.limits.memory_mb,
                          limits=LoadLimits(max_bytes=self.limits.max_file_mb * 1024 * 1024),
                          load_fn=self._load_fn or load_document, scan_lanes=0)
