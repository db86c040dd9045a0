"""A long-lived owner (the window's core, `docent serve`) takes the index: it waits for
another Docent process that holds it, says so, and takes it as soon as it is let go."""
from __future__ import annotations

import logging
import threading
from typing import Any

from app.core.events import EventFn, IndexWaitEvent
from app.errors import INDEX_RELEASED_MESSAGE, index_wait_message

_log = logging.getLogger(__name__)


def own_index(library: Any, emit: EventFn, closing: threading.Event, limit_s: float) -> bool:
    """Hold `library`'s owner lock; IndexWaitEvents while another process holds it. False:
    the core closed meanwhile. Raises IndexBusyError (naming the holder) after `limit_s`."""
    from app.engine.owner_lock import LockWait

    waited = False

    def on_wait(holder: Any) -> None:
        nonlocal waited
        if not waited:  # the parts that need no lock are loaded meanwhile
            threading.Thread(target=_prepare, args=(library,), name="docent-prepare",
                             daemon=True).start()
        waited = True
        event = IndexWaitEvent(holder, index_wait_message(holder))
        _log.info("%s", event.message)
        emit(event)

    if not library.own(LockWait(limit_s, owner=True, on_wait=on_wait, cancel=closing)):
        return False
    if waited:
        _log.info("%s", INDEX_RELEASED_MESSAGE)
        emit(IndexWaitEvent(None, INDEX_RELEASED_MESSAGE, waiting=False))
    return True


def _prepare(library: Any) -> None:
    try:
        library.prepare()
    except Exception:  # the build after the wait reports it (an embedder missing...)
        _log.debug("preparing the library while waiting failed", exc_info=True)
