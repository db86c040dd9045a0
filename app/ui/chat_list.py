"""The chats side list (a list model over core.chats) and the per-chat scope picker."""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.accessibility import name_qt_parts
from ingest.paths import inside

ROLE_CHAT_ID = Qt.ItemDataRole.UserRole + 1


class ChatListModel(QAbstractListModel):
    """Rows are the store's chats, newest first. Renaming in place goes to the store."""

    renamed = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._chats: list[Any] = []  # app.core.chats.Chat, turns not loaded

    def reset(self, chats: list[Any]) -> None:
        self.beginResetModel()
        self._chats = list(chats)
        self.endResetModel()

    def chat_ids(self) -> list[int]:
        return [c.id for c in self._chats]

    def row_of(self, chat_id: int) -> int:
        return next((i for i, c in enumerate(self._chats) if c.id == chat_id), -1)

    def chat(self, row: int) -> Any:
        return self._chats[row] if 0 <= row < len(self._chats) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._chats)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        c = self.chat(index.row()) if index.isValid() else None
        if c is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return c.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{c.title}\nAnswers may use: {c.scope.describe()}"
        if role == ROLE_CHAT_ID:
            return c.id
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        c = self.chat(index.row())
        title = str(value).strip()
        if c is None or role != Qt.ItemDataRole.EditRole or not title or title == c.title:
            return False
        self.renamed.emit(c.id, title)
        return True


class ChatList(QWidget):
    newRequested = Signal()
    deleteRequested = Signal(int)
    selected = Signal(int)  # chat id

    def __init__(self, model: ChatListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.view = QListView()
        self.view.setModel(model)
        self.view.setAccessibleName("Chats")
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setUniformItemSizes(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed |
                                  QAbstractItemView.EditTrigger.DoubleClicked)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        new = self.new_button = QPushButton("New chat")
        new.setAccessibleName("New chat")
        new.setToolTip("New chat (Ctrl+N)")
        new.clicked.connect(self.newRequested)
        delete = QAction("Delete chat", self.view)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._delete_current)
        self.view.addAction(delete)
        title = QLabel("Chats")
        title.setObjectName("paneTitle")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.view, 1)
        layout.addWidget(new)

    def select(self, chat_id: int) -> None:
        row = self.model.row_of(chat_id)
        if row >= 0:
            self.view.setCurrentIndex(self.model.index(row))

    def current_id(self) -> int | None:
        idx = self.view.currentIndex()
        return idx.data(ROLE_CHAT_ID) if idx.isValid() else None

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self.selected.emit(current.data(ROLE_CHAT_ID))

    def _menu(self, pos) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        menu = QMenu(self)
        menu.addAction("Rename", lambda: self.view.edit(idx))
        menu.addAction("Delete", lambda: self._confirm_delete(idx.data(ROLE_CHAT_ID), idx.data()))
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def _delete_current(self) -> None:
        idx = self.view.currentIndex()
        if idx.isValid():
            self._confirm_delete(idx.data(ROLE_CHAT_ID), idx.data())

    def _confirm_delete(self, chat_id: int, title: str) -> None:
        answer = QMessageBox.question(self, "Delete chat",
                                      f"Delete the chat “{title}”? Its questions and answers "
                                      "are removed; your documents are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(chat_id)


class ScopeDialog(QDialog):
    """Choose what a chat's answers may use: everything, or checked folders and files."""

    def __init__(self, folders: list[str], files: list[str], chosen_folders: tuple[str, ...],
                 chosen_files: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("What may answers in this chat use?")
        self.resize(560, 460)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setHeaderLabel("Folder or file")  # what a screen reader calls the column
        self.tree.setAccessibleName("Folders and files for this chat")
        self._folder_items: dict[str, QTreeWidgetItem] = {}
        self._file_items: dict[str, QTreeWidgetItem] = {}
        loose = QTreeWidgetItem(["Files added on their own"])
        for folder in sorted(folders):
            item = QTreeWidgetItem([folder])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if folder in chosen_folders
                               else Qt.CheckState.Unchecked)
            self._folder_items[folder] = item
            self.tree.addTopLevelItem(item)
        for path in sorted(files):
            parent_item = next((self._folder_items[f] for f in self._folder_items
                                if inside(path, f)), loose)
            item = QTreeWidgetItem([os.path.basename(path)])
            item.setToolTip(0, path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if path in chosen_files
                               else Qt.CheckState.Unchecked)
            self._file_items[path] = item
            parent_item.addChild(item)
        if loose.childCount():
            self.tree.addTopLevelItem(loose)
        hint = QLabel("Nothing checked means all documents. Checked folders include every "
                      "file in them, also files added later.")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        all_docs = QPushButton("All documents")
        all_docs.clicked.connect(self._clear)
        buttons.addButton(all_docs, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        row.addWidget(buttons)
        layout.addLayout(row)
        self.tree.expandAll()
        name_qt_parts(self)

    def _clear(self) -> None:
        for item in [*self._folder_items.values(), *self._file_items.values()]:
            item.setCheckState(0, Qt.CheckState.Unchecked)

    def chosen(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        folders = tuple(p for p, i in self._folder_items.items()
                        if i.checkState(0) == Qt.CheckState.Checked)
        files = tuple(p for p, i in self._file_items.items()
                      if i.checkState(0) == Qt.CheckState.Checked
                      and not any(inside(p, f) for f in folders))
        return folders, files
