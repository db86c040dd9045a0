"""The parser worker process's side of ingest.isolation: what runs inside each worker.

A worker parses one file at a time under an address-space cap, reports a scan's pages
as it reads them, and answers every file with one picklable reply, never an exception.
It imports only this module and ingest.loaders (plus the parent's main module, which
spawn re-imports), and exits on its own when its parent is gone.
"""
from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest import progress
from ingest.document import Document
from ingest.errors import FileErrorKind, LoadError
from ingest.loaders import LoadLimits

LoadFn = Callable[[Path, LoadLimits], Document]
Reply = tuple[Document | None, str | None, str, float]  # document, error kind value, detail, seconds

EXIT_OOM = 86  # worker exit status: a MemoryError it could not even report
HEAVY_MODULES = frozenset({"torch", "chromadb", "sentence_transformers", "llama_cpp", "PySide6"})


def run_one(load_fn: LoadFn, path: Path, limits: LoadLimits) -> Reply:
    """Never raises: every outcome becomes a picklable tuple."""
    t0 = time.perf_counter()
    doc, kind, detail = None, None, ""
    try:
        doc = load_fn(path, limits)
    except LoadError as exc:
        kind, detail = exc.kind.value, exc.detail
    except MemoryError:
        kind = FileErrorKind.OUT_OF_MEMORY.value
    except Exception as exc:  # load_document never gets here; a custom load_fn might
        kind, detail = FileErrorKind.INTERNAL.value, f"{type(exc).__name__}: {exc}"[:300]
    return doc, kind, detail, time.perf_counter() - t0


def worker_main(conn: Any, memory_limit_mb: int, limits: LoadLimits, load_fn: LoadFn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # broken-PDF chatter
    warnings.simplefilter("ignore")
    _exit_with_parent()  # before the memory cap: a thread needs address space
    for name in ("pypdf", "docx", "charset_normalizer"):  # import now, so timeouts time parsing only
        try:
            __import__(name)
        except ImportError:
            pass
    _cap_memory(memory_limit_mb)
    conn.send(sorted(HEAVY_MODULES & sys.modules.keys()))  # "ready"
    while (msg := _recv_or_none(conn)) is not None:
        job_id, path = msg
        with progress.reporting(functools.partial(_send_progress, conn, job_id)):
            doc, kind, detail, secs = run_one(load_fn, Path(path), limits)
        try:
            conn.send((job_id, doc, kind, detail, secs))
        except MemoryError:
            os._exit(EXIT_OOM)
        except Exception as exc:  # unpicklable result from a custom load_fn
            conn.send((job_id, None, FileErrorKind.INTERNAL.value, f"result not sendable: {exc}", secs))
        if kind == FileErrorKind.OUT_OF_MEMORY.value:
            return  # the heap after a MemoryError is suspect: the parent starts a fresh worker


def _send_progress(conn: Any, job_id: int, page: progress.PageProgress) -> None:
    conn.send((job_id, page))  # two items: the parent tells it from a reply (five)


def _recv_or_none(conn: Any) -> Any:
    try:
        return conn.recv()
    except (EOFError, OSError):  # parent gone
        return None


def _cap_memory(memory_limit_mb: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no rlimits; the timeout still applies
        return
    if memory_limit_mb <= 0:
        return
    # The budget is for parsing, on top of what the interpreter already maps
    # (a lot, if the parent's main module dragged torch in).
    try:
        with open("/proc/self/statm") as fh:  # Linux: first field is pages mapped
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        mapped = 0
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = mapped + memory_limit_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # macOS refuses many RLIMIT_AS values
        pass


def _exit_with_parent() -> None:
    """If the app dies mid-parse, a looping worker would spin on as an orphan."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(2.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
