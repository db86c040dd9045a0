"""The source viewer on scans: a scanned PDF's cited lines lit on the page image, an image
file's text shown with the passage selected, both from the lines and boxes stored when the
scan was indexed (real parser worker, real OCR there, real Chroma). The viewer runs in this
process, where reading anything by OCR fails the test: the window never OCRs again."""
from __future__ import annotations

import pytest

from app.ui.viewer.source import ViewerSource
from app.ui.viewer.viewer import SourceViewer
from ingest.passage import Passage
from tests.ingest.test_ocr import INVOICE, LEASE
from tests.ui.test_window_core import window_factory  # noqa: F401
from tests.ui.viewer_readback import open_source


@pytest.fixture
def viewer(qtbot):  # type: ignore[no-untyped-def]
    v = SourceViewer()
    qtbot.addWidget(v)
    v.resize(1100, 800)
    v.show()
    return v


@pytest.fixture
def no_ocr_here(monkeypatch):  # type: ignore[no-untyped-def]
    from ingest.loaders import ocr_engine

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the window process read a page by OCR")

    monkeypatch.setattr(ocr_engine.OcrEngine, "shared", classmethod(refuse))
    monkeypatch.setattr(ocr_engine.OcrEngine, "read", refuse)


def _truth(typed, page: int, line: str):  # type: ignore[no-untyped-def]
    """Where the born-digital PDF has `line` (pdfium's box, page points)."""
    from PySide6.QtPdf import QPdfDocument

    doc = QPdfDocument()
    doc.load(str(typed))
    text = doc.getAllText(page).text()
    rect = doc.getSelectionAtIndex(page, text.index(line[:30]), 30).boundingRectangle()
    doc.close()
    return rect


def test_a_scan_without_stored_lines_is_shown_unlit_and_never_read_here(qtbot, viewer, tmp_path, no_ocr_here):
    """A scan indexed before lines were kept (or a window without an index): the page or
    the file opens with a reason, and nothing is read by OCR in this process."""
    from PIL import Image

    from app.ui.viewer import messages
    from ingest.pipeline import sha256_file
    from tests.scans import image_pdf

    page = Image.new("L", (850, 1100), 255)
    scan, png = image_pdf(tmp_path / "scan.pdf", [page]), tmp_path / "receipt.png"
    page.save(png)
    viewer.scan_pages = lambda path, sha, pages: {}
    body = "Monthly rent is 48,215.70 euros."
    shown = open_source(qtbot, viewer, [ViewerSource(Passage("c", str(scan), 1, 1, body), sha256_file(scan), "scan")])
    assert shown.note == messages.NO_TEXT_LAYER and not shown.highlights
    shown = open_source(qtbot, viewer, [ViewerSource(Passage("c", str(png), 1, 1, body), sha256_file(png), "receipt")])
    assert messages.SCAN_NOT_STORED in shown.note and viewer.banner_box.isVisible()


@pytest.mark.slow
def test_a_scans_cited_lines_are_lit_from_the_lines_stored_at_indexing(qtbot, viewer, library, tmp_path,
                                                                      no_ocr_here):
    from ingest.manifest_reader import ManifestReader
    from tests.scans import image_pdf, render_pages, text_pdf

    typed = text_pdf(tmp_path / "typed.pdf", [LEASE, INVOICE])
    images = render_pages(typed, [1, 2])
    docs = tmp_path / "docs"
    docs.mkdir()
    scan = image_pdf(docs / "scan.pdf", images)
    images[0].save(docs / "lease.png")
    report = library.indexer.index_paths([docs])  # OCR runs in the parser worker process
    assert report.indexed == 2 and not report.failures, report.failures
    reader = ManifestReader(library.settings.manifest_path)
    viewer.scan_pages = reader.scan_pages  # what the window gives it (Core.scan_pages)
    shas = {str(r.path): r.sha256 for r in library.manifest.all()}
    stored = reader.scan_pages(str(scan), shas[str(scan)])
    assert set(stored) == {1, 2} and all(len(p.lines) == 3 for p in stored.values())

    hit = next(p for p in library.retriever().search("Marlowe Glassworks invoice amount due", k=4)
               if p.path == str(scan) and 2 in {s.page for s in p.spans})
    source = ViewerSource(hit, shas[str(scan)])
    shown = open_source(qtbot, viewer, [source])
    assert shown.note == "" and 1 in shown.highlights and shown.coverage >= 0.95
    # Every cited line on page 2 is lit where the born-digital page has it, and only those.
    cited = [line for line in INVOICE if line[:20] in hit.body]
    bars = sorted(shown.highlights[1], key=lambda r: r.top())
    assert len(bars) == len(cited) >= 2
    for line, bar in zip(cited, bars, strict=True):
        truth = _truth(typed, 1, line)
        assert bar.top() <= truth.center().y() <= bar.bottom(), (line, bar, truth)
        assert abs(bar.left() - truth.left()) < 10, (line, bar, truth)

    # A source without spans (a chat saved before spans existed) is found by its words.
    old = ViewerSource(Passage("c", str(scan), 1, 1, " ".join(LEASE[1:])), shas[str(scan)], "scan")
    shown = open_source(qtbot, viewer, [old])
    assert set(shown.highlights) == {0} and len(shown.highlights[0]) == 2
    for line, bar in zip(LEASE[1:], sorted(shown.highlights[0], key=lambda r: r.top()), strict=True):
        assert bar.top() <= _truth(typed, 0, line).center().y() <= bar.bottom()

    # Lines stored from other bytes are never used: the file changed, nothing is lit.
    stale = ViewerSource(Passage("c", str(scan), 1, 1, " ".join(LEASE[1:])), "0" * 64, "scan")
    assert reader.scan_pages(str(scan), stale.indexed_sha256) == {}

    # An image file: its stored text in the text pane, the passage selected.
    png = next(p for p in library.retriever().search("warehouse lease Harrow Quay rent", k=4)
               if p.path == str(docs / "lease.png"))
    shown = open_source(qtbot, viewer, [ViewerSource(png, shas[str(docs / "lease.png")])])
    assert shown.note == "" and "Harrow Quay" in viewer.text_pane.toPlainText()
    assert "Harrow Quay" in viewer.text_pane.textCursor().selectedText()
    reader.close()


@pytest.mark.slow
def test_the_window_lights_a_cited_scan_with_the_lines_its_core_stored(qtbot, window_factory, tmp_path,  # noqa: F811
                                                                       no_ocr_here):
    """Through the window: the real core indexes a dropped scan (OCR in its parser process),
    and a source of it opens in the viewer tab lit, with OCR refused in this process."""
    from app.engine.prompt import NumberedSource
    from tests.scans import image_pdf, render_pages, text_pdf
    from tests.ui.test_window_core import LONG, all_indexed, drop

    scan = image_pdf(tmp_path / "invoice-scan.pdf", render_pages(text_pdf(tmp_path / "typed.pdf", [INVOICE]), [1]))
    window = window_factory(model=False)
    drop(window, [scan])
    qtbot.waitUntil(lambda: all_indexed(window, [scan]), timeout=LONG)
    hit = window.core.library.retriever().search("Marlowe Glassworks tempered panels amount due", k=1)[0]
    assert hit.path == str(scan) and hit.spans
    item = NumberedSource(1, hit, True)
    window.sources.show_sources("who sent the invoice?", [item])
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=120_000) as blocker:
        window.viewing.open_source(item)
    shown = blocker.args[0]
    assert shown.note == "" and set(shown.highlights) == {0} and len(shown.highlights[0]) == len(INVOICE)
