"""The window's chat actions: the side list's new/select/rename/delete, the scope picker and
asking. MainWindow (app/ui/main_window.py) owns one and hands it the core's bridge, the answer
flow and the widgets it acts on; everything this reads or changes is named in __init__."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QPushButton, QWidget

    from app.ui.answer_flow import AnswerFlow
    from app.ui.bridge import CoreBridge
    from app.ui.chat_list import ChatList, ChatListModel
    from app.ui.chat_view import ChatView
    from app.ui.library_model import LibraryModel

from app.ui.chat_list import ScopeDialog


class ChatActions(QObject):
    """`chat_tab_shown`: whether the chat (not the viewer) is the window's current tab;
    `window`: the parent of the scope dialog."""

    def __init__(self, bridge: CoreBridge, flow: AnswerFlow, chat_model: ChatListModel, chat_list: ChatList,
                 chat_view: ChatView, scope_button: QPushButton, library_model: LibraryModel,
                 qsettings: QSettings, chat_tab_shown: Callable[[], bool], window: QWidget) -> None:
        super().__init__(window)  # a child of the window: its slots go when the window goes
        self.bridge = bridge
        self.core: Any = bridge.core  # its chats are there once it started (WindowCore types them optional)
        self.flow = flow
        self.chat_model = chat_model
        self.chat_list = chat_list
        self.chat_view = chat_view
        self.scope_button = scope_button
        self.library_model = library_model
        self.qsettings = qsettings
        self._chat_tab_shown = chat_tab_shown
        self._window = window

    def reload_chats(self, select: int | None = None) -> None:
        chats = self.core.chats.list()
        self.chat_model.reset(chats)
        keep = select or self.flow.chat_id or self._saved_chat()
        if keep is None or self.chat_model.row_of(keep) < 0:
            keep = chats[0].id if chats else None
        if keep is not None:
            self.chat_list.select(keep)
            if keep != self.flow.chat_id:
                self.show_chat(keep)

    def _saved_chat(self) -> int | None:
        v = self.qsettings.value("chat/current")
        try:
            return int(v) if v is not None else None
        except (TypeError, ValueError):
            return None

    def new_chat(self) -> None:
        if not self.bridge.ready:
            return
        chat = self.core.chats.create()
        self.reload_chats(select=chat.id)
        self.show_chat(chat.id)
        self.chat_view.input.setFocus()

    def chat_selected(self, chat_id: int) -> None:
        if chat_id != self.flow.chat_id:  # a list refresh re-selecting the shown chat: no reload
            self.show_chat(chat_id)

    def show_chat(self, chat_id: int) -> None:
        chat = self.core.chats.get(chat_id)
        if chat is None:
            return
        self.flow.show_chat(chat)
        self.scope_button.setText(f"Answers may use: {chat.scope.describe()}  ▾")
        self.qsettings.setValue("chat/current", chat_id)

    def rename_chat(self, chat_id: int, title: str) -> None:
        self.core.chats.rename(chat_id, title)
        self.reload_chats(select=chat_id)

    def delete_chat(self, chat_id: int) -> None:
        if self.flow.chat_id == chat_id:
            self.flow.stop()
            self.flow.chat_id = None
        self.core.chats.delete(chat_id)
        self.reload_chats()
        if not self.chat_model.rowCount():
            self.flow.show_chat(None)

    def pick_scope(self) -> None:
        from app.core.chat_types import ChatScope

        chat_id = self.flow.chat_id
        chat = self.core.chats.get(chat_id) if chat_id is not None else None
        if chat_id is None or chat is None:
            return
        dialog = ScopeDialog([p for p, _ in self.core.folders()],
                             [f.path for f in self.library_model.infos()],
                             chat.scope.folders, chat.scope.files, self._window)
        if dialog.exec():
            folders, files = dialog.chosen()
            self.core.chats.set_scope(chat_id, ChatScope(folders, files))
            self.show_chat(chat_id)

    def ask(self, question: str) -> None:
        if self.flow.chat_id is None:
            chat = self.core.chats.create()
            self.reload_chats(select=chat.id)
        self.flow.ask(question)

    def answer_finished(self) -> None:
        current = self.flow.chat_id
        self.chat_model.reset(self.core.chats.list())  # titles come from the first question
        if current is not None:
            self.chat_list.select(current)
        if self._chat_tab_shown():  # ready for the next question
            self.chat_view.input.setFocus()
