"""The store's paged reads, id batches and the hybrid scope's batched $in filter.

Real Chroma on a temp dir, with the page sizes shrunk so a few hundred chunks
span many pages: each call must give what one unbounded call used to give.
"""
from __future__ import annotations

import numpy as np
import pytest

import app.engine.hybrid as hybrid
import ingest.store as store_mod
from app.engine.hybrid import FusionConfig, HybridRetriever
from ingest.keyword import KeywordIndex
from ingest.manifest import Manifest
from ingest.passage import Passage
from ingest.store import ChromaStore, chunk_id, file_of

FILES, PER_FILE, DIM = 30, 13, 16


@pytest.fixture
def filled(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "PAGE", 7)
    monkeypatch.setattr(store_mod, "ID_PAGE", 11)
    monkeypatch.setattr(store_mod, "WRITE_ROWS", 5)
    store = ChromaStore(tmp_path / "chroma", "paging-test")
    manifest = Manifest(tmp_path / "manifest.sqlite3")
    kw = KeywordIndex(manifest.db)
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((FILES * PER_FILE, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    chunks = [Passage(chunk_id(f"f{i:03d}", j), f"/lib/d{i % 3}/f{i:03d}.txt", None, None, f"file {i} chunk {j}")
              for i in range(FILES) for j in range(PER_FILE)]
    store.upsert(chunks, vecs, "")
    kw.add(chunks)
    yield store, kw, vecs, chunks
    manifest.close()


def test_whole_library_reads_are_complete_across_pages(filled):
    store, _, _, chunks = filled
    ids = store.all_ids()
    assert sorted(ids) == sorted(c.chunk_id for c in chunks)
    assert store.file_ids() == {f"f{i:03d}": PER_FILE for i in range(FILES)}
    assert sorted(store.ids_for_file("f004")) == [chunk_id("f004", j) for j in range(PER_FILE)]
    assert sorted(c.chunk_id for c in store.all_chunks()) == sorted(ids)
    got = store.get_chunks(ids[:50])
    assert sorted(c.chunk_id for c in got) == sorted(ids[:50])
    assert file_of(chunk_id("abc", 3)) == "abc"


def test_writes_by_id_batches(filled):
    store, _, _, _ = filled
    store.rename_file("f005", "/moved/f005.txt")
    assert {c.path for c in store.get_chunks(store.ids_for_file("f005"))} == {"/moved/f005.txt"}
    assert store.delete_file("f006") == PER_FILE
    assert "f006" not in store.file_ids()
    assert store.count() == (FILES - 1) * PER_FILE


def test_no_write_covers_more_than_write_rows(tmp_path):
    """Chroma's writes hold the GIL throughout (the window's event loop with it): every
    upsert, update and delete goes in calls of at most WRITE_ROWS rows (real Chroma)."""
    store = ChromaStore(tmp_path / "chroma", "write-rows")
    sizes: dict[str, list[int]] = {"upsert": [], "update": [], "delete": []}
    for name, seen in sizes.items():
        real = getattr(store.col, name)

        def spy(*a, _real=real, _seen=seen, **kw):  # type: ignore[no-untyped-def]
            _seen.append(len(kw["ids"]))
            return _real(*a, **kw)

        setattr(store.col, name, spy)
    n = 3 * store_mod.WRITE_ROWS + 7
    vecs = np.random.default_rng(1).standard_normal((n, DIM)).astype(np.float32)
    chunks = [Passage(chunk_id("big", j), "/lib/big.txt", None, None, f"chunk {j}")
              for j in range(n)]
    store.upsert(chunks, vecs, "")
    store.rename_file("big", "/lib/moved.txt")
    assert store.delete_file("big") == n
    for name, seen in sizes.items():
        assert sum(seen) == n and max(seen) <= store_mod.WRITE_ROWS, (name, seen)
    assert store.count() == 0


def test_batched_id_queries_give_the_exact_top_k(filled):
    store, _, vecs, chunks = filled
    ids = [c.chunk_id for c in chunks[:100]]
    q = vecs[42]
    exact = sorted(((cid, float(vecs[i] @ q)) for i, cid in enumerate(ids)), key=lambda h: -h[1])[:5]
    assert [cid for cid, _ in store.score_ids(q, ids, 5)] == [cid for cid, _ in exact]
    assert [cid for cid, _ in store.query_ids(q, 5, ids=ids)] == [cid for cid, _ in exact]


class _Vec:
    def __init__(self, v: np.ndarray) -> None:
        self.v = v

    def encode_query(self, text: str) -> np.ndarray:
        return self.v


def test_scope_filter_over_many_files_is_batched_and_merged(filled, monkeypatch):
    store, kw, vecs, _ = filled
    # Force the metadata-filter path ($in over the scope's files) and split it 4 files a query.
    cfg = FusionConfig(numpy_scope_chunks=0, exact_scope_chunks=0, overfetch_cap=1)
    retriever = HybridRetriever(_Vec(vecs[0]), store, kw, "dense", cfg)
    where = {"folder": "/lib/d1"}
    filters: list[int] = []
    query_ids = store.query_ids

    def spy(vec, k, where=None, ids=None):  # type: ignore[no-untyped-def]
        if where is not None:
            filters.append(len(where["file_id"]["$in"]))
        return query_ids(vec, k, where=where, ids=ids)

    monkeypatch.setattr(store, "query_ids", spy)
    monkeypatch.setattr(hybrid, "PAGE", 4)
    batched = retriever.candidates("q", 8, where).dense
    assert filters == [4, 4, 2]  # the scope's 10 files, 4 per query
    monkeypatch.setattr(hybrid, "PAGE", 10_000)
    whole = retriever.candidates("q", 8, where).dense
    assert len(batched) == 8 and [c for c, _ in batched] == [c for c, _ in whole]
    assert all(int(file_of(c)[1:]) % 3 == 1 for c, _ in batched)
