"""The vector store in its own process (ingest/store_process.py): real Chroma in a real
child, compared with an in-process ChromaStore; a killed child is replaced; the child
does not outlive its parent; a write leaves this process's GIL free."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from ingest.document import PageSpan
from ingest.passage import Passage
from ingest.store import ChromaStore, chunk_id
from ingest.store_process import StoreProcess
from tests.ingest.sync_helpers import process_running

DIM = 16


def _chunks(fid: str, n: int) -> list[Passage]:
    return [Passage(chunk_id(fid, j), f"/lib/{fid}.pdf", j + 1, j + 1, f"label\n{fid} text {j}", 0.0, "label",
                    (PageSpan(j + 1, 0, 10),), f"{fid} text {j}") for j in range(n)]


def _vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def proc(tmp_path):  # type: ignore[no-untyped-def]
    p = StoreProcess(tmp_path / "chroma").start()
    yield p
    p.close()


def test_same_answers_as_the_store_in_process(proc, tmp_path) -> None:  # type: ignore[no-untyped-def]
    remote, local = proc.store("same-test"), ChromaStore(tmp_path / "local", "same-test")
    a, b = _chunks("aaa", 40), _chunks("bbb", 25)
    va, vb = _vectors(40, 1), _vectors(25, 2)
    for s in (remote, local):
        s.upsert(a, va, "sha-a")
        s.upsert(b, vb, "sha-b")
        s.rename_file("bbb", "/moved/bbb.pdf")
        s.delete_ids([a[0].chunk_id])
    assert remote.count() == local.count() == 64
    assert remote.file_ids() == local.file_ids() == {"aaa": 39, "bbb": 25}
    assert sorted(remote.ids_for_file("bbb")) == sorted(local.ids_for_file("bbb"))
    q = va[3]
    assert [(h.chunk_id, round(h.score, 5)) for h in remote.query(q, 5)] == \
        [(h.chunk_id, round(h.score, 5)) for h in local.query(q, 5)]
    assert remote.query_ids(q, 5, where={"file_id": "bbb"}) == local.query_ids(q, 5, where={"file_id": "bbb"})
    ids = [c.chunk_id for c in b[:5]]
    assert remote.score_ids(q, ids, 3) == local.score_ids(q, ids, 3)
    got = remote.get_chunks(ids)
    assert sorted(got, key=lambda c: c.chunk_id) == sorted(local.get_chunks(ids), key=lambda c: c.chunk_id)
    assert {c.path for c in got} == {"/moved/bbb.pdf"} and got[0].spans and got[0].body
    assert remote.delete_file("aaa") == 39 and remote.count() == 25


def test_an_error_in_the_child_is_raised_here(proc) -> None:  # type: ignore[no-untyped-def]
    store = proc.store("error-test")
    store.upsert(_chunks("aaa", 3), _vectors(3, 1), "")
    with pytest.raises(Exception, match="(?i)dimension"):
        store.query(np.ones(DIM + 5, dtype=np.float32), 2)
    assert store.count() == 3  # and the process still serves


def test_a_killed_child_is_replaced_and_nothing_is_lost(proc) -> None:  # type: ignore[no-untyped-def]
    store = proc.store("kill-test")
    store.upsert(_chunks("aaa", 30), _vectors(30, 1), "")
    first = proc.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process_running(first):
        time.sleep(0.05)
    assert store.count() == 30  # a new child, the collection re-opened
    assert proc.pid != first and proc.starts == 2
    store.upsert(_chunks("bbb", 5), _vectors(5, 2), "")
    assert store.count() == 35


def test_the_child_exits_with_its_parent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from ingest.store_process import StoreProcess
        p = StoreProcess(Path({str(tmp_path / 'chroma')!r})).start()
        p.store("orphan-test").count()
        print(p.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=os.getcwd())
    try:
        child = int(parent.stdout.readline())
        parent.kill()  # kill -9: no atexit, no close()
        parent.wait(30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process_running(child):
            time.sleep(0.1)
        if process_running(child):
            os.kill(child, signal.SIGKILL)
            pytest.fail("the store process outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="POSIX: the child is paused with SIGSTOP")
def test_a_write_leaves_this_process_free(proc) -> None:  # type: ignore[no-untyped-def]
    """In-process, Chroma's upsert holds the GIL throughout: no other thread runs
    during it. Through the store process, this process's threads keep running.

    No timing: the child is paused (SIGSTOP) so the upsert cannot end, and a thread of
    this process must beat three times while the upsert is still in flight; then the
    child resumes and the write completes."""
    store = proc.store("gil-test")
    store.upsert(_chunks("warm", 10), _vectors(10, 3), "")
    n = 1500
    chunks, vectors = _chunks("big", n), _vectors(n, 4)
    started, stop = threading.Event(), threading.Event()
    beats = threading.Semaphore(0)
    upsert = threading.Thread(target=lambda: (started.set(), store.upsert(chunks, vectors, "")), daemon=True)

    def beat() -> None:
        started.wait(60)
        while not stop.is_set():
            beats.release()
            time.sleep(0.001)

    ticker = threading.Thread(target=beat, daemon=True)
    child = proc.pid
    os.kill(child, signal.SIGSTOP)
    try:
        ticker.start()
        upsert.start()
        assert started.wait(60)
        got = sum(beats.acquire(timeout=60) for _ in range(3))  # each waits for the next beat
        in_flight = upsert.is_alive()
    finally:
        stop.set()
        os.kill(child, signal.SIGCONT)
    upsert.join(120)
    ticker.join(5)
    assert in_flight, "the upsert returned while the store's process was paused: it ran here"
    assert got == 3, "this process's other thread did not run while the write was in flight"
    assert not upsert.is_alive() and store.count() == n + 10
    assert proc.pid == child  # the paused child was resumed, not replaced
