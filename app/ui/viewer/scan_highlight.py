"""The cited lines on a scanned PDF page: read again by OCR, located by their boxes.

A scan has no text layer for pdfium to search, but indexing read it by OCR line by line;
reading the cited page again (in the viewer's loading thread, a few seconds) gives the
same lines with their boxes. The passage's words are aligned with those lines as with a
text page, and each line holding them becomes a highlight bar, its box scaled from image
pixels to page points (the scan covers the page, as a scanner's does). No Qt widgets:
QRectF only.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSizeF

from app.ui.viewer.align import align

_PAD = 1.0  # points around each line, as for text pages


def scan_highlights(path: str, pages: list[int], body: str, page_sizes: dict[int, QSizeF],
                    languages: str = "latin") -> tuple[dict[int, list[QRectF]], float]:
    """Line rectangles (page points) per 0-based page of `pages` (1-based) that hold
    `body`'s words, and the share of its words found. Pages OCR cannot read are skipped."""
    from ingest.loaders import LoadLimits
    from ingest.loaders.ocr_engine import OcrEngine
    from ingest.loaders.pdf_scan import page_scan

    engine = OcrEngine.shared(languages)
    texts: list[tuple[int, str]] = []
    lines_of: dict[int, list[tuple[int, int, QRectF]]] = {}  # page -> (start, end, rect) per line
    for page_no in pages:
        index = page_no - 1
        size = page_sizes.get(index)
        try:
            image = page_scan(Path(path), page_no, LoadLimits())
            read = engine.read(image.convert("L"))
        except Exception:  # a page without a readable image: nothing to light there
            continue
        sx, sy = size.width() / read.width, size.height() / read.height  # type: ignore[union-attr]  # a loaded page has a size
        text, spans = "", []
        for line in read.lines:
            b = line.box
            rect = QRectF(b.x0 * sx, b.y0 * sy, (b.x1 - b.x0) * sx, (b.y1 - b.y0) * sy)
            spans.append((len(text), len(text) + len(line.text), rect.adjusted(-_PAD, -_PAD, _PAD, _PAD)))
            text += line.text + "\n"
        texts.append((index, text))
        lines_of[index] = spans
    result = align(body, texts)
    by_page: dict[int, list[QRectF]] = {}
    for r in result.ranges:
        hit = [rect for start, end, rect in lines_of[r.page_index] if start < r.start + r.length and r.start < end]
        bars = by_page.setdefault(r.page_index, [])
        bars.extend(rect for rect in hit if rect not in bars)
    return by_page, result.coverage
