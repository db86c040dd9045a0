"""One thread owns the model: every call into llama.cpp happens there.

llama.cpp contexts are not thread-safe, and the GUI must never block on one.
Callers submit work and get a Future, or stream: the owner thread pushes
items into a queue the caller iterates, so the CLI and a Qt worker consume
the same event stream.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class ModelOwner:
    def __init__(self, name: str = "docent-model") -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            fn, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as e:  # delivered to the caller, never kills the owner
                fut.set_exception(e)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def submit(self, fn: Callable[[], T]) -> "Future[T]":
        fut: Future[T] = Future()
        self._jobs.put((fn, fut))
        return fut

    def call(self, fn: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:
            return fn()
        return self.submit(fn).result()

    def stream(self, produce: Callable[[], Iterator[T]],
               cancel: threading.Event | None = None) -> Iterator[T]:
        """Run the generator `produce()` on the owner thread; yield its items here.

        When `cancel` is set, return at once: the producer sees the same flag and stops
        at its next step, and later jobs queue behind it, so the caller never waits on
        a decode that is already under way."""
        items: queue.Queue[Any] = queue.Queue()

        def run() -> None:
            try:
                for item in produce():
                    items.put(item)
            except BaseException as e:
                items.put(_Raised(e))
            finally:
                items.put(_DONE)

        self.submit(run)
        while True:
            try:
                item = items.get(timeout=0.02)
            except queue.Empty:
                if cancel is not None and cancel.is_set():
                    return
                continue
            if cancel is not None and cancel.is_set():
                return
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item

    def close(self, timeout: float = 5.0) -> None:
        self._jobs.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
