"""The shared-server path: Library with `chroma_url` talks to a real `chroma run`.
(The retrieval behaviour tests in test_hybrid.py run against both backends.)"""
from __future__ import annotations

from app.settings import Settings
from tests.app.chroma_server import chroma_server
from tests.docs_factory import make_mixed_folder


def test_library_indexes_into_the_server_and_keeps_both_indexes_in_step(tmp_path, embedder):
    from app.engine.library import Library

    docs = tmp_path / "docs"
    files = make_mixed_folder(docs)
    with chroma_server(tmp_path / "server-data") as url:
        lib = Library(Settings(home=tmp_path / "home", chroma_url=url), embedder=embedder)
        try:
            assert lib.indexer.index_paths([docs]).failures == []
            assert type(lib.store.client).__name__ != "PersistentClient"
            # Nothing went to the local embedded store: vectors live on the server.
            assert not (lib.settings.chroma_dir / "chroma.sqlite3").exists()
            assert set(lib.store.all_ids()) == set(lib.keyword.all_ids()) != set()
            hits = lib.retriever().search("Zephyr filter cartridge", 3)
            assert hits[0].name == "manual.pdf"
            assert lib.indexer.forget([files["pdf"]]) == 1
            assert set(lib.store.all_ids()) == set(lib.keyword.all_ids())
            assert all(h.name != "manual.pdf" for h in lib.retriever().search("Zephyr filter", 5))
            lib.store.client.delete_collection(lib.store.name)
        finally:
            lib.close()


def test_chunks_only_on_the_server_are_still_returned(tmp_path, embedder):
    """A teammate's chunks exist on the shared server but not in this machine's FTS
    table: dense hits for them are hydrated from Chroma instead of being dropped."""
    from app.engine.library import Library

    docs = tmp_path / "docs"
    make_mixed_folder(docs)
    with chroma_server(tmp_path / "server-data") as url:
        lib = Library(Settings(home=tmp_path / "home", chroma_url=url), embedder=embedder)
        try:
            lib.indexer.index_paths([docs])
            lib.keyword.clear()  # as if another machine had indexed these files
            hits = lib.retriever("hybrid").search("How far apart go the tomato plants?", 2)
            assert hits and hits[0].name == "garden.md" and "60 cm" in hits[0].text
            lib.store.client.delete_collection(lib.store.name)
        finally:
            lib.close()
