"""Search answered by the process that owns the index (`docent serve`, later the app).

Chroma allows one process per index path, and a fresh process spends seconds
importing torch and chromadb before its first query. So the owner answers
search requests from other local processes: a multiprocessing Listener on
127.0.0.1 (random port) that authenticates clients with a random key (an HMAC
challenge, before any data is read). Port, key and pid sit in a user-only file
beside the index. Requests and replies are JSON bytes, never pickles.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from app.engine.retrieval import snippet

if TYPE_CHECKING:
    from app.engine.library import Library
    from app.engine.retrieval import Passage

ENDPOINT_FILE = "search-endpoint.json"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchRequest:
    query: str
    k: int = 10
    mode: str | None = None
    where: dict[str, Any] | None = None


@dataclass(frozen=True)
class SearchRow:
    rank: int
    file: str
    name: str
    page_start: int | None
    page_end: int | None
    pages: str
    score: float
    snippet: str
    chunk_id: str


@dataclass
class SearchReply:
    query: str
    mode: str
    seconds: float
    results: list[SearchRow] = field(default_factory=list)
    served_by: int | None = None  # pid of the process that searched, when not this one

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SearchReply":
        return cls(**{**data, "results": [SearchRow(**r) for r in data["results"]]})


def rows(passages: Sequence["Passage"]) -> list[SearchRow]:
    return [SearchRow(i, p.path, p.name, p.page_start, p.page_end, p.pages_label, round(p.score, 4),
                      snippet(p.text), p.chunk_id) for i, p in enumerate(passages, start=1)]


def search_here(lib: "Library", req: SearchRequest, retrievers: dict[str | None, Any] | None = None
                ) -> SearchReply:
    cache = retrievers if retrievers is not None else {}
    if req.mode not in cache:
        cache[req.mode] = lib.retriever(req.mode)
    retriever = cache[req.mode]
    t0 = time.perf_counter()
    passages = retriever.search(req.query, max(1, req.k), req.where)
    return SearchReply(req.query, retriever.mode, round(time.perf_counter() - t0, 4), rows(passages))


class SearchServer:
    """Serves SearchRequests for `lib` on a background thread until stop()."""

    def __init__(self, lib: "Library") -> None:
        self.lib = lib
        self.endpoint = lib.settings.index_dir / ENDPOINT_FILE
        self._listener: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._retrievers: dict[str | None, Any] = {}

    def start(self) -> None:
        from multiprocessing.connection import Listener

        key = secrets.token_bytes(32)
        self._listener = Listener(("127.0.0.1", 0), authkey=key)
        _write_private(self.endpoint, {"port": self._listener.address[1], "key": key.hex(),
                                       "pid": os.getpid()})
        self._thread = threading.Thread(target=self._serve, name="docent-search", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._listener is None:
            return
        self._stopping.set()
        try:  # accept() is not woken by close() on Linux: knock once
            socket.create_connection(self._listener.address, timeout=1).close()
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(5)
        self._listener.close()
        self._listener = None
        try:
            if json.loads(self.endpoint.read_text()).get("pid") == os.getpid():
                self.endpoint.unlink()
        except (OSError, ValueError):
            pass

    def _serve(self) -> None:
        from multiprocessing import AuthenticationError

        while not self._stopping.is_set():
            try:
                conn = self._listener.accept()
            except (AuthenticationError, OSError, EOFError):
                continue  # a client without the key, or the stop knock
            with conn:
                try:
                    req = SearchRequest(**json.loads(conn.recv_bytes(1 << 20)))
                    reply: dict[str, Any] = asdict(search_here(self.lib, req, self._retrievers))
                    reply["served_by"] = os.getpid()
                except Exception as exc:  # one bad request must not stop the service
                    _log.exception("search request failed")
                    reply = {"error": f"{type(exc).__name__}: {exc}"}
                try:
                    conn.send_bytes(json.dumps(reply).encode("utf-8"))
                except OSError:
                    pass


class SearchServiceError(RuntimeError):
    """The owning process was reached but could not answer."""


def search_via_service(index_dir: Path, req: SearchRequest) -> SearchReply | None:
    """The owner's answer, or None when no live owner serves search for this index."""
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    try:
        info = json.loads((index_dir / ENDPOINT_FILE).read_text())
        if os.name == "posix":  # (on Windows os.kill would terminate it)
            os.kill(int(info["pid"]), 0)  # a file left by a killed owner names a dead pid
        address = ("127.0.0.1", int(info["port"]))
        socket.create_connection(address, timeout=1).close()  # listening, or give up at once
        with Client(address, authkey=bytes.fromhex(info["key"])) as conn:
            conn.send_bytes(json.dumps(asdict(req)).encode("utf-8"))
            data = json.loads(conn.recv_bytes())
    except (OSError, ValueError, KeyError, EOFError, AuthenticationError):
        return None
    if "error" in data:
        raise SearchServiceError(data["error"])
    return SearchReply.from_json(data)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
