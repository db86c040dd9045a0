"""The watched folders of a SyncService: watchers up and down, offline and back, added
and removed at run time. The service owns one `Roots` and hands it what it needs: the library
(whose indexer forgets a removed folder's documents), where watchdog's hints go, where events
go, what to look at now, and what to drop when a folder goes away."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ingest.manifest import FileRecord
from ingest.paths import inside
from ingest.sync.events import FileEvent, FileState, FolderEvent, FolderState, SyncEvent
from ingest.sync.watcher import FolderWatcher

UNAVAILABLE = "folder not found (unmounted?); its documents stay in the index"


@dataclass
class Root:
    path: Path
    watcher: FolderWatcher | None = None
    available: bool = False


class Roots:
    """`hint(path)`: a watcher saw a change; `emit`: the service's event stream; `ready(path)`:
    the service looks at path now (a folder added or back); `lost(folder)`: a folder went away
    (unmounted or removed), forget what was pending under it; `watch` False: folders are
    scanned, never watched (a one-shot sync)."""

    def __init__(self, folders: Sequence[Path], library: Any, *, hint: Callable[[str], None],
                 emit: Callable[[SyncEvent], None], ready: Callable[[str], None], lost: Callable[[Path], None],
                 watch: bool, poll_s: float, observer_factory: Callable[[], Any] | None) -> None:
        self.folders = list(folders)
        self.library = library
        self._roots = {f: Root(f) for f in self.folders}
        self._lock = threading.Lock()  # other threads read while the writer adds and removes roots
        self._hint, self._emit, self._ready, self._lost = hint, emit, ready, lost
        self.watch = watch
        self.poll_s = poll_s
        self._factory = observer_factory

    def folder_states(self) -> dict[str, str]:
        return {str(r.path): ("unavailable" if not r.available else
                              "polling" if r.watcher and r.watcher.mode.polling else
                              "watching" if r.watcher else "scanned")
                for r in self.all()}

    def all(self) -> list[Root]:
        with self._lock:
            return list(self._roots.values())

    def root_of(self, path: str) -> Path | None:
        root = self.find(path)
        return root.path if root is not None else None

    def find(self, path: str) -> Root | None:
        """The watched folder `path` is in, None when it is in none."""
        for root in self._roots.values():
            if inside(path, root.path):
                return root
        return None

    def add(self, folder: Path) -> bool:
        """Watch one more folder and index what it holds. Writer thread only (a task)."""
        folder = Path(os.path.abspath(os.path.expanduser(str(folder))))
        if folder in self._roots:
            return False
        root = Root(folder)
        with self._lock:
            self._roots[folder] = root
            self.folders.append(folder)
        self.bring_up(root)
        if root.available:
            self._ready(str(folder))
        return True

    def remove(self, folder: Path, keep_chunks: bool) -> list[FileRecord]:
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
        self._lost(folder)
        self._emit(FolderEvent(str(folder), FolderState.REMOVED))
        if keep_chunks:
            return []
        indexer = self.library.indexer
        gone = list(indexer.manifest.under(str(folder)))
        indexer.forget([folder])
        for rec in gone:
            self._emit(FileEvent(rec.path, FileState.REMOVED, rec.chunk_count))
        return gone

    def bring_up(self, root: Root) -> None:
        root.available = root.path.is_dir()
        if not root.available:
            self._emit(FolderEvent(str(root.path), FolderState.UNAVAILABLE, UNAVAILABLE))
            return
        if self.watch and root.watcher is None:
            root.watcher = FolderWatcher(root.path, self._hint, self.poll_s, self._factory)
            mode = root.watcher.start()
            self._emit(FolderEvent(str(root.path), FolderState.POLLING if mode.polling else FolderState.WATCHING,
                                     mode.reason))

    def check(self) -> None:
        """Look again at each folder: one gone is marked unavailable, one back is watched again."""
        for root in self._roots.values():
            if root.path.is_dir() == root.available:
                continue
            if root.available:
                self.mark_unavailable(root)
            else:  # back (remounted): watch again and catch up on what changed meanwhile
                self.bring_up(root)
                self._ready(str(root.path))

    def mark_unavailable(self, root: Root) -> None:
        root.available = False
        if root.watcher is not None:
            root.watcher.stop()
            root.watcher = None
        self._lost(root.path)
        self._emit(FolderEvent(str(root.path), FolderState.UNAVAILABLE, UNAVAILABLE))

    def claimable(self, path: str) -> bool:
        """A missing file under a folder that is there: moved or deleted, not unmounted."""
        root = self.find(path)
        return root is not None and root.path.is_dir()

    def stop_watchers(self) -> None:
        for root in list(self._roots.values()):
            if root.watcher is not None:
                root.watcher.stop(1.0)
                root.watcher = None
