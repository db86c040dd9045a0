"""The window's source viewer and keyboard actions: open an answer's sources in the viewer tab
(a click, Enter on a marker, Ctrl+2), back to the chat (Ctrl+1) where the focus was, and
Help > Keyboard shortcuts. MainWindow (app/ui/main_window.py) owns one and hands it the core
and the widgets it acts on; what it remembers (the sources the viewer was given, where the
focus was in the chat tab) is its own."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow, QTabWidget, QWidget

    from app.ui.accessibility import Announcer
    from app.ui.chat_view import ChatView
    from app.ui.sources_pane import SourcesPane
    from app.ui.viewer.viewer import SourceViewer

from app.engine.compute_inputs import input_focus
from app.engine.prompt import NumberedSource
from app.ui.accessibility import source_words
from app.ui.keyboard import IN_PLACE, ShortcutsDialog, menu_shortcuts
from app.ui.markdown import CellTarget
from app.ui.viewer.source import ViewerSource
from ingest.passage import Passage


class ViewerActions(QObject):
    """`chat_tab`: the tab page that holds the chat; `window`: whose menus the shortcuts
    dialog lists, and its parent."""

    def __init__(self, core: Any, sources: SourcesPane, viewer: SourceViewer, tabs: QTabWidget, chat_tab: QWidget,
                 chat_view: ChatView, announcer: Announcer, window: QMainWindow) -> None:
        super().__init__(window)  # a child of the window: its slots go when the window goes
        self.core = core
        self.sources = sources
        self.viewer = viewer
        self.tabs = tabs
        self.chat_tab = chat_tab
        self.chat_view = chat_view
        self.announcer = announcer
        self._window = window
        self._viewer_shows: list[tuple[int, str]] = []  # the sources the viewer was given
        self._chat_focus: Any = None  # where the focus was in the chat tab, for Ctrl+1
        self.shortcuts_dialog: ShortcutsDialog | None = None

    def open_source(self, item: NumberedSource, passage: Passage | None = None) -> None:
        """Show the answer's sources in the viewer tab, open at `item`'s passage (or at
        `passage`, a part of it: a computed input's cell)."""
        items = self.sources.items or [item]
        shas: dict[str, str] = {}
        for i in items:
            if i.passage.path not in shas:
                rec = self.core.file_record(i.passage.path)
                shas[i.passage.path] = getattr(rec, "sha256", "") or ""
        sources = [ViewerSource(passage if passage is not None and i.number == item.number else i.passage,
                                shas[i.passage.path]) for i in items]
        index = next((n for n, i in enumerate(items) if i.number == item.number), 0)
        self._viewer_shows = [(i.number, i.passage.path) for i in items]
        self.viewer.show_sources(sources, index, numbers=[i.number for i in items])
        self.tabs.setCurrentWidget(self.viewer)

    def open_cell(self, cell: CellTarget) -> None:
        """A computed input's marker: its source, opened with only the input's row label and
        cell lit (in prose, its sentence)."""
        item = self.sources.item(cell.number)
        if item is not None:
            self.open_source(item, input_focus(item.passage, cell.label, cell.figure))

    def announce_passage(self, shown: Any) -> None:
        """Say which source opened and where its passage is; the page view, an image to a
        screen reader, describes itself with the passage's text."""
        s = shown.source
        index = self.viewer.current_index()
        number = self._viewer_shows[index][0] if 0 <= index < len(self._viewer_shows) else index + 1
        what = source_words(number, s.passage)
        found = bool(getattr(shown, "highlights", None) or getattr(shown, "selection", None))
        said = f"Opened {what}" + (f": {shown.note}" if shown.note else
                                    ", passage highlighted." if found else ".")
        self.announcer.announce(self.viewer, said)
        self.viewer.pdf_pane.view.setAccessibleDescription(f"Cited passage: {s.body[:600]}")

    def show_viewer(self) -> None:
        """Ctrl+2: the viewer, with the current answer's sources (never an empty viewer while
        the answer has sources)."""
        self.tabs.setCurrentWidget(self.viewer)

    def tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.viewer:
            items = self.sources.items
            if items and [(i.number, i.passage.path) for i in items] != self._viewer_shows:
                self.open_source(next((i for i in items if i.cited), items[0]))
            self.viewer.source_list.setFocus()
        elif self.tabs.widget(index) is self.chat_tab:
            back = self._chat_focus
            (back if back is not None and back.isVisible() else self.chat_view.input).setFocus()

    def focus_changed(self, old: Any, new: Any) -> None:
        if new is not None and self.chat_tab.isAncestorOf(new):
            self._chat_focus = new

    def show_shortcuts(self) -> None:
        rows = menu_shortcuts(self._window.menuBar()) + list(IN_PLACE)
        dialog = ShortcutsDialog(rows, self._window)
        self.shortcuts_dialog = dialog
        dialog.exec()
