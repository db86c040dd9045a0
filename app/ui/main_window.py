"""The main window: chats | chat | sources, the library as a dock; wiring to the core bridge."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
)

from app.core.events import CoreState, CoreStateEvent, FileEvent, IndexWaitEvent, ModelEvent, ModelState
from app.ui import texts
from app.ui.accessibility import Announcer, name_qt_parts
from app.ui.answer_flow import AnswerFlow
from app.ui.bridge import CoreBridge
from app.ui.chat_actions import ChatActions
from app.ui.chat_list import ChatList, ChatListModel
from app.ui.chat_view import ChatView
from app.ui.drop import classify
from app.ui.keyboard import chain_tab_order
from app.ui.library_actions import LibraryActions
from app.ui.library_model import LibraryModel
from app.ui.library_pane import LibraryPane
from app.ui.sources_pane import SourcesPane, open_in_system_app
from app.ui.viewer.parsing import DocumentParser, ParseLimits
from app.ui.viewer.viewer import SourceViewer
from app.ui.viewer_actions import ViewerActions

log = logging.getLogger(__name__)

ASKABLE = (ModelState.READY, ModelState.UNLOADED, ModelState.LOADING)


class MainWindow(QMainWindow):
    core: Any  # the bridge's WindowCore; a Core also gives the viewer its scan_pages

    def __init__(self, bridge: CoreBridge, qsettings: QSettings | None = None,
                 log_handler: Any = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.core = bridge.core
        self.qsettings = qsettings or QSettings()
        self.log_handler = log_handler
        self.first_run: Any = None
        self._log_window: Any = None
        self._model_asked = False
        self.setWindowTitle("Docent")
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.library_model = LibraryModel(self)
        self.library = LibraryPane(self.library_model)
        self.chat_model = ChatListModel(self)
        self.chat_list = ChatList(self.chat_model)
        self.chat_view = ChatView()
        self.sources = SourcesPane()
        self.scope_button = QPushButton("Answers may use: All documents")
        self.scope_button.setAccessibleName("Choose what this chat's answers may use")
        self.scope_button.setFlat(True)
        self.scope_button.setObjectName("scopeButton")
        self.chat_view.layout().replaceWidget(self.chat_view.scope_label, self.scope_button)  # type: ignore[union-attr]  # ChatView sets its layout in __init__
        self.chat_view.scope_label.hide()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        for w in (self.chat_list, self.chat_view, self.sources):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([220, 640, 420])
        self.splitter.setChildrenCollapsible(False)
        # The viewer is a tab beside the chat: a page of a filing needs the window's width.
        self.viewer = SourceViewer(parser=DocumentParser(ParseLimits.of(self.core.settings)))  # the indexer's limits
        self.viewer.scan_pages = self.core.scan_pages  # a scan's lines as stored at indexing
        self.viewer.setObjectName("sourceViewer")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Chat and source viewer")
        self.tabs.addTab(self.splitter, "Chat")
        self.tabs.addTab(self.viewer, "Source")
        self.setCentralWidget(self.tabs)
        self.dock = QDockWidget("Library", self)
        self.dock.setObjectName("libraryDock")
        self.dock.setWidget(self.library)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.resizeDocks([self.dock], [340], Qt.Orientation.Vertical)  # the chat keeps the room

        self.core_label = QLabel(texts.CORE_LOADING)
        self.model_label = QLabel()
        self.index_label = QLabel()
        for lab in (self.core_label, self.model_label, self.index_label):
            self.statusBar().addWidget(lab)
        self.statusBar().setSizeGripEnabled(True)

        self.announcer = Announcer(self)
        self.flow = AnswerFlow(self.core, self.chat_view, self.sources, self, self.announcer)
        self.chats = ChatActions(bridge, self.flow, self.chat_model, self.chat_list, self.chat_view,
                                 self.scope_button, self.library_model, self.qsettings, self._chat_tab_shown, self)
        self.viewing = ViewerActions(self.core, self.sources, self.viewer, self.tabs, self.splitter,
                                     self.chat_view, self.announcer, self)
        self.library_actions = LibraryActions(self.core, self, self.tell)
        self._build_menus()
        self._connect()
        self._restore_geometry()
        self._update_can_ask()
        chain_tab_order([self.chat_list.view, self.chat_list.new_button, self.scope_button,
                         self.chat_view.transcript, self.chat_view.input, self.chat_view.send_button,
                         self.chat_view.stop_button, self.chat_view.regen_button,
                         self.chat_view.copy_button, self.sources.view])
        name_qt_parts(self)
        self.chat_view.input.setFocus()  # the question box has the focus when the window opens

    # --- construction ------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None,
                fallback: str = "") -> QAction:
        """`fallback`: the keys where the platform has none for a standard key (Linux
        desktops often bind no Preferences or Quit key)."""
        a = QAction(text, self)
        if isinstance(shortcut, QKeySequence.StandardKey):
            keys = QKeySequence.keyBindings(shortcut)
            a.setShortcuts(keys or ([QKeySequence(fallback)] if fallback else []))
        elif shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        self._action(m, "Add &folder…", self.library_actions.add_folder, "Ctrl+O")
        self._action(m, "Add &files…", self.library_actions.add_files)
        m.addSeparator()
        self._action(m, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences, "Ctrl+,")
        self._action(m, "Choose &model…", self.show_first_run)
        m.addSeparator()
        self._action(m, "&Quit", self.close, QKeySequence.StandardKey.Quit, "Ctrl+Q")
        m = self.menuBar().addMenu("&Chat")
        self._action(m, "&New chat", self.chats.new_chat, "Ctrl+N")
        self.send_action = self._action(m, "&Send", self.chat_view.submit, "Ctrl+Return")
        self.stop_action = self._action(m, "S&top answer", self.flow.stop, "Esc")
        # Esc stops the answer in the chat tab; in the viewer it closes the find bar. One
        # Esc shortcut for both would be ambiguous, and Qt then runs neither.
        self.stop_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.splitter.addAction(self.stop_action)
        self._action(m, "&Regenerate", self.flow.regenerate)
        self._action(m, "&What may answers use…", self.chats.pick_scope)
        m = self.menuBar().addMenu("&View")
        self._action(m, "&Chat", lambda: self.tabs.setCurrentWidget(self.splitter), "Ctrl+1")
        self._action(m, "&Source viewer", self.viewing.show_viewer, "Ctrl+2")
        library = self.dock.toggleViewAction()
        library.setShortcut(QKeySequence("Ctrl+L"))  # room for a page in the viewer
        m.addAction(library)
        self._action(m, "&Log", self.show_log)
        m = self.menuBar().addMenu("&Help")
        self._action(m, "&Keyboard shortcuts", self.viewing.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self._action(m, "&Privacy", lambda: self.open_settings(page="Privacy"))

    def _connect(self) -> None:
        b = self.bridge
        b.coreState.connect(self.on_core_state)
        b.indexWait.connect(self.on_index_wait)
        b.fileEvent.connect(self.on_file_event)
        b.folderEvent.connect(lambda ev: self.library.update_folder(ev.folder, ev.state))
        b.progress.connect(self.on_progress)
        b.modelEvent.connect(self.on_model_event)
        b.answerEvent.connect(self.flow.on_answer_event)
        b.errorEvent.connect(lambda ev: self.tell(ev.message, 15000, assertive=True))
        b.workerEvent.connect(lambda ev: self.tell(ev.message, 15000, assertive=True))
        self.scope_button.clicked.connect(self.chats.pick_scope)
        self.chat_view.askRequested.connect(self.chats.ask)
        self.chat_view.stopRequested.connect(self.flow.stop)
        self.chat_view.regenerateRequested.connect(self.flow.regenerate)
        self.chat_view.citationClicked.connect(self.sources.activate)
        self.chat_view.cellClicked.connect(self.viewing.open_cell)
        self.sources.sourceActivated.connect(self.viewing.open_source)
        self.sources.systemOpenRequested.connect(open_in_system_app)
        self.viewer.reindex_requested.connect(lambda path: self.core.reindex(Path(path)))
        self.chat_list.newRequested.connect(self.chats.new_chat)
        self.chat_list.selected.connect(self.chats.chat_selected)
        self.chat_list.deleteRequested.connect(self.chats.delete_chat)
        self.chat_model.renamed.connect(self.chats.rename_chat)
        self.flow.finished.connect(self.chats.answer_finished)
        self.tabs.currentChanged.connect(self.viewing.tab_changed)
        self.viewer.passage_shown.connect(self.viewing.announce_passage)
        QApplication.instance().focusChanged.connect(self.viewing.focus_changed)  # type: ignore[union-attr]  # a window exists only inside a QApplication
        lib = self.library
        lib.addFolderRequested.connect(self.library_actions.add_folder)
        lib.removeFolderRequested.connect(self.library_actions.remove_folder)
        lib.reindexRequested.connect(lambda paths: [self.core.reindex(Path(p)) for p in paths])
        lib.removeRequested.connect(lambda paths: self.core.forget([Path(p) for p in paths]))
        lib.pauseToggled.connect(self._pause)
        lib.retryRequested.connect(self.retry_open)
        self.library_model.rowsInserted.connect(self._refresh_unsearched)
        self.library_model.dataChanged.connect(self._refresh_unsearched)

    # --- core state ------------------------------------------------------------------------
    def on_core_state(self, ev: CoreStateEvent) -> None:
        self.library.show_notice("")
        if ev.state is CoreState.READY:
            self.core_label.setText("")
            self.library_model.reset(self.core.files())
            self.library.set_folders(self.core.folders())
            self.chats.reload_chats()
            self._after_ready()
            if self._chat_tab_shown():
                self.chat_view.input.setFocus()
        elif ev.state is CoreState.FAILED:  # said, with a Retry; the window stays usable
            text = texts.CORE_FAILED.format(message=ev.message)
            self.core_label.setText(text)
            self.announcer.announce(self.core_label, text, assertive=True)
            self.library.show_notice(text, retry=True)
            self.chat_model.reset([])  # the core closed the chats it had opened
            box = self.failed_box = QMessageBox(QMessageBox.Icon.Critical, "Docent", text, parent=self)
            box.addButton(QMessageBox.StandardButton.Retry).clicked.connect(self.retry_open)
            box.addButton(QMessageBox.StandardButton.Close)
            box.setModal(False)
            box.show()
        elif ev.state is CoreState.STARTING:
            self.core_label.setText(texts.CORE_LOADING)
        elif ev.state is CoreState.CLOSING:
            self.core_label.setText(texts.CLOSING)
        self._update_can_ask()

    def on_index_wait(self, ev: IndexWaitEvent) -> None:
        """Another Docent process holds the index: say so until this core has it."""
        self.core_label.setText(ev.message if ev.waiting else texts.CORE_LOADING)
        self.library.show_notice(ev.message if ev.waiting else "")
        if ev.waiting and self.core.chats is not None and not self.chat_model.rowCount():
            self.chats.reload_chats()  # readable meanwhile (asking waits for the library)

    def _chat_tab_shown(self) -> bool:
        return self.tabs.currentWidget() is self.splitter

    def retry_open(self) -> None:
        if self.bridge.state is CoreState.FAILED:
            self.bridge.start()

    def _after_ready(self) -> None:
        state = self.core.model_state
        if state is ModelState.UNLOADED:
            self.core.load_model()  # chosen before: load it now, not on the first question
        elif state is ModelState.NONE:
            self.show_first_run()
        self._show_model_state(state, "")

    def on_model_event(self, ev: ModelEvent) -> None:
        self._show_model_state(ev.state, ev.message, ev)
        self._update_can_ask()

    def _show_model_state(self, state: ModelState, message: str, ev: ModelEvent | None = None) -> None:
        if state is ModelState.READY:
            self.model_label.setText(f"Model: {ev.name}" if ev and ev.name else "Model ready")
        elif state is ModelState.LOADING:
            self.model_label.setText(texts.MODEL_LOADING)
        elif state is ModelState.DOWNLOADING and ev is not None and ev.total_bytes:
            self.model_label.setText(f"Downloading the model: {100 * ev.done_bytes // ev.total_bytes}%")
        elif state is ModelState.ERROR:
            self.model_label.setText(texts.MODEL_ERROR.format(message=message))
        elif state is ModelState.NONE:
            self.model_label.setText(texts.MODEL_NONE)
        elif state is ModelState.UNLOADED:
            self.model_label.setText("")

    def _update_can_ask(self) -> None:
        state = self.core.model_state
        # a question asked while the model loads waits for it on the core's answer thread
        ready = self.bridge.ready and state in ASKABLE
        why = ""
        if not self.bridge.ready:
            why = texts.CORE_LOADING
        elif state is ModelState.LOADING:
            why = texts.MODEL_LOADING
        elif state not in ASKABLE:
            why = texts.MODEL_NONE
        self.chat_view.set_can_ask(ready, why)

    def show_first_run(self) -> None:
        from app.ui.first_run import FirstRunDialog

        if self.first_run is None:
            self.first_run = FirstRunDialog(self.bridge, self)
            self.first_run.localChosen.connect(self.use_local_model)
        self.first_run.show()
        self.first_run.raise_()

    def use_local_model(self, path: str) -> None:
        self.core.update_settings(model_path=path)
        self.core.load_model(path)

    # --- library ----------------------------------------------------------------------------
    def on_file_event(self, ev: FileEvent) -> None:
        self.library_model.apply(ev)

    def on_progress(self, p: Any) -> None:
        self.library.set_progress(p)
        from app.ui.library_pane import progress_text

        self.index_label.setText("" if p.phase == "idle" else progress_text(p))

    def _refresh_unsearched(self, *args: object) -> None:
        self.sources.unsearched = [(f.path, f.message) for f in self.library_model.errors()]

    def _pause(self, pause: bool) -> None:
        (self.core.pause_indexing if pause else self.core.resume_indexing)()

    # --- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dragMoveEvent(self, e) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        if not e.mimeData().hasUrls():
            return
        e.acceptProposedAction()
        plan = classify(e.mimeData().urls())
        # Questions are asked after the drop returns: a modal box inside dropEvent blocks the
        # drag source (the file manager) until it closes.
        QTimer.singleShot(0, lambda: self.library_actions.handle_drop(plan))

    def tell(self, message: str, ms: int, assertive: bool = False) -> None:
        """A status bar message, also announced: a screen reader does not watch the status bar."""
        self.statusBar().showMessage(message, ms)
        self.announcer.announce(self.statusBar(), message, assertive)

    # --- dialogs ---------------------------------------------------------------------------------
    def open_settings(self, page: str = "") -> None:
        from app.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.core.settings, self.core.update_settings, self)
        if page:
            for i in range(dialog.tabs.count()):
                if dialog.tabs.tabText(i) == page:
                    dialog.tabs.setCurrentIndex(i)
        dialog.exec()

    def show_log(self) -> None:
        from app.ui.log_window import LogWindow, QtLogHandler

        if self.log_handler is None:
            self.log_handler = QtLogHandler()
            logging.getLogger().addHandler(self.log_handler)
        if self._log_window is None:
            self._log_window = LogWindow(self.log_handler, self)
        self._log_window.show()
        self._log_window.raise_()

    # --- geometry and closing ----------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geo = self.qsettings.value("window/geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        state = self.qsettings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        sizes = self.qsettings.value("window/splitter")
        if isinstance(sizes, QByteArray):
            self.splitter.restoreState(sizes)

    def save_geometry(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/state", self.saveState())
        self.qsettings.setValue("window/splitter", self.splitter.saveState())
        self.qsettings.sync()

    def closeEvent(self, e: QCloseEvent) -> None:
        self.save_geometry()
        self.flow.stop()
        self.statusBar().showMessage(texts.CLOSING)
        self.bridge.close(timeout=3.0)
        e.accept()
