"""Find the passages a question needs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.document import PageSpan
from ingest.embedder import Embedder
from ingest.store import ChromaStore


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    path: str
    page_start: int | None
    page_end: int | None
    text: str
    score: float
    heading: str = ""
    # Where the passage is: per page, a range of that page's text (ingest.document.PageSpan),
    # and the passage without the label/heading line the embedder saw (what is on the page).
    spans: tuple[PageSpan, ...] = ()
    body: str = ""

    @property
    def page_text(self) -> str:
        """What the page says: the body, or (an index made before bodies were recorded)
        the text less its heading line."""
        if self.body:
            return self.body
        rest = after_heading(self.text, self.heading)
        return self.text if rest is None else rest

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def pages_label(self) -> str:
        return pages_label(self.page_start, self.page_end)


def after_heading(text: str, heading: str) -> str | None:
    """`text` less the heading line the chunker puts first; None when it does not start
    with that line (no heading, or a piece cut from the middle of a chunk)."""
    if heading and text.startswith(heading + "\n"):
        return text[len(heading) + 1:]
    return None


def pages_label(start: int | None, end: int | None) -> str:
    """"p. 5", "pp. 5-7", or "" without pages."""
    if start is None:
        return ""
    if end and end != start:
        return f"pp. {start}-{end}"
    return f"p. {start}"


def snippet(text: str, limit: int = 240) -> str:
    """Whitespace-collapsed text cut at a word boundary: what a citation or result shows."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


class DenseRetriever:
    def __init__(self, embedder: Embedder, store: ChromaStore) -> None:
        self.embedder = embedder
        self.store = store

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        vec = self.embedder.encode_query(query)
        return [Passage(h.chunk.chunk_id, h.chunk.path, h.chunk.page_start, h.chunk.page_end,
                        h.chunk.text, h.score, h.chunk.heading, h.chunk.spans, h.chunk.body)
                for h in self.store.query(vec, k, where)]
