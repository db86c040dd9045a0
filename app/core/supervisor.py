"""No silent deaths: the core's threads are watched, reported and restarted where safe.

The writer (the sync service's worker) is restarted after it died: its start
repairs what the crash left (full consistency check) and rescans the folders.
A crash loop spends the restart budget; then the writer stays down and says so.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from app.core.events import CoreErrorEvent, WorkerEvent
from app.errors import worker_died_message

if TYPE_CHECKING:
    from app.core.events import CoreEvent

_log = logging.getLogger(__name__)
RESTARTS = 3  # writer restarts allowed within RESTART_WINDOW_S; past that it stays down
RESTART_WINDOW_S = 60.0
_SUPERVISE_S = 0.2


class Supervisor:
    def __init__(self, sync: Callable[[], Any], answers: Callable[[], Any], emit: Callable[["CoreEvent"], None],
                 closing: threading.Event) -> None:
        self._sync = sync  # the core's sync service now: its worker is the writer (None: not started)
        self._answers = answers  # the core's answer service now (None: not started)
        self._emit = emit
        self._closing = closing
        self._restarts: deque[float] = deque()
        self.writer_down = False  # restart budget spent: no more writes this run

    def run(self) -> None:
        while not self._closing.wait(_SUPERVISE_S):
            try:
                self.check_writer()
                self.check_answers()
            except Exception:  # the supervisor itself must not die silently either
                _log.exception("supervisor check failed")

    def check_writer(self) -> None:
        sync = self._sync()
        if sync is None or sync.alive or sync.stopping or self.writer_down or sync.error is None:
            return
        error = sync.error
        now = time.monotonic()
        while self._restarts and now - self._restarts[0] > RESTART_WINDOW_S:
            self._restarts.popleft()
        restart = len(self._restarts) < RESTARTS
        message = worker_died_message("indexing", f"{type(error).__name__}: {error}", restart)
        if restart:
            self._restarts.append(now)
            sync.restart()  # repairs (full consistency check) and rescans first
        else:
            self.writer_down = True
        self._emit(WorkerEvent("writer", message, restart))
        self._emit(CoreErrorEvent(message, detail=repr(error)))

    def check_answers(self) -> None:
        answers = self._answers()
        if answers is None or answers.alive or self._closing.is_set():
            return
        answers.start()
        self._emit(WorkerEvent("answer", worker_died_message("answer", "it exited", True), True))
