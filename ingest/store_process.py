"""The vector store in a process of its own, so its writes never hold this process's GIL.

Chroma's Rust bindings (1.5.x) keep the GIL for a whole upsert/update/delete: ~12 ms
plus ~0.6 ms a row at 10k rows here, and a periodic HNSW save of 90 ms and more that
grows with the index. In the window's process every such write froze the event loop
(measured: 130-370 ms stalls while indexing). A long-running owner (the core) runs
its ChromaStores here instead: one child process owns the PersistentClient for the
path, the parent keeps the same ChromaStore interface through RemoteStore.

Two pipes, each served by its own thread in the child: writes go on one, reads
(queries, gets, counts) on the other, so a search never queues behind an upsert
(Chroma's get/query release the GIL in the child). The child exits when the parent
goes (the pipes close), even on a kill -9. If the child dies (out of memory, killed),
the next call starts a new one, re-opens its collections and retries once: every
call is idempotent (upserts by id, deletes of ids).
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import threading
from pathlib import Path
from typing import Any, Callable

from ingest.child_start import ChildDidNotStart, await_hello

_log = logging.getLogger(__name__)
START_TIMEOUT_S = 120.0  # a cold import of chromadb on a busy 2-core laptop


class StoreProcessError(RuntimeError):
    """The store's process could not be started or died twice in one call."""


# --- child side ------------------------------------------------------------------------------
def _serve(path: str, conns: tuple[Any, Any]) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    import chromadb  # noqa: F401 - imported now, while the parent loads the embedder or waits

    # for the index (the client itself is opened at the first call, by the lock's holder)
    from ingest.store import ChromaStore

    stores: dict[str, ChromaStore] = {}
    opening = threading.Lock()

    def store(name: str) -> ChromaStore:
        with opening:
            if name not in stores:
                first = next(iter(stores.values()), None)
                stores[name] = ChromaStore(Path(path), name,
                                           client=first.client if first is not None else None)
            return stores[name]

    def loop(conn: Any) -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the parent closed the pipe or is gone
                os._exit(0)
            if msg is None:
                os._exit(0)
            name, method, args, kwargs = msg
            try:
                target = store(name)
                reply = (True, None if method == "open" else getattr(target, method)(*args, **kwargs))
            except Exception as e:  # noqa: BLE001  sent back and raised in the caller
                reply = (False, _picklable(e))
            try:
                conn.send(reply)
            except (EOFError, OSError):
                os._exit(0)

    try:
        for conn in conns:
            conn.send(("ready", os.getpid()))
    except (EOFError, OSError):
        os._exit(0)
    threading.Thread(target=loop, args=(conns[1],), name="store-writes", daemon=True).start()
    loop(conns[0])


def _picklable(e: Exception) -> Exception:
    try:
        pickle.dumps(e)
        return e
    except Exception:  # noqa: BLE001  e.g. an exception holding a Rust object
        return RuntimeError(f"{type(e).__name__}: {e}")


# --- parent side -----------------------------------------------------------------------------
class StoreProcess:
    """The child owning the Chroma client for `path`; `store(name)` gives a collection."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._start_lock = threading.Lock()
        self._chan_locks = (threading.Lock(), threading.Lock())  # read, write
        self._conns: tuple[Any, Any] | None = None
        self._proc: Any = None
        self._ready = False  # the current child's hello was read (each _spawn resets it)
        self._names: list[str] = []
        self._closed = False
        self.starts = 0  # how many children were started (1 unless one died)

    def start(self) -> "StoreProcess":
        """Spawn the child now (returns at once); the first call waits for it."""
        with self._start_lock:
            if self._proc is None:
                self._spawn()
        return self

    def _spawn(self) -> None:
        ctx = mp.get_context("spawn")
        pairs = [ctx.Pipe(duplex=True) for _ in range(2)]
        self._proc = ctx.Process(target=_serve, args=(str(self.path), (pairs[0][1], pairs[1][1])),
                                 name="docent-store", daemon=True)
        self._proc.start()
        for _, child in pairs:
            child.close()  # so a dead child is EOF here
        self._conns = (pairs[0][0], pairs[1][0])
        self._ready = False
        self.starts += 1

    def _wait_ready(self) -> None:
        """Called with _start_lock held."""
        if self._ready:
            return
        assert self._conns is not None
        try:
            await_hello(self._conns, self._proc, START_TIMEOUT_S)
        except ChildDidNotStart as e:
            self._discard()
            raise StoreProcessError(f"the vector store's process did not start: {e}") from e
        self._ready = True

    def _live_conns(self) -> tuple[Any, Any]:
        with self._start_lock:
            if self._closed:
                raise StoreProcessError("the vector store is closed")
            if self._proc is None or not self._proc.is_alive():
                if self._proc is not None:
                    _log.warning("vector store process exited (%s); starting another",
                                 self._proc.exitcode)
                    self._discard()
                self._spawn()
                self._wait_ready()
                for name in self._names:  # re-open what the dead child had open
                    self._roundtrip(self._conns, 0, name, "open", (), {})  # type: ignore[arg-type]  # set by _spawn
            self._wait_ready()
            assert self._conns is not None
            return self._conns

    def _roundtrip(self, conns: tuple[Any, Any], channel: int, name: str, method: str,
                   args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        conn = conns[channel]
        conn.send((name, method, args, kwargs))
        ok, value = conn.recv()
        if not ok:
            raise value
        return value

    def call(self, write: bool, name: str, method: str, args: tuple[Any, ...] = (),
             kwargs: dict[str, Any] | None = None) -> Any:
        channel = 1 if write else 0
        for attempt in (1, 2):
            conns = self._live_conns()
            try:
                with self._chan_locks[channel]:
                    return self._roundtrip(conns, channel, name, method, args, kwargs or {})
            except (EOFError, OSError, pickle.UnpicklingError) as e:  # the child died mid-call
                with self._start_lock:  # not yet reaped, it may still look alive: replace it
                    if self._conns is conns:
                        self._discard(0.5)
                if attempt == 2 or self._closed:
                    raise StoreProcessError(f"the vector store's process died ({e!r})") from e
        raise AssertionError("unreachable")

    def store(self, name: str) -> "RemoteStore":
        self.call(False, name, "open")
        with self._start_lock:
            if name not in self._names:
                self._names.append(name)
        return RemoteStore(self, name)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self, timeout: float = 5.0) -> None:
        """Let the child finish the write in hand and exit; kill it past `timeout`."""
        with self._start_lock:
            self._closed = True
            self._discard(timeout)

    def _discard(self, timeout: float = 2.0) -> None:
        if self._conns is not None:
            for conn in self._conns:
                try:
                    conn.send(None)
                except (OSError, ValueError):
                    pass
        if self._proc is not None:
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
        if self._conns is not None:
            for conn in self._conns:
                conn.close()
        self._proc = self._conns = None


def _forward(method: str, write: bool = False) -> Callable[..., Any]:
    def call(self: "RemoteStore", *args: Any, **kwargs: Any) -> Any:
        return self.process.call(write, self.name, method, args, kwargs)

    call.__name__ = method
    return call


class RemoteStore:
    """ChromaStore's interface, answered by the store process (see ingest/store.py)."""

    def __init__(self, process: StoreProcess, name: str) -> None:
        self.process, self.name = process, name

    count = _forward("count")
    query = _forward("query")
    query_ids = _forward("query_ids")
    score_ids = _forward("score_ids")
    get_chunks = _forward("get_chunks")
    all_chunks = _forward("all_chunks")
    chunks_page = _forward("chunks_page")
    ids_for_file = _forward("ids_for_file")
    all_ids = _forward("all_ids")
    file_ids = _forward("file_ids")
    upsert = _forward("upsert", write=True)
    delete_file = _forward("delete_file", write=True)
    delete_ids = _forward("delete_ids", write=True)
    rename_file = _forward("rename_file", write=True)
