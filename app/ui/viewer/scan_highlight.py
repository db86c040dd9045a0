"""The cited lines on a scanned page, from the lines and boxes stored when it was indexed.

A scan has no text layer for pdfium to search. Indexing read it by OCR line by line and
kept each line's box (ingest/scan_lines.py); a page's stored text is exactly the text the
chunk's spans count in, so the spans name the cited lines, and each becomes a highlight
bar, its box (fractions of the page image) scaled to page points. A source without spans
(an older chat) is aligned by its words instead. Nothing is read by OCR here: the window
never loads the OCR engine. No Qt widgets: QRectF only.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSizeF

from app.ui.viewer.align import align

if TYPE_CHECKING:
    from app.ui.viewer.source import ViewerSource
    from ingest.scan_lines import ScanPage

# (path, sha256 it was indexed from, 1-based pages or None for all) -> stored pages: Core.scan_pages
ScanLookup = Callable[[str, str, "Iterable[int] | None"], "Mapping[int, ScanPage]"]

_PAD = 1.0  # points around each line, as for text pages


def scan_highlights(source: ViewerSource, scan: Mapping[int, ScanPage],
                    page_sizes: Mapping[int, QSizeF]) -> tuple[dict[int, list[QRectF]], float]:
    """Line rectangles (page points) per 0-based page holding the passage, and the share
    of its words found there. `scan`: the stored pages (1-based) of the source's pages."""
    pages = [p for p in source.pages if p in scan and (p - 1) in page_sizes]
    texts = [(p - 1, scan[p].text()) for p in pages]
    result = align(source.body, texts)
    wanted: dict[int, list[tuple[int, int]]] = {}  # 0-based page -> character ranges to light
    for span in source.spans:
        if span.page in pages and span.start < span.end:
            wanted.setdefault(span.page - 1, []).append((span.start, span.end))
    if not wanted:  # no spans recorded: where the passage's words are
        for r in result.ranges:
            wanted.setdefault(r.page_index, []).append((r.start, r.start + r.length))
    by_page: dict[int, list[QRectF]] = {}
    for index, ranges in sorted(wanted.items()):
        size = page_sizes[index]
        bars = [_rect(line.box, size) for start, end, line in scan[index + 1].line_ranges()
                if any(start < b and a < end for a, b in ranges)]
        if bars:
            by_page[index] = bars
    return by_page, result.coverage


def _rect(box: tuple[float, float, float, float], size: QSizeF) -> QRectF:
    x0, y0, x1, y1 = box
    w, h = size.width(), size.height()
    return QRectF(x0 * w, y0 * h, (x1 - x0) * w, (y1 - y0) * h).adjusted(-_PAD, -_PAD, _PAD, _PAD)
