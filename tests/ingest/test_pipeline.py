"""Incremental indexing with the real embedder, real Chroma and real files."""
from __future__ import annotations

import os

from ingest.manifest import FileStatus
from tests.docs_factory import make_mixed_folder


def _chunks_by_path(lib) -> dict[str, int]:
    return {r.path: r.chunk_count for r in lib.manifest.all() if r.status == FileStatus.INDEXED}


def _assert_consistent(lib) -> None:
    ids = lib.store.all_ids()
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    per_file = lib.store.file_ids()
    manifest = {r.file_id: r.chunk_count for r in lib.manifest.all() if r.status == FileStatus.INDEXED}
    assert per_file == manifest


def test_index_all_formats_then_incremental(library, tmp_path):
    files = make_mixed_folder(tmp_path / "docs")
    emb = library.embedder

    report = library.indexer.index_paths([tmp_path / "docs"])
    assert report.failures == []
    assert report.indexed == 5
    counts = _chunks_by_path(library)
    assert set(counts) == {str(p) for p in files.values()}
    assert all(n >= 1 for n in counts.values())
    assert library.store.count() == sum(counts.values())
    _assert_consistent(library)

    # Same folder again: nothing embedded.
    before = emb.texts_embedded
    report = library.indexer.index_paths([tmp_path / "docs"])
    assert (report.indexed, report.unchanged, emb.texts_embedded - before) == (0, 5, 0)

    # Touched, not changed: still nothing embedded.
    st = files["md"].stat()
    os.utime(files["md"], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    before = emb.texts_embedded
    report = library.indexer.index_paths([tmp_path / "docs"])
    assert (report.indexed, emb.texts_embedded - before) == (0, 0)

    # Edited: only that file's chunks are embedded.
    files["txt"].write_text("The lighthouse keeper retired in 1987 after 40 years.\n", encoding="utf-8")
    before = emb.texts_embedded
    report = library.indexer.index_paths([tmp_path / "docs"])
    new_counts = _chunks_by_path(library)
    assert report.indexed == 1
    assert emb.texts_embedded - before == new_counts[str(files["txt"])]
    assert {k: v for k, v in new_counts.items() if k != str(files["txt"])} == \
        {k: v for k, v in counts.items() if k != str(files["txt"])}
    _assert_consistent(library)

    # Deleted: its chunks leave the index.
    fid = library.manifest.get(str(files["docx"])).file_id
    files["docx"].unlink()
    report = library.indexer.index_paths([tmp_path / "docs"])
    assert report.removed == 1
    assert library.store.ids_for_file(fid) == []
    assert library.manifest.get(str(files["docx"])) is None
    _assert_consistent(library)


def test_pdf_chunks_keep_page_numbers(library, tmp_path):
    files = make_mixed_folder(tmp_path / "docs")
    library.indexer.index_paths([files["pdf"]])
    hits = library.retriever().search("how often to replace the filter cartridge", k=1)
    assert hits and hits[0].path == str(files["pdf"])
    assert hits[0].page_start == 2 and hits[0].page_end == 2
    assert "90 days" in hits[0].text


def test_html_scripts_are_not_indexed(library, tmp_path):
    files = make_mixed_folder(tmp_path / "docs")
    library.indexer.index_paths([files["html"]])
    texts = [c.text for c in library.store.all_chunks()]
    assert any("6:30" in t for t in texts)
    assert not any("SCRIPTJUNK" in t for t in texts)


def test_forget_removes_chunks(library, tmp_path):
    files = make_mixed_folder(tmp_path / "docs")
    library.indexer.index_paths([tmp_path / "docs"])
    assert library.indexer.forget([files["md"]]) == 1
    assert all(r.path != str(files["md"]) for r in library.manifest.all())
    assert library.indexer.forget([tmp_path / "docs"]) == 4
    assert library.store.count() == 0


def test_crash_mid_file_is_repaired(library, tmp_path):
    """A row left INDEXING (process killed between writes) is cleaned and re-indexed."""
    files = make_mixed_folder(tmp_path / "docs")
    library.indexer.index_paths([tmp_path / "docs"])
    rec = library.manifest.get(str(files["md"]))
    rec.status = FileStatus.INDEXING
    library.manifest.put(rec)
    report = library.indexer.index_paths([tmp_path / "docs"])
    assert report.indexed == 1
    assert library.manifest.get(str(files["md"])).status == FileStatus.INDEXED
    _assert_consistent(library)


def test_chunk_text_lives_in_metadata_and_old_collections_still_read(library, tmp_path):
    """Chunk text is stored in metadata, not as Chroma documents (whose trigram index Docent
    never queries); a collection written the old way, with documents, reads the same."""
    import numpy as np

    from ingest.passage import Passage

    files = make_mixed_folder(tmp_path / "docs")
    library.indexer.index_paths([files["md"]])
    got = library.store.col.get(include=["documents", "metadatas"])
    assert got["ids"] and all(d is None for d in got["documents"])
    assert all(m["text"] for m in got["metadatas"])

    old = Passage("legacy:00000", "/old/file.txt", None, None, "text kept as a document")
    vec = np.ones((1, library.embedder.info().dimension), dtype=np.float32)
    library.store.col.upsert(ids=[old.chunk_id], embeddings=vec / np.linalg.norm(vec), documents=[old.text],
                             metadatas=[{"file_id": old.file_id, "path": old.path, "chunk_index": 0}])
    assert library.store.get_chunks([old.chunk_id]) == [old]
    assert old in library.store.all_chunks()


def test_the_encoder_gets_each_chunks_true_token_count(library, tmp_path, monkeypatch):
    """The counts order the encoder's batches; they must be the tokenizer's own."""
    files = make_mixed_folder(tmp_path / "docs")
    emb = library.embedder
    seen: list[tuple[list[str], list[int]]] = []
    real_submit = emb.submit

    def submit(texts, tokens=None):
        seen.append((list(texts), list(tokens) if tokens is not None else []))
        return real_submit(texts, tokens)

    monkeypatch.setattr(emb, "submit", submit)
    assert library.indexer.index_paths([files["pdf"], files["md"]]).indexed == 2
    assert len(seen) == 2
    for texts, tokens in seen:
        assert tokens == [len(ids) for ids in emb.tokenizer(texts, add_special_tokens=False)["input_ids"]]


def test_one_retry_rule_for_unchanged_failed_files(library, tmp_path):
    """The indexer and the sync's scan agree, for every failure kind, on whether an unchanged
    file that failed is tried again: only when the cause lay outside its bytes."""
    from ingest.errors import FileErrorKind
    from ingest.ignore import IgnoreRules
    from ingest.sync.reconcile import scan

    docs = tmp_path / "docs"
    docs.mkdir()
    path = docs / "note.txt"
    path.write_text("The harbour log records calm water and twelve boats.\n", encoding="utf-8")
    assert library.indexer.index_paths([docs]).indexed == 1
    retried = {}
    for kind in FileErrorKind:
        rec = library.manifest.get(str(path))
        rec.status, rec.error_kind, rec.error = FileStatus.ERROR, kind.value, f"earlier: {kind.value}"
        library.manifest.put(rec)  # as a failed run leaves it, the file unchanged since
        in_scan = path in scan(library.manifest, [docs], IgnoreRules([]), library.indexer.version).changed
        report = library.indexer.index_paths([docs])
        again = report.indexed == 1
        assert in_scan == again, kind
        assert again or [(f.kind, f.message) for f in report.failures] == [(kind, f"earlier: {kind.value}")]
        assert library.manifest.get(str(path)).status == (FileStatus.INDEXED if again else FileStatus.ERROR)
        if not again:
            rec = library.manifest.get(str(path))
            rec.status, rec.error_kind, rec.error = FileStatus.INDEXED, None, None
            library.manifest.put(rec)
        retried[kind] = again
    assert {k for k, again in retried.items() if again} == {
        FileErrorKind.UNREADABLE, FileErrorKind.VANISHED, FileErrorKind.INTERNAL}
    assert all(again == k.retried_when_unchanged for k, again in retried.items())
