"""Live watching with real watchdog, real Chroma and MiniLM: the index follows the folder."""
from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from ingest.sync.events import FileEvent, FileState, FolderEvent
from ingest.sync.service import SyncService
from tests.ingest.sync_helpers import converged, index_state, note, wait_until, write

QUIET = 0.2


@pytest.fixture
def sync(library):
    """Start a SyncService on folders; stopped (cleanly) after the test."""
    started: list[SyncService] = []

    def make(folders: list[Path], **kw) -> tuple[SyncService, list]:
        events: list = []
        svc = SyncService(library, folders, on_event=events.append, quiet_s=QUIET, poll_s=0.3, **kw)
        svc.start()
        started.append(svc)
        assert svc.wait_idle(120), "start-up did not finish"
        assert svc.error is None
        return svc, events

    yield make
    for svc in started:
        svc.stop()


def test_create_modify_delete_converge(library, sync, tmp_path):
    a = tmp_path / "a"
    for i in range(3):
        write(a / f"n{i}.txt", note(i))
    svc, events = sync([a])
    expected = {str(a / f"n{i}.txt"): 1 for i in range(3)}
    assert converged(library, expected)  # start-up reconciliation indexed what was there

    write(a / "sub" / "new.md", "# New\n\nThe ferry leaves at noon on Sundays.\n")
    expected[str(a / "sub" / "new.md")] = 1
    wait_until(lambda: converged(library, expected), 15)

    before = library.embedder.texts_embedded
    write(a / "n1.txt", note(1) + "\n".join(note(100 + k, "lighthouse") * 6 for k in range(12)))
    wait_until(lambda: library.manifest.get(str(a / "n1.txt")).chunk_count > 1, 15)
    n1 = library.manifest.get(str(a / "n1.txt")).chunk_count
    expected[str(a / "n1.txt")] = n1
    wait_until(lambda: converged(library, expected), 15)
    assert library.embedder.texts_embedded - before == n1  # only the edited file

    (a / "n0.txt").unlink()
    del expected[str(a / "n0.txt")]
    wait_until(lambda: converged(library, expected), 15)
    assert any(isinstance(e, FileEvent) and e.state == "removed" and e.path.endswith("n0.txt")
               for e in events)


def test_rename_and_move_between_folders_reuse_vectors(library, sync, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write(a / "report.txt", note(1))
    write(a / "other.txt", note(2))
    b.mkdir()
    svc, events = sync([a, b])
    fid = library.manifest.get(str(a / "report.txt")).file_id
    before = library.embedder.texts_embedded

    os.rename(a / "report.txt", a / "renamed.txt")
    expected = {str(a / "renamed.txt"): 1, str(a / "other.txt"): 1}
    wait_until(lambda: converged(library, expected), 15)

    os.rename(a / "renamed.txt", b / "moved.txt")  # two observers: a delete here, a create there
    expected = {str(b / "moved.txt"): 1, str(a / "other.txt"): 1}
    wait_until(lambda: converged(library, expected), 15)

    (b / "deep").mkdir()
    os.rename(a / "other.txt", b / "deep" / "other.txt")
    expected = {str(b / "moved.txt"): 1, str(b / "deep" / "other.txt"): 1}
    wait_until(lambda: converged(library, expected), 15)

    assert library.embedder.texts_embedded == before, "a move must not re-embed"
    assert library.manifest.get(str(b / "moved.txt")).file_id == fid
    metas = library.store.col.get(where={"file_id": fid}, include=["metadatas"])["metadatas"]
    assert [m["path"] for m in metas] == [str(b / "moved.txt")]
    assert metas[0]["chunk_index"] == 0  # rename updated the path, kept the rest
    hit = library.retriever().search("harbour log for day 1", k=1)[0]
    assert hit.path == str(b / "moved.txt")
    assert any(isinstance(e, FileEvent) and e.renamed and e.state is FileState.INDEXED for e in events)


def test_atomic_save_and_ignored_files(library, sync, tmp_path):
    a = tmp_path / "a"
    doc = write(a / "doc.txt", note(1))
    svc, _ = sync([a], ignore=["drafts/", "*.log.txt"])
    expected = {str(doc): 1}
    assert converged(library, expected)

    def doc_text() -> str:
        store, fid = library.store, library.manifest.get(str(doc)).file_id
        return " ".join(c.text for c in store.get_chunks(store.ids_for_file(fid)))

    before = library.embedder.texts_embedded
    for tmp_name in ("doc.txt.tmp", ".doc.txt.swp", "doc.txt~"):  # editor-style: temp + rename
        tmp = write(a / tmp_name, f"Saved via {tmp_name}: the pier was rebuilt in stone.\n")
        os.replace(tmp, doc)
        wait_until(lambda name=tmp_name: "rebuilt" in doc_text() and name in doc_text(), 15)
    write(a / "drafts" / "wip.txt", "A draft that must never be indexed.\n")
    write(a / "debug.log.txt", "ignored by the user's pattern\n")
    write(a / ".hidden.txt", "hidden\n")
    write(a / "~$lock.docx", "office lock\n")
    write(a / "after.txt", note(9))  # indexed after the ignored ones settle
    expected[str(a / "after.txt")] = 1
    wait_until(lambda: converged(library, expected), 15)
    assert library.embedder.texts_embedded - before == 4  # three saves + after.txt, nothing else


@pytest.mark.slow
def test_burst_of_2000_small_files(library, sync, tmp_path):
    a = tmp_path / "burst"
    a.mkdir()
    svc, events = sync([a])
    t0 = time.monotonic()
    for i in range(2000):
        write(a / f"d{i // 100:02d}" / f"f{i:04d}.txt", note(i))
    written = time.monotonic() - t0
    expected = {str(a / f"d{i // 100:02d}" / f"f{i:04d}.txt"): 1 for i in range(2000)}
    wait_until(lambda: library.store.count() >= 2000 and converged(library, expected), 600, 1.0)
    total = time.monotonic() - t0
    assert library.store.count() == 2000
    assert svc.wait_idle(30)
    print(f"\nburst: 2000 files written in {written:.1f} s, index converged {total:.1f} s after the first write")


class _LimitedObserver:
    """An inotify observer that has hit the kernel's watch limit."""

    def __init__(self) -> None:
        from watchdog.observers import Observer

        self._real = Observer()

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._real, name)

    def __setattr__(self, name, value):  # type: ignore[no-untyped-def]
        if name == "_real":
            object.__setattr__(self, name, value)
        else:
            setattr(self._real, name, value)

    def schedule(self, *a, **kw):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_watch_limit_falls_back_to_polling(library, sync, tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    svc, events = sync([a], observer_factory=_LimitedObserver)
    folder = [e for e in events if isinstance(e, FolderEvent)]
    assert folder[0].state == "polling" and "limit" in folder[0].reason
    assert svc.folder_states() == {str(a): "polling"}
    write(a / "x.txt", note(3))
    wait_until(lambda: converged(library, {str(a / "x.txt"): 1}), 15)


def test_vanished_folder_is_unavailable_and_keeps_its_chunks(library, sync, tmp_path):
    a = tmp_path / "a"
    write(a / "keep.txt", note(4))
    svc, events = sync([a])
    expected = {str(a / "keep.txt"): 1}
    assert converged(library, expected)
    os.rename(a, tmp_path / "elsewhere")  # like an unmount: the folder is gone
    wait_until(lambda: any(isinstance(e, FolderEvent) and e.state == "unavailable" for e in events), 15)
    assert svc.folder_states()[str(a)] == "unavailable"
    assert svc.wait_idle(15)
    assert converged(library, expected)  # nothing deleted
    os.rename(tmp_path / "elsewhere", a)  # remounted
    wait_until(lambda: svc.folder_states()[str(a)] == "watching", 15)
    write(a / "back.txt", note(5))
    expected[str(a / "back.txt")] = 1
    wait_until(lambda: converged(library, expected), 15)


def test_pause_holds_work_and_resume_finishes_it(library, sync, tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    svc, events = sync([a])
    svc.pause()
    write(a / "later.txt", note(6))
    wait_until(lambda: len(svc.debouncer) == 1, 10)
    held = time.monotonic() + 5 * QUIET
    while time.monotonic() < held:  # well past the quiet period, nothing may be indexed
        assert library.manifest.get(str(a / "later.txt")) is None
        time.sleep(0.05)
    svc.resume()
    wait_until(lambda: converged(library, {str(a / "later.txt"): 1}), 15)
    assert index_state(library) == {str(a / "later.txt"): 1}


def test_watched_folder_inside_the_data_folder_sees_new_and_deleted_files(library, sync):
    """Only Docent's own files in its data folder are ignored, not a watched folder there."""
    docs = library.settings.home / "docs"
    write(docs / "n0.txt", note(0))
    svc, events = sync([docs])
    expected = {str(docs / "n0.txt"): 1}
    assert converged(library, expected)

    write(docs / "n1.txt", note(1))
    expected[str(docs / "n1.txt")] = 1
    wait_until(lambda: converged(library, expected), 15)

    (docs / "n0.txt").unlink()
    del expected[str(docs / "n0.txt")]
    wait_until(lambda: converged(library, expected), 15)
    assert any(isinstance(e, FileEvent) and e.state == "removed" and e.path == str(docs / "n0.txt")
               for e in events)


def test_hints_for_docents_own_files_are_dropped(library, tmp_path):
    """The index, models, logs and the files directly in the data folder are Docent's writes
    (seen when a watched folder contains the data folder); a user's folder there is not."""
    s = library.settings
    svc = SyncService(library, [tmp_path], watch=False, quiet_s=600)  # never started: hints stay
    for own in (s.manifest_path, s.chroma_dir / "chroma.sqlite3", s.models_dir / "m.gguf",
                s.log_dir / "docent.log", s.chats_path, s.home / "chats.sqlite3-wal", s.settings_file):
        svc.hint(str(own))
    assert len(svc.debouncer) == 0
    svc.hint(str(s.home / "docs" / "a.txt"))
    svc.hint(str(tmp_path / "b.txt"))
    assert len(svc.debouncer) == 2
