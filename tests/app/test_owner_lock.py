"""The owner lock records who holds it (issue 33): a waiting process names a live holder,
tells it from a record a crashed one left, and takes over what a crashed one left."""
from __future__ import annotations

import errno
import os
import queue
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from app.core.core import Core
from app.core.events import CoreState, CoreStateEvent, IndexWaitEvent
from app.engine.library import Library
from app.engine.owner_lock import (
    HOLDER_FILE,
    LOCK_FILE,
    NEXT_FILE,
    LockHolder,
    LockWait,
    live_record,
    read_record,
    write_record,
)
from app.errors import IndexBusyError, IndexLockError
from app.settings import Settings
from tests.app.handover_helpers import WAIT_S, Holder, docent
from tests.ingest.sync_helpers import write


def _next(events: "queue.Queue[object]", kind: type, pred=lambda e: True):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_S
    while True:
        e = events.get(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(e, kind) and pred(e):
            return e


def test_the_lock_names_its_live_holder_and_a_short_command_says_who(tmp_path):
    home = tmp_path / "home"
    holder = Holder(home, "docent search")
    try:
        rec = live_record(home / "index" / HOLDER_FILE)
        assert rec is not None and (rec.pid, rec.command, rec.owner) == (holder.pid, "docent search", False)
        lib = Library(Settings.load(home), command="docent status")
        try:
            with pytest.raises(IndexBusyError) as e:
                lib.own(LockWait(0.5))
        finally:
            lib.close()
        assert e.value.holder == rec
        assert f"in use by another Docent process (pid {holder.pid}, `docent search`)" in str(e.value)
    finally:
        holder.kill()


def test_a_record_of_a_dead_or_reused_pid_is_stale(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / HOLDER_FILE
    write_record(path, LockHolder(dead.pid, "docent search", time.time() - 5))
    assert read_record(path) is not None and live_record(path) is None
    me = LockHolder.this_process("docent serve", owner=True)
    write_record(path, me)
    assert live_record(path) == me
    write_record(path, replace(me, started=me.started - 3600))  # this pid, but another process
    assert live_record(path) is None


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    home = tmp_path / "home"
    index = home / "index"
    holder = Holder(home, "docent index")
    holder.kill()  # kill -9: its lock file and its record stay behind
    assert (index / LOCK_FILE).exists() and read_record(index / HOLDER_FILE).pid == holder.pid
    lib = Library(Settings.load(home), command="docent status")
    try:
        assert lib.own(LockWait(WAIT_S))
        assert read_record(index / HOLDER_FILE) == LockHolder.this_process("docent status")
    finally:
        lib.close()
    assert not (index / HOLDER_FILE).exists()  # a released lock leaves no record behind
    r = docent(home, "status")
    assert r.returncode == 0, r.stderr


def test_a_lock_file_that_cannot_be_created_is_a_clear_message(tmp_path):
    home, docs = tmp_path / "home", tmp_path / "docs"
    write(docs / "a.txt", "Anything at all.\n")
    (home / "index" / LOCK_FILE).mkdir(parents=True)  # the lock's path is taken by a folder
    assert docent(home, "watch", str(docs)).returncode == 0
    for args in (("status",), ("serve", "--once")):
        r = docent(home, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert f"Docent cannot create its lock file {home / 'index' / LOCK_FILE}" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr, r.stderr


def test_a_read_only_disk_is_a_clear_message(tmp_path, monkeypatch):
    # (the tests run as root here, where permissions do not stop a write: the disk's answer,
    # EROFS, is given by os.open itself)
    settings = Settings.load(tmp_path / "home")
    lock_path = str(settings.index_dir / LOCK_FILE)
    real_open = os.open

    def read_only(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path) == lock_path:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real_open(path, *args, **kwargs)

    lib = Library(settings)
    monkeypatch.setattr(os, "open", read_only)
    try:
        with pytest.raises(IndexLockError, match="Read-only file system"):
            lib.own()
    finally:
        monkeypatch.undo()
        lib.close()


@pytest.fixture
def watched(tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings.load(tmp_path / "home")
    docs = tmp_path / "docs"
    write(docs / "ledger.txt", "The Marrowby lighthouse ledger lists eleven copper lanterns.\n")
    settings.watched_folders = [str(docs)]
    settings.save()
    return settings


def test_core_gives_up_after_its_limit_naming_the_holder_and_start_again_retries(watched, embedder):
    holder = Holder(watched.home, "docent index")
    core = Core(watched, embedder=embedder, command="the Docent window", owner_wait_s=1.0)
    events: "queue.Queue[object]" = queue.Queue()
    core.subscribe(events.put)
    try:
        core.start()
        wait = _next(events, IndexWaitEvent)
        assert wait.waiting and wait.holder is not None and wait.holder.pid == holder.pid
        assert wait.message == f"Waiting for another Docent process (pid {holder.pid}, `docent index`) " \
                               "to finish with the index…"
        failed = _next(events, CoreStateEvent, lambda e: e.state is not CoreState.STARTING)
        assert failed.state is CoreState.FAILED
        assert f"waited 1 s for another Docent process (pid {holder.pid}, `docent index`)" in failed.message
        assert not (watched.index_dir / NEXT_FILE).exists()
        holder.release()
        core.start()  # the window's Retry
        assert core.wait_ready(WAIT_S), core.state
        assert core.wait_idle(WAIT_S) and core.status().files == 1
    finally:
        holder.kill()
        core.close()


def test_core_closed_while_it_waits_stops_waiting(watched, embedder):
    holder = Holder(watched.home, "docent search")
    core = Core(watched, embedder=embedder)
    events: "queue.Queue[object]" = queue.Queue()
    core.subscribe(events.put)
    try:
        core.start()
        _next(events, IndexWaitEvent)
        assert read_record(watched.index_dir / NEXT_FILE) == LockHolder.this_process("Docent", owner=True)
        core.close(timeout=3.0)
        assert core.state is CoreState.CLOSED
        core._threads["start"].join(WAIT_S)
        assert not core._threads["start"].is_alive()
        assert not (watched.index_dir / NEXT_FILE).exists()
        assert live_record(watched.index_dir / HOLDER_FILE).pid == holder.pid  # still the holder's
    finally:
        holder.kill()


def test_a_core_started_while_another_closes_owns_the_index_once_it_is_let_go(watched, embedder):
    """Two windows: the second waits for the first (named), and opens once it has closed."""
    first = Core(watched, embedder=embedder, command="the Docent window")
    second = Core(watched, embedder=embedder, command="the Docent window")
    events: "queue.Queue[object]" = queue.Queue()
    second.subscribe(events.put)
    try:
        first.start()
        assert first.wait_ready(WAIT_S) and first.wait_idle(WAIT_S)
        second.start()
        wait = _next(events, IndexWaitEvent)
        assert wait.holder == LockHolder.this_process("the Docent window", owner=True)
        first.close()
        assert second.wait_ready(WAIT_S), second.state
        _next(events, IndexWaitEvent, lambda e: not e.waiting)  # "let go of the index"
        assert second.wait_idle(WAIT_S) and second.status().files == 1
        assert live_record(watched.index_dir / HOLDER_FILE) == wait.holder  # (same pid and name)
    finally:
        first.close()
        second.close()
