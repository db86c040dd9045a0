"""The watched folders of a SyncService: watchers up and down, offline and back, added
and removed at run time. A mixin: it uses the service's state and its event stream."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.manifest import FileRecord
from ingest.paths import inside
from ingest.sync.events import FileEvent, FileState, FolderEvent, FolderState
from ingest.sync.watcher import FolderWatcher


@dataclass
class Root:
    path: Path
    watcher: FolderWatcher | None = None
    available: bool = False


class Roots:
    _roots: dict[Path, Root]
    _removals: dict[str, FileRecord]
    folders: list[Path]
    library: Any
    watch: bool
    poll_s: float
    _factory: Any
    _lock: Any
    _ready: set[str]
    _emit: Any  # the service's event stream
    hint: Any  # the service's watchdog callback

    def folder_states(self) -> dict[str, str]:
        return {str(r.path): ("unavailable" if not r.available else
                              "polling" if r.watcher and r.watcher.mode.polling else
                              "watching" if r.watcher else "scanned")
                for r in self._root_list()}

    def _root_list(self) -> list[Root]:
        with self._lock:  # other threads read while the writer adds and removes roots
            return list(self._roots.values())

    def root_of(self, path: str) -> Path | None:
        root = self._root_of(path)
        return root.path if root is not None else None

    def add_root(self, folder: Path) -> bool:
        """Watch one more folder and index what it holds. Writer thread only (a task)."""
        folder = Path(os.path.abspath(os.path.expanduser(str(folder))))
        if folder in self._roots:
            return False
        root = Root(folder)
        with self._lock:
            self._roots[folder] = root
            self.folders.append(folder)
        self._bring_up(root)
        if root.available:
            with self._lock:
                self._ready.add(str(folder))
        return True

    def remove_root(self, folder: Path, keep_chunks: bool) -> list[FileRecord]:
        """Stop watching a folder; with keep_chunks=False its documents leave the index.
        Returns the rows forgotten. Writer thread only (a task)."""
        folder = Path(os.path.abspath(os.path.expanduser(str(folder))))
        with self._lock:
            root = self._roots.pop(folder, None)
            self.folders = [f for f in self.folders if f != folder]
        if root is None:
            return []
        if root.watcher is not None:
            root.watcher.stop(1.0)
            root.watcher = None
        self._removals = {p: r for p, r in self._removals.items() if not inside(p, folder)}
        self._emit(FolderEvent(str(folder), FolderState.REMOVED))
        if keep_chunks:
            return []
        indexer = self.library.indexer
        gone = list(indexer.manifest.under(str(folder)))
        indexer.forget([folder])
        for rec in gone:
            self._emit(FileEvent(rec.path, FileState.REMOVED, rec.chunk_count))
        return gone

    def _bring_up(self, root: Root) -> None:
        root.available = root.path.is_dir()
        if not root.available:
            self._emit(FolderEvent(str(root.path), FolderState.UNAVAILABLE,
                                   "folder not found (unmounted?); its documents stay in the index"))
            return
        if self.watch and root.watcher is None:
            root.watcher = FolderWatcher(root.path, self.hint, self.poll_s, self._factory)
            mode = root.watcher.start()
            self._emit(FolderEvent(str(root.path), FolderState.POLLING if mode.polling else FolderState.WATCHING,
                                     mode.reason))

    def _check_roots(self) -> None:
        for root in self._roots.values():
            if root.path.is_dir() == root.available:
                continue
            if root.available:
                self._mark_unavailable(root)
            else:  # back (remounted): watch again and catch up on what changed meanwhile
                self._bring_up(root)
                with self._lock:
                    self._ready.add(str(root.path))

    def _mark_unavailable(self, root: Root) -> None:
        root.available = False
        if root.watcher is not None:
            root.watcher.stop()
            root.watcher = None
        self._removals = {p: r for p, r in self._removals.items() if not inside(p, root.path)}
        self._emit(FolderEvent(str(root.path), FolderState.UNAVAILABLE,
                               "folder not found (unmounted?); its documents stay in the index"))

    def _claimable(self, path: str) -> bool:
        """A missing file under a folder that is there: moved or deleted, not unmounted."""
        root = self._root_of(path)
        return root is not None and root.path.is_dir()

    def _root_of(self, path: str) -> Root | None:
        for root in self._roots.values():
            if inside(path, root.path):
                return root
        return None
