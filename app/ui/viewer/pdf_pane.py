"""A PDF source: QtPdf document, the passage found in pdfium's own page text, painted."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from PySide6.QtCore import QModelIndex, QRectF, QThread, Signal
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from app.ui.viewer import messages
from app.ui.viewer.align import align
from app.ui.viewer.pdf_view import PassagePdfView
from app.ui.viewer.scan_highlight import ScanLookup, scan_highlights
from app.ui.viewer.source import SourceState, ViewerSource

_ZOOM_STEP = 1.25
_LINE_BREAK = re.compile(r"(?<=\n)")  # keeps the break at each line's end, offsets add up
_WORDISH = re.compile(r"\S+")

_LINE_PAD = 1.0  # points around each highlighted line, so descenders are inside


@dataclass(frozen=True)
class PdfShown:
    """What opening a PDF source ended with: the pages highlighted (0-based) and why not."""

    source: ViewerSource
    state: SourceState
    page: int  # 0-based page scrolled to
    highlights: dict[int, list[QRectF]] = field(default_factory=dict)
    coverage: float = 0.0  # share of the passage's words found on its pages
    note: str = ""  # a user-facing reason when nothing is highlighted


def utf16_offsets(text: str, start: int, length: int) -> tuple[int, int]:
    """Python (code point) offsets as the UTF-16 offsets QtPdf counts in."""
    if not text or max(text) <= "\uffff":
        return start, length
    wide = lambda s: sum(1 for ch in s if ch > "\uffff")  # noqa: E731
    return start + wide(text[:start]), length + wide(text[start:start + length])


def line_rects(rects: list[QRectF]) -> list[QRectF]:
    """One bar per line: pdfium gives a box per text object, runs of them per line."""
    out: list[QRectF] = []
    for r in rects:
        if out:
            last = out[-1]
            overlap = min(last.bottom(), r.bottom()) - max(last.top(), r.top())
            if overlap >= 0.5 * min(last.height(), r.height()) and r.left() >= last.left() - 1:
                out[-1] = last.united(r)
                continue
        out.append(QRectF(r))
    return [r.adjusted(-_LINE_PAD, -_LINE_PAD, _LINE_PAD, _LINE_PAD) for r in out]


def passage_highlights(doc: QPdfDocument, source: ViewerSource) -> tuple[dict[int, list[QRectF]], float]:
    """Line rectangles (page points) per 0-based page holding the passage's words, and the
    share of its words found. Only the source's own pages are searched."""
    pages = [p - 1 for p in source.pages if 0 < p <= doc.pageCount()]
    texts = [(page, doc.getAllText(page).text()) for page in pages]
    result = align(source.body, texts)
    by_page: dict[int, list[QRectF]] = {}
    text_of = dict(texts)
    for r in result.ranges:
        text = text_of[r.page_index]
        # Each QtPdf call re-loads the page (~5 ms), so one call per run of lines; runs
        # are cut at lines without a word, whose boxes (spaces pdfium kept) can be as
        # wide as an empty table row.
        boxes: list[QRectF] = []
        for start, end in _worded_runs(text, r.start, r.start + r.length):
            s16, n16 = utf16_offsets(text, start, end - start)
            boxes.extend(p.boundingRect() for p in doc.getSelectionAtIndex(r.page_index, s16, n16).bounds())
        by_page.setdefault(r.page_index, []).extend(line_rects([b for b in boxes if not b.isEmpty()]))
    return by_page, result.coverage


def _worded_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut into runs of consecutive lines that hold a word, each trimmed."""
    runs: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    pos = start
    for line in _LINE_BREAK.split(text[start:end]):
        words = list(_WORDISH.finditer(line))
        if words:
            a, b = pos + words[0].start(), pos + words[-1].end()
            run = (run[0], b) if run else (a, b)
        elif run:
            runs.append(run)
            run = None
        pos += len(line)
    if run:
        runs.append(run)
    return runs


@dataclass
class PreparedPdf:
    """prepare_pdf()'s result, handed from the worker thread to the GUI thread."""

    document: QPdfDocument | None  # loaded and moved to the GUI thread; None: keep the open one
    highlights: dict[int, list[QRectF]] = field(default_factory=dict)
    coverage: float = 0.0
    note: str = ""
    error: str = ""


def prepare_pdf(source: ViewerSource, state: SourceState, gui_thread: QThread,
                keep_open: bool, scan_pages: ScanLookup | None = None) -> PreparedPdf:
    """Load the PDF and find the passage's rectangles, off the GUI thread (QtPdf serialises
    pdfium calls with its own lock). A long filing takes ~0.1 s to load. With `keep_open`
    (the pane shows this file already) the document is only read here, not handed over.
    Pages without a text layer are lit from the lines `scan_pages` stored at indexing."""
    document = QPdfDocument()
    error = document.load(source.path)
    if error != QPdfDocument.Error.None_:
        return PreparedPdf(None, error=messages.CANNOT_OPEN.format(reason=error.name))
    highlights: dict[int, list[QRectF]] = {}
    coverage, note = 0.0, ""
    if state in (SourceState.CURRENT, SourceState.UNVERIFIED) and source.body.strip():
        highlights, coverage = passage_highlights(document, source)
        if not highlights:
            pages = [p for p in source.pages if 0 < p <= document.pageCount()]
            has_text = any(document.getAllText(p - 1).text().strip() for p in pages)
            scan = scan_pages(source.path, source.indexed_sha256, pages) if not has_text and pages \
                and scan_pages is not None else {}
            if scan:  # a scan: the lines OCR read at indexing, where they are
                sizes = {p - 1: document.pagePointSize(p - 1) for p in pages}
                highlights, coverage = scan_highlights(source, scan, sizes)
            if not highlights:
                note = messages.NOT_FOUND if has_text or scan else messages.NO_TEXT_LAYER
    if keep_open:
        document.close()  # Python owns it: freed on this thread when the reference goes
        return PreparedPdf(None, highlights, coverage, note)
    document.moveToThread(gui_thread)
    return PreparedPdf(document, highlights, coverage, note)


class PdfPane(QWidget):
    shown = Signal(object)  # PdfShown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self.view = PassagePdfView(self)
        self.view.setDocument(self.document)
        self._path = ""
        self._search = QPdfSearchModel(self)
        self._search.setDocument(self.document)
        self._search.rowsInserted.connect(self._results_arrived)
        self._find_index = -1
        self._pending_find = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    # --- opening -------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self._path

    def open(self, source: ViewerSource, state: SourceState, prepared: PreparedPdf) -> PdfShown:
        """Show what prepare_pdf() found: on the GUI thread, it only swaps documents and paints."""
        if prepared.error:
            self._replace_document(QPdfDocument(self), "")
            shown = PdfShown(source, state, 0, note=prepared.error)
            self.shown.emit(shown)
            return shown
        if prepared.document is not None:
            self._replace_document(prepared.document, source.path)
        page = (source.pages[0] - 1) if source.pages else 0
        page = max(0, min(page, self.document.pageCount() - 1))
        highlights = prepared.highlights
        self.view.clear_selection()
        self.view.set_found(None)
        self.view.set_highlights(highlights)
        if highlights:
            page = min(highlights)
            rects = highlights[page]
            whole = rects[0]
            for r in rects[1:]:
                whole = whole.united(r)
            # Over a page break, the passage starts at its first line on the first page.
            self.view.scroll_to(page, whole if len(highlights) == 1 else rects[0])
        else:
            self.view.scroll_to(page)
        shown = PdfShown(source, state, page, highlights, prepared.coverage, prepared.note)
        self.shown.emit(shown)
        return shown

    def _replace_document(self, document: QPdfDocument, path: str) -> None:
        old = self.document
        document.setParent(self)
        self.document = document
        self.view.setDocument(document)
        self._search.setDocument(document)
        self._search.setSearchString("")
        self._path = path
        old.close()
        old.deleteLater()

    # --- page, zoom ----------------------------------------------------------------------
    def page_count(self) -> int:
        return self.document.pageCount() if self.document.status() == QPdfDocument.Status.Ready else 0

    def current_page(self) -> int:
        return self.view.visible_page()

    def go_to_page(self, page: int) -> None:
        self.view.scroll_to(page)

    def zoom(self, steps: int) -> None:
        """+/- steps from the current scale; 0 returns to fit width."""
        page = self.view.visible_page()
        if steps == 0:
            self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        else:
            sx, _ = self.view.page_scale(page)
            self.view.setZoomMode(QPdfView.ZoomMode.Custom)
            self.view.setZoomFactor(max(0.25, min(8.0, sx / self.view.screen_res * _ZOOM_STEP ** steps)))
        self.view.scroll_to(page)

    # --- find, copy ------------------------------------------------------------------------
    def find(self, text: str, backward: bool = False) -> bool:  # type: ignore[override]  # find-in-page, not QWidget.find(id)
        """Step to the next (previous) match; matches arrive asynchronously, so the first
        step of a new search may land when they do. Returns whether a match is shown now."""
        if text != self._search.searchString():
            self._find_index = -1
            self._pending_find = True
            self._search.setSearchString(text)
        count = self._search.rowCount(QModelIndex())
        if count == 0:
            self._pending_find = bool(text)
            return False
        self._find_index = (self._find_index + (-1 if backward else 1)) % count
        self._show_result(self._find_index)
        return True

    def _results_arrived(self, *_args) -> None:
        if self._pending_find and self._search.rowCount(QModelIndex()):
            self._pending_find = False
            self._find_index = 0
            self._show_result(0)

    def _show_result(self, index: int) -> None:
        link = self._search.resultAtIndex(index)
        rects = list(link.rectangles())
        self.view.set_found(link.page(), rects)
        self.view.scroll_to(link.page(), rects[0] if rects else None)

    def selected_text(self) -> str:
        return self.view.selected_text()

    def copy(self) -> None:
        text = self.selected_text()
        if text:
            QApplication.clipboard().setText(text)
