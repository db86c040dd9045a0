"""The window with the keyboard alone: Help › Keyboard shortcuts, and the Tab order."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.accessibility import name_qt_parts
from app.ui.viewer.viewer import NEXT_KEY, PREVIOUS_KEY

# Keys that work in one place rather than through a menu (the menus' own come from their actions).
IN_PLACE: tuple[tuple[str, str], ...] = (
    ("Ctrl+Enter", "In the question box: send the question"),
    ("Tab, Shift+Tab", "Move to the next or previous control; in the answer, to the next or "
                       "previous [n] marker"),
    ("Enter", "On a focused [n] marker in the answer or a source's title: open that source "
              "in the viewer at its passage"),
    ("Ctrl+Tab", "Switch between the Chat and Source tabs"),
    ("F2", "In the chat list: rename the chat"),
    ("Delete", "In the chat list: delete the chat (asks first)"),
    ("Up, Down", "In the viewer's source list: the answer's other sources"),
    (f"{PREVIOUS_KEY}, {NEXT_KEY}", "In the viewer: the answer's previous or next source"),
    ("Ctrl+F", "In the viewer: find in the document (Enter: next, Shift+Enter: previous)"),
    ("Esc", "Stop the answer; in the viewer's find box, close it; in a dialog, cancel"),
)


def _plain(text: str) -> str:
    return text.replace("&", "").replace("…", "").strip()


def menu_shortcuts(bar: QMenuBar) -> list[tuple[str, str]]:
    """(keys, "Menu › Action") for every menu action that has a shortcut."""
    rows: list[tuple[str, str]] = []
    for top in bar.actions():
        menu = top.menu()
        if not isinstance(menu, QMenu):  # None: an action without a menu
            continue
        for a in menu.actions():
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts())
            if keys:
                rows.append((keys, f"{_plain(top.text())} › {_plain(a.text())}"))
    return rows


class ShortcutsDialog(QDialog):
    """Every shortcut, in a table a screen reader reads row by row."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 520)
        intro = QLabel("Everything in Docent works from the keyboard. The menus (Alt) hold every "
                       "action; these keys are the quick way.")
        intro.setWordWrap(True)
        self.table = QTableWidget(len(rows), 2)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.horizontalHeader().setAccessibleName("Columns: keys, action")
        self.table.setVerticalHeaderLabels([keys for keys, _ in rows])  # each row's name: its keys
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table: no keyboard trap
        self.table.setWordWrap(True)
        for r, (keys, what) in enumerate(rows):
            for c, text in enumerate((keys, what)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{keys}: {what}" if c == 0 else what)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.resizeRowsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        name_qt_parts(self)

    def text(self) -> str:
        return "\n".join(f"{self.table.item(r, 0).text()}\t{self.table.item(r, 1).text()}"  # type: ignore[union-attr]  # rows filled by __init__ (two items each)
                         for r in range(self.table.rowCount()))


def chain_tab_order(widgets: list[QWidget]) -> None:
    """Tab visits these in order (each after the one before)."""
    for a, b in zip(widgets, widgets[1:], strict=False):
        QWidget.setTabOrder(a, b)
