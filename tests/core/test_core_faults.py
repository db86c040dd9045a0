"""No silent deaths: a writer killed by an exception is reported and restarted; SQLite and
Chroma failures mid-index become error events and the core serves the next request."""
from __future__ import annotations

import sqlite3

from app.core.events import CoreErrorEvent, WorkerEvent
from app.core.jobs import JobState
from ingest.manifest import FileStatus
from tests.core.test_core_writer import _check_store_matches, _notes
from tests.ingest.sync_helpers import note, wait_until, write


def _indexed(core, path) -> bool:  # type: ignore[no-untyped-def]
    rec = core.library.manifest.get(str(path))
    return rec is not None and rec.status == FileStatus.INDEXED


def test_killed_writer_is_reported_restarted_and_indexes_after(make_core, tmp_path):
    a = tmp_path / "a"
    _notes(a, 2, "harbour")
    core, rec = make_core([a])
    assert core.wait_idle(120)
    indexer = core.library.indexer
    real = indexer.index_paths
    calls = []

    def dies_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("injected failure in the writer")
        return real(*args, **kwargs)

    indexer.index_paths = dies_once
    first = write(a / "first.txt", note(50, "lighthouse"))
    wait_until(lambda: rec.of(WorkerEvent), 60)
    event = rec.of(WorkerEvent)[0]
    assert event.worker == "writer" and event.restarted and "injected failure" in event.message
    assert any("injected failure" in e.message for e in rec.of(CoreErrorEvent))
    wait_until(lambda: _indexed(core, first), 60)  # the restarted writer repaired and rescanned
    second = write(a / "second.txt", note(51, "lighthouse"))
    wait_until(lambda: _indexed(core, second), 60)
    job = core.add_paths([write(tmp_path / "dropped.txt", note(52, "quarry"))])
    assert job.wait(60) and job.state == JobState.DONE
    assert core.wait_idle(60)
    _check_store_matches(core)
    assert core.guard.max_active == 1
    assert len(rec.of(WorkerEvent)) == 1


def test_crash_loop_stops_restarting_and_says_so(make_core, tmp_path):
    a = tmp_path / "a"
    _notes(a, 1, "harbour")
    core, rec = make_core([a])
    assert core.wait_idle(120)

    def always(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("disk I/O error")

    core.library.indexer.index_paths = always
    write(a / "new.txt", note(7, "lighthouse"))
    wait_until(lambda: any(not e.restarted for e in rec.of(WorkerEvent)), 120)
    events = rec.of(WorkerEvent)
    assert [e.restarted for e in events] == [True, True, True, False]
    assert "not restarted" in events[-1].message
    assert core.writer_down and not core.wait_idle(1)
    job = core.add_paths([tmp_path / "x.txt"])  # refused with a reason, not queued forever
    assert job.state == JobState.FAILED and job.result.message
    assert core.status().files >= 1  # reads still served


def test_chroma_and_sqlite_errors_mid_index_become_error_events(make_core, tmp_path):
    from chromadb.errors import InternalError

    core, rec = make_core([])
    store = core.library.store
    real = store.upsert
    failures = [InternalError("injected Chroma failure"), sqlite3.OperationalError("database is locked")]

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        if failures:
            raise failures.pop(0)
        return real(*args, **kwargs)

    store.upsert = flaky
    d = tmp_path / "drop"
    files = _notes(d, 3, "orchard")
    for expected in ("injected Chroma failure", "database is locked"):
        job = core.add_paths([d])
        assert job.wait(120)
        assert job.state == JobState.FAILED and expected in job.result.message
        assert any(expected in e.message for e in rec.of(CoreErrorEvent))
        _check_store_matches(core)  # the file cut short left no chunks behind
    job = core.add_paths([d])  # the next request is served, and finishes the folder
    assert job.wait(120) and job.state == JobState.DONE
    assert all(_indexed(core, f) for f in files)
    assert core.wait_idle(60)
    _check_store_matches(core)
    assert not rec.of(WorkerEvent)
