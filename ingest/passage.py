"""A passage: one stretch of a document's text as it is stored, found, given to the
model, kept with a chat and shown in the viewer. One type from the store to the
screen; an answer numbers its passages with a thin wrapper (app.engine.prompt.NumberedSource).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from ingest.document import PageSpan


class Found(str, enum.Enum):
    """How a passage came to be in hand."""

    STORED = "stored"  # read from the index by id (written, hydrated, kept with a chat)
    DENSE = "dense"  # nearest vectors alone
    KEYWORD = "keyword"  # the keyword (BM25) index alone
    HYBRID = "hybrid"  # vector and keyword lists fused (and reranked, where configured)
    WHOLE_DOCUMENT = "whole_document"  # a part of a document read through from its start


@dataclass(frozen=True)
class Passage:
    """`text` is what the embedder and the model read: the document label / heading line
    first, then (for a table) its caption and headers, then the words on the page.
    `body` is only the words on the page ("" in an index made before bodies were recorded);
    `spans` locate them per page (PageSpan: 1-based page, range of that page's text).
    `chunk_id` is the (first) chunk's id, "<file_id>:<index>" (ingest.store.chunk_id).
    `score`: the retriever's, higher is better (0 for a passage read by id)."""

    chunk_id: str
    path: str
    page_start: int | None
    page_end: int | None
    text: str
    score: float = 0.0
    heading: str = ""
    spans: tuple[PageSpan, ...] = ()
    body: str = ""
    found: Found = Found.STORED

    @property
    def file_id(self) -> str:
        """The file part of chunk_id (file ids are hex digests: no ':')."""
        return self.chunk_id.rpartition(":")[0] or self.chunk_id

    @property
    def chunk_index(self) -> int:
        """The (first) chunk's position in its file; 0 for an id without one."""
        tail = self.chunk_id.rpartition(":")[2]
        return int(tail) if ":" in self.chunk_id and tail.isdigit() else 0

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
    def pages(self) -> tuple[int, ...]:
        """1-based pages the passage's own text is on: the spans', else the cited range."""
        if self.spans:
            return tuple(sorted({s.page for s in self.spans}))
        if self.page_start is None:
            return ()
        return tuple(range(self.page_start, (self.page_end or self.page_start) + 1))

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
