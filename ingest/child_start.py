"""Waiting for a spawned child's first message: "I am ready" (and what it has to say).

The parser workers (ingest.isolation) and the store process (ingest.store_process) both
spawn a child that imports for seconds, then sends one message on each pipe. The parent
waits for it without blocking on a child that died or hangs, and can be interrupted.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Sequence

POLL_S = 0.1


class ChildDidNotStart(Exception):
    """The child exited, timed out or closed its pipe before saying it was ready."""


class StartInterrupted(Exception):
    """`stop` was set while waiting."""


def await_hello(conns: Sequence[Any], proc: Any, timeout_s: float,
                stop: threading.Event | None = None) -> list[Any]:
    """The first message on each of `conns`, in order. Raises ChildDidNotStart or
    StartInterrupted; the caller discards the child then (its pipes may be mid-message)."""
    deadline = time.monotonic() + timeout_s
    hellos = []
    for conn in conns:
        while not conn.poll(POLL_S):
            if stop is not None and stop.is_set():
                raise StartInterrupted()
            if not proc.is_alive():
                raise ChildDidNotStart(f"it exited with code {proc.exitcode}")
            if time.monotonic() > deadline:
                raise ChildDidNotStart(f"no word from it within {timeout_s:.0f} s")
        try:
            hellos.append(conn.recv())
        except (EOFError, OSError) as e:
            raise ChildDidNotStart(f"its pipe closed ({type(e).__name__})") from e
    return hellos
