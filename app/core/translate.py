"""The sync service's events and manifest rows as the core reports them: a FileEvent
with its watched folder, a folder's mode, a library-pane row."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from app.core.events import FileEvent, FileInfo, FileState, FolderState
from ingest.manifest import FileRecord, FileStatus
from ingest.sync.events import SyncEvent

_FOLDER_STATES = {"watching": FolderState.WATCHING, "polling": FolderState.POLLING,
                  "unavailable": FolderState.UNAVAILABLE, "removed": FolderState.REMOVED,
                  "scanned": FolderState.WATCHING}
_ROW_STATES = {FileStatus.QUEUED: FileState.QUEUED, FileStatus.INDEXING: FileState.INDEXING,
               FileStatus.INDEXED: FileState.INDEXED, FileStatus.ERROR: FileState.ERROR,
               FileStatus.REMOVED: FileState.REMOVED}

FolderOf = Callable[[str], "Path | None"]


def with_folder(event: SyncEvent, folder_of: FolderOf) -> SyncEvent:
    """The sync service's event as the core passes it on: a FileEvent says which watched
    folder its file belongs to ("" for a file added on its own)."""
    if isinstance(event, FileEvent):
        folder = folder_of(event.path)
        return dataclasses.replace(event, folder=str(folder) if folder else "")
    return event


def folder_state(name: str) -> FolderState:
    return _FOLDER_STATES.get(name, FolderState.WATCHING)


def file_info(rec: FileRecord, folder: str, unavailable: bool) -> FileInfo:
    state = _ROW_STATES[rec.status]
    if unavailable and state in (FileState.INDEXED, FileState.QUEUED, FileState.REMOVED):
        state = FileState.UNAVAILABLE  # its chunks stay; the file is out of reach for now
    return FileInfo(rec.path, state, folder, rec.chunk_count, rec.page_count, rec.size,
                    rec.error_kind or "", rec.error or "", rec.updated_at)
