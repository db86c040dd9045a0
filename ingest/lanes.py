"""How many files the parser pool reads at once, and the scan lanes beside them.

The pool parses `lanes` files at a time (one per worker). A parse that starts reading a
scan by OCR (ingest.progress reports its pages) moves to a scan lane, when one is free,
and gives its lane to the next file in the queue: a 100-page scan holds one worker
process, not every file behind it. A second scan while the scan lanes are busy keeps its
lane: no more than `scan_lanes` scans are read beside the others, which bounds memory.
"""
from __future__ import annotations

import threading


class Lanes:
    def __init__(self, lanes: int, scan_lanes: int) -> None:
        self._free = threading.Semaphore(max(1, lanes))
        self.scan_lanes = max(0, scan_lanes)
        self.scanning = 0  # parses moved to a scan lane now
        self._lock = threading.Lock()

    def claim(self) -> Lane:
        """Wait for a free lane (the pool's close queues a None for each thread, and
        every thread that reads one gives its lane back, so this always ends)."""
        self._free.acquire()
        return Lane(self)

    def move_to_scan_lane(self) -> bool:
        """A lane's parse moves aside if a scan lane is free; its lane is free again."""
        with self._lock:
            if self.scanning >= self.scan_lanes:
                return False
            self.scanning += 1
        self._free.release()
        return True

    def release(self, moved: bool) -> None:
        if moved:
            with self._lock:
                self.scanning -= 1
        else:
            self._free.release()


class Lane:
    """One parse's claim: a lane, until it moves to a scan lane; leave() when it ends."""

    def __init__(self, lanes: Lanes) -> None:
        self._lanes = lanes
        self._moved = False
        self._left = False

    def to_scan_lane(self) -> None:
        if not self._moved and not self._left:
            self._moved = self._lanes.move_to_scan_lane()

    def leave(self) -> None:
        if not self._left:
            self._left = True
            self._lanes.release(self._moved)
