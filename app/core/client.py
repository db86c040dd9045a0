"""The client side of the owner's local service (app/core/service.py), for the CLI.

`find_owner(index_dir)` returns an OwnerClient when a live process serves this index
(its endpoint file names a running pid that listens), else None: the caller then works
in-process. Requests that cannot reach or authenticate with the owner raise
OwnerUnavailable before anything was done, so the caller can still fall back; a
connection lost after that is the owner stopping mid-request (OwnerStoppedError).
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from app.core import wire
from app.core.service import ENDPOINT_FILE
from app.core.wire import (
    AskRequest,
    CancelRequest,
    ChatReply,
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
    WatchReply,
    WatchRequest,
)
from app.errors import OwnerRequestError, OwnerStoppedError, owner_reply_not_understood

if TYPE_CHECKING:
    from app.engine.search_service import SearchReply, SearchRequest
    from ingest.pipeline import IndexReport, Progress


SearchServiceError = OwnerRequestError  # its name when the service answered search alone


class OwnerUnavailable(Exception):
    """Nobody answered as the owner (gone, not listening, wrong key): work in-process."""


@dataclass(frozen=True)
class Endpoint:
    port: int
    key: bytes
    pid: int


def read_endpoint(index_dir: Path) -> Endpoint | None:
    try:
        info = json.loads((index_dir / ENDPOINT_FILE).read_text())
        if info.get("protocol") != wire.PROTOCOL:
            return None
        return Endpoint(int(info["port"]), bytes.fromhex(info["key"]), int(info["pid"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _alive(pid: int) -> bool:
    if os.name != "posix":  # (on Windows os.kill would terminate it): the connect decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process reuses the pid: not our owner
        return False
    return True


def find_owner(index_dir: Path, wait_s: float = 0.0) -> "OwnerClient | None":
    """The live owner of this index, waiting up to `wait_s` for one that is starting."""
    deadline = time.monotonic() + wait_s
    while True:
        ep = read_endpoint(index_dir)
        if ep is not None and _alive(ep.pid):
            try:  # listening, or give up at once (a stale file of a killed owner)
                socket.create_connection(("127.0.0.1", ep.port), timeout=1).close()
                return OwnerClient(ep)
            except OSError:
                pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.25)


def wait_for_handover(index_dir: Path, deadline: float) -> bool:
    """Wait (until `deadline`, a monotonic time) for another process to hand the index over:
    True once an owner's service answers or nobody holds the index; False at the deadline."""
    from app.engine.owner_lock import index_free

    while True:
        if find_owner(index_dir) is not None or index_free(index_dir):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)


class OwnerClient:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    @property
    def pid(self) -> int:
        return self.endpoint.pid

    # --- requests ------------------------------------------------------------------
    def search(self, req: "SearchRequest") -> "SearchReply":
        from app.engine.search_service import SearchReply

        return self._one(req, SearchReply)

    def status(self) -> StatusReply:
        return self._one(StatusRequest(), StatusReply)

    def forget(self, paths: list[Path]) -> int:
        return self._one(ForgetRequest(_absolute(paths)), ForgetReply).removed

    def watch(self, folders: list[Path]) -> WatchReply:
        """Folders the owner keeps in sync from now on (it saves them in settings.json)."""
        return self._one(WatchRequest(_absolute(folders)), WatchReply)

    def unwatch(self, folders: list[Path], forget: bool = False) -> WatchReply:
        return self._one(UnwatchRequest(_absolute(folders), forget), WatchReply)

    def new_chat(self, title: str = "New chat") -> int:
        """A chat in the owner's ChatStore; ask with AskRequest(chat=id) to continue it."""
        return self._one(NewChatRequest(title), ChatReply).chat_id

    def queue_index(self, paths: list[Path]) -> JobAccepted:
        return self._one(IndexRequest(_absolute(paths), wait=False), JobAccepted)

    def index(self, paths: list[Path], progress: Callable[["Progress"], None] | None = None
              ) -> "IndexReport":
        """Index through the owner's writer, calling `progress` per file; returns its report."""
        conn = self._open(IndexRequest(_absolute(paths), wait=True))
        with conn:
            while True:
                msg = self._recv(conn)
                if isinstance(msg, IndexProgressMsg):
                    if progress is not None:
                        progress(msg.progress)
                elif isinstance(msg, IndexDone):
                    return msg.report
                else:
                    raise self._unexpected(msg)

    def ask(self, req: AskRequest) -> Iterator[object]:
        """The answer's engine events (and Notices). Closing the iterator early, or Ctrl-C while
        it waits, tells the owner to stop generating."""
        conn = self._open(req)  # eagerly: an unreachable owner is known before anything streams
        return self._stream(conn)

    def _stream(self, conn: Any) -> Iterator[object]:
        finished = False
        try:
            while True:
                msg = self._recv(conn)
                if isinstance(msg, ErrorReply):
                    raise OwnerRequestError(msg.message, msg.exit_code)
                yield wire.to_event(msg)
                if wire.is_final(msg):
                    finished = True
                    return
        finally:
            if not finished:
                try:
                    conn.send_bytes(wire.encode(CancelRequest()))
                except (OSError, EOFError):
                    pass
            conn.close()

    # --- plumbing ------------------------------------------------------------------
    def _open(self, req: object) -> Any:
        from multiprocessing import AuthenticationError
        from multiprocessing.connection import Client

        try:
            conn = Client(("127.0.0.1", self.endpoint.port), authkey=self.endpoint.key)
        except (OSError, EOFError, AuthenticationError) as e:
            raise OwnerUnavailable(str(e)) from e
        try:
            conn.send_bytes(wire.encode(req))
        except (OSError, EOFError) as e:
            conn.close()
            raise OwnerUnavailable(str(e)) from e
        return conn

    def _recv(self, conn: Any) -> object:
        try:
            data = conn.recv_bytes(wire.MAX_REPLY_BYTES)
        except (OSError, EOFError):
            raise OwnerStoppedError(self.pid) from None
        try:
            return wire.decode(data)
        except wire.WireError as e:
            raise OwnerRequestError(owner_reply_not_understood(str(e))) from None

    def _one(self, req: object, expected: type[T]) -> T:
        conn = self._open(req)
        with conn:
            msg = self._recv(conn)
        if not isinstance(msg, expected):
            raise self._unexpected(msg)
        return msg

    def _unexpected(self, msg: object) -> Exception:
        if isinstance(msg, ErrorReply):
            return OwnerRequestError(msg.message, msg.exit_code)
        return OwnerRequestError(owner_reply_not_understood(f"an unexpected {type(msg).__name__}"))


T = TypeVar("T")


def with_owner(index_dir: Path, request: Callable[["OwnerClient"], T]) -> T | None:
    """`request(owner)` when a live owner serves this index; None: do it in this process."""
    owner = find_owner(index_dir)
    if owner is None:
        return None
    try:
        return request(owner)
    except OwnerUnavailable:
        return None


def search_via_service(index_dir: Path, req: "SearchRequest") -> "SearchReply | None":
    """The owner's search, or None when no live owner serves this index."""
    return with_owner(index_dir, lambda owner: owner.search(req))


def _absolute(paths: list[Path]) -> list[str]:
    return [os.path.abspath(os.path.expanduser(str(p))) for p in paths]
