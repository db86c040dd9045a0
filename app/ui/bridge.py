"""The window's only door to the core: core events in, re-emitted as Qt signals on the GUI thread.

The core calls its subscribers on its own threads (writer, sync, model owner).
Widgets must only be touched on the GUI thread, so every event crosses one
queued connection here and is then routed to a typed signal; widgets never see
a core thread. A message that tells people to run a command (the core's words
serve other shells' commands too) is reworded here as what to do in the window
(app.errors.in_window). Calls the other way (add_paths, ask, ...) go straight to the
core, whose methods return at once with small job objects.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.core.contract import WindowCore
from app.core.events import (
    AnswerEvent,
    CoreErrorEvent,
    CoreState,
    CoreStateEvent,
    FileEvent,
    FolderEvent,
    IndexProgress,
    IndexWaitEvent,
    ModelEvent,
    ModelState,
    SettingsChanged,
    WorkerEvent,
)
from app.engine.events import ErrorEvent as AnswerError
from app.errors import in_window

log = logging.getLogger(__name__)


class CoreBridge(QObject):
    """Subscribes to a core and re-emits each event as a signal (always on the GUI thread)."""

    coreState = Signal(object)  # CoreStateEvent
    indexWait = Signal(object)  # IndexWaitEvent: another Docent process holds the index
    folderEvent = Signal(object)  # FolderEvent
    fileEvent = Signal(object)  # FileEvent
    progress = Signal(object)  # IndexProgress
    modelEvent = Signal(object)  # ModelEvent
    answerEvent = Signal(object)  # AnswerEvent
    workerEvent = Signal(object)  # WorkerEvent
    errorEvent = Signal(object)  # CoreErrorEvent
    settingsChanged = Signal(object)  # SettingsChanged

    _relay = Signal(object)  # any thread -> GUI thread

    _ROUTES = {CoreStateEvent: "coreState", IndexWaitEvent: "indexWait", FolderEvent: "folderEvent",
               FileEvent: "fileEvent", IndexProgress: "progress", ModelEvent: "modelEvent",
               AnswerEvent: "answerEvent", WorkerEvent: "workerEvent", CoreErrorEvent: "errorEvent",
               SettingsChanged: "settingsChanged"}

    def __init__(self, core: WindowCore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.state = CoreState.STARTING
        self.model_state = ModelState.NONE
        self.last_progress: IndexProgress | None = None
        # Queued even when emitted on the GUI thread: the order of events is kept and a
        # subscriber never re-enters the core from inside the core's own callback.
        self._relay.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe: Callable[[], None] | None = core.subscribe(self._on_core_event)

    # --- core thread side: nothing but one emit ---------------------------------
    def _on_core_event(self, event: Any) -> None:
        self._relay.emit(event)

    # --- GUI thread side ---------------------------------------------------------
    @Slot(object)
    def _dispatch(self, event: Any) -> None:
        name = self._ROUTES.get(type(event))
        if name is None:
            log.debug("unrouted core event %r", event)
            return
        event = _worded_for_window(event)
        if isinstance(event, CoreStateEvent):
            self.state = event.state
        elif isinstance(event, ModelEvent):
            self.model_state = event.state
        elif isinstance(event, IndexProgress):
            self.last_progress = event
        getattr(self, name).emit(event)

    def start(self) -> None:
        """Start the core (returns at once; it builds its parts on its own thread); after
        FAILED, start it again (Retry)."""
        self.core.start()

    def close(self, timeout: float = 3.0) -> None:
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            finally:
                self._unsubscribe = None
        self.core.close(timeout=timeout)

    @property
    def ready(self) -> bool:
        return self.state is CoreState.READY


_WITH_MESSAGE = (CoreStateEvent, IndexWaitEvent, FileEvent, ModelEvent, WorkerEvent, CoreErrorEvent)


def _worded_for_window(event: Any) -> Any:
    """`event`, its message (or its answer's error) in the window's words; the same event when they agree."""
    if isinstance(event, AnswerEvent) and isinstance(event.event, AnswerError):
        worded = in_window(event.event.message)
        return event if worded == event.event.message else replace(event, event=replace(event.event, message=worded))
    if isinstance(event, _WITH_MESSAGE):
        worded = in_window(event.message)
        return event if worded == event.message else replace(event, message=worded)
    return event
