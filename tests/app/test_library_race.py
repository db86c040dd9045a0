"""The start-up race: search and sync both build the Library's lazy parts at once.

Before the parts were built under a lock, two threads constructing the Chroma
client for one path broke chromadb's client registry (KeyError: '<home>/index/chroma')
and the sync thread died, leaving `docent serve` answering over an empty index.
(The search came from another shell through the owner's service, on the service's
thread; here it runs on a thread of its own, as the service ran it.)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.engine.library import Library
from app.engine.search_service import RetrieverCache, SearchReply, SearchRequest, search_here
from app.settings import Settings
from ingest.manifest import FileStatus
from ingest.sync.service import SyncService
from tests.conftest import REPO
from tests.ingest.sync_helpers import wait_until, write

RUNS = 20
TEXT = "The quayside ledger of the Marrowby lighthouse lists eleven copper lanterns.\n"
QUERY = "Marrowby lighthouse copper lanterns"


@pytest.fixture
def thread_deaths(monkeypatch):
    """Every exception that ends a thread (the bug's symptom), instead of a log line."""
    deaths: list[str] = []
    monkeypatch.setattr(threading, "excepthook",
                        lambda a: deaths.append(f"{a.thread.name if a.thread else '?'}: {a.exc_value!r}"))
    return deaths


def _one_run(root: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    docs = root / "docs"
    target = write(docs / "ledger.txt", TEXT)
    lib = Library(Settings.load(root / "home"), embedder=embedder)
    retrievers, search_lock = RetrieverCache(), threading.Lock()  # as an owner searches: one at a time

    def search() -> SearchReply:
        with search_lock:
            return search_here(lib, SearchRequest(QUERY, 3), retrievers)

    svc = SyncService(lib, [docs], watch=False, quiet_s=0.1)
    replies: list[object] = []
    failures: list[BaseException] = []
    go = threading.Barrier(2, timeout=60)
    done = threading.Event()

    def searcher() -> None:
        go.wait()
        while not done.is_set():
            try:
                replies.append(search())
            except BaseException as e:  # noqa: BLE001 - any failure is the test's finding
                failures.append(e)
                return
            time.sleep(0.02)

    try:
        client = threading.Thread(target=searcher, name="test-searcher", daemon=True)
        client.start()
        go.wait()  # the first search and the sync worker's first use of the Library, together
        svc.start()
        assert svc.wait_idle(180), "sync never became idle"
        assert svc.error is None, f"sync thread died: {svc.error!r}"

        def found() -> bool:
            return any(r.file == str(target) for r in search().results)

        wait_until(found, 60, 0.1)
        done.set()
        client.join(30)
        assert not failures, failures
        assert replies and all(isinstance(r, SearchReply) for r in replies), "search stopped answering"
        rec = lib.manifest.get(str(target))
        assert rec is not None and rec.status == FileStatus.INDEXED and rec.chunk_count == 1
        assert lib.store.count() == lib.keyword.count() == 1
    finally:
        done.set()
        svc.stop()
        lib.close()


def test_search_and_sync_starting_together_always_index(tmp_path, embedder, thread_deaths):
    for i in range(RUNS):
        _one_run(tmp_path / f"run{i:02d}", embedder)
        assert not thread_deaths, f"run {i}: {thread_deaths}"


def test_build_makes_every_part_once_even_from_many_threads(tmp_path, embedder, thread_deaths):
    lib = Library(Settings.load(tmp_path / "home"), embedder=embedder)
    try:
        go = threading.Barrier(8, timeout=60)
        seen: list[tuple[int, int, int, int]] = []

        def use() -> None:
            go.wait()
            seen.append((id(lib.store), id(lib.keyword), id(lib.indexer), id(lib.manifest)))

        threads = [threading.Thread(target=use) for _ in range(7)]
        for t in threads:
            t.start()
        go.wait()
        lib.build()
        for t in threads:
            t.join(120)
        mine = (id(lib.store), id(lib.keyword), id(lib.indexer), id(lib.manifest))
        assert seen == [mine] * 7
        assert not thread_deaths
    finally:
        lib.close()


def _owner_holds(index_dir: Path) -> bool:
    """Whether another process holds the index (try the owner lock and let go at once)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(index_dir / ".owner.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def test_cli_serve_while_another_process_searches(tmp_path):
    home, docs = tmp_path / "home", tmp_path / "docs"
    target = write(docs / "ledger.txt", TEXT)
    env = {**os.environ, "DOCENT_HOME": str(home)}

    def docent(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)

    assert docent("watch", str(docs)).returncode == 0
    serve = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    hits: list[bool] = []
    stop = threading.Event()

    def search_loop() -> None:
        while not stop.is_set():
            r = docent("search", QUERY, "--json", timeout=120)
            if r.returncode == 0:
                hits.append(any(x["file"] == str(target) for x in json.loads(r.stdout)["results"]))
            stop.wait(0.5)

    try:
        index_dir = home / "index"
        # Searches start once serve owns the index: before that, a search would open it itself.
        wait_until(lambda: serve.poll() is not None or _owner_holds(index_dir), 120, 0.05)
        assert serve.poll() is None, serve.communicate()[1][-3000:]
        loop = threading.Thread(target=search_loop, name="test-cli-search", daemon=True)
        loop.start()
        wait_until(lambda: serve.poll() is not None or any(hits), 300, 0.2)
        assert serve.poll() is None, serve.communicate()[1][-3000:]
        stop.set()
        loop.join(150)
    finally:
        stop.set()
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=120)
    assert serve.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "sync stopped" not in err, err[-3000:]
    r = docent("status", "--json")
    assert r.returncode == 0 and str(target) in r.stdout, r.stdout + r.stderr
