"""Bounded shutdown: every step gets what is left of the deadline, none may exceed it.

Order matters: answers stop first (a token away), then indexing is cancelled at
every level (the writer's flag, embeddings in flight failed, parser processes
killed), the writer is joined, the service stops, and the library releases the
index. Jobs still queued stay journalled, files cut short stay QUEUED/INDEXING in
the manifest: the next start resumes them (crash repair included).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    """What a core has running, handed over by its owner (None: not started)."""
    answers: Any = None
    sync: Any = None
    cancellable: Any = None
    indexer: Any = None
    service: Any = None
    closables: tuple[Any, ...] = ()  # closed in this order (None entries skipped)
    library: Any = None


def teardown(parts: Parts, deadline: float) -> None:
    def left(reserve: float = 0.0) -> float:
        return max(0.05, deadline - time.monotonic() - reserve)

    if parts.answers is not None:
        parts.answers.close(min(0.5, left(1.5)))
    if parts.sync is not None:
        parts.sync.request_stop()
    if parts.cancellable is not None:
        parts.cancellable.cancel_pending()
        parts.cancellable.close_soon()
    if parts.indexer is not None:
        bounded(lambda: parts.indexer.pool.close(wait=False), left(1.0), "parser-close")
    if parts.sync is not None and not parts.sync.stop(left(0.6)):
        _log.warning("the writer was still busy at shutdown; its file is redone at the next start")
    if parts.service is not None:
        bounded(lambda: parts.service.stop(left(0.5)), left(0.4), "service-stop")
    for part in parts.closables:
        if part is not None:
            try:
                part.close()
            except Exception:
                _log.exception("closing %r failed", part)
    if parts.library is not None:
        bounded(parts.library.close, left(0.05), "library-close")


def bounded(fn: Callable[[], object], seconds: float, name: str) -> None:
    """Run fn, but give up waiting after `seconds` (it finishes on a daemon thread)."""
    def run() -> None:
        try:
            fn()
        except Exception:
            _log.exception("%s failed", name)

    t = threading.Thread(target=run, name=f"docent-{name}", daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        _log.warning("%s still running after %.1f s; not waiting for it", name, seconds)
