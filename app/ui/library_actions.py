"""The window's library actions: watch a folder, add files, stop watching a folder, and what
a drop on the window adds (asking, for each dropped folder, whether to watch it or index it
once). MainWindow (app/ui/main_window.py) owns one and hands it the core, itself as the parent
of the dialogs, and how to tell the user something."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, QUrl
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QMessageBox

from app.ui import texts
from app.ui.drop import DropChoice, DropPlan, classify

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget


class LibraryActions(QObject):
    """`tell(message, ms)`: a status bar message, also announced."""

    def __init__(self, core: Any, window: QWidget, tell: Callable[[str, int], None]) -> None:
        super().__init__(window)  # a child of the window: its slots go when the window goes
        self.core = core
        self._window = window
        self._tell = tell
        self.refused_box: QMessageBox | None = None  # the last drop's list of what was not added

    def add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self._window, "Watch a folder")
        if path:
            self.core.watch_folder(Path(path))

    def add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self._window, "Add files", "",
                                                "Documents (*.pdf *.txt *.md *.html *.htm *.docx);;"
                                                "All files (*)")
        if paths:
            self.handle_drop(classify([QUrl.fromLocalFile(p) for p in paths]))

    def remove_folder(self, path: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Stop watching folder",
                          texts.REMOVE_FOLDER.format(path=path), parent=self._window)
        keep = box.addButton("Keep documents", QMessageBox.ButtonRole.AcceptRole)
        drop = box.addButton("Remove from index", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() in (keep, drop):
            self.core.unwatch_folder(Path(path), keep_chunks=box.clickedButton() is keep)

    def ask_watch_or_once(self, folder: Path) -> DropChoice:
        box = QMessageBox(QMessageBox.Icon.Question, "Add folder",
                          texts.WATCH_OR_ONCE.format(name=folder.name or str(folder)), parent=self._window)
        watch = box.addButton("Watch this folder", QMessageBox.ButtonRole.AcceptRole)
        once = box.addButton("Index once", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        choices: dict[QAbstractButton, DropChoice] = {watch: DropChoice.WATCH, once: DropChoice.INDEX_ONCE}
        return choices.get(box.clickedButton(), DropChoice.CANCEL)

    def handle_drop(self, plan: DropPlan) -> None:
        once: list[Path] = list(plan.files)
        for folder in plan.folders:
            choice = self.ask_watch_or_once(folder)
            if choice is DropChoice.WATCH:
                self.core.watch_folder(folder)
            elif choice is DropChoice.INDEX_ONCE:
                once.append(folder)
        if once:
            self.core.add_paths(once)
        if plan.refused:
            self.show_refused(plan)

    def show_refused(self, plan: DropPlan) -> None:
        lines = "\n".join(f"• {r}" for r in plan.refused[:20])
        more = f"\n… and {len(plan.refused) - 20} more" if len(plan.refused) > 20 else ""
        self._tell(f"{len(plan.refused)} item(s) not added: {plan.refused[0]}", 20000)
        box = QMessageBox(QMessageBox.Icon.Warning, texts.REFUSED_TITLE, lines + more, parent=self._window)
        box.setModal(False)
        box.show()
        self.refused_box = box
