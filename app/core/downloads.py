"""The model download, started by the user from the window: progress as ModelEvents.

The one place Docent goes online, at the user's request (as `docent model
download`): it shows the licence and size first (the host's job), then
downloads with resume and a sha256 check, selects the model and loads it.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from app.core.events import ModelEvent, ModelState
from app.errors import DocentError, answer_failed_message

if TYPE_CHECKING:
    from app.core.events import CoreEvent

_log = logging.getLogger(__name__)


@dataclass(eq=False)
class DownloadJob:
    name: str
    error: str = ""
    path: str = ""
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        """Stops soon; what was downloaded is kept, and the next download resumes it."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def cancel_event(self) -> threading.Event:
        """Set once cancelled: what the worker doing the job polls."""
        return self._cancel

    def mark_done(self) -> None:
        """Called by the worker when the job has ended; wakes wait()."""
        self._done.set()


def start_download(settings: Any, entry: Any, emit: Callable[["CoreEvent"], None],
                   loaded: Callable[[], None]) -> DownloadJob:
    """Download `entry` (None: the catalog's default) on its own thread; `loaded()` is
    called once it is selected, to load it."""
    if entry is None:
        from app.models.catalog import default_entry, load_catalog

        entry = default_entry(load_catalog())
    job = DownloadJob(getattr(entry, "name", "") or entry.filename)

    def run() -> None:
        from app.models.download import ModelDownloader

        def progress(p: Any) -> None:
            emit(ModelEvent(ModelState.DOWNLOADING, job.name, p.done / p.total if p.total else None,
                            p.done, p.total))

        try:
            emit(ModelEvent(ModelState.DOWNLOADING, job.name, None, 0, entry.size_bytes))
            os.environ["HF_HUB_OFFLINE"] = "0"  # lifted for the hub, at the user's request
            result = ModelDownloader(settings.models_dir).install(entry, settings.home, progress,
                                                                  job.cancel_event)
            job.path = str(result.path)
        except DocentError as e:
            job.error = str(e)
        except Exception as e:  # network, disk: an event, never a dead thread
            _log.exception("model download failed")
            job.error = answer_failed_message(f"the download failed ({type(e).__name__}: {e})")
        finally:
            job.mark_done()
        if job.error:
            emit(ModelEvent(ModelState.ERROR, job.name, message=job.error))
        else:
            loaded()

    threading.Thread(target=run, name="docent-download", daemon=True).start()
    return job
