"""What the application core tells its hosts (the window, `docent serve`), as typed events.

Every event is delivered on one of the core's own threads, in order per
source; a Qt adapter only re-emits them as queued signals. Nothing here
imports Qt or a heavy library.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Union

from app.engine.events import Event as EngineAnswerEvent

# Indexing progress: the sync service's own events, passed on as they are (a FileEvent
# with its watched folder and page count filled in), so there is one type of each.
from ingest.sync.events import FileEvent as FileEvent
from ingest.sync.events import FileState as FileState
from ingest.sync.events import FolderEvent as FolderEvent
from ingest.sync.events import FolderState as FolderState
from ingest.sync.events import IndexProgress as IndexProgress

if TYPE_CHECKING:
    from app.engine.owner_lock import LockHolder
    from ingest.loaders.pdf_speedups import FastPaths


class CoreState(str, enum.Enum):
    STARTING = "starting"  # parts being built (embedder, Chroma, manifest) in a defined order
    READY = "ready"  # services accept requests
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"  # could not start (index busy, embedder missing): see CoreStateEvent.message


class ModelState(str, enum.Enum):
    NONE = "none"  # no model chosen: offer the download or a local GGUF
    UNLOADED = "unloaded"  # chosen, loaded on the first question or load_model()
    LOADING = "loading"
    READY = "ready"
    DOWNLOADING = "downloading"
    ERROR = "error"


@dataclass(frozen=True)
class CoreStateEvent:
    state: CoreState
    message: str = ""


@dataclass(frozen=True)
class IndexWaitEvent:
    """While STARTING: another Docent process holds the index and this core waits for it
    (`waiting`), or it let go and this core owns it now (not `waiting`)."""

    holder: "LockHolder | None"  # None: a process whose record is missing (starting) or stale
    message: str  # for the log, the status bar and the library pane
    waiting: bool = True


@dataclass(frozen=True)
class ModelEvent:
    state: ModelState
    name: str = ""
    fraction: float | None = None  # download progress 0..1 (None: unknown)
    done_bytes: int = 0
    total_bytes: int = 0
    message: str = ""


@dataclass(frozen=True)
class AnswerEvent:
    """One event of an answer stream (sources, token, done, error), tagged with its job."""

    job_id: int
    chat_id: int | None
    event: EngineAnswerEvent


@dataclass(frozen=True)
class WorkerEvent:
    """A core thread died: reported, and restarted where that is safe."""

    worker: str
    message: str
    restarted: bool


@dataclass(frozen=True)
class CoreErrorEvent:
    """An error that belongs to no single file or answer (SQLite, Chroma, settings); an
    answer's own error is the engine's ErrorEvent, inside its AnswerEvent."""

    message: str
    detail: str = ""  # for the log window / report, not the status bar


@dataclass(frozen=True)
class SettingsChanged:
    changed: tuple[str, ...]
    reembed: bool = False  # the change needs every document re-embedded (runs via the writer)
    restart: bool = False  # takes effect at the next start (a re-embed runs live, see Core)


CoreEvent = Union[CoreStateEvent, IndexWaitEvent, FolderEvent, FileEvent, IndexProgress, ModelEvent,
                  AnswerEvent, WorkerEvent, CoreErrorEvent, SettingsChanged]
EventFn = Callable[[CoreEvent], None]


@dataclass(frozen=True)
class FileInfo:
    """A row of the library pane."""

    path: str
    state: FileState
    folder: str = ""
    chunks: int = 0
    pages: int | None = None
    size: int = 0
    error_kind: str = ""
    message: str = ""
    updated_at: float = 0.0


@dataclass(frozen=True)
class LibraryStatus:
    state: CoreState
    files: int = 0
    chunks: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    folders: tuple[str, ...] = ()
    model: ModelState = ModelState.NONE
    model_name: str = ""
    pdf_fast_paths: "FastPaths | None" = None  # whether the pypdf drop-ins run in this process
