"""The library pane's table: one row per file, from core.files(), kept current by FileEvents.

Events are applied in batches on a short timer, so a bulk add of thousands of
files costs one row insertion per batch, not a relayout per file.
"""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass, replace

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.core.events import FileEvent, FileInfo, FileState
from app.ui.look import text_colors
from ingest.paths import inside

ROLE_INFO = Qt.ItemDataRole.UserRole + 1  # the row's FileInfo
ROLE_SORT = Qt.ItemDataRole.UserRole + 2

STATE_LABELS = {FileState.QUEUED: "Queued", FileState.INDEXING: "Indexing…",
                FileState.INDEXED: "Indexed", FileState.ERROR: "Error",
                FileState.UNAVAILABLE: "Unavailable", FileState.REMOVED: "Removed"}


class Column(enum.IntEnum):
    NAME = 0
    STATE = 1
    PAGES = 2
    CHUNKS = 3
    FOLDER = 4
    MESSAGE = 5


HEADERS = {Column.NAME: "File", Column.STATE: "State", Column.PAGES: "Pages",
           Column.CHUNKS: "Chunks", Column.FOLDER: "Folder", Column.MESSAGE: "Details"}


@dataclass
class _Row:
    info: FileInfo


def info_from_event(event: FileEvent, old: FileInfo | None) -> FileInfo:
    """The row a file event leaves behind (keeps what the event does not say)."""
    base = old or FileInfo(path=event.path, state=event.state, folder=event.folder)
    indexed = event.state is FileState.INDEXED
    return replace(base, path=event.path, state=event.state,
                   folder=event.folder or base.folder,
                   chunks=event.chunks if (indexed or event.chunks) else base.chunks,
                   pages=event.pages if event.pages is not None else base.pages,
                   error_kind=event.error_kind if event.state is FileState.ERROR else "",
                   message=event.message if event.state is FileState.ERROR else "")


def folder_label(f: FileInfo) -> str:
    """Where a file is, short: its watched folder's name (and the sub-folder inside it), else
    its folder relative to the home folder (~/...); the tooltip has the full path."""
    where = os.path.dirname(f.path)
    if f.folder:
        name = os.path.basename(f.folder.rstrip("/\\")) or f.folder
        sub = os.path.relpath(where, f.folder) if inside(where, f.folder) else "."
        return name if sub == "." else os.path.join(name, sub)
    home = os.path.expanduser("~")
    if inside(where, home):
        return "~" + where[len(home.rstrip(os.sep)):]
    return where


def state_words(f: FileInfo) -> str:
    """A file's state as a screen reader says it: "Indexed, 48 pages", "Error: encrypted"."""
    if f.state is FileState.ERROR:
        return f"Error: {f.message or f.error_kind or 'could not be indexed'}"
    label = STATE_LABELS.get(f.state, f.state.value).rstrip("…")
    if f.state is FileState.INDEXED and f.pages:
        return f"{label}, {f.pages} page{'s' if f.pages != 1 else ''}"
    if f.state is FileState.INDEXED and f.chunks:
        return f"{label}, {f.chunks} passage{'s' if f.chunks != 1 else ''}"
    return label


def cell_words(f: FileInfo, col: Column) -> str:
    """Each cell in words, never a bare number or a blank (Qt.AccessibleTextRole)."""
    if col is Column.NAME:
        return os.path.basename(f.path)
    if col is Column.STATE:
        return state_words(f)
    if col is Column.PAGES:
        return "pages not counted" if f.pages is None else f"{f.pages} page{'s' if f.pages != 1 else ''}"
    if col is Column.CHUNKS:
        return f"{f.chunks} chunks" if f.chunks else "no chunks yet"
    if col is Column.FOLDER:
        return f"folder {folder_label(f)}"
    return f"details: {f.message}" if f.message else "no details"


class LibraryModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None, batch_ms: int = 50) -> None:
        super().__init__(parent)
        self._rows: list[FileInfo] = []
        self._index: dict[str, int] = {}
        self._pending: list[FileEvent] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(batch_ms)
        self._timer.timeout.connect(self.flush)

    # --- loading and incremental updates -----------------------------------------
    def reset(self, files: list[FileInfo]) -> None:
        self.beginResetModel()
        self._rows = [f for f in files if f.state is not FileState.REMOVED]
        self._index = {f.path: i for i, f in enumerate(self._rows)}
        self._pending.clear()
        self.endResetModel()

    def apply(self, event: FileEvent) -> None:
        """Queue one event; rows change on the next batch (or call flush())."""
        self._pending.append(event)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        events, self._pending = self._pending, []
        inserts: list[FileInfo | None] = []
        pending_new: dict[str, int] = {}
        for ev in events:
            if ev.old_path and ev.old_path in self._index and ev.path not in self._index:
                self._rename(ev.old_path, ev.path)
            row = self._index.get(ev.path)
            if ev.state is FileState.REMOVED:
                if ev.path in pending_new:
                    inserts[pending_new.pop(ev.path)] = None
                elif row is not None:
                    self._remove(row)
                continue
            if row is not None:
                self._rows[row] = info_from_event(ev, self._rows[row])
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
            elif ev.path in pending_new:
                i = pending_new[ev.path]
                inserts[i] = info_from_event(ev, inserts[i])
            else:
                pending_new[ev.path] = len(inserts)
                inserts.append(info_from_event(ev, None))
        new = [f for f in inserts if f is not None]
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for f in new:
                self._index[f.path] = len(self._rows)
                self._rows.append(f)
            self.endInsertRows()

    def _rename(self, old: str, new: str) -> None:
        row = self._index.pop(old)
        self._index[new] = row
        self._rows[row] = replace(self._rows[row], path=new)

    def _remove(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()
        self._index = {f.path: i for i, f in enumerate(self._rows)}

    # --- queries used by the pane and tests ---------------------------------------
    def info(self, path: str) -> FileInfo | None:
        row = self._index.get(path)
        return self._rows[row] if row is not None else None

    def infos(self) -> list[FileInfo]:
        return list(self._rows)

    def errors(self) -> list[FileInfo]:
        return [f for f in self._rows if f.state is FileState.ERROR]

    def counts(self) -> dict[FileState, int]:
        out: dict[FileState, int] = {}
        for f in self._rows:
            out[f.state] = out.get(f.state, 0) + 1
        return out

    # --- Qt model interface ---------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role in (Qt.ItemDataRole.DisplayRole,
                                                                 Qt.ItemDataRole.AccessibleTextRole):
            return HEADERS[Column(section)]
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.AccessibleTextRole \
                and 0 <= section < len(self._rows):  # a screen reader's row header: the file
            return os.path.basename(self._rows[section].path)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        f = self._rows[index.row()]
        col = Column(index.column())
        if role == ROLE_INFO:
            return f
        if role in (Qt.ItemDataRole.DisplayRole, ROLE_SORT):
            return self._display(f, col, sort=role == ROLE_SORT)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return cell_words(f, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{f.path}\n{f.message}" if f.message else f.path
        if role == Qt.ItemDataRole.ForegroundRole and col in (Column.STATE, Column.MESSAGE):
            if f.state is FileState.ERROR:
                return QBrush(QColor(text_colors(QApplication.palette()).bad))  # and "Error" in words
            if f.state is FileState.UNAVAILABLE:
                return QApplication.palette().brush(QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (Column.PAGES, Column.CHUNKS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(f: FileInfo, col: Column, sort: bool = False):
        if col is Column.NAME:
            return os.path.basename(f.path).lower() if sort else os.path.basename(f.path)
        if col is Column.STATE:
            return STATE_LABELS.get(f.state, f.state.value)
        if col is Column.PAGES:
            return (f.pages or 0) if sort else ("" if f.pages is None else str(f.pages))
        if col is Column.CHUNKS:
            return f.chunks if sort else (str(f.chunks) if f.chunks else "")
        if col is Column.FOLDER:
            return folder_label(f)
        return f.message


class LibraryFilter(QSortFilterProxyModel):
    """Filter box: matches the file name, folder, state or error text (case-insensitive)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self._errors_only = False
        self.setSortRole(ROLE_SORT)
        self.setDynamicSortFilter(True)

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_needle", text.strip().lower()))

    def set_errors_only(self, on: bool) -> None:
        self._refilter(lambda: setattr(self, "_errors_only", on))

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter() is deprecated
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        f: FileInfo | None = self.sourceModel().index(row, 0, parent).data(ROLE_INFO)
        if f is None:
            return False
        if self._errors_only and f.state is not FileState.ERROR:
            return False
        if not self._needle:
            return True
        hay = " ".join((f.path, STATE_LABELS.get(f.state, ""), f.message)).lower()
        return all(word in hay for word in self._needle.split())
