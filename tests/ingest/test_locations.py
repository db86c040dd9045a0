"""Passage locations: every chunk knows, per page, which characters of the page it is.

Coordinates are the page texts of `ingest.document.page_texts` (a page's loader blocks
joined by PAGE_SEPARATOR). Unpaged formats (text, Markdown, HTML, DOCX) are one page,
numbered UNPAGED (1) in a PageSpan, while Chunk.page_start stays None for them.
"""
from __future__ import annotations

import functools
import random
import re
from pathlib import Path

import pytest

from app.cli.output import citation_json
from app.engine.prompt import NumberedSource, format_sources
from ingest.chunker import Chunker, document_label
from ingest.document import UNPAGED, Block, PageSpan, page_texts
from ingest.loaders import load_document
from tests.conftest import copy_sec
from tests.docs_factory import make_docx

FILINGS = ["2023 Q1 AAPL.pdf", "2022 Q3 AMZN.pdf", "2023 Q2 INTC.pdf", "2023 Q3 MSFT.pdf",
           "2022 Q3 NVDA.pdf"]


def _norm(text: str) -> str:
    return " ".join(text.split())


def _sliced(texts: dict[int, str], spans: tuple[PageSpan, ...]) -> str:
    return " ".join(texts[s.page][s.start:s.end] for s in spans)


@pytest.fixture(scope="module")
def chunker(embedder):
    return Chunker(embedder.tokenizer)  # the Library's defaults: 200 tokens, 40 overlap


@pytest.fixture(scope="module")
def filings(sec_docs):
    return [load_document(sec_docs / name) for name in FILINGS]


@functools.lru_cache(maxsize=None)
def _raw_page(path: Path, page: int) -> str:
    """The page as pypdf extracts it, before any of the loader's block splitting."""
    from pypdf import PdfReader

    from ingest.loaders.pdf import _LIGATURES
    from ingest.loaders.text import clean_text

    return _norm(clean_text(PdfReader(path).pages[page - 1].extract_text().translate(_LIGATURES)))


def test_spans_of_50_random_chunks_reproduce_their_text(chunker, filings):
    chunked = [(doc, c) for doc in filings for c in chunker.chunk(doc)]
    assert len(chunked) > 500
    texts = {doc.path: doc.page_texts() for doc in filings}
    for doc, c in random.Random(20231).sample(chunked, 50):
        assert c.spans and c.body and c.text.endswith(c.body)
        assert not c.body.startswith(document_label(doc))
        assert _norm(_sliced(texts[doc.path], c.spans)) == _norm(c.body)
        assert [s.page for s in c.spans] == sorted({s.page for s in c.spans})
        assert c.page_start == c.spans[0].page and c.page_end == c.spans[-1].page
        for s in c.spans:
            assert 0 <= s.start < s.end <= len(texts[doc.path][s.page])
            # The page is right: that page of the PDF itself says these words (a table's rows,
            # read as a table, say them cell by cell: each word is on the page).
            said = _norm(texts[doc.path][s.page][s.start:s.end])
            if said.startswith("| "):
                assert set(re.findall(r"\w+", said)) <= set(re.findall(r"\w+", _raw_page(doc.path, s.page))), said
            else:
                assert said in _raw_page(doc.path, s.page)


def test_chunks_across_a_page_break_have_one_span_per_page(chunker, filings):
    crossing = 0
    for doc in filings:
        texts = doc.page_texts()
        for c in chunker.chunk(doc):
            if c.page_start != c.page_end:
                crossing += 1
                assert len(c.spans) == 2 and c.spans[0].page + 1 == c.spans[1].page
                assert _norm(_sliced(texts, c.spans)) == _norm(c.body)
            else:
                assert len(c.spans) == 1
    assert crossing >= 5


def test_overlap_from_the_previous_page_is_located_on_that_page(embedder):
    chunker = Chunker(embedder.tokenizer, chunk_tokens=64, overlap=16)
    short = ("The quarter closed with revenue of 81.8 billion dollars, steady gross margins, "
             "lower operating costs and a larger cash pile.")  # 25 tokens: under half a chunk
    long = " ".join(f"Risk factor {i} concerns supply in region {i * 3}." for i in range(40))
    blocks = [Block(short, page=4), Block(long, page=5)]
    chunks = chunker.chunk_blocks(blocks, "Apple 10-Q")
    texts = page_texts(blocks)
    crossing = next(c for c in chunks if c.page_start == 4 and c.page_end == 5)
    first, second = crossing.spans
    assert first.page == 4 and first.end == texts[4].index(short) + len(short)  # the carried tail
    assert first.start > 0 and second == PageSpan(5, 0, second.end)
    assert crossing.body.startswith(texts[4][first.start:first.end])
    for c in chunks:
        assert _norm(_sliced(texts, c.spans)) == _norm(c.body)
        assert c.text == f"Apple 10-Q\n{c.body}"


def test_recounting_tokenizer_path_keeps_exact_spans(embedder):
    """The slower path (re-count and re-split) locates its pieces the same way."""
    chunker = Chunker(embedder.tokenizer, chunk_tokens=64, overlap=16)
    chunker._sums_exact = False
    verify = chunker._verified

    def stricter(chunks, layouts):  # type: ignore[no-untyped-def]
        chunker.max_tokens = 40  # as if the 64-token chunks had re-counted long: re-split them
        return verify(chunks, layouts)

    chunker._verified = stricter  # type: ignore[method-assign]
    blocks = [Block(" ".join(f"Item {i} of the lease runs {i} months." for i in range(30)), page=2),
              Block("Closing remark on page three.", page=3)]
    chunks = chunker.chunk_blocks(blocks, "Lease")
    texts = page_texts(blocks)
    assert len(chunks) > 3 and any(not c.text.startswith("Lease\n") for c in chunks)  # re-split
    for c in chunks:
        assert c.body and c.spans and c.text.endswith(c.body)
        assert _norm(_sliced(texts, c.spans)) == _norm(c.body)


def test_unpaged_formats_are_located_on_page_one(chunker, tmp_path):
    para = " ".join(f"Clause {i} sets the rent review for year {i}." for i in range(60))
    (tmp_path / "notes.md").write_text(f"# Lease\n\nIntro.\n\n## Rent\n\n{para}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text(f"Plain notes.\n\n{para}\n\n{para}\n", encoding="utf-8")
    (tmp_path / "page.html").write_text(f"<html><body><h1>Rent</h1><p>{para}</p><p>End.</p>"
                                        "</body></html>", encoding="utf-8")
    make_docx(tmp_path / "lease.docx", "Lease terms", [para, "Signed in Cork."])
    for name in ("notes.md", "notes.txt", "page.html", "lease.docx"):
        doc = load_document(tmp_path / name)
        texts = doc.page_texts()
        assert list(texts) == [UNPAGED]
        chunks = chunker.chunk(doc)
        assert len(chunks) >= 2, name
        for c in chunks:
            assert c.page_start is None and [s.page for s in c.spans] == [UNPAGED]
            assert _norm(_sliced(texts, c.spans)) == _norm(c.body), name
            assert c.heading == "" or not c.body.startswith(c.heading), name


def test_store_search_and_citation_carry_locations(library, sec_docs, tmp_path):
    from app.engine.answer import Answerer
    from app.engine.backend import PreparedPrompt
    from app.engine.prompt import BuiltPrompt, Turn
    from app.engine.search_service import rows

    [pdf] = copy_sec(sec_docs, ["2023 Q3 AAPL.pdf"], tmp_path / "docs")
    report = library.indexer.index_paths([pdf])
    assert report.failures == [] and report.indexed == 1
    doc = load_document(pdf)
    texts, label = doc.page_texts(), document_label(doc)

    stored = library.store.get_chunks(library.store.ids_for_file(library.manifest.get(str(pdf)).file_id))
    assert len(stored) > 50
    for s in stored:
        assert s.spans and s.text.endswith(s.body) and s.body
        assert _norm(_sliced(texts, s.spans)) == _norm(s.body)

    passages = library.retriever().search("iPhone net sales in the third quarter", k=4)
    assert passages
    for p in passages:
        assert p.spans and p.body and not p.body.startswith(label)
        # The model still sees whose document it is: on the passage's source line (a
        # trimmed passage leaves a label that only repeats the file name to that line).
        shown = format_sources([NumberedSource(1, p)])
        assert shown.startswith(f"[1] {p.name}") and label in shown.split("\n", 1)[0]
        assert _norm(_sliced(texts, p.spans)) == _norm(p.body)
        assert p.page_start == p.spans[0].page and p.page_end == p.spans[-1].page
    assert all(not r.snippet.startswith(label) for r in rows(passages))

    class _Named:  # _answer reads only the model's name; the passages are real
        name = "test"

    answerer = Answerer(library.retriever(), _Named())  # type: ignore[arg-type]
    try:
        turn = Turn("What were iPhone net sales?", "They rose [1].")
        prompt = BuiltPrompt(PreparedPrompt(0, None), turn, {1: passages[0]}, 0)
        from app.engine.backend import GenerationStats

        [cite] = answerer.checked_answer(prompt, GenerationStats(), 0.0).citations
    finally:
        answerer.owner.close()
    shown = citation_json(cite)  # what `docent ask --json` writes for it
    assert not shown["snippet"].startswith(label) and _norm(passages[0].body).startswith(shown["snippet"][:100])
    assert cite.passage.spans == passages[0].spans and shown["body"] == passages[0].body


def test_an_old_recipe_collection_is_re_indexed(home, embedder, tmp_path, monkeypatch):
    import ingest.store
    from app.engine.library import Library
    from app.settings import Settings
    from ingest.manifest import FileStatus

    folder = tmp_path / "docs"
    folder.mkdir()
    para = " ".join(f"Clause {i} sets the rent review for year {i}." for i in range(40))
    (folder / "lease.md").write_text(f"# Lease\n\n{para}\n", encoding="utf-8")

    current = ingest.store.CHUNKER_VERSION
    monkeypatch.setattr(ingest.store, "CHUNKER_VERSION", 2)
    with Library(Settings.load(home), embedder=embedder) as old:
        assert old.indexer.index_paths([folder]).indexed == 1
        old_name, old_count = old.index_version, old.store.count()
    monkeypatch.setattr(ingest.store, "CHUNKER_VERSION", current)

    with Library(Settings.load(home), embedder=embedder) as lib:
        assert lib.index_version != old_name and f"-v{current}-" in lib.index_version
        report = lib.indexer.index_paths([folder])
        assert (report.indexed, report.unchanged) == (1, 0)  # not taken as up to date
        [rec] = lib.manifest.all(FileStatus.INDEXED)
        assert rec.index_version == lib.index_version
        chunks = lib.store.all_chunks()
        assert len(chunks) == rec.chunk_count and all(c.spans and c.body for c in chunks)
        # The old recipe's vectors stay in their own collection, never read beside these.
        assert lib.store.client.get_collection(old_name).count() == old_count > 0
        assert lib.store.count() == rec.chunk_count
        assert lib.indexer.index_paths([folder]).unchanged == 1
