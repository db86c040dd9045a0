"""The owner's local service: other processes' `docent search/status/index/forget/ask`.

Chroma allows one process per index, and a fresh process spends seconds importing
torch and chromadb. So the process that owns the index (`docent serve`, the window)
answers other local processes: a multiprocessing Listener on 127.0.0.1 (random port);
each client first passes an HMAC challenge with a random key (before any data is
read), then sends one typed request (app/core/wire.py, JSON, never pickles) and gets
one reply or a stream of messages ending with a final one. Port, key and pid sit in a
user-only file beside the index. The service only talks to its host through
`ServiceHost`: the Core's is `CoreServiceHost` (app/core/service_hosts.py), a unit
test's may be a small stand-in: `service = LocalService(host); service.start()`.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol

from app.core import wire
from app.core.wire import (
    AskRequest,
    CancelRequest,
    ErrorCode,
    ErrorReply,
    ForgetReply,
    ForgetRequest,
    IndexDone,
    IndexProgressMsg,
    IndexRequest,
    JobAccepted,
    NewChatRequest,
    StatusReply,
    StatusRequest,
    UnwatchRequest,
    WatchRequest,
    WireError,
)
from app.engine.search_service import SearchReply, SearchRequest
from app.errors import OWNER_BUSY_MESSAGE, DocentError, bad_request_message, owner_failed_message

if TYPE_CHECKING:
    from app.settings import Settings
    from ingest.pipeline import IndexReport, Progress

ENDPOINT_FILE = "search-endpoint.json"  # (its first use was search alone; the name stays)
_AUTH_TIMEOUT_S = 10.0  # a client that connects and says nothing is dropped after this
_DRAIN_LIMIT = 16 << 20  # bytes of an oversized request read away so the client sees the reply
_log = logging.getLogger(__name__)


class HostJob(Protocol):
    id: int

    def wait(self, timeout: float | None) -> "IndexReport | None":
        """The finished job's report, or None while it runs; raises what the job raised."""


class ServiceHost(Protocol):
    """What the service needs from the process that owns the index."""

    settings: "Settings"

    def search(self, req: SearchRequest) -> SearchReply: ...

    def status(self) -> StatusReply: ...

    def index(self, paths: list[Path], progress: Callable[["Progress"], None] | None) -> HostJob:
        """Queue the paths on the owner's one writer; progress is called from the writer."""

    def forget(self, paths: list[Path]) -> int:
        """Remove files/folders through the writer; returns the number of files removed."""

    def ask(self, req: AskRequest, cancel: threading.Event) -> Iterator[object]:
        """Engine events (SourcesEvent, TokenEvent..., DoneEvent or ErrorEvent), and Notices.
        Setting `cancel` stops the generation within a token."""

    # Optional (a host without them refuses the request with a clear message):
    # watch(paths) -> WatchReply, unwatch(paths, forget) -> WatchReply, new_chat(title) -> ChatReply


class LocalService:
    """Serves `host` to other local processes on background threads until stop()."""

    def __init__(self, host: ServiceHost, index_dir: Path | None = None, max_clients: int = 16) -> None:
        self.host = host
        self.endpoint = (index_dir or host.settings.index_dir) / ENDPOINT_FILE
        self._key = b""
        self._listener: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(max_clients)
        self._lock = threading.Lock()
        self._active: dict[int, tuple[Any, threading.Event, threading.Thread]] = {}

    @property
    def address(self) -> tuple[str, int] | None:
        return self._listener.address if self._listener is not None else None

    def start(self) -> None:
        from multiprocessing.connection import Listener

        self._key = secrets.token_bytes(32)
        # No authkey here: the challenge runs on the client's own thread, with a deadline,
        # so a client that connects and stays silent cannot block everyone else's accept.
        self._listener = Listener(("127.0.0.1", 0))
        write_private(self.endpoint, {"port": self._listener.address[1], "key": self._key.hex(),
                                      "pid": os.getpid(), "protocol": wire.PROTOCOL})
        self._thread = threading.Thread(target=self._accept_loop, name="docent-service", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._listener is None:
            return
        self._stopping.set()
        try:  # accept() is not woken by close() on Linux: knock once
            socket.create_connection(self._listener.address, timeout=1).close()
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            active = list(self._active.values())
        for conn, cancel, _ in active:  # clients see the connection end: "owner stopped"
            cancel.set()
            _shutdown(conn)
        for _, _, thread in active:
            thread.join(timeout)
        self._listener.close()
        self._listener = None
        try:
            if json.loads(self.endpoint.read_text()).get("pid") == os.getpid():
                self.endpoint.unlink()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> "LocalService":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- connections -------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn = self._listener.accept()
            except OSError:
                continue
            if self._stopping.is_set():
                conn.close()
                break
            cancel = threading.Event()
            t = threading.Thread(target=self._client, args=(conn, cancel), name="docent-service-client",
                                 daemon=True)
            with self._lock:
                self._active[id(conn)] = (conn, cancel, t)
            t.start()

    def _client(self, conn: Any, cancel: threading.Event) -> None:
        from multiprocessing import AuthenticationError
        from multiprocessing.connection import answer_challenge, deliver_challenge

        deadline = threading.Timer(_AUTH_TIMEOUT_S, _shutdown, (conn,))
        deadline.start()
        try:
            try:
                deliver_challenge(conn, self._key)  # a client without the key gets no further
                answer_challenge(conn, self._key)
            except (AuthenticationError, OSError, EOFError):
                self._forget_conn(conn)
                return
            try:
                raw = conn.recv_bytes(wire.MAX_REQUEST_BYTES)
            except OSError as e:
                if str(e) == "bad message length":  # authenticated, but sent too much
                    self._refuse(conn, ErrorReply(ErrorCode.TOO_LARGE, bad_request_message(
                        f"a request is at most {wire.MAX_REQUEST_BYTES} bytes")))
                self._forget_conn(conn)
                return
            except EOFError:
                self._forget_conn(conn)
                return
        finally:
            deadline.cancel()
        try:
            if not self._slots.acquire(blocking=False):
                self._send(conn, ErrorReply(ErrorCode.BUSY, OWNER_BUSY_MESSAGE))
                return
            try:
                self._answer(conn, raw, cancel)
            finally:
                self._slots.release()
        except Exception:  # never let one client take the service down
            _log.exception("service client failed")
        finally:
            self._forget_conn(conn)

    def _forget_conn(self, conn: Any) -> None:
        with self._lock:
            self._active.pop(id(conn), None)
        try:
            conn.close()
        except OSError:
            pass

    def _answer(self, conn: Any, raw: bytes, cancel: threading.Event) -> None:
        try:
            req = wire.decode(raw)
            if not isinstance(req, wire.REQUESTS):
                raise WireError(f"{type(req).__name__} is not a request")
            _check(req)
        except WireError as e:
            self._send(conn, ErrorReply(ErrorCode.BAD_REQUEST, bad_request_message(str(e))))
            return
        try:
            if isinstance(req, AskRequest):
                self._ask(conn, req, cancel)
            elif isinstance(req, IndexRequest):
                self._index(conn, req)
            else:
                self._send(conn, self._reply(req))
        except DocentError as e:
            self._send(conn, ErrorReply(ErrorCode.REFUSED, str(e), e.exit_code))
        except Exception as e:
            _log.exception("service request failed: %s", type(req).__name__)
            self._send(conn, ErrorReply(ErrorCode.FAILED, owner_failed_message(f"{type(e).__name__}: {e}")))

    def _reply(self, req: object) -> object:
        if isinstance(req, SearchRequest):
            reply = self.host.search(req)
            reply.served_by = os.getpid()
            return reply
        if isinstance(req, StatusRequest):
            status = self.host.status()
            status.served_by = os.getpid()
            return status
        if isinstance(req, (WatchRequest, UnwatchRequest, NewChatRequest)):
            return self._optional(req)
        assert isinstance(req, ForgetRequest)
        return ForgetReply(self.host.forget([Path(p) for p in req.paths]))

    def _optional(self, req: object) -> object:
        from app.errors import owner_cannot_message

        name = {WatchRequest: "watch", UnwatchRequest: "unwatch", NewChatRequest: "new_chat"}[type(req)]
        fn = getattr(self.host, name, None)
        if fn is None:
            return ErrorReply(ErrorCode.REFUSED, owner_cannot_message(name.replace("_", " ")))
        if isinstance(req, WatchRequest):
            return fn([Path(p) for p in req.paths])
        if isinstance(req, UnwatchRequest):
            return fn([Path(p) for p in req.paths], req.forget)
        assert isinstance(req, NewChatRequest)
        return fn(req.title)

    def _index(self, conn: Any, req: IndexRequest) -> None:
        lines: queue.Queue[Progress] = queue.Queue()
        job = self.host.index([Path(p) for p in req.paths], lines.put if req.wait else None)
        if not req.wait:
            self._send(conn, JobAccepted(job.id, os.getpid()))
            return
        while True:  # the job goes on if the client leaves: it is the owner's work now
            report = job.wait(0.25)
            while not lines.empty():
                if not self._send(conn, IndexProgressMsg(lines.get())):
                    return
            if report is not None:
                self._send(conn, IndexDone(report))
                return
            if self._stopping.is_set():
                return

    def _ask(self, conn: Any, req: AskRequest, cancel: threading.Event) -> None:
        done = threading.Event()
        watcher = threading.Thread(target=_watch_for_cancel, args=(conn, cancel, done),
                                   name="docent-service-cancel", daemon=True)
        watcher.start()
        events: Iterator[object] = iter(())
        try:
            events = self.host.ask(req, cancel)
            for event in events:  # after a cancel the stream ends within a token, with its Done
                if not self._send(conn, wire.from_event(event)):
                    cancel.set()  # the client is gone: stop generating for nobody
                    break
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            done.set()
            watcher.join()

    def _send(self, conn: Any, msg: object) -> bool:
        try:
            conn.send_bytes(wire.encode(msg))
            return True
        except (OSError, EOFError):
            return False

    def _refuse(self, conn: Any, msg: ErrorReply) -> None:
        """Answer an oversized request: reply, then read away what the client is still sending."""
        self._send(conn, msg)
        try:
            s = socket.fromfd(conn.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            return
        with s:
            s.settimeout(2.0)
            read = 0
            try:
                while read < _DRAIN_LIMIT and (chunk := s.recv(1 << 16)):
                    read += len(chunk)
            except OSError:
                pass


def _check(req: object) -> None:
    """What the types cannot say: paths are absolute (the owner's working folder is not the client's)."""
    paths = getattr(req, "paths", None)
    if paths is not None:
        if not paths:
            raise WireError("no paths")
        bad = [p for p in paths if not os.path.isabs(p)]
        if bad:
            raise WireError(f"paths must be absolute: {bad[0]!r}")
    if isinstance(req, AskRequest):
        if not req.question.strip():
            raise WireError("an empty question")
        if req.model is not None and not os.path.isabs(req.model):
            raise WireError(f"the model path must be absolute: {req.model!r}")


def _watch_for_cancel(conn: Any, cancel: threading.Event, done: threading.Event) -> None:
    """During an ask, the client's only message is a cancel; a closed socket means the same."""
    while not done.is_set() and not cancel.is_set():
        try:
            if not conn.poll(0.1):
                continue
            msg = wire.decode(conn.recv_bytes(wire.MAX_REQUEST_BYTES))
        except (OSError, EOFError, WireError):
            cancel.set()
            return
        if isinstance(msg, CancelRequest):
            cancel.set()
            return


def _shutdown(conn: Any) -> None:
    """Wake a thread blocked reading `conn` (close() alone does not, on Linux)."""
    try:
        s = socket.fromfd(conn.fileno(), socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, ValueError):
        return
    with s:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Atomically replace `path` with user-only JSON (a stale file of a killed owner included)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
