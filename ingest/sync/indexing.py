"""Indexing a list of files on the sync service's worker: rows queued first, then the
indexer in batches (pause or stop cut in between), each file's progress and outcome told
as it goes. SyncService.index_files calls it for its own loop and for the writer's tasks."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ingest.sync.events import FileEvent, FileState, SyncEvent
from ingest.sync.progress import ProgressTracker
from ingest.sync.reconcile import queue_new

_BATCH = 200  # files per Indexer call: bounds how long pause/stop waits


def index_files(indexer: Any, files: list[Path], tracker: ProgressTracker, emit: Callable[[SyncEvent], None],
                pending: Callable[[], int], interrupted: Callable[[], bool]) -> list[Path]:
    """Index files (queued rows first, progress per file); returns those that pause or stop
    left undone. `tracker` counts the wave for the progress bar; `emit` tells the host;
    `pending`: how much waits behind these; `interrupted`: pause or stop was asked for."""
    if not files:
        return []
    queue_new(indexer.manifest, files)
    tracker.queued(len(files))
    for f in files:
        emit(FileEvent(str(f), FileState.QUEUED))
    done: set[str] = set()
    order = [str(f) for f in files]
    first = [0]  # order[:first] are done

    def current() -> str:  # the first file not done is in hand (a scan read aside may finish later)
        while first[0] < len(order) and order[first[0]] in done:
            first[0] += 1
        return order[first[0]] if first[0] < len(order) else ""

    def started(path: str) -> None:  # the host shows it as that file's "indexing" state
        if path:
            emit(tracker.snapshot("indexing", pending(), path))

    def progress(p: Any) -> None:
        if p.phase == "pages":  # from the parser's thread: only a progress line, no state
            emit(replace(tracker.snapshot("indexing", pending(), current()),
                         scan=p.path, scan_done=p.done, scan_total=p.total))
            return
        if p.phase != "file_done":
            return
        done.add(p.path)
        tracker.file_done(bool(p.error))
        kind = ""
        if p.error and (rec := indexer.manifest.get(p.path)) is not None:
            kind = rec.error_kind or ""
        emit(FileEvent(p.path, FileState.ERROR if p.error else FileState.INDEXED, p.chunks,
                       error_kind=kind, message=p.error))
        started(current())

    started(current())
    for i in range(0, len(files), _BATCH):
        indexer.index_paths(files[i:i + _BATCH], progress=progress)
        if interrupted():
            return [f for f in files[i:] if str(f) not in done]
    return []
