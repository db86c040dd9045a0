"""The source viewer on a scanned PDF: the cited lines lit on the page image, located by OCR."""
from __future__ import annotations

import pytest

from app.ui.viewer.source import ViewerSource
from app.ui.viewer.viewer import SourceViewer
from tests.ui.viewer_readback import open_source


@pytest.fixture
def viewer(qtbot):  # type: ignore[no-untyped-def]
    v = SourceViewer()
    qtbot.addWidget(v)
    v.resize(1100, 800)
    v.show()
    return v


def test_a_scanned_page_lights_the_cited_lines_read_by_ocr(qtbot, viewer, tmp_path):
    from ingest.pipeline import sha256_file
    from tests.ingest.test_ocr import LEASE
    from tests.scans import image_pdf, render_pages, text_pdf

    typed = text_pdf(tmp_path / "typed.pdf", [LEASE])
    scan = image_pdf(tmp_path / "scan.pdf", render_pages(typed, [1]))
    cited = " ".join(LEASE[1:])  # the two lines under the title
    shown = open_source(qtbot, viewer, [ViewerSource(str(scan), "scan", 1, 1, (), cited, sha256_file(scan))])
    assert shown.note == "" and set(shown.highlights) == {0} and shown.coverage >= 0.8  # OCR misreads a few
    bars = shown.highlights[0]
    assert len(bars) == 2
    # Where the typed PDF has those lines (pdfium's own boxes, in the same page points).
    from PySide6.QtPdf import QPdfDocument

    doc = QPdfDocument()
    doc.load(str(typed))
    text = doc.getAllText(0).text()
    for line, bar in zip(LEASE[1:], sorted(bars, key=lambda r: r.top()), strict=True):
        start = text.index(line[:30])
        truth = doc.getSelectionAtIndex(0, start, 30).boundingRectangle()
        assert bar.top() <= truth.center().y() <= bar.bottom(), (line, bar, truth)
        assert abs(bar.left() - truth.left()) < 10
    doc.close()
