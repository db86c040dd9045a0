"""One watchdog observer per watched folder; its events are only hints.

Native notifications (inotify, FSEvents, ReadDirectoryChanges) where they work;
polling where they do not: network and removable drives (no reliable events),
or when the OS refuses more watches (inotify's ENOSPC / EMFILE). The caller is
told which mode it got and why, so the user sees the warning.
"""
from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ingest.paths import inside

HintFn = Callable[[str], None]
ObserverFactory = Callable[[], Any]

_log = logging.getLogger(__name__)
# Notifications on these are missing or unreliable: poll instead.
NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smbfs", "smb3", "9p", "afpfs", "webdav", "davfs",
                        "fuse.sshfs", "fuse.rclone", "fuse.davfs2", "ncpfs", "vboxsf", "virtiofs"})
REMOVABLE_PREFIXES = ("/media/", "/run/media/", "/Volumes/")
LIMIT_ERRNOS = frozenset({errno.ENOSPC, errno.EMFILE, errno.ENFILE})
# Events that say bytes or names changed; opened / closed-without-writing are our own reads.
_CHANGE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})


@dataclass(frozen=True)
class WatchMode:
    polling: bool
    reason: str = ""


def polling_reason(folder: Path) -> str:
    """Why this folder should be polled ('' if native events are fine)."""
    try:
        import psutil

        parts = psutil.disk_partitions(all=True)
    except Exception:  # no psutil data (sandbox, exotic OS): assume local
        return ""
    target = str(folder)
    best = max((p for p in parts if inside(target, p.mountpoint)),
               key=lambda p: len(p.mountpoint), default=None)
    if best is None:
        return ""
    if best.fstype.lower() in NETWORK_FS:
        return f"network drive ({best.fstype}): checked every few seconds instead of live"
    if (best.mountpoint + "/").startswith(REMOVABLE_PREFIXES) or "removable" in best.opts:
        return "removable drive: checked every few seconds instead of live"
    return ""


class FolderWatcher:
    def __init__(self, folder: Path, on_hint: HintFn, poll_s: float = 5.0,
                 observer_factory: ObserverFactory | None = None) -> None:
        self.folder = folder
        self.on_hint = on_hint
        self.poll_s = poll_s
        self._factory = observer_factory  # injectable, so limit fallbacks can be tested
        self._observer: Any = None
        self.mode = WatchMode(False)

    def start(self) -> WatchMode:
        reason = polling_reason(self.folder)
        if not reason:
            try:
                self._observer = self._schedule(self._native())
                self.mode = WatchMode(False)
                return self.mode
            except OSError as e:
                if e.errno not in LIMIT_ERRNOS:
                    raise
                reason = (f"the system's limit on watched folders was reached ({os.strerror(e.errno)}); "
                          "checked every few seconds instead of live — raise fs.inotify.max_user_watches")
                _log.warning("%s: %s", self.folder, reason)
        from watchdog.observers.polling import PollingObserver

        self._observer = self._schedule(PollingObserver(timeout=self.poll_s))
        self.mode = WatchMode(True, reason)
        return self.mode

    def _native(self) -> Any:
        if self._factory is not None:
            return self._factory()
        from watchdog.observers import Observer

        return Observer()

    def _schedule(self, observer: Any) -> Any:
        """Start first, then schedule: the OS refuses a watch (ENOSPC) right here, not later."""
        observer.daemon = True
        observer.start()
        try:
            observer.schedule(_Handler(self.on_hint), str(self.folder), recursive=True)
        except BaseException:
            observer.stop()
            raise
        return observer

    def stop(self, timeout: float = 5.0) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)  # a daemon thread: a slow poll may finish on its own
            self._observer = None


class _Handler:
    """Forwards changed paths (both ends of a move) to the service."""

    def __init__(self, on_hint: HintFn) -> None:
        self.on_hint = on_hint

    def dispatch(self, event: Any) -> None:  # watchdog calls dispatch() on any handler
        if event.event_type not in _CHANGE_EVENTS:
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return  # a folder's mtime moves with every entry; the entry's own event says which
        self.on_hint(_text(event.src_path))
        if event.event_type == "moved":
            self.on_hint(_text(event.dest_path))


def _text(p: str | bytes) -> str:
    return os.fsdecode(p)
