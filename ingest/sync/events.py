"""What the sync service tells its host (CLI log, GUI), as plain dataclasses.

Callbacks run on the service's threads: a GUI must hop to its own thread
(e.g. a queued Qt signal) before touching widgets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union


@dataclass(frozen=True)
class FolderEvent:
    """A watched folder's mode: watching | polling | unavailable | removed."""

    folder: str
    state: str
    reason: str = ""  # why polling or unavailable; shown to the user as a warning


@dataclass(frozen=True)
class FileEvent:
    """One file changed state: queued | indexed | error | removed | renamed."""

    path: str
    state: str
    chunks: int = 0
    error: str = ""
    old_path: str = ""  # for renamed
    error_kind: str = ""  # ingest.errors.FileErrorKind value, for error


@dataclass(frozen=True)
class IndexProgress:
    """Overall indexing progress, from the sync service to the window as it is (the core
    passes it on); moves per file. `eta_s` is None until a few files give a rate."""

    phase: str  # starting | reconciling | indexing | idle | paused | stopped
    done: int = 0
    total: int = 0
    pending: int = 0  # changes seen but still settling (debounce)
    errors: int = 0
    current: str = ""  # the file being indexed now (its "indexing" state, for a GUI)
    eta_s: float | None = None
    scan: str = ""  # a scan being read by OCR, and how far: page scan_done + 1 of scan_total
    scan_done: int = 0  # (parsed ahead, so not always `current`)
    scan_total: int = 0


SyncEvent = Union[FolderEvent, FileEvent, IndexProgress]
EventFn = Callable[[SyncEvent], None]
