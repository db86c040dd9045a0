"""What the viewer is asked to show, and whether the file on disk still matches it."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.document import PageSpan


class SourceState(str, enum.Enum):
    CURRENT = "current"  # same bytes as when indexed: the recorded passage is where it was
    UNVERIFIED = "unverified"  # no hash recorded (older index): shown as if current
    CHANGED = "changed"  # edited since indexing: the passage may have moved
    MISSING = "missing"  # deleted, moved or unreadable


@dataclass(frozen=True)
class ViewerSource:
    """One cited passage. Pages are 1-based (None for formats without pages); `spans`
    locate the chunk's own text per page (ingest.document.PageSpan); `body` is that text
    without the label/heading prefix the embedder saw."""

    path: str
    title: str
    page_start: int | None
    page_end: int | None
    spans: tuple["PageSpan", ...]
    body: str
    indexed_sha256: str
    score: float = 0.0

    @property
    def pages(self) -> tuple[int, ...]:
        """1-based pages the passage's own text is on: the spans', else the cited range."""
        if self.spans:
            return tuple(sorted({s.page for s in self.spans}))
        if self.page_start is None:
            return ()
        return tuple(range(self.page_start, (self.page_end or self.page_start) + 1))

    @property
    def is_pdf(self) -> bool:
        return Path(self.path).suffix.lower() == ".pdf"

    def label(self, number: int) -> str:
        where = ""
        if self.page_start is not None:
            end = self.page_end or self.page_start
            where = f" · p. {self.page_start}" if end == self.page_start else f" · pp. {self.page_start}–{end}"
        return f"[{number}] {self.title or Path(self.path).name}{where}"


def check_state(source: ViewerSource) -> SourceState:
    """Compare the file with what was indexed (reads the whole file: call off the GUI thread)."""
    from ingest.pipeline import sha256_file

    path = Path(source.path)
    try:
        if not path.is_file():
            return SourceState.MISSING
        if not source.indexed_sha256:
            return SourceState.UNVERIFIED
        return SourceState.CURRENT if sha256_file(path) == source.indexed_sha256 else SourceState.CHANGED
    except OSError:
        return SourceState.MISSING


def viewer_source(ref: object, indexed_sha256: str, title: str = "") -> ViewerSource:
    """A ViewerSource from anything shaped like a cited passage: app.engine.events.Citation,
    app.core.chats.SourceRef or app.engine.retrieval.Passage (path, page_start, page_end,
    spans, body, score)."""
    path = str(getattr(ref, "path"))  # noqa: B009 (ref is duck-typed: any cited passage)
    return ViewerSource(path=path, title=title or Path(path).name, page_start=getattr(ref, "page_start", None),
                        page_end=getattr(ref, "page_end", None), spans=tuple(getattr(ref, "spans", ()) or ()),
                        body=getattr(ref, "body", "") or "", indexed_sha256=indexed_sha256,
                        score=float(getattr(ref, "score", 0.0) or 0.0))
