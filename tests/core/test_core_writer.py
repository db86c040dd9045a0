"""One serial writer: dropped folders, watched folders and folder changes, all through one queue."""
from __future__ import annotations

from app.core.events import FileEvent, FileState, FolderEvent, FolderState, IndexProgress
from app.core.jobs import JobState
from ingest.manifest import FileStatus
from tests.ingest.sync_helpers import note, wait_until, write


def _notes(folder, n: int, topic: str, start: int = 0):  # type: ignore[no-untyped-def]
    return [write(folder / f"{topic}-{i}.txt", note(i, topic)) for i in range(start, start + n)]


def _rows(core):  # type: ignore[no-untyped-def]
    return {r.path: r for r in core.library.manifest.all()}


def _check_store_matches(core) -> None:  # type: ignore[no-untyped-def]
    """Chroma holds exactly the chunks the manifest vouches for: no duplicates, no orphans."""
    store = core.library.store
    ids = store.all_ids()
    assert len(ids) == len(set(ids))
    rows = {r.file_id: r for r in core.library.manifest.all()}
    per_file = store.file_ids()
    assert set(per_file) <= set(rows), "orphan chunks"
    for fid, rec in rows.items():
        want = rec.chunk_count if rec.status == FileStatus.INDEXED else 0
        assert per_file.get(fid, 0) == want, rec


def test_drop_outside_watched_folders_while_syncing(make_core, tmp_path):
    watched, dropped, later = tmp_path / "watched", tmp_path / "dropped", tmp_path / "later"
    w = _notes(watched, 40, "harbour")
    d = _notes(dropped, 15, "orchard")
    extra = _notes(later, 10, "quarry")
    core, rec = make_core([watched], ready=False)
    early = core.add_paths([dropped])  # before the writer exists: queued, then run
    assert core.wait_ready(120)
    # while the watched folder's start-up sync is under way, drop another folder
    wait_until(lambda: any(isinstance(e, FileEvent) and e.state == FileState.INDEXED
                           and e.folder == str(watched) for e in rec.events), 120, 0.01)
    job = core.add_paths([later / p.name for p in extra] + [later / "missing.txt"])
    assert job.wait(180) and early.wait(180)
    assert early.state == JobState.DONE and job.state == JobState.DONE, (early, job)
    assert core.wait_idle(180)

    rows = _rows(core)
    assert {str(p) for p in w + d + extra} <= set(rows)
    indexed = [r for r in rows.values() if r.status == FileStatus.INDEXED]
    assert len(indexed) == len(w) + len(d) + len(extra)
    assert all(r.chunk_count == 1 for r in indexed)
    assert rows[str(later / "missing.txt")].status == FileStatus.ERROR  # reported, not a crash
    assert core.library.store.count() == len(indexed)
    _check_store_matches(core)
    # one writer: never two threads inside an index write, and always the writer's thread
    assert core.guard.max_active == 1 and core.guard.calls > 0
    assert core.guard.threads == {"docent-sync"}, core.guard.threads
    files = core.files()
    assert len(files) == len(rows)
    assert {f.path: f.folder for f in files}[str(w[0])] == str(watched)
    assert {f.path: f.folder for f in files}[str(d[0])] == ""
    assert core.files(offset=5, limit=7) == files[5:12]
    st = core.status()
    assert st.chunks == len(indexed) and st.by_state["indexed"] == len(indexed)
    progress = [e for e in rec.of(IndexProgress) if e.phase == "indexing"]
    assert progress and any(e.current for e in progress) and progress[-1].total >= progress[-1].done


def test_watch_and_unwatch_at_run_time(make_core, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _notes(a, 2, "harbour")
    _notes(b, 3, "orchard")
    core, rec = make_core([a])
    assert core.wait_idle(120)
    assert core.watch_folder(b).wait(60)
    assert str(b) in core.settings.watched_folders  # persisted
    assert core.wait_idle(120)
    assert {p for p, r in _rows(core).items() if r.status == FileStatus.INDEXED} == \
        {str(a / f"harbour-{i}.txt") for i in range(2)} | {str(b / f"orchard-{i}.txt") for i in range(3)}
    assert (str(b), FolderState.WATCHING) in core.folders()

    new = write(b / "sub" / "fresh.md", "# Fresh\n\nThe tide table for the new harbour.\n")
    wait_until(lambda: (r := core.library.manifest.get(str(new))) and r.status == FileStatus.INDEXED, 60)

    job = core.unwatch_folder(b, keep_chunks=False)
    assert job.wait(60) and job.state == JobState.DONE
    assert str(b) not in core.settings.watched_folders
    assert not any(p.startswith(str(b)) for p in _rows(core))
    assert any(isinstance(e, FolderEvent) and e.state == FolderState.REMOVED for e in rec.events)
    write(b / "after.txt", note(9, "ignored"))  # no longer watched: never indexed
    job = core.unwatch_folder(a, keep_chunks=True)
    assert job.wait(60)
    assert core.wait_idle(60)
    assert core.library.manifest.get(str(b / "after.txt")) is None
    assert len([r for r in _rows(core).values() if r.status == FileStatus.INDEXED]) == 2  # a's kept
    _check_store_matches(core)
    assert core.guard.max_active == 1


def test_folders_survive_a_restart_and_bad_folder_is_an_error(make_core, tmp_path):
    from app.core.events import CoreErrorEvent

    a = tmp_path / "a"
    _notes(a, 1, "harbour")
    core, rec = make_core([])
    bad = core.watch_folder(tmp_path / "nope")
    assert bad.state == JobState.FAILED and "not a folder" in bad.result.message
    assert rec.of(CoreErrorEvent)
    assert core.watch_folder(a).wait(60) and core.wait_idle(60)
    core.close()
    core2, _ = make_core()  # the folder comes from settings.json
    assert core2.settings.watched_folders == [str(a)]
    assert core2.wait_idle(60)
    assert core2.library.manifest.get(str(a / "harbour-0.txt")).status == FileStatus.INDEXED


def test_queued_drops_survive_a_restart_and_pause_holds_indexing(make_core, tmp_path):
    d = tmp_path / "drop"
    files = _notes(d, 3, "orchard")
    core, rec = make_core([])
    core.pause_indexing()
    job = core.add_paths([d])
    forget = core.forget([tmp_path / "nothing-here"])  # not indexing work: runs while paused
    assert forget.wait(60) and forget.state == JobState.DONE
    assert not job.wait(1) and job.state == JobState.QUEUED and core.paused
    core.close()  # the drop is still queued: journalled, not lost
    assert job.state == JobState.QUEUED

    core2, rec2 = make_core()
    assert core2.wait_idle(120)
    rows = _rows(core2)
    assert all(rows[str(f)].status == FileStatus.INDEXED for f in files)
    assert core2.library.store.count() == 3
    core2.pause_indexing()
    again = core2.reindex(files[0])
    assert not again.wait(1)
    core2.resume_indexing()
    assert again.wait(60) and again.state == JobState.DONE
    assert core2.library.store.count() == 3
    _check_store_matches(core2)
