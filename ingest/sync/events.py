"""What the sync service tells its host (CLI log, GUI), as plain dataclasses.

Callbacks run on the service's threads: a GUI must hop to its own thread
(e.g. a queued Qt signal) before touching widgets.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Union


class FileState(str, enum.Enum):
    QUEUED = "queued"
    INDEXING = "indexing"  # parsing, chunking, embedding or writing
    INDEXED = "indexed"  # also a file recognised as moved or renamed (FileEvent.old_path)
    ERROR = "error"
    UNAVAILABLE = "unavailable"  # its folder is offline (unplugged drive, unmounted share)
    REMOVED = "removed"


class FolderState(str, enum.Enum):
    WATCHING = "watching"  # live notifications
    POLLING = "polling"  # no live notifications here (network drive, OS limits): scanned
    UNAVAILABLE = "unavailable"
    REMOVED = "removed"


@dataclass(frozen=True)
class FolderEvent:
    """A watched folder's mode changed."""

    folder: str
    state: FolderState
    reason: str = ""  # why polling or unavailable; shown to the user as a warning


@dataclass(frozen=True)
class FileEvent:
    """One file changed state. The sync service emits it; the application core adds the
    watched folder it belongs to (and, once indexed, its page count) and passes it on to
    the window as it is."""

    path: str
    state: FileState
    chunks: int = 0
    pages: int | None = None
    error_kind: str = ""  # ingest.errors.FileErrorKind value when state is ERROR
    message: str = ""  # user-facing reason when state is ERROR
    old_path: str = ""  # set when the file was recognised as moved/renamed
    folder: str = ""  # the watched folder it belongs to; "" for files added on their own

    @property
    def renamed(self) -> bool:
        return bool(self.old_path)


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
