"""A QPdfView that paints highlights and scrolls to a rectangle on a page.

QPdfView exposes no page geometry and ignores jump()'s location, and its own
search-result painting scales by zoomFactor, which stays 1 in fit-to-width
mode. So this view mirrors QPdfViewPrivate::calculateDocumentLayout (Qt 6.12:
screen DPI / 72, margins, page spacing, pages centred) to map page points to
the viewport; a test checks the mirror against the scroll bar's range.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter
from PySide6.QtPdf import QPdfDocument, QPdfSelection
from PySide6.QtPdfWidgets import QPdfView

_HIGHLIGHT = QColor(255, 214, 10)  # marker yellow, multiplied so the text stays black
_FOUND = QColor(230, 110, 0)
_SELECTION = QColor(60, 120, 220, 90)
# Where the passage's first line goes, as a share of the viewport's height from its top: a
# short passage (a table row) lower, so the table's header shows; a long one higher.
_SHORT_AT = 0.3
_LONG_AT = 0.08


def _qround(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


@dataclass(frozen=True)
class PagePoint:
    page: int  # 0-based
    point: QPointF  # in PDF points from the page's top-left


class PassagePdfView(QPdfView):
    """Multi-page, fit-to-width by default; highlights and find results in page points."""

    selection_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setPageMode(QPdfView.PageMode.MultiPage)
        self.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        screen = QGuiApplication.primaryScreen()
        self.screen_res = (screen.logicalDotsPerInch() if screen else 72.0) / 72.0
        self._highlights: dict[int, list[QRectF]] = {}
        self._found: tuple[int, list[QRectF]] | None = None
        self._anchor: tuple[int, QRectF | None] | None = None
        self._layout_key: tuple | None = None
        self._layout: list[QRect] = []
        self._press: PagePoint | None = None
        self._selection: tuple[int, QPdfSelection] | None = None
        # Any scrolling the user does ends "keep the passage in view" on resizes.
        self.verticalScrollBar().actionTriggered.connect(self._release_anchor)

    # --- geometry --------------------------------------------------------------
    def page_geometries(self) -> list[QRect]:
        """Each page's rectangle in content (scrolled) pixels, as QPdfView lays them out."""
        doc = self.document()
        if doc is None or doc.status() != QPdfDocument.Status.Ready:
            return []
        key = (id(doc), doc.pageCount(), self.viewport().width(), self.viewport().height(),
               self.zoomMode(), self.zoomFactor(), self.pageSpacing(), self.documentMargins())
        if key != self._layout_key:
            self._layout = self._calculate_layout(doc)
            self._layout_key = key
        return self._layout

    def _calculate_layout(self, doc: QPdfDocument) -> list[QRect]:
        margins, spacing, res = self.documentMargins(), self.pageSpacing(), self.screen_res
        vw, vh = self.viewport().width(), self.viewport().height()
        sizes = []
        for page in range(doc.pageCount()):
            pts = doc.pagePointSize(page)
            w, h = _qround(pts.width() * res), _qround(pts.height() * res)
            if self.zoomMode() == QPdfView.ZoomMode.Custom:
                z = self.zoomFactor()
                w, h = _qround(pts.width() * res * z), _qround(pts.height() * res * z)
            elif self.zoomMode() == QPdfView.ZoomMode.FitToWidth and w > 0:
                factor = (vw - margins.left() - margins.right()) / w
                w, h = _qround(w * factor), _qround(h * factor)
            elif self.zoomMode() == QPdfView.ZoomMode.FitInView and w > 0 and h > 0:
                avail_w, avail_h = vw - margins.left() - margins.right(), vh - spacing
                scale = min(avail_w / w, avail_h / h)
                w, h = _qround(w * scale), _qround(h * scale)
            sizes.append((w, h))
        total_width = max((w for w, _ in sizes), default=0) + margins.left() + margins.right()
        rects, y = [], margins.top()
        for w, h in sizes:
            x = (max(total_width, vw) - w) // 2
            rects.append(QRect(x, y, w, h))
            y += h + spacing
        return rects

    def page_scale(self, page: int) -> tuple[float, float]:
        """Pixels per PDF point on `page`, horizontally and vertically."""
        doc, geoms = self.document(), self.page_geometries()
        if doc is None or not 0 <= page < len(geoms):
            return 1.0, 1.0
        pts = doc.pagePointSize(page)
        return geoms[page].width() / max(pts.width(), 1e-6), geoms[page].height() / max(pts.height(), 1e-6)

    def map_to_viewport(self, page: int, rect: QRectF) -> QRectF:
        geoms = self.page_geometries()
        if not 0 <= page < len(geoms):
            return QRectF()
        sx, sy = self.page_scale(page)
        g = geoms[page]
        return QRectF(g.x() + rect.x() * sx - self.horizontalScrollBar().value(),
                      g.y() + rect.y() * sy - self.verticalScrollBar().value(),
                      rect.width() * sx, rect.height() * sy)

    def page_at(self, pos: QPointF) -> PagePoint | None:
        """The page point under a viewport position (None between pages)."""
        x = pos.x() + self.horizontalScrollBar().value()
        y = pos.y() + self.verticalScrollBar().value()
        for page, g in enumerate(self.page_geometries()):
            if g.top() <= y <= g.bottom() + 1 and g.left() <= x <= g.right() + 1:
                sx, sy = self.page_scale(page)
                return PagePoint(page, QPointF((x - g.x()) / sx, (y - g.y()) / sy))
        return None

    def visible_page(self) -> int:
        """The page at 40 % of the viewport's height, as QPdfView's navigator counts it."""
        line = self.verticalScrollBar().value() + self.viewport().height() * 0.4
        for page, g in enumerate(self.page_geometries()):
            if g.top() <= line <= g.bottom() + self.pageSpacing():
                return page
        return 0

    # --- scrolling ---------------------------------------------------------------
    def scroll_to(self, page: int, rect: QRectF | None = None) -> None:
        """Show `rect` (page points) on `page`, or the page's top; kept there across resizes
        until the user scrolls."""
        self._anchor = (page, rect)
        self._apply_anchor()

    def _apply_anchor(self) -> None:
        if self._anchor is None:
            return
        page, rect = self._anchor
        geoms = self.page_geometries()
        if not 0 <= page < len(geoms):
            return
        g = geoms[page]
        bar = self.verticalScrollBar()
        if rect is None:
            bar.setValue(max(0, g.y() - self.documentMargins().top()))
            return
        sx, sy = self.page_scale(page)
        top, height = g.y() + rect.y() * sy, rect.height() * sy
        view_h = self.viewport().height()
        if height < view_h * 0.3:
            y = top - view_h * _SHORT_AT
        elif height < view_h * (1 - _LONG_AT):
            y = top - view_h * _LONG_AT
        else:
            y = top - 8
        bar.setValue(max(bar.minimum(), min(bar.maximum(), _qround(y))))
        hbar = self.horizontalScrollBar()
        if hbar.maximum() > 0:
            centre = g.x() + (rect.x() + rect.width() / 2) * sx
            hbar.setValue(max(0, min(hbar.maximum(), _qround(centre - self.viewport().width() / 2))))

    def _release_anchor(self, *_args) -> None:
        self._anchor = None

    # --- what is painted -------------------------------------------------------------
    def set_highlights(self, rects_by_page: dict[int, list[QRectF]]) -> None:
        self._highlights = {p: list(r) for p, r in rects_by_page.items() if r}
        self.viewport().update()

    def highlights(self) -> dict[int, list[QRectF]]:
        return {p: list(r) for p, r in self._highlights.items()}

    def set_found(self, page: int | None, rects: list[QRectF] | None = None) -> None:
        self._found = (page, list(rects or [])) if page is not None else None
        self.viewport().update()

    def found(self) -> tuple[int, list[QRectF]] | None:
        """The find result shown now: (0-based page, its rectangles in page points)."""
        return (self._found[0], list(self._found[1])) if self._found else None

    def selected_text(self) -> str:
        return self._selection[1].text() if self._selection else ""

    def clear_selection(self) -> None:
        self._selection = None
        self.viewport().update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not (self._highlights or self._found or self._selection):
            return
        painter = QPainter(self.viewport())
        visible = QRectF(self.viewport().rect())
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
        for page, rects in self._highlights.items():
            for rect in rects:
                r = self.map_to_viewport(page, rect)
                if r.intersects(visible):
                    painter.fillRect(r, _HIGHLIGHT)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if self._found:
            painter.setPen(_FOUND)
            for rect in self._found[1]:
                painter.drawRect(self.map_to_viewport(self._found[0], rect).adjusted(-1, -1, 1, 1))
        if self._selection:
            page, sel = self._selection
            for poly in sel.bounds():
                painter.fillRect(self.map_to_viewport(page, poly.boundingRect()), _SELECTION)
        painter.end()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._apply_anchor()

    def wheelEvent(self, event) -> None:
        self._anchor = None
        super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:
        self._anchor = None
        super().keyPressEvent(event)

    # --- text selection with the mouse (QPdfView has none) ---------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = self.page_at(event.position())
            self.clear_selection()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        if self._press is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return
        here = self.page_at(event.position())
        doc = self.document()
        if here is None or here.page != self._press.page or doc is None:
            return
        sel = doc.getSelection(here.page, self._press.point, here.point)
        self._selection = (here.page, sel) if sel.isValid() and sel.text() else None
        self.viewport().update()

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self._press is not None:
            self._press = None
            self.selection_changed.emit()
