"""A library past Chroma's one-call limit (~32k rows per get()): start-up
reconciliation, the consistency check and `docent serve --once` all complete.

Real Chroma and SQLite on a temp dir; the 41,000 chunks are synthetic (see
synthetic_library.py), the few files serve indexes are real and go through MiniLM.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from app.engine.library import Library
from app.settings import Settings
from ingest.manifest import FileStatus
from ingest.passage import Passage
from ingest.pipeline import file_id_for
from ingest.store import chunk_id
from ingest.sync.reconcile import CLEAN_SHUTDOWN_KEY, check_consistency
from ingest.sync.service import SyncService
from tests.conftest import REPO
from tests.ingest.sync_helpers import note, write
from tests.ingest.synthetic_library import build_library

pytestmark = pytest.mark.slow  # 100-220 s here: 41k chunks written to Chroma, then a `docent serve` process

FILES, PER_FILE = 820, 50  # 41,000 chunks


def _orphan_chunks(lib, n: int) -> str:  # type: ignore[no-untyped-def]
    """Chunks no manifest row vouches for (what a kill between the two writes leaves)."""
    fid = file_id_for("/gone/elsewhere.txt")
    vecs = np.eye(n, lib.embedder.info().dimension, dtype=np.float32)
    lib.store.upsert([Passage(chunk_id(fid, j), "/gone/elsewhere.txt", None, None, f"orphan {j}")
                      for j in range(n)], vecs, "")
    return fid


def test_library_above_40k_chunks_reconciles_checks_and_serves(tmp_path, embedder):
    home, docs = tmp_path / "home", tmp_path / "docs"
    settings = Settings.load(home)
    with Library(settings, embedder=embedder) as lib:
        syn = build_library(lib, docs, FILES, PER_FILE)
        total = syn.chunks
        assert total > 40_000
        orphan = _orphan_chunks(lib, 3)
        short = syn.files[7]  # a row whose last chunk write was lost
        short_fid = file_id_for(str(short))
        lib.store.delete_ids([chunk_id(short_fid, PER_FILE - 1)])

        # The store's whole-library reads, paged.
        per_file = lib.store.file_ids()
        assert len(per_file) == FILES + 1
        assert per_file[orphan] == 3 and per_file[short_fid] == PER_FILE - 1
        assert sum(per_file.values()) == lib.store.count() == total + 2
        ids = lib.store.all_ids()
        assert len(ids) == len(set(ids)) == total + 2
        assert len(lib.store.ids_for_file(short_fid)) == PER_FILE - 1

        # Start-up after an unclean shutdown (nothing marked clean): the full check.
        svc = SyncService(lib, [docs], watch=False, quiet_s=0.1)
        svc.start()
        assert svc.wait_idle(600) and svc.error is None, svc.error
        svc.stop()
        assert svc.error is None, svc.error
        c, drift = svc.startup.consistency, svc.startup.drift
        assert c.full_check and (c.orphan_files, c.orphan_chunks, c.requeued) == (1, 3, 1)
        assert drift.changed == [short] and drift.gone == [] and drift.unchanged == FILES - 1
        rec = lib.manifest.get(str(short))
        assert rec.status == FileStatus.INDEXED and rec.chunk_count == 1  # re-indexed from the real file
        expected = total - PER_FILE + 1
        assert lib.store.count() == lib.keyword.count() == expected
        assert lib.store.file_ids() == lib.keyword.file_ids()
        assert orphan not in lib.store.file_ids()

        # The keyword index backfilled from Chroma (pre-FTS libraries), page by page.
        assert lib.keyword.rebuild_from(lib.store) == expected
        assert lib.keyword.file_ids() == lib.store.file_ids()

        # Nothing left to repair the second time.
        again = check_consistency(lib.indexer, full=True)
        assert (again.repaired, again.orphan_files, again.requeued) == (0, 0, 0)
        lib.manifest.set_meta(CLEAN_SHUTDOWN_KEY, "0")  # as `docent index` leaves it: serve checks fully

    new = [write(docs / "new" / f"note{i}.txt", note(i, "lighthouse")) for i in range(3)]
    settings.watched_folders = [str(docs)]
    settings.save()
    r = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--once"], cwd=REPO,
                       env={**os.environ, "DOCENT_HOME": str(home)}, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "In sync (0 error(s))" in r.stdout

    with Library(Settings.load(home), embedder=embedder) as lib:
        rows = lib.manifest.all()
        assert len(rows) == FILES + len(new)
        assert all(row.status == FileStatus.INDEXED for row in rows)
        assert all(lib.manifest.get(str(p)).chunk_count == 1 for p in new)
        assert lib.store.count() == lib.keyword.count() == expected + len(new)
        assert lib.manifest.get_meta(CLEAN_SHUTDOWN_KEY) == "1"
