"""FTS5 keyword index: query sanitising, BM25, and staying in step with Chroma."""
from __future__ import annotations

import sqlite3

import pytest

from ingest.keyword import KeywordIndex
from ingest.keyword_rank import any_of, query_terms
from ingest.manifest import MIGRATIONS, FileStatus, Manifest
from ingest.passage import Passage
from tests.docs_factory import make_mixed_folder


def _chunks(fid: str, path: str, texts: list[str]) -> list[Passage]:
    return [Passage(f"{fid}:{i:05d}", path, None, None, t) for i, t in enumerate(texts)]


@pytest.fixture
def kw(tmp_path):
    m = Manifest(tmp_path / "manifest.sqlite3")
    yield KeywordIndex(m.db)
    m.close()


def match_expression(query: str) -> str:
    return any_of(query_terms(query))


def test_match_expression_is_safe_and_keeps_codes_as_phrases():
    assert match_expression('the ZX-9000-B "pump" AND NEAR(x*') == '"zx-9000-b" OR "pump" OR "near"'
    # Only stopwords: keep them rather than match nothing.
    assert match_expression("what is it") == '"what" OR "is" OR "it"'
    assert match_expression("Apple's sales") == '"apple" OR "sales"'
    assert match_expression("  ") == ""


def test_hostile_queries_never_raise(kw):
    kw.replace_file("f1", _chunks("f1", "/d/a.txt", ["plain text about pumps"]))
    for q in ['"', "AND", "OR OR", "NEAR(", "col:pump", "*", "^pump", "pump)", "'; DROP TABLE chunks;--"]:
        kw.search(q, 5)  # must not raise an FTS5 syntax error
    # Stray syntax is stripped, the word still matches (porter: pump ~ pumps).
    assert [h.chunk_id for h in kw.search("pump)", 5)] == ["f1:00000"]


def test_bm25_ranks_stems_and_rare_terms(kw):
    kw.replace_file("f1", _chunks("f1", "/d/a.txt", [
        "Running the pump daily keeps the seals wet.",
        "The pump manual lists the flange torque.",
        "Nothing relevant here at all."]))
    kw.replace_file("f2", _chunks("f2", "/d/b.txt", ["Part QX-7731-B replaces the flange gasket."]))
    kw.replace_file("f3", _chunks("f3", "/d/c.txt", ["Crème brûlée at the Café Noël."]))
    hits = kw.search("runs", 5)  # porter stemming: runs ~ running
    assert [h.chunk_id for h in hits] == ["f1:00000"]
    hits = kw.search("flange qx-7731-b", 5)
    assert hits[0].chunk_id == "f2:00000"  # the exact code outranks a shared common word
    assert hits[0].score > hits[1].score > 0
    assert [h.chunk_id for h in kw.search("creme brulee", 5)] == ["f3:00000"]  # diacritics folded
    assert kw.search("", 5) == []


def test_replace_delete_rename_scope(kw):
    kw.replace_file("f1", _chunks("f1", "/d/x/a.txt", ["alpha one", "alpha two", "alpha three"]))
    kw.replace_file("f2", _chunks("f2", "/d/y/b.txt", ["alpha four"]))
    assert kw.file_ids() == {"f1": 3, "f2": 1}
    kw.replace_file("f1", _chunks("f1", "/d/x/a.txt", ["beta one"]))  # shrank: stale rows gone
    assert kw.file_ids() == {"f1": 1, "f2": 1}
    assert [h.chunk_id for h in kw.search("alpha", 5)] == ["f2:00000"]
    assert kw.scope(folders=["/d/x"]).counts == {"f1": 1}
    assert kw.scope(folders=["/d/x/"], paths=["/d/y/b.txt"]).counts == {"f1": 1, "f2": 1}
    assert kw.scope(folders=["/d/x/a"]).counts == {}  # a prefix of a name is not a folder
    assert [h.chunk_id for h in kw.search("alpha beta", 5, kw.scope(file_ids={"f1"}))] == ["f1:00000"]
    assert kw.search("alpha beta", 5, kw.scope(file_ids=set())) == []
    kw.rename_file("f2", "/d/z/b.txt")
    assert kw.chunks(["f2:00000"])["f2:00000"].path == "/d/z/b.txt"
    assert kw.delete_file("f2") == 1 and kw.search("alpha", 5) == []
    assert sorted(kw.all_ids()) == ["f1:00000"]


def test_failed_replace_leaves_previous_rows(kw):
    kw.replace_file("f1", _chunks("f1", "/d/a.txt", ["original words"]))
    dup = _chunks("f1", "/d/a.txt", ["new words"]) * 2  # duplicate chunk ids: UNIQUE fails mid-write
    with pytest.raises(sqlite3.IntegrityError):
        kw.replace_file("f1", dup)
    assert [h.chunk_id for h in kw.search("original", 5)] == ["f1:00000"]
    assert kw.search("new", 5) == []


def test_v1_manifest_migrates_to_keyword_schema(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO meta VALUES ('k', 'v')")
    db.commit()
    db.close()
    m = Manifest(path)
    assert m.schema_version == len(MIGRATIONS) >= 2
    assert m.get_meta("k") == "v"
    assert KeywordIndex(m.db).count() == 0
    m.close()


# --- in step with Chroma through the real pipeline -------------------------------------
def _assert_agree(lib) -> set[str]:
    vec, key = set(lib.store.all_ids()), set(lib.keyword.all_ids())
    assert vec == key, f"only in Chroma: {vec - key}; only in FTS: {key - vec}"
    indexed = {r.file_id: r.chunk_count for r in lib.manifest.all() if r.status == FileStatus.INDEXED}
    assert lib.keyword.file_ids() == indexed
    return vec


def test_indexes_agree_after_add_edit_delete_rename_and_crash(library, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    files = make_mixed_folder(docs)
    assert library.indexer.index_paths([docs]).failures == []
    before = _assert_agree(library)
    assert len(before) >= 5

    # Edit: new text replaces the old in both indexes.
    files["txt"].write_text("The Skerry lighthouse was automated in 1987.\n", encoding="utf-8")
    library.indexer.index_paths([docs])
    _assert_agree(library)
    assert not library.keyword.search("fog horns", 5)
    assert library.keyword.search("automated", 5)

    # Delete.
    md_id = library.manifest.get(str(files["md"])).file_id
    files["md"].unlink()
    library.indexer.index_paths([docs])
    ids = _assert_agree(library)
    assert not any(c.startswith(md_id) for c in ids)
    assert not library.keyword.search("San Marzano", 5)

    # Rename (a move on disk): the old path's rows go, the new path's arrive.
    moved = docs / "renamed-bakery.html"
    files["html"].rename(moved)
    library.indexer.index_paths([docs])
    _assert_agree(library)
    hit = library.keyword.search("Crumb bakery", 1)[0]
    assert library.keyword.chunks([hit.chunk_id])[hit.chunk_id].path == str(moved)
    # ...and the SecondaryIndex rename hook updates both stores in place.
    rec = library.manifest.get(str(moved))
    library.store.rename_file(rec.file_id, "/elsewhere/bakery.html")
    library.keyword.rename_file(rec.file_id, "/elsewhere/bakery.html")
    assert {c.path for c in library.keyword.chunks(library.keyword.ids_for_files([rec.file_id])).values()} \
        == {"/elsewhere/bakery.html"}

    # Crash between the Chroma write and the keyword write.
    files["docx"].unlink()
    from tests.docs_factory import make_docx
    make_docx(files["docx"], "Lease terms", ["The deposit is now 3,100 euros, paid by transfer."])

    def crash(*a, **k):
        raise RuntimeError("simulated crash between the two writes")

    monkeypatch.setattr(type(library.keyword), "replace_file", crash)
    with pytest.raises(RuntimeError):
        library.indexer.index_paths([docs])
    rec = library.manifest.get(str(files["docx"]))
    assert rec.status == FileStatus.INDEXING  # the manifest knows the write was half done
    assert not library.keyword.search("transfer", 5)  # Chroma has the new text, FTS the old
    monkeypatch.undo()
    report = library.indexer.index_paths([docs])  # repair() runs first, then a clean re-index
    assert report.failures == []
    _assert_agree(library)
    assert library.keyword.search("transfer", 5)


def test_reads_the_engine_asks_for_answer_from_the_tables(tmp_path):
    """The engine's questions of the library's tables (whole_doc, doc_rank, grounding,
    Library) are answered here, typed, so no module under app/ runs SQL on them."""
    from ingest.docmeta import StoredMeta
    from ingest.manifest import FileRecord

    m = Manifest(tmp_path / "manifest.sqlite3")
    kw = KeywordIndex.of(m)
    assert kw.db is m.db
    assert not m.has_indexed_chunks()
    # stored out of order: file_chunks reads them back in the file's order
    kw.add(list(reversed(_chunks("f1", "/d/quay.txt", ["Quay Holdings Ltd annual report 2021",
                                                        "the pump and the gasket", "pump seals"]))))
    kw.add(_chunks("f2", "/d/b.txt", ["a pump manual"]))
    m.put(FileRecord("f1", "/d/quay.txt", 1, 1, "x", FileStatus.INDEXED, chunk_count=3))
    m.put(FileRecord("f2", "/d/b.txt", 1, 1, "y", FileStatus.QUEUED))
    assert m.has_indexed_chunks()
    assert kw.path_of("f1") == "/d/quay.txt" and kw.path_of("nope") is None
    chunks = kw.file_chunks("f1")
    assert [c.chunk_index for c in chunks] == [0, 1, 2]
    assert chunks[0] == Passage("f1:00000", "/d/quay.txt", None, None, "Quay Holdings Ltd annual report 2021")
    assert kw.file_chunks("nope") == []
    assert kw.holders("pump") == {"f1": 2, "f2": 1}
    assert kw.holders('gasket "and') == {}  # a phrase, quotes escaped: never an FTS5 error
    before = kw.documents_version()
    (doc,) = kw.documents()  # indexed files only
    assert isinstance(doc, StoredMeta) and doc.path == "/d/quay.txt" and doc.meta.period_end is None
    m.put(FileRecord("f2", "/d/b.txt", 1, 1, "y", FileStatus.INDEXED, chunk_count=1))
    assert kw.documents_version() != before
    assert [d.file_id for d in kw.documents()] == ["f2", "f1"]  # by path
    m.close()
