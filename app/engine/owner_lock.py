"""Who owns a data folder's index: the owner lock, and the record of who holds it.

Chroma allows one process per index, so one Docent process at a time holds
`<index>/.owner.lock`, an OS file lock (a process that dies lets go of it). Beside it
the holder writes `.owner.holder.json` (a temporary file renamed into place, so it is
never read half-written): its pid, command and process start time. A waiting process
names what it waits for from it, and tells a live holder from a record a crashed one
left (its pid is gone, or reused by a process that started at another time).

A long-lived owner (`docent serve`, the window) waits for the lock as long as
`LockWait.limit_s` and, while it waits, writes `.owner.next.json`: a short command that
sees a live one there does not race it for the lock, it waits for that owner's service.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from app.errors import IndexBusyError, IndexLockError

LOCK_FILE = ".owner.lock"
HOLDER_FILE = ".owner.holder.json"
NEXT_FILE = ".owner.next.json"
OWNER_WAIT_S = 120.0  # how long `docent serve` and the window wait for a live holder
COMMAND_WAIT_S = 2.0  # a short command: it needs the index for its own work only
_POLL_S = 0.25
_UNSEEN = object()
_log = logging.getLogger(__name__)


def process_start_time(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), None when there is no such process (or
    it is someone else's: not a Docent of this user). Without psutil: 0.0 for any pid that
    exists, so only the pid is compared."""
    try:
        import psutil
    except ImportError:
        if os.name != "posix":  # (there os.kill would stop it): take the record as live
            return 0.0
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return 0.0
    try:
        created: float = psutil.Process(pid).create_time()
        return created
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None


@dataclass(frozen=True)
class LockHolder:
    pid: int
    command: str  # what people know it as: "docent search", "docent serve", "the Docent window"
    started: float  # the process's start time (epoch seconds), as the OS reports it
    owner: bool = False  # a long-lived owner: it serves other shells once it has started

    @classmethod
    def this_process(cls, command: str, owner: bool = False) -> "LockHolder":
        return cls(os.getpid(), command, process_start_time(os.getpid()) or 0.0, owner)

    def alive(self) -> bool:
        """The process that wrote this record still runs (same pid, same start time)."""
        started = process_start_time(self.pid)
        return started is not None and abs(started - self.started) < 1.0

    def describe(self) -> str:
        return f"pid {self.pid}, `{self.command}`"


def read_record(path: Path) -> LockHolder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockHolder(int(data["pid"]), str(data["command"]), float(data["started"]),
                          bool(data.get("owner", False)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def live_record(path: Path) -> LockHolder | None:
    """The record at `path` when the process it names is alive; None when absent or stale."""
    holder = read_record(path)
    return holder if holder is not None and holder.alive() else None


def write_record(path: Path, holder: LockHolder) -> None:
    tmp = path.with_name(f"{path.name}.{holder.pid}.tmp")
    try:
        tmp.write_text(json.dumps(asdict(holder)), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:  # the record only informs others; the lock itself is held
        _log.warning("could not write %s: %s", path, e)


def remove_record(path: Path, holder: LockHolder) -> None:
    """Remove the record if it is still `holder`'s (another may have replaced it)."""
    if read_record(path) == holder:
        try:
            path.unlink()
        except OSError:
            pass


@dataclass(frozen=True)
class LockWait:
    """How a process waits for the owner lock."""

    limit_s: float = COMMAND_WAIT_S  # then IndexBusyError, naming the live holder
    owner: bool = False  # a long-lived owner: announces itself (short commands yield to it)
    on_wait: Callable[["LockHolder | None"], None] | None = None  # when the holder seen changes
    cancel: threading.Event | None = None  # set: stop waiting (acquire returns False)


class OwnerLock:
    """The owner lock of one index folder, held for `holder`."""

    def __init__(self, index_dir: Path, holder: LockHolder) -> None:
        from filelock import FileLock

        self.index_dir = index_dir
        self.holder = holder
        self._lock = FileLock(str(index_dir / LOCK_FILE))
        self._held = False

    def current_holder(self) -> LockHolder | None:
        """The live process the holder record names; None: unknown (just starting) or stale."""
        return live_record(self.index_dir / HOLDER_FILE)

    def _try(self, timeout: float) -> bool:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            return False
        except OSError as e:  # a read-only disk, a lock path that is a folder, no space
            raise IndexLockError(str(self.index_dir / LOCK_FILE), e.strerror or str(e)) from e
        self._held = True
        write_record(self.index_dir / HOLDER_FILE, self.holder)
        return True

    def acquire(self, wait: LockWait) -> bool:
        """Take the lock, waiting as `wait` says. True: held; False: `wait.cancel` was set.
        Raises IndexBusyError when a live holder keeps it past the limit, or (a short
        command) when a long-lived owner is about to take it."""
        deadline = time.monotonic() + wait.limit_s
        next_path = self.index_dir / NEXT_FILE
        announced, seen = False, _UNSEEN
        try:
            while True:
                starting = None if wait.owner else live_record(next_path)
                if starting is not None:
                    raise IndexBusyError(str(self.index_dir), starting)
                if self._try(min(_POLL_S, max(0.0, deadline - time.monotonic()))):
                    return True
                holder = self.current_holder()
                if wait.owner and not announced:
                    write_record(next_path, self.holder)
                    announced = True
                if holder != seen and wait.on_wait is not None:
                    wait.on_wait(holder)
                seen = holder
                if time.monotonic() >= deadline:
                    raise IndexBusyError(str(self.index_dir), holder,
                                         waited_s=wait.limit_s if wait.owner else 0.0)
                if wait.cancel is not None and wait.cancel.is_set():
                    return False
        finally:
            if announced:
                remove_record(next_path, self.holder)

    def release(self) -> None:
        if self._held:
            remove_record(self.index_dir / HOLDER_FILE, self.holder)  # before another writes its own
            self._lock.release()
            self._held = False


def index_free(index_dir: Path) -> bool:
    """Nobody holds the index and no long-lived owner is about to take it (a probe: the lock
    is taken and let go at once)."""
    if live_record(index_dir / NEXT_FILE) is not None:
        return False
    from filelock import FileLock, Timeout

    lock = FileLock(str(index_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return False
    lock.release()
    return True
