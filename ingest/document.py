"""What a loader hands to the chunker: typed, format-independent text."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.tables import Table

# Page texts are a page's blocks joined by this: what PageSpan offsets count in.
PAGE_SEPARATOR = "\n\n"
# Unpaged formats (text, Markdown, HTML, DOCX) are one page, numbered 1 in a PageSpan.
UNPAGED = 1


@dataclass(frozen=True)
class Block:
    """One run of text from a document: a paragraph, a heading, a table row group.

    `page` is 1-based for paged formats (PDF) and None otherwise. `heading_level`
    is 1..6 for headings and 0 for body text, so the chunker can start a new
    chunk at a section and carry the heading as context.
    """

    text: str
    page: int | None = None
    heading_level: int = 0
    # A recovered table: `text` is then exactly `table.text` (ingest.tables), and the
    # chunker keeps each of its rows with the caption, units and column headers.
    table: "Table | None" = None
    # A line read by OCR: where it is on its page image (left, top, right, bottom as
    # fractions of the image), stored at indexing for the viewer (ingest/scan_lines.py).
    box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class PageSpan:
    """Where a piece of a chunk sits: `page_text(...)[page][start:end]`.

    `page` is 1-based as in Chunk.page_start (UNPAGED = 1 for formats without pages);
    start/end are character offsets into that page's text as `page_texts` builds it
    from the loader's blocks, so a viewer that loads the same file gets the same text.
    """

    page: int
    start: int
    end: int


def spans_to_json(spans: Iterable[PageSpan]) -> str:
    """Compact storage form, e.g. "[[3,120,980],[4,0,210]]" (page, start, end per span)."""
    import json

    return json.dumps([[s.page, s.start, s.end] for s in spans], separators=(",", ":"))


def spans_from_json(text: str | None) -> tuple[PageSpan, ...]:
    """Inverse of spans_to_json; None, empty or malformed text gives no spans."""
    import json

    if not text:
        return ()
    try:
        return tuple(PageSpan(int(p), int(a), int(b)) for p, a, b in json.loads(text))
    except (ValueError, TypeError):
        return ()


def block_page(block: Block) -> int:
    return block.page if block.page is not None else UNPAGED


def page_texts(blocks: Iterable[Block]) -> dict[int, str]:
    """Each page's text: its non-blank blocks (headings included) in order, joined by
    PAGE_SEPARATOR. The chunker measures PageSpans in exactly this text."""
    parts: dict[int, list[str]] = {}
    for b in blocks:
        if b.text.strip():
            parts.setdefault(block_page(b), []).append(b.text)
    return {page: PAGE_SEPARATOR.join(texts) for page, texts in parts.items()}


@dataclass
class Document:
    """A successfully parsed file."""

    path: Path
    kind: str  # "pdf", "text", "markdown", "html", "docx", "image" (read by OCR)
    blocks: list[Block] = field(default_factory=list)
    page_count: int | None = None
    title: str | None = None
    warnings: list[str] = field(default_factory=list)

    def page_texts(self) -> dict[int, str]:
        """page -> text, the coordinates of every PageSpan of this document's chunks."""
        return page_texts(self.blocks)

    @property
    def char_count(self) -> int:
        return sum(len(b.text) for b in self.blocks)
