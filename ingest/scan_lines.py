"""Where each line read by OCR sits on its page, kept at indexing for the viewer.

A scan has no text layer: what the index holds of its page is the lines OCR read, and
nothing else knows where they are. The indexer stores each scanned page's lines, in
order, with their boxes (manifest DB, migration 5, table scan_lines), so the viewer
lights a cited passage's lines without reading the page again. A page's text is its
lines joined exactly as ingest.document.page_texts joins blocks, so a chunk's PageSpans
(character offsets into that text) name its lines directly.

Boxes are fractions of the page image (left, top, right, bottom in 0..1): the scan
covers the page, so they scale to the page's size in points however it was scanned.
Rows are kept with the sha256 of the bytes they were read from; the viewer asks for
the bytes it checked, so lines of an older version of the file are never shown.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.document import PAGE_SEPARATOR, Block

if TYPE_CHECKING:
    from ingest.document import Document

Box = tuple[float, float, float, float]  # left, top, right, bottom: fractions of the page image

@dataclass(frozen=True)
class ScanLine:
    text: str
    box: Box


@dataclass(frozen=True)
class ScanPage:
    """One scanned page (1-based `page`): its lines in reading order."""

    page: int
    lines: tuple[ScanLine, ...]

    def text(self) -> str:
        """The page's text as the chunker measured its spans in."""
        return PAGE_SEPARATOR.join(line.text for line in self.lines)

    def line_ranges(self) -> list[tuple[int, int, ScanLine]]:
        """(start, end) of each line in text()."""
        out, pos = [], 0
        for line in self.lines:
            out.append((pos, pos + len(line.text), line))
            pos += len(line.text) + len(PAGE_SEPARATOR)
        return out

    def to_json(self) -> str:
        return json.dumps([[line.text, *line.box] for line in self.lines], ensure_ascii=False,
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, page: int, data: str) -> ScanPage:
        return cls(page, tuple(ScanLine(str(t), (float(a), float(b), float(c), float(d)))
                               for t, a, b, c, d in json.loads(data)))


def fraction_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Box:
    """A box in image pixels as fractions of the image, rounded to 1/10,000 (2.5 µm on A4)."""
    w, h = max(1, width), max(1, height)
    return (round(x0 / w, 4), round(y0 / h, 4), round(x1 / w, 4), round(y1 / h, 4))


def pages_of(blocks: Iterable[Block]) -> list[ScanPage]:
    """The pages whose every non-blank block is a line read by OCR (Block.box set)."""
    lines: dict[int, list[ScanLine]] = {}
    mixed: set[int] = set()
    for b in blocks:
        if not b.text.strip() or b.page is None:
            continue
        if b.box is None:
            mixed.add(b.page)
        else:
            lines.setdefault(b.page, []).append(ScanLine(b.text, b.box))
    return [ScanPage(page, tuple(found)) for page, found in sorted(lines.items()) if page not in mixed]


def record(db: sqlite3.Connection, file_id: str, sha256: str, doc: Document) -> int:
    """Replace the file's stored lines with those of `doc` (the indexer calls this);
    returns the pages stored."""
    pages = pages_of(doc.blocks)
    now = time.time()
    db.execute("SAVEPOINT scan_lines")  # one step, inside a caller's transaction or not
    try:
        db.execute("DELETE FROM scan_lines WHERE file_id = ?", (file_id,))
        db.executemany("INSERT INTO scan_lines (file_id, page, sha256, data, updated_at) VALUES (?, ?, ?, ?, ?)",
                       [(file_id, p.page, sha256, p.to_json(), now) for p in pages])
    except BaseException:
        db.execute("ROLLBACK TO scan_lines")
        raise
    finally:
        db.execute("RELEASE scan_lines")
    return len(pages)


def load(db: sqlite3.Connection, path: str, sha256: str, pages: Iterable[int] | None = None) -> dict[int, ScanPage]:
    """The stored lines of the file at `path` read from the bytes `sha256` ("": whatever
    was read last), for 1-based `pages` (None: all). A library indexed before the table
    existed has none."""
    sql = "SELECT s.page, s.data FROM scan_lines s JOIN files f ON f.file_id = s.file_id WHERE f.path = ?"
    args: list[object] = [path]
    if sha256:
        sql += " AND s.sha256 = ?"
        args.append(sha256)
    wanted = None if pages is None else sorted(set(pages))
    if wanted is not None:
        sql += f" AND s.page IN ({','.join('?' * len(wanted))})"
        args.extend(wanted)
    try:
        rows = db.execute(sql + " ORDER BY s.page", args).fetchall()
    except sqlite3.OperationalError:  # a manifest from before migration 5, opened read-only
        return {}
    return {int(page): ScanPage.from_json(int(page), data) for page, data in rows}


def forget(db: sqlite3.Connection, file_id: str) -> None:
    db.execute("DELETE FROM scan_lines WHERE file_id = ?", (file_id,))
