"""What a screen reader hears: names for Qt's own nameless parts, and answers announced once.

Qt hands both to the platform's bridge: AT-SPI on Linux (Orca), UI Automation on Windows
(NVDA, Narrator, JAWS), NSAccessibility on macOS (VoiceOver). An announcement is
QAccessibleAnnouncementEvent (Qt 6.8+): AT-SPI sends it as an "announcement" signal,
UI Automation as a notification event, NSAccessibility as an announcement request.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QMenuBar,
    QTableView,
    QToolButton,
    QWidget,
)

from app.engine.answer_marks import COMPUTED, INFERRED_MARKER, UNVERIFIED
from app.engine.citations import MARKER
from app.engine.prompt import NumberedSource
from ingest.passage import Passage


def name_qt_parts(root: QWidget) -> None:
    """Name the parts Qt adds without a name: a line edit's clear button, a table's corner
    button, an item view's headers, the menu bar's overflow button, a combo box's pop-up list."""
    for edit in root.findChildren(QLineEdit):
        for b in edit.findChildren(QToolButton):
            if not b.accessibleName():
                label = edit.accessibleName()
                b.setAccessibleName(f"Clear {label[:1].lower()}{label[1:]}" if label else "Clear the text")
    for table in root.findChildren(QTableView):
        for b in table.findChildren(QAbstractButton, "qt_tableview_cornerbutton"):  # type: ignore[assignment]  # the corner button is a QAbstractButton
            b.setAccessibleName("Select all rows")
    for bar in root.findChildren(QMenuBar):
        for b in bar.findChildren(QToolButton, "qt_menubar_ext_button"):
            b.setAccessibleName("More menus")
    for header in root.findChildren(QHeaderView):
        if not header.accessibleName():
            owner = header.parentWidget().accessibleName() if header.parentWidget() else ""  # type: ignore[union-attr]  # checked in the same expression
            side = "columns" if header.orientation() == Qt.Orientation.Horizontal else "rows"
            header.setAccessibleName(f"{owner} {side}".strip().capitalize())
    for combo in root.findChildren(QComboBox):
        if not combo.view().accessibleName():
            combo.view().setAccessibleName(f"Choices: {combo.accessibleName() or 'options'}")


# --- the answer in words ---------------------------------------------------------------------
def source_words(number: int, p: Passage) -> str:
    """"source 2, apple-10q.pdf, page 4" (pages 4 to 5 for a passage on two)."""
    where = ""
    if p.page_start is not None:
        where = (f", pages {p.page_start} to {p.page_end}" if p.page_end and p.page_end != p.page_start
                 else f", page {p.page_start}")
    return f"source {number}, {p.name}{where}"


_MARKUP = re.compile(r"\*\*|__|`|^\s{0,3}#{1,6}\s+|^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)


def _spoken_markers(text: str) -> str:
    """"grew 8% [1, 3]." -> "grew 8% (source 1, source 3)."; Docent's "[~2]" likewise."""
    def words(m: re.Match[str]) -> str:
        numbers = [n.strip().lstrip("~") for n in m.group(1).split(",")]
        return "(" + ", ".join(f"source {n}" for n in numbers if n) + ")"

    text = _MARKUP.sub("", text)  # "**", "# ", "- ": read aloud as "star star", "number sign"
    spoken = INFERRED_MARKER.sub(words, MARKER.sub(words, text))
    return spoken.replace(UNVERIFIED, "(unverified)").replace(COMPUTED + " ", "(computed by Docent) ")


def answer_announcement(answer: str, cited: Sequence[NumberedSource], notes: Sequence[str] = (),
                        stopped: bool = False, error: str = "") -> str:
    """What a screen reader says when an answer is done: the answer with its markers as
    words, then each cited source (number, file, page), the checks' notes, or the error.
    `cited`: the sources pane's cited items."""
    parts: list[str] = []
    if error:
        parts.append(f"The answer failed: {error}")
    lines = [" ".join(line.split()) for line in _spoken_markers(answer).splitlines()]
    # a heading or list item ends where its line does: a pause, not a run-on sentence
    body = " ".join(line if line.endswith((".", "!", "?", ":", ";")) else line + "."
                    for line in lines if line)
    if body:
        parts.append(("Answer, stopped early: " if stopped else "Answer: ") + body)
    elif stopped and not error:
        parts.append("Answer stopped.")
    if cited:
        said = "; ".join(source_words(i.number, i.passage) for i in cited)
        parts.append(f"Cited: {said}.")
    parts.extend(" ".join(_spoken_markers(n).split()) for n in notes if n.strip())
    return " ".join(p if p.endswith((".", "!", "?", ":")) else p + "." for p in parts)


class Announcer(QObject):
    """Sends one announcement to the platform's screen reader bridge. `send` is Qt's
    QAccessible.updateAccessibility; a test may wrap it to see what was sent."""

    def __init__(self, parent: QObject | None = None,
                 send: Callable[[Any], None] = QAccessible.updateAccessibility) -> None:
        super().__init__(parent)
        self.send = send

    def announce(self, widget: QWidget, text: str, assertive: bool = False) -> None:
        if not text:
            return
        event = QAccessibleAnnouncementEvent(widget, text)
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive if assertive
                            else QAccessible.AnnouncementPoliteness.Polite)
        self.send(event)
