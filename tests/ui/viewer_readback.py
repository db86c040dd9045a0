"""Reading a highlight back through QtPdf: which words are inside the painted rectangles.
Shared by the viewer's accuracy test and bench_viewer."""
from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QPointF

from app.ui.viewer.align import tokens


def read_back(doc, highlights) -> list[str]:
    """The words QtPdf finds inside the highlighted rectangles (one per line): the selection
    from a line's left edge to its right edge at mid-height. QtPdf snaps a point to the
    nearest character within 16 pt, so for a tiny box (a superscript) the selection can run
    far outside it; then only the selected words whose own box lies inside count."""
    words: list[str] = []
    texts: dict[int, str] = {}
    for page, rects in highlights.items():
        for r in rects:
            y = r.center().y()
            sel = doc.getSelection(page, QPointF(r.left() + 1.5, y), QPointF(r.right() - 1.5, y))
            if not sel.isValid() or not sel.text():
                continue
            outer = r.adjusted(-2, -2, 2, 2)
            if outer.contains(sel.boundingRectangle()):
                words.extend(t.norm for t in tokens(sel.text()))
                continue
            text = texts.setdefault(page, doc.getAllText(page).text())
            lo, hi = sel.startIndex(), sel.endIndex()
            for t in tokens(text[lo:hi + 1]):
                box = doc.getSelectionAtIndex(page, lo + t.start, t.end - t.start).boundingRectangle()
                if outer.contains(box.center()):
                    words.append(t.norm)
    return words


def accuracy(passage: str, lit: list[str]) -> tuple[int, int, int]:
    """(passage words lit, lit words not in the passage, passage words), as multisets."""
    want, got = Counter(t.norm for t in tokens(passage)), Counter(lit)
    common = sum((want & got).values())
    return common, sum(got.values()) - common, sum(want.values())


def open_source(qtbot, viewer, sources, index=0):  # type: ignore[no-untyped-def]
    """Show `sources` at `index` and wait until the passage is on screen; its shown state."""
    with qtbot.waitSignal(viewer.passage_shown, timeout=30_000) as blocker:
        viewer.show_sources(sources, index)
    return blocker.args[0]
