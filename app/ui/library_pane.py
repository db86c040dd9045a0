"""Library pane: watched folders, files with their state, indexing progress, errors.

It emits what the user asked for; the main window turns that into core calls.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.events import FileInfo, FileState, FolderState, IndexProgress
from app.ui.library_model import HEADERS, ROLE_INFO, STATE_LABELS, Column, LibraryFilter, LibraryModel

FOLDER_LABELS = {FolderState.WATCHING: "watching", FolderState.POLLING: "checked every few seconds",
                 FolderState.UNAVAILABLE: "unavailable", FolderState.REMOVED: "removed"}


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left…"
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    return f"about {minutes} min left" if minutes < 90 else f"about {minutes / 60:.1f} h left"


def progress_text(p: IndexProgress) -> str:
    """What the bar says: counts, ETA and the current file (never a bare percentage)."""
    if p.phase == "paused":
        return f"Paused · {p.done} of {p.total} files"
    if p.phase in ("idle", "stopped") or (p.total == 0 and not p.current):
        tail = f" · {p.errors} could not be indexed" if p.errors else ""
        return ("Up to date" if p.phase == "idle" else "Stopped") + tail
    if p.phase in ("starting", "reconciling"):
        return "Checking for changes…"
    name = os.path.basename(p.current) if p.current else ""
    parts = [f"{p.done} of {p.total} files", format_eta(p.eta_s)]
    if name:
        parts.append(name)
    if p.scan and p.scan_done < p.scan_total:
        scan = os.path.basename(p.scan)
        page = f"page {p.scan_done + 1} of {p.scan_total} (reading the scan)"
        parts.append(page if scan == name else f"{scan}: {page}")
    return " · ".join(parts)


class LibraryPane(QWidget):
    addFolderRequested = Signal()
    removeFolderRequested = Signal(str)
    reindexRequested = Signal(list)  # [path]
    removeRequested = Signal(list)  # [path]
    pauseToggled = Signal(bool)  # True: pause
    retryRequested = Signal()  # open the library again (after it could not be opened)

    def __init__(self, model: LibraryModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = LibraryFilter(self)
        self.proxy.setSourceModel(model)
        self._paused = False
        self._folder_states: dict[str, FolderState] = {}

        self.folders = QListWidget()
        self.folders.setAccessibleName("Watched folders")
        add = QPushButton("Add folder…")
        add.setAccessibleName("Add watched folder")
        add.setToolTip("Watch a folder (Ctrl+O)")
        add.clicked.connect(self.addFolderRequested)
        self.remove_folder_button = QPushButton("Remove folder")
        self.remove_folder_button.setAccessibleName("Remove watched folder")
        self.remove_folder_button.clicked.connect(self._remove_folder)
        self.folders.itemSelectionChanged.connect(
            lambda: self.remove_folder_button.setEnabled(bool(self.folders.selectedItems())))
        self.remove_folder_button.setEnabled(False)

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter files by name, folder, state or error")
        self.filter.setAccessibleName("Filter files")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.set_text)
        self.errors_only = QCheckBox("Only errors")
        self.errors_only.setAccessibleName("Show only files with errors")
        self.errors_only.toggled.connect(self.proxy.set_errors_only)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Indexed files")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setAccessibleName("File table rows")
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table (arrows move in it)
        header = self.table.horizontalHeader()
        header.setAccessibleName("File table columns: activate one to sort by it")
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)

        self.reindex_button = QPushButton("Re-index")
        self.reindex_button.setAccessibleName("Re-index selected files")
        self.reindex_button.clicked.connect(lambda: self._emit_selected(self.reindexRequested))
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove selected files from the index")
        self.remove_button.clicked.connect(lambda: self._emit_selected(self.removeRequested))
        self.show_button = QPushButton("Show in folder")
        self.show_button.setAccessibleName("Show selected file in its folder")
        self.show_button.clicked.connect(self._show_selected)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selection_changed()

        self.bar = QProgressBar()
        self.bar.setAccessibleName("Indexing progress")
        self.bar.setTextVisible(True)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("Waiting for the index to open…")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setAccessibleName("Pause or resume indexing")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.summary = QLabel()
        self.summary.setObjectName("librarySummary")
        # Why the library is not open yet (another Docent process holds it) or could not be.
        self.notice = QLabel()
        self.notice.setObjectName("libraryNotice")
        self.notice.setWordWrap(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setAccessibleName("Open the library again")
        self.retry_button.clicked.connect(self.retryRequested)
        notice = QHBoxLayout()
        notice.addWidget(self.notice, 1)
        notice.addWidget(self.retry_button)
        self.show_notice("")

        top = QHBoxLayout()
        top.addWidget(QLabel("Watched folders"))
        top.addStretch(1)
        top.addWidget(add)
        top.addWidget(self.remove_folder_button)
        folder_box = QWidget()
        fl = QVBoxLayout(folder_box)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addLayout(top)
        fl.addWidget(self.folders)
        filt = QHBoxLayout()
        filt.addWidget(self.filter, 1)
        filt.addWidget(self.errors_only)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        for b in (self.reindex_button, self.remove_button, self.show_button):
            actions.addWidget(b)
        progress = QHBoxLayout()
        progress.addWidget(self.bar, 1)
        progress.addWidget(self.pause_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(notice)
        layout.addWidget(folder_box)
        layout.addLayout(filt)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addLayout(progress)
        model.rowsInserted.connect(self._update_summary)
        model.rowsRemoved.connect(self._update_summary)
        model.dataChanged.connect(self._update_summary)
        model.modelReset.connect(self._update_summary)
        self._update_summary()
        self._size_to_font()

    def changeEvent(self, e: QEvent) -> None:
        super().changeEvent(e)
        if e.type() == QEvent.Type.FontChange:  # large text: two folder rows still show
            self._size_to_font()

    def _size_to_font(self) -> None:
        fm = self.fontMetrics()
        self.folders.setMaximumHeight(max(52, 2 * fm.lineSpacing() + 18))
        # Columns as wide as their headers and states need at this text size (large text:
        # "Pages" and "Indexed" whole), never narrower than at the usual size.
        pad = 2 * fm.horizontalAdvance("M")  # cell margins and the sort arrow
        states = max(fm.horizontalAdvance(s) for s in STATE_LABELS.values())
        header = self.table.horizontalHeader()
        for col, least, need in ((Column.NAME, 240, 20 * fm.horizontalAdvance("n")),
                                 (Column.STATE, 90, states + pad),
                                 (Column.PAGES, 56, fm.horizontalAdvance(HEADERS[Column.PAGES]) + pad),
                                 (Column.CHUNKS, 60, fm.horizontalAdvance(HEADERS[Column.CHUNKS]) + pad),
                                 (Column.FOLDER, 200, 16 * fm.horizontalAdvance("n"))):
            header.resizeSection(col, max(least, need))

    def show_notice(self, text: str, retry: bool = False) -> None:
        """A line above the folders: "" hides it; `retry` offers Retry beside it."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        self.retry_button.setVisible(retry)

    # --- folders -------------------------------------------------------------------
    def set_folders(self, folders: list[tuple[str, FolderState]]) -> None:
        self._folder_states = {p: s for p, s in folders if s is not FolderState.REMOVED}
        self.folders.clear()
        for path, state in self._folder_states.items():
            item = QListWidgetItem(f"{path}   ({FOLDER_LABELS.get(state, state.value)})")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.folders.addItem(item)
        if not self.folders.count():
            hint = QListWidgetItem("No watched folders. Add one, or drop files on the window.")
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
            self.folders.addItem(hint)

    def update_folder(self, path: str, state: FolderState) -> None:
        states = dict(self._folder_states)
        states[path] = state
        self.set_folders(list(states.items()))

    def _remove_folder(self) -> None:
        for item in self.folders.selectedItems():
            path = item.data(Qt.ItemDataRole.UserRole)
            if path:
                self.removeFolderRequested.emit(path)

    # --- progress --------------------------------------------------------------------
    def set_progress(self, p: IndexProgress) -> None:
        self._paused = p.phase == "paused"
        self.pause_button.setText("Resume" if self._paused else "Pause")
        busy = p.phase in ("indexing", "paused") and p.total > 0
        if p.phase in ("starting", "reconciling"):
            self.bar.setRange(0, 0)  # busy indicator: the amount of work is not known yet
        elif busy:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        else:
            self.bar.setRange(0, 1)
            self.bar.setValue(1 if p.phase == "idle" else 0)
        self.bar.setFormat(progress_text(p))
        self.pause_button.setEnabled(p.phase in ("indexing", "paused", "reconciling"))

    def _toggle_pause(self) -> None:
        self.pauseToggled.emit(not self._paused)

    # --- selection and actions -----------------------------------------------------------
    def selected_infos(self) -> list[FileInfo]:
        rows = self.table.selectionModel().selectedRows(Column.NAME)
        return [r.data(ROLE_INFO) for r in rows if r.data(ROLE_INFO) is not None]

    def _selection_changed(self, *args: object) -> None:
        has = bool(self.table.selectionModel().selectedRows())
        for b in (self.reindex_button, self.remove_button, self.show_button):
            b.setEnabled(has)

    def _emit_selected(self, signal) -> None:
        paths = [f.path for f in self.selected_infos()]
        if paths:
            signal.emit(paths)

    def _show_selected(self) -> None:
        for f in self.selected_infos()[:5]:  # a mis-click on 500 rows must not open 500 windows
            show_in_folder(f.path)

    def _context_menu(self, pos: QPoint) -> None:
        if not self.selected_infos():
            return
        menu = QMenu(self)
        for text, slot in (("Re-index", lambda: self._emit_selected(self.reindexRequested)),
                           ("Remove from index", lambda: self._emit_selected(self.removeRequested)),
                           ("Show in folder", self._show_selected)):
            action = QAction(text, menu)
            action.triggered.connect(slot)
            menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _update_summary(self, *args: object) -> None:
        counts = self.model.counts()
        total = sum(counts.values())
        errors = counts.get(FileState.ERROR, 0)
        parts = [f"{total} file(s)", f"{counts.get(FileState.INDEXED, 0)} indexed"]
        waiting = counts.get(FileState.QUEUED, 0) + counts.get(FileState.INDEXING, 0)
        if waiting:
            parts.append(f"{waiting} waiting")
        if errors:
            parts.append(f"{errors} with errors")
        self.summary.setText(" · ".join(parts))
        self.errors_only.setText(f"Only errors ({errors})" if errors else "Only errors")
        # an empty column until a loader reports page counts is noise
        self.table.setColumnHidden(Column.PAGES, not any(f.pages for f in self.model.infos()))


def show_in_folder(path: str) -> None:
    """Open the file's folder in the system file manager."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    if os.path.isdir(folder):
        QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
