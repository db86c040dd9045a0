"""Bounded shutdown during a big index (the 20 sec-10-q filings): close() within 3 s, the
next start resumes the dropped folder, nothing lost or duplicated."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from app.core.events import FileEvent, FileState
from ingest.manifest import FileStatus
from tests.core.test_core_writer import _check_store_matches
from tests.ingest.sync_helpers import process_running, wait_until

pytestmark = pytest.mark.slow  # indexes 20 filings (~1,000 pages) on 2 cores


def test_close_during_indexing_is_bounded_and_the_next_start_resumes(make_core, tmp_path, sec_docs):
    docs = tmp_path / "filings"
    shutil.copytree(sec_docs, docs)
    pdfs = sorted(docs.glob("*.pdf"))
    assert len(pdfs) == 20
    core, rec = make_core([])
    job = core.add_paths([docs])  # dropped: journalled, not watched
    wait_until(lambda: sum(isinstance(e, FileEvent) and e.state == FileState.INDEXED
                           for e in rec.events) >= 2, 900, 0.05)
    store_pid = core.library.store_pid  # the core's Chroma runs in a child process
    assert store_pid is not None and store_pid != os.getpid()
    t0 = time.monotonic()
    core.close(3.0)
    seconds = time.monotonic() - t0
    print(f"\nclose() during indexing returned in {seconds:.2f} s")
    assert seconds < 3.0  # the bound for closing mid-index
    assert not process_running(store_pid), "the store process outlived the core's close()"
    first = {e.path for e in rec.of(FileEvent) if e.state == FileState.INDEXED}
    assert 2 <= len(first) < 20
    assert not job.finished or job.state.value != "done"

    core2, rec2 = make_core()  # the lock was released; the journal brings the drop back
    assert core2.wait_idle(1800)
    rows = {r.path: r for r in core2.library.manifest.all()}
    assert {str(p) for p in pdfs} == set(rows)
    assert all(r.status == FileStatus.INDEXED and r.chunk_count > 0 for r in rows.values())
    second = {e.path for e in rec2.of(FileEvent) if e.state == FileState.INDEXED}
    assert not first & second, "a file indexed before close was embedded again"
    assert first | second == {str(p) for p in pdfs}
    _check_store_matches(core2)  # 0 duplicate ids, 0 orphan chunks, counts agree
    assert core2.library.store.count() == sum(r.chunk_count for r in rows.values())

