"""SourceViewer: an answer's sources beside a viewer that opens each at its passage.

The window calls show_sources(); the file check (a sha256 of the whole file) runs
on a loading thread, which for text formats then waits for the parser worker
(app/ui/viewer/parsing.py: another process, with the indexer's time limit and
memory cap), so opening never blocks the event loop and a hostile file never
takes the window down; the result comes back as a signal. PDFs are then opened
and aligned on the GUI thread, which takes milliseconds (QtPdf loads pages lazily).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.viewer import messages
from app.ui.viewer.parsing import DocumentParser, ParseFailed, ParseSuperseded
from app.ui.viewer.pdf_pane import PdfPane, PdfShown, PreparedPdf, prepare_pdf
from app.ui.viewer.scan_highlight import ScanLookup
from app.ui.viewer.source import SourceState, ViewerSource, check_state
from app.ui.viewer.text_pane import ScanNotStored, TextPane, TextShown, is_image, scan_text

log = logging.getLogger(__name__)
PREVIOUS_KEY, NEXT_KEY = "Alt+Left", "Alt+Right"  # the answer's previous / next source


@dataclass(frozen=True)
class _Request:
    number: int
    source: ViewerSource
    gui_thread: QThread
    pdf_open: bool  # the PDF pane shows this file already
    parser: DocumentParser
    scan_pages: ScanLookup | None = None


@dataclass(frozen=True)
class _Loaded:
    request: int
    source: ViewerSource
    state: SourceState
    text: str | None  # unpaged formats: the loader's text
    error: str
    pdf: PreparedPdf | None = None


class _Relay(QObject):
    loaded = Signal(object)  # _Loaded, from a worker thread to the GUI thread


def _load(request: _Request, relay: _Relay) -> None:
    source = request.source
    state, text, error, pdf = SourceState.MISSING, None, "", None
    try:
        state = check_state(source)
        if state != SourceState.MISSING and source.is_pdf:
            pdf = prepare_pdf(source, state, request.gui_thread, request.pdf_open, request.scan_pages)
        elif state != SourceState.MISSING and is_image(source.path):
            text = scan_text(source, request.scan_pages)
        elif state != SourceState.MISSING:
            text = request.parser.text(source.path, request.number)
    except ParseSuperseded:
        return  # the viewer moved on to another source, or closed
    except Exception as exc:  # the parser's failure, or anything a damaged file makes QtPdf raise
        log.warning("viewer: could not open %s: %s", source.path, exc, exc_info=not _is_load_error(exc))
        error = messages.CANNOT_OPEN.format(reason=str(exc) or type(exc).__name__)
        if source.is_pdf:
            pdf = PreparedPdf(None, error=error)
    try:
        relay.loaded.emit(_Loaded(request.number, source, state, text, error, pdf))
    except RuntimeError:  # the viewer was closed meanwhile
        if pdf is not None and pdf.document is not None:
            pdf.document.deleteLater()


def _is_load_error(exc: BaseException) -> bool:
    from ingest.errors import LoadError

    return isinstance(exc, (LoadError, ParseFailed, ScanNotStored))


class SourceViewer(QWidget):
    reindex_requested = Signal(str)  # path of a source that changed since it was indexed
    passage_shown = Signal(object)  # PdfShown | TextShown, once a source is open at its passage

    def __init__(self, parent: QWidget | None = None, parser: DocumentParser | None = None) -> None:
        """`parser`: where text sources are parsed (the window's gets the settings' limits)."""
        super().__init__(parent)
        self.parser = parser or DocumentParser()
        parser_of_this_viewer = self.parser
        self.destroyed.connect(lambda: parser_of_this_viewer.close())  # its worker goes with the viewer
        self._sources: list[ViewerSource] = []
        self._index = -1
        self._request = 0
        self._relay = _Relay(self)
        self._relay.loaded.connect(self._loaded, Qt.ConnectionType.QueuedConnection)
        self.last_shown: PdfShown | TextShown | None = None
        # Where the window finds a scan's lines stored at indexing (Core.scan_pages): never OCR here.
        self.scan_pages: ScanLookup | None = None
        self._build()

    # --- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        self.source_list = QListWidget()
        self.source_list.setAccessibleName("Sources of the answer")
        self.source_list.currentRowChanged.connect(self._row_changed)
        self.pdf_pane = PdfPane()
        self.pdf_pane.view.setAccessibleName("Source document pages")
        self.pdf_pane.view.setAccessibleDescription("The cited passage is highlighted.")
        self.text_pane = TextPane()
        self.text_pane.setAccessibleName("Source document text")
        self.text_pane.setAccessibleDescription("The cited passage is selected.")
        self.empty = QLabel(messages.NO_SOURCES)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        for w in (self.empty, self.pdf_pane, self.text_pane):
            self.stack.addWidget(w)

        self.prev_button = self._tool("◀", f"Previous passage ({PREVIOUS_KEY})", self.previous_passage)
        self.next_button = self._tool("▶", f"Next passage ({NEXT_KEY})", self.next_passage)
        self.page_field = QSpinBox()
        self.page_field.setMinimum(1)
        self.page_field.setKeyboardTracking(False)
        self.page_field.setToolTip("Page")
        self.page_field.setAccessibleName("Page number")
        self.page_field.valueChanged.connect(self._page_entered)
        self.page_total = QLabel()
        self.page_label = QLabel("Page")
        zoom_out = self._tool("−", "Zoom out", lambda: self._current_pane_zoom(-1))
        zoom_fit = self._tool("Fit", "Fit width", lambda: self._current_pane_zoom(0))
        zoom_in = self._tool("+", "Zoom in", lambda: self._current_pane_zoom(1))
        self.copy_button = self._tool("Copy", "Copy the selected text", self.copy_selection)
        self.system_button = self._tool(messages.OPEN_SYSTEM, messages.OPEN_SYSTEM, self.open_in_system_app)
        bar = QHBoxLayout()
        for tool in (self.prev_button, self.next_button, self.page_label, self.page_field, self.page_total,
                     zoom_out, zoom_fit, zoom_in, self.copy_button):
            bar.addWidget(tool)
        bar.addStretch(1)
        bar.addWidget(self.system_button)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { background: #fff4ce; color: #5c4400; padding: 6px; }")
        self.reindex_button = QPushButton(messages.REINDEX)
        self.reindex_button.clicked.connect(self._reindex_clicked)
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.reindex_button)
        self.banner_box = QWidget()
        self.banner_box.setLayout(banner_row)
        self.banner_box.hide()

        self.find_field = QLineEdit()
        self.find_field.setPlaceholderText("Find in document (Enter: next, Shift+Enter: previous)")
        self.find_field.setAccessibleName("Find in document")
        self.find_field.returnPressed.connect(lambda: self.find(self.find_field.text()))
        self.find_status = QLabel()
        find_row = QHBoxLayout()
        find_row.addWidget(self.find_field, 1)
        find_row.addWidget(self.find_status)
        self.find_box = QWidget()
        self.find_box.setLayout(find_row)
        self.find_box.hide()

        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(bar)
        col.addWidget(self.banner_box)
        col.addWidget(self.find_box)
        col.addWidget(self.stack, 1)
        splitter = QSplitter()
        splitter.addWidget(self.source_list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([220, 800])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(splitter)

        # Scoped to the viewer: inside the main window, Ctrl+F, Esc and Shift+Enter elsewhere
        # (the chat input) keep their own meaning.
        for keys, widget, slot in (
                (QKeySequence(QKeySequence.StandardKey.Find), self, self._open_find),
                (QKeySequence(Qt.Key.Key_Escape), self.find_box, self.find_box.hide),
                (QKeySequence("Shift+Return"), self.find_field,
                 lambda: self.find(self.find_field.text(), backward=True)),
                (QKeySequence(QKeySequence.StandardKey.Copy), self.pdf_pane, self.copy_selection),
                (QKeySequence(PREVIOUS_KEY), self, self.previous_passage),
                (QKeySequence(NEXT_KEY), self, self.next_passage)):
            shortcut = QShortcut(keys, widget, slot)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.pdf_pane.view.verticalScrollBar().valueChanged.connect(self._pdf_scrolled)
        self._update_controls()

    @staticmethod
    def _tool(text: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setAccessibleName(tip.split(" (")[0])  # "◀" or "+" is no name for a screen reader
        b.clicked.connect(slot)
        return b

    # --- the window's interface ---------------------------------------------------------
    def show_sources(self, sources: list[ViewerSource], index: int = 0,
                     numbers: list[int] | None = None) -> None:
        """`numbers`: the sources' [n] in the chat (default 1, 2, ...)."""
        self._sources = list(sources)
        numbers = list(numbers) if numbers and len(numbers) == len(self._sources) \
            else list(range(1, len(self._sources) + 1))
        self.source_list.blockSignals(True)
        self.source_list.clear()
        for n, s in zip(numbers, self._sources, strict=True):
            self.source_list.addItem(s.label(n))
        self.source_list.blockSignals(False)
        if not self._sources:
            self._index = -1
            self._request += 1  # a load still running for the previous sources is dropped
            self.empty.setText(messages.NO_SOURCES)
            self.stack.setCurrentWidget(self.empty)
            self.banner_box.hide()
            self._update_controls()
            return
        self.show_index(index)

    def show_index(self, index: int) -> None:
        if not 0 <= index < len(self._sources):
            return
        self._index = index
        self.source_list.blockSignals(True)
        self.source_list.setCurrentRow(index)
        self.source_list.blockSignals(False)
        self._request += 1
        source = self._sources[index]
        request = _Request(self._request, source, QThread.currentThread(),
                           source.is_pdf and self.pdf_pane.path == source.path, self.parser, self.scan_pages)
        threading.Thread(target=_load, args=(request, self._relay), daemon=True, name="viewer-load").start()
        self._update_controls()

    def next_passage(self) -> None:
        self.show_index(self._index + 1)

    def previous_passage(self) -> None:
        self.show_index(self._index - 1)

    def current_source(self) -> ViewerSource | None:
        return self._sources[self._index] if 0 <= self._index < len(self._sources) else None

    def current_index(self) -> int:
        return self._index

    # --- results -------------------------------------------------------------------------
    def _loaded(self, loaded: _Loaded) -> None:
        if loaded.request != self._request:  # the user moved on to another source meanwhile
            if loaded.pdf is not None and loaded.pdf.document is not None:
                loaded.pdf.document.deleteLater()
            return
        source, state = loaded.source, loaded.state
        self._set_banner(state)
        if state == SourceState.MISSING:
            self.stack.setCurrentWidget(self.empty)
            self.empty.setText(messages.STATE_MESSAGES[state])
            shown: PdfShown | TextShown = TextShown(source, state, None, messages.STATE_MESSAGES[state])
        elif source.is_pdf:
            self.stack.setCurrentWidget(self.pdf_pane)
            shown = self.pdf_pane.open(source, state, loaded.pdf or PreparedPdf(None))
        else:
            self.stack.setCurrentWidget(self.text_pane)
            shown = self.text_pane.open(source, state, loaded.text, loaded.error)
        if shown.note and state not in (SourceState.CHANGED, SourceState.MISSING):
            self.banner.setText(shown.note)
            self.reindex_button.hide()
            self.banner_box.show()
        self.last_shown = shown
        self._update_controls()
        self.passage_shown.emit(shown)

    def _set_banner(self, state: SourceState) -> None:
        text = messages.STATE_MESSAGES.get(state)
        self.banner_box.setVisible(bool(text))
        self.reindex_button.setVisible(bool(text))
        self.banner.setText(text or "")

    def _reindex_clicked(self) -> None:
        source = self.current_source()
        if source is not None:
            self.reindex_requested.emit(source.path)

    # --- controls -----------------------------------------------------------------------------
    def _update_controls(self) -> None:
        n = len(self._sources)
        self.prev_button.setEnabled(self._index > 0)
        self.next_button.setEnabled(0 <= self._index < n - 1)
        on_pdf = self.stack.currentWidget() is self.pdf_pane
        pages = self.pdf_pane.page_count() if on_pdf else 0
        for w in (self.page_label, self.page_field, self.page_total):
            w.setVisible(on_pdf)
        self.page_field.setEnabled(pages > 0)
        self.page_field.blockSignals(True)
        self.page_field.setMaximum(max(1, pages))
        if pages:
            self.page_field.setValue(self.pdf_pane.current_page() + 1)
        self.page_field.blockSignals(False)
        self.page_total.setText(f"of {pages}" if pages else "")
        self.system_button.setEnabled(self.current_source() is not None)

    def _page_entered(self, value: int) -> None:
        if self.stack.currentWidget() is self.pdf_pane:
            self.pdf_pane.go_to_page(value - 1)

    def _pdf_scrolled(self, _value: int) -> None:
        if self.stack.currentWidget() is self.pdf_pane and self.pdf_pane.page_count():
            self.page_field.blockSignals(True)
            self.page_field.setValue(self.pdf_pane.current_page() + 1)
            self.page_field.blockSignals(False)

    def _current_pane_zoom(self, steps: int) -> None:
        pane = self.stack.currentWidget()
        if pane in (self.pdf_pane, self.text_pane):
            pane.zoom(steps)

    def _row_changed(self, row: int) -> None:
        if row != self._index:
            self.show_index(row)

    def _open_find(self) -> None:
        self.find_box.show()
        self.find_field.setFocus()
        self.find_field.selectAll()

    def find(self, text: str, backward: bool = False) -> bool:  # type: ignore[override]  # find-in-page, not QWidget.find(id)
        """Ctrl+F: step to the next match of `text` in the open document."""
        pane = self.stack.currentWidget()
        if not text or pane not in (self.pdf_pane, self.text_pane):
            return False
        found = pane.find(text, backward)
        # A PDF's matches arrive asynchronously: the first one is shown when it does.
        self.find_status.setText("" if found or pane is self.pdf_pane else messages.FIND_NONE.format(text=text))
        return found

    def selected_text(self) -> str:
        pane = self.stack.currentWidget()
        return pane.selected_text() if pane in (self.pdf_pane, self.text_pane) else ""

    def copy_selection(self) -> None:
        pane = self.stack.currentWidget()
        if pane is self.pdf_pane:
            self.pdf_pane.copy()
        elif pane is self.text_pane:
            self.text_pane.copy()

    def open_in_system_app(self) -> None:
        source = self.current_source()
        if source is not None and Path(source.path).exists():
            QDesktopServices.openUrl(QUrl.fromLocalFile(source.path))
