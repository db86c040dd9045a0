"""Sync-service events (plain strings, ingest/) into the core's typed events."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from app.core.events import CoreEvent, FileEvent, FileInfo, FileState, FolderEvent, FolderState, IndexProgress
from ingest.manifest import FileRecord, FileStatus
from ingest.sync import events as sync

_FILE_STATES = {"queued": FileState.QUEUED, "indexing": FileState.INDEXING,
                "indexed": FileState.INDEXED, "renamed": FileState.INDEXED,
                "error": FileState.ERROR, "removed": FileState.REMOVED}
_FOLDER_STATES = {"watching": FolderState.WATCHING, "polling": FolderState.POLLING,
                  "unavailable": FolderState.UNAVAILABLE, "removed": FolderState.REMOVED,
                  "scanned": FolderState.WATCHING}
_ROW_STATES = {FileStatus.QUEUED: FileState.QUEUED, FileStatus.INDEXING: FileState.INDEXING,
               FileStatus.INDEXED: FileState.INDEXED, FileStatus.ERROR: FileState.ERROR,
               FileStatus.REMOVED: FileState.REMOVED}

FolderOf = Callable[[str], "Path | None"]


def translate(event: sync.SyncEvent, folder_of: FolderOf) -> CoreEvent | None:
    if isinstance(event, sync.FileEvent):
        state = _FILE_STATES.get(event.state)
        if state is None:
            return None
        folder = folder_of(event.path)
        return FileEvent(event.path, state, event.chunks, error_kind=event.error_kind,
                         message=event.error, old_path=event.old_path,
                         folder=str(folder) if folder else "")
    if isinstance(event, sync.FolderEvent):
        fstate = _FOLDER_STATES.get(event.state)
        return FolderEvent(event.folder, fstate, event.reason) if fstate else None
    if isinstance(event, IndexProgress):
        return event
    return None


def folder_state(name: str) -> FolderState:
    return _FOLDER_STATES.get(name, FolderState.WATCHING)


def file_info(rec: FileRecord, folder: str, unavailable: bool) -> FileInfo:
    state = _ROW_STATES[rec.status]
    if unavailable and state in (FileState.INDEXED, FileState.QUEUED, FileState.REMOVED):
        state = FileState.UNAVAILABLE  # its chunks stay; the file is out of reach for now
    return FileInfo(rec.path, state, folder, rec.chunk_count, rec.page_count, rec.size,
                    rec.error_kind or "", rec.error or "", rec.updated_at)
