"""What a loader hands to the chunker: typed, format-independent text."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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


@dataclass
class Document:
    """A successfully parsed file."""

    path: Path
    kind: str  # "pdf", "text", "markdown", "html", "docx"
    blocks: list[Block] = field(default_factory=list)
    page_count: int | None = None
    title: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def char_count(self) -> int:
        return sum(len(b.text) for b in self.blocks)
