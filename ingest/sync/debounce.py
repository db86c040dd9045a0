"""Turn a storm of file-system hints into settled paths.

A path is ready once no event touched it for `quiet_s` and its size and mtime
did not change between the last event and the check: a file still being
copied keeps moving and waits. Repeated events on one path coalesce into one
entry, so 50 writes to a file cost one index run.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

_Stat = tuple[int, int] | None  # (size, mtime_ns), None when the path is gone


def _stat(path: str) -> _Stat:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


@dataclass
class _Entry:
    due: float  # monotonic time when the path may be checked
    stat: _Stat


class Debouncer:
    def __init__(self, quiet_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet_s = quiet_s
        self._clock = clock
        self._pending: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def touch(self, path: str) -> None:
        """Record an event; restarts the path's quiet period."""
        entry = _Entry(self._clock() + self.quiet_s, _stat(path))
        with self._lock:
            self._pending[path] = entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def next_due(self) -> float | None:
        """Seconds until the earliest path may be ready; None if nothing is pending."""
        with self._lock:
            if not self._pending:
                return None
            soonest = min(e.due for e in self._pending.values())
        wait: float = max(0.0, soonest - self._clock())
        return wait

    def take_ready(self) -> list[str]:
        """Pop the paths that are quiet and stable; re-arm the ones still changing."""
        now = self._clock()
        with self._lock:
            due = [(p, e) for p, e in self._pending.items() if e.due <= now]
        ready: list[str] = []
        for path, entry in due:
            current = _stat(path)  # outside the lock: stat can block on slow drives
            with self._lock:
                if self._pending.get(path) is not entry:
                    continue  # a newer event arrived meanwhile
                if current == entry.stat:
                    del self._pending[path]
                    ready.append(path)
                else:
                    self._pending[path] = _Entry(now + self.quiet_s, current)
        return sorted(ready)
