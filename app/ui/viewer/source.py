"""What the viewer is asked to show, and whether the file on disk still matches it."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from ingest.document import PageSpan
from ingest.passage import Passage


class SourceState(str, enum.Enum):
    CURRENT = "current"  # same bytes as when indexed: the recorded passage is where it was
    UNVERIFIED = "unverified"  # no hash recorded (older index): shown as if current
    CHANGED = "changed"  # edited since indexing: the passage may have moved
    MISSING = "missing"  # deleted, moved or unreadable


@dataclass(frozen=True)
class ViewerSource:
    """One cited passage to show, with the hash its file had when it was indexed (to tell
    whether the file still matches) and the title to show for it (default: the file name)."""

    passage: Passage
    indexed_sha256: str
    title: str = ""

    @property
    def path(self) -> str:
        return self.passage.path

    @property
    def body(self) -> str:
        """The words on the page the passage holds (no label/heading line): what to find."""
        return self.passage.page_text

    @property
    def spans(self) -> tuple[PageSpan, ...]:
        return self.passage.spans

    @property
    def pages(self) -> tuple[int, ...]:
        return self.passage.pages

    @property
    def is_pdf(self) -> bool:
        return Path(self.path).suffix.lower() == ".pdf"

    def label(self, number: int) -> str:
        p = self.passage
        where = ""
        if p.page_start is not None:
            end = p.page_end or p.page_start
            where = f" · p. {p.page_start}" if end == p.page_start else f" · pp. {p.page_start}–{end}"
        return f"[{number}] {self.title or p.name}{where}"


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
