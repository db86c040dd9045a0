"""Text, Markdown, HTML and DOCX sources: the loader's text (parsed in the parser worker,
app/ui/viewer/parsing.py), read-only, passage selected."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPalette, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from app.ui.viewer import messages
from app.ui.viewer.align import align, tokens
from app.ui.viewer.parsing import BLOCK_SEPARATOR
from app.ui.viewer.pdf_pane import utf16_offsets
from app.ui.viewer.scan_highlight import ScanLookup
from app.ui.viewer.source import SourceState, ViewerSource

_HIGHLIGHT = QColor(255, 226, 80)


class ScanNotStored(LookupError):
    """An image file whose lines read by OCR are not in the index."""


def is_image(path: str) -> bool:
    from ingest.loaders.ocr import IMAGE_SUFFIXES

    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def scan_text(source: ViewerSource, scan_pages: ScanLookup | None) -> str:
    """An image file's text: the lines OCR read from it at indexing, page after page (the
    window never reads an image by OCR itself)."""
    stored = scan_pages(source.path, source.indexed_sha256, None) if scan_pages is not None else {}
    if not stored:
        raise ScanNotStored(messages.SCAN_NOT_STORED)
    return BLOCK_SEPARATOR.join(stored[page].text() for page in sorted(stored))


def locate(text: str, source: ViewerSource) -> tuple[int, int] | None:
    """(start, end) of the passage in `text`: the recorded span when it still holds the
    passage's words, else where the words align."""
    words = [t.norm for t in tokens(source.body)]
    if not words:
        return None
    if source.spans:
        start, end = source.spans[0].start, source.spans[-1].end
        if 0 <= start < end <= len(text):
            # The span may leave out an overlap the chunk repeats from its predecessor.
            held = " ".join(t.norm for t in tokens(text[start:end]))
            if held and held in " ".join(words) and len(held) * 2 >= len(" ".join(words)):
                return start, end
    result = align(source.body, [(0, text)])
    if not result.ranges:
        return None
    first, last = result.ranges[0], result.ranges[-1]
    return first.start, last.start + last.length


@dataclass(frozen=True)
class TextShown:
    source: ViewerSource
    state: SourceState
    selection: tuple[int, int] | None  # code point offsets of the passage in the shown text
    note: str = ""


class TextPane(QPlainTextEdit):
    shown = Signal(object)  # TextShown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        # The selected passage reads as the PDF viewer's marker, focused or not.
        palette = self.palette()
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, QPalette.ColorRole.Highlight, _HIGHLIGHT)
            palette.setColor(group, QPalette.ColorRole.HighlightedText, QColor(0, 0, 0))
        self.setPalette(palette)
        self._path = ""
        self._text = ""

    def open(self, source: ViewerSource, state: SourceState, text: str | None, error: str = "") -> TextShown:
        if text is None:
            self._path, self._text = "", ""
            self.setPlainText("")
            shown = TextShown(source, state, None, error)
            self.shown.emit(shown)
            return shown
        if source.path != self._path or text != self._text:
            self._path, self._text = source.path, text
            self.setPlainText(text)
        span = locate(text, source) if state in (SourceState.CURRENT, SourceState.UNVERIFIED) else None
        self.setExtraSelections([])
        if span is None:
            self.moveCursor(QTextCursor.MoveOperation.Start)
            note = messages.NOT_FOUND if state in (SourceState.CURRENT, SourceState.UNVERIFIED) else ""
        else:
            self._select(*span)
            note = ""
        shown = TextShown(source, state, span, note)
        self.shown.emit(shown)
        return shown

    def _select(self, start: int, end: int) -> None:
        start, length = utf16_offsets(self._text, start, end - start)
        cursor = QTextCursor(self.document())
        # The end first, then the start: centring on the cursor shows the passage's beginning.
        cursor.setPosition(start + length)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        cursor.setPosition(start, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
        self.centerCursor()
        marker = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(_HIGHLIGHT)
        marker.format = fmt
        marker.cursor = QTextCursor(cursor)
        self.setExtraSelections([marker])

    def selected_text(self) -> str:
        # QTextCursor uses U+2029 between paragraphs.
        return self.textCursor().selectedText().replace("\u2029", "\n")

    def find(self, text: str, backward: bool = False) -> bool:  # type: ignore[override]  # find-in-page with a direction, not Qt's find(text, flags)
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if super().find(text, flags):
            return True
        cursor = self.textCursor()  # wrap around once
        cursor.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
        self.setTextCursor(cursor)
        return super().find(text, flags)

    def zoom(self, steps: int) -> None:
        if steps == 0:
            self.setFont(self.parentWidget().font() if self.parentWidget() else self.font())  # type: ignore[union-attr]  # checked in the same expression
        elif steps > 0:
            self.zoomIn(steps)
        else:
            self.zoomOut(-steps)
