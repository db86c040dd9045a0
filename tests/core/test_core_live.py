"""Changes that take effect while the core runs: a re-embed through the writer (chunk size),
and what status says about this process (the pypdf fast paths)."""
from __future__ import annotations

import sqlite3

from app.core.events import FileEvent, FileState, IndexProgress, SettingsChanged
from app.engine.search_service import SearchRequest
from tests.docs_factory import make_mixed_folder
from tests.ingest.sync_helpers import wait_until


def _long_text(path) -> None:  # type: ignore[no-untyped-def]
    path.write_text("\n\n".join(
        f"Ledger entry {i}: the harbour office recorded {i * 7} crates of {w} unloaded from "
        f"the vessel Marisol {i} at quay {i % 5}, inspected by clerk number {i * 3}."
        for i, w in enumerate(["salt", "wool", "copper", "tea", "rice", "cork", "tin"] * 6)),
        encoding="utf-8")


def _rows(manifest_path) -> dict[str, tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    db = sqlite3.connect(str(manifest_path))
    try:
        return {p: (n, v, st) for p, n, v, st in
                db.execute("SELECT path, chunk_count, index_version, status FROM files")}
    finally:
        db.close()


def test_a_chunk_size_change_re_embeds_every_file_live(make_core, tmp_path, embedder):
    from app.engine.library import Library
    from app.settings import Settings

    docs = tmp_path / "docs"
    make_mixed_folder(docs)
    _long_text(docs / "ledger.txt")
    core, rec = make_core([docs])
    assert core.wait_idle(300)
    old_version = core.library.store.name
    before = _rows(core.settings.manifest_path)
    assert len(before) == 6 and all(v == old_version for _, v, _ in before.values())

    change = core.update_settings(chunk_tokens=64, chunk_overlap=16)
    assert change.reembed and set(change.changed) == {"chunk_tokens", "chunk_overlap"}
    assert any(isinstance(e, SettingsChanged) and e.reembed for e in rec.events)
    wait_until(lambda: core.library.store.name != old_version, 300)  # switched once all are done
    assert core.wait_idle(300)

    new_version = core.library.store.name
    assert new_version.endswith("-64-16")
    after = _rows(core.settings.manifest_path)
    assert set(after) == set(before)
    assert all(v == new_version and st == "indexed" for _, v, st in after.values()), after
    ledger = str(docs / "ledger.txt")
    assert after[ledger][0] > 2 * before[ledger][0]  # a quarter of the size: many more chunks
    assert core.library.store.count() == sum(n for n, _, _ in after.values())

    # the same files indexed from scratch with the new recipe give the same chunk counts
    ref = Library(Settings(home=tmp_path / "ref", chunk_tokens=64, chunk_overlap=16), embedder=embedder)
    try:
        ref.indexer.index_paths([docs])
        assert {r.path: r.chunk_count for r in ref.manifest.all()} == \
            {p: n for p, (n, _, _) in after.items()}
    finally:
        ref.close()

    reembedded = {e.path for e in rec.events[len(before):] if isinstance(e, FileEvent)
                  and e.state == FileState.INDEXED}
    assert reembedded >= set(after)  # each file reported as it was re-indexed
    assert any(isinstance(e, IndexProgress) for e in rec.events)

    reply = core.search(SearchRequest("How often is the Zephyr filter cartridge replaced?", k=3))
    assert reply.results and reply.results[0].file.endswith("manual.pdf")
    reply = core.search(SearchRequest("crates of copper unloaded from the vessel Marisol", k=3))
    assert reply.results and reply.results[0].file == ledger


def test_status_says_which_pdf_fast_paths_run(make_core, tmp_path):
    from ingest.loaders import pdf_speedups

    core, _ = make_core([])
    st = core.status()
    assert st.pdf_fast_paths is not None
    assert st.pdf_fast_paths == pdf_speedups.install()
    assert st.pdf_fast_paths.pypdf
