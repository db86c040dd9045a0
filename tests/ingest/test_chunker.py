"""Chunking with MiniLM's real tokenizer."""
from __future__ import annotations

import pytest

from ingest.chunker import Chunker
from ingest.document import Block


@pytest.fixture(scope="module")
def chunker(embedder):
    return Chunker(embedder.tokenizer, chunk_tokens=64, overlap=16, encoder_max_tokens=256)


def _tokens(embedder, text: str) -> int:
    return len(embedder.tokenizer([text], add_special_tokens=False)["input_ids"][0])


def test_no_chunk_exceeds_encoder_window(chunker, embedder):
    long = " ".join(f"Sentence number {i} talks about item {i * 7}." for i in range(300))
    chunks = chunker.chunk_blocks([Block(long, page=3)])
    assert len(chunks) > 5
    for c in chunks:
        assert _tokens(embedder, c.text) == c.token_count <= 64
        assert (c.page_start, c.page_end) == (3, 3)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_overlap_repeats_text_between_neighbours(chunker):
    long = " ".join(f"Fact {i} is alpha{i}." for i in range(200))
    chunks = chunker.chunk_blocks([Block(long, page=1)])
    for a, b in zip(chunks, chunks[1:], strict=False):
        tail_words = a.text.split()[-3:]
        assert " ".join(tail_words) in b.text


def test_chunk_spanning_pages_keeps_both_numbers(chunker):
    blocks = [Block("Short end of page four.", page=4), Block("Start of page five.", page=5)]
    chunks = chunker.chunk_blocks(blocks)
    assert len(chunks) == 1
    assert (chunks[0].page_start, chunks[0].page_end) == (4, 5)


def test_headings_start_chunks_and_give_context(chunker):
    blocks = [Block("Install", heading_level=1), Block("Run the installer."),
              Block("Usage", heading_level=1), Block("Open the app and drop a folder.")]
    chunks = chunker.chunk_blocks(blocks)
    assert [c.heading for c in chunks] == ["Install", "Usage"]
    assert chunks[1].text.startswith("Usage\n") and "installer" not in chunks[1].text


def test_unicode_and_empty_blocks(chunker):
    chunks = chunker.chunk_blocks([Block("   "), Block("Café naïve — 東京 😀 résumé")])
    assert len(chunks) == 1 and "東京" in chunks[0].text
    assert chunker.chunk_blocks([]) == []


def test_page_break_is_preferred_seam_once_chunk_is_half_full(chunker):
    page1 = " ".join(f"alpha{i}" for i in range(18))  # ~36 tokens: over half of 64
    chunks = chunker.chunk_blocks([Block(page1, page=1), Block("beta gamma.", page=2)])
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (2, 2)]


def test_every_chunk_names_its_document(chunker):
    from pathlib import Path

    from ingest.chunker import document_label
    from ingest.document import Document

    doc = Document(Path("/d/2023 Q3 AAPL.pdf"), "pdf", [Block("Heading", heading_level=1),
                   Block(" ".join(f"Net sales item {i}." for i in range(60)), page=4)],
                   page_count=9, title="0000320193-23-000077")
    chunks = chunker.chunk(doc)
    assert len(chunks) > 1
    assert all(c.text.startswith("2023 Q3 AAPL > Heading\n") and c.token_count <= 64 for c in chunks)
    assert document_label(Document(Path("/d/4983.txt"), "text", title=None)) == ""  # ids add nothing
    assert document_label(Document(Path("/d/lease.docx"), "docx", title="Lease terms")) == "lease · Lease terms"


def test_rust_backend_chunks_exactly_like_the_transformers_tokenizer(embedder):
    """The chunker calls its own copy of the Rust tokenizer (and tokenizes only the end of
    a block for the overlap); the chunks must equal those of the transformers wrapper."""
    blocks = []
    for i in range(40):
        if i % 9 == 0:
            blocks.append(Block(f"Item {i}. Results of Operations", page=i // 4 + 1, heading_level=2))
        words = " ".join(f"Net sales of product{i}-{j} rose {j * 1.5:.1f}% (naïve café; Œuvre)." for j in range(i * 3))
        blocks.append(Block(words or "Short.", page=i // 4 + 1))
    fast = Chunker(embedder.tokenizer, chunk_tokens=120, overlap=30, encoder_max_tokens=256)
    slow = Chunker(embedder.tokenizer, chunk_tokens=120, overlap=30, encoder_max_tokens=256)
    slow._fast = None
    assert fast._fast is not None
    got, want = fast.chunk_blocks(blocks, "Apple 10-Q"), slow.chunk_blocks(blocks, "Apple 10-Q")
    assert len(want) > 20
    assert got == want
    # The private copy never inherits the encoder's truncation to 256 tokens.
    assert fast._count(["word " * 600])[0] == 600


def test_skipping_the_recount_gives_the_same_chunks_on_real_filings(embedder, sec_docs):
    """MiniLM's tokens never cross whitespace, so chunk counts are sums of their parts
    and the final re-count is skipped; forcing it must change nothing."""
    from ingest.loaders import LoadLimits
    from ingest.loaders.pdf import load_pdf

    trusting = Chunker(embedder.tokenizer)
    recounting = Chunker(embedder.tokenizer)
    recounting._sums_exact = False
    assert trusting._sums_exact
    for name in ("2023 Q2 AAPL.pdf", "2023 Q3 NVDA.pdf"):
        doc = load_pdf(sec_docs / name, LoadLimits())
        got, want = trusting.chunk(doc), recounting.chunk(doc)
        assert len(got) > 50 and got == want


def test_tokenizers_whose_tokens_can_cross_whitespace_are_recounted():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from ingest.chunker import _splits_at_whitespace

    def wrap(pre, norm=None):  # type: ignore[no-untyped-def]
        backend = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
        backend.pre_tokenizer = pre
        if norm is not None:
            backend.normalizer = norm
        backend.decoder = decoders.WordPiece()
        return PreTrainedTokenizerFast(tokenizer_object=backend)

    assert _splits_at_whitespace(wrap(pre_tokenizers.BertPreTokenizer(), normalizers.BertNormalizer()))
    assert _splits_at_whitespace(wrap(pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                                pre_tokenizers.Digits()])))
    assert not _splits_at_whitespace(wrap(pre_tokenizers.ByteLevel()))  # GPT-2 style: spaces are in tokens
    assert not _splits_at_whitespace(wrap(pre_tokenizers.Metaspace()))  # SentencePiece style
    assert not _splits_at_whitespace(wrap(pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                                    pre_tokenizers.Metaspace()])))
    assert not _splits_at_whitespace(wrap(pre_tokenizers.BertPreTokenizer(), normalizers.Replace(" ", "")))
    assert not _splits_at_whitespace(object())  # not a fast tokenizer: always re-count
