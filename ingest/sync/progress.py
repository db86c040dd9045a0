"""Counts and an ETA for the GUI's progress bar."""
from __future__ import annotations

import time
from typing import Callable

from ingest.sync.events import IndexProgress


class ProgressTracker:
    """Files queued since the service was last idle; the rate is smoothed per file."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.done = self.total = self.errors = 0
        self.seconds_per_file: float | None = None
        self._last = clock()

    def queued(self, n: int) -> None:
        if self.done == self.total:
            self._last = self._clock()  # a new wave: idle time is not work time
        self.total += n

    def file_done(self, failed: bool) -> None:
        now = self._clock()
        step, self._last = now - self._last, now
        rate = self.seconds_per_file
        self.seconds_per_file = step if rate is None else 0.8 * rate + 0.2 * step
        self.done += 1
        self.errors += failed

    def idle(self) -> None:
        self.done = self.total = 0

    def snapshot(self, phase: str, pending: int, current: str = "") -> IndexProgress:
        eta = None if self.seconds_per_file is None else (self.total - self.done) * self.seconds_per_file
        return IndexProgress(phase, self.done, self.total, pending, self.errors, current, eta)
