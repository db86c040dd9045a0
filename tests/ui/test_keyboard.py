"""A whole session with the keyboard alone (QTest key presses, no mouse), against the stand-in
core: the README's keyboard paths. Offscreen Qt gives the window focus as a desktop would."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit

from tests.docs_factory import make_pdf
from tests.ui.test_window_standin import make_window

CTRL = Qt.KeyboardModifier.ControlModifier
PAGES = ["Cover page.", "Contents.", "Revenue grew to 42 million.", "Outlook."]


def focused():  # type: ignore[no-untyped-def]
    return QApplication.focusWidget()


def key(window, k, mod=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    """A key press where the focus is, as the keyboard delivers it."""
    QTest.keyClick(focused() or window, k, mod)


def keyboard_window(qtbot, settings, qsettings, tmp_path):  # type: ignore[no-untyped-def]
    window, core = make_window(qtbot, settings, qsettings)
    core.passage_path = str(make_pdf(tmp_path / "apple-10q.pdf", PAGES))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    return window, core


def ask_by_keyboard(qtbot, window, question: str) -> None:  # type: ignore[no-untyped-def]
    QTest.keyClicks(focused(), question)
    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        key(window, Qt.Key.Key_Return, CTRL)


def test_a_session_with_the_keyboard_alone(qtbot, ui_settings, qsettings, tmp_path, monkeypatch):
    window, core = keyboard_window(qtbot, ui_settings, qsettings, tmp_path)
    view = window.chat_view
    # 1. The question box has the focus when the window opens; Ctrl+Enter asks.
    qtbot.waitUntil(lambda: focused() is view.input, timeout=5000)
    ask_by_keyboard(qtbot, window, "What is the answer?")
    assert view.last_answer() == "The answer is 42 [1]."
    assert focused() is view.input  # ready for the next question

    # 2. Ctrl+2 shows this answer's sources (it showed "No sources to show." before).
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=20000) as shown:
        key(window, Qt.Key.Key_2, CTRL)
    assert window.tabs.currentWidget() is window.viewer
    assert window.viewer.source_list.count() == 1 and shown.args[0].page == 2
    assert window.viewer.stack.currentWidget() is not window.viewer.empty
    assert window.viewer.isAncestorOf(focused())
    # ... and Ctrl+1 goes back to the question box.
    key(window, Qt.Key.Key_1, CTRL)
    assert window.tabs.currentWidget() is window.splitter and focused() is view.input

    # 3. Tab (Shift+Tab) reaches the answer's [1] marker; Enter opens it in the viewer.
    window.tabs.setCurrentWidget(window.viewer)  # the viewer shows another answer's sources
    window.viewer.show_sources([])
    key(window, Qt.Key.Key_1, CTRL)
    for _ in range(12):
        if view.transcript.textCursor().selectedText() == "[1]":
            break
        key(window, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert focused() is view.transcript
    assert view.transcript.textCursor().selectedText() == "[1]"
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=20000) as shown:
        key(window, Qt.Key.Key_Return)
    assert window.tabs.currentWidget() is window.viewer and shown.args[0].page == 2
    # Ctrl+1 returns to the marker, for the next one.
    key(window, Qt.Key.Key_1, CTRL)
    assert focused() is view.transcript

    # 4. Esc stops an answer while it streams.
    core.answer_tokens = [f"word{i} " for i in range(400)]
    core.token_delay = 0.02
    view.input.setFocus()
    QTest.keyClicks(focused(), "A long one?")
    streaming: list[str] = []
    window.flow.tokenShown.connect(streaming.append)
    key(window, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: len(streaming) >= 3, timeout=10000)
    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        key(window, Qt.Key.Key_Escape)
    assert view.turns[-1].stopped and len(streaming) < 400
    assert focused() is view.input

    # 5. Ctrl+O adds a folder through the folder dialog, typed and confirmed with Enter.
    folder = tmp_path / "reports"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda parent, title: _typed_in_dialog(parent, title, str(folder)))
    key(window, Qt.Key.Key_O, CTRL)
    assert ("watch_folder", (str(folder),)) in core.calls
    qtbot.wait(50)  # the dialog is deleted; a window manager gives the window back the focus:
    window.activateWindow()  # offscreen Qt has none
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)

    # 6. In the chat list: F2 renames the chat, Delete deletes it (Enter confirms).
    chat_id = window.flow.chat_id
    window.chat_list.view.setFocus(Qt.FocusReason.TabFocusReason)
    key(window, Qt.Key.Key_F2)
    editor = focused()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    QTest.keyClicks(editor, "Quarterly numbers")
    key(window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: core.chats.get(chat_id).title == "Quarterly numbers", timeout=5000)
    window.chat_list.view.setFocus(Qt.FocusReason.TabFocusReason)
    QTimer.singleShot(100, lambda: QTest.keyClick(QApplication.activeModalWidget(), Qt.Key.Key_Return))
    key(window, Qt.Key.Key_Delete)
    assert core.chats.get(chat_id) is None


def _typed_in_dialog(parent, title: str, path: str) -> str:  # type: ignore[no-untyped-def]
    """Qt's own folder dialog (what Linux without a portal shows), driven by keys only."""
    dialog = QFileDialog(parent, title)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)

    def type_path() -> None:
        field = dialog.findChild(QLineEdit, "fileNameEdit")
        field.setFocus()
        QTest.keyClicks(field, path)
        QTest.keyClick(field, Qt.Key.Key_Return)

    QTimer.singleShot(100, type_path)
    chosen = dialog.selectedFiles()[0] if dialog.exec() else ""
    dialog.deleteLater()  # as the static getExistingDirectory() does
    return chosen


def test_tab_goes_round_the_window_and_out_of_every_control(qtbot, ui_settings, qsettings,
                                                            tmp_path):
    """No keyboard trap: Tab from the question box visits the chat's controls and the library
    and comes back; Tab leaves the question box (no tab character typed) and the tables."""
    window, core = keyboard_window(qtbot, ui_settings, qsettings, tmp_path)
    view = window.chat_view
    ask_by_keyboard(qtbot, window, "What is the answer?")
    view.input.setFocus()
    visited = []
    for _ in range(80):
        key(window, Qt.Key.Key_Tab)
        visited.append(focused())
        if focused() is view.input:
            break
    assert focused() is view.input, [type(w).__name__ for w in visited]
    assert "\t" not in view.input.toPlainText()
    for must in (window.chat_list.view, view.transcript, view.send_button, window.sources.view,
                 window.library.filter, window.library.table):
        assert must in visited, must.accessibleName()
    # A logical order: the chat list, the chat, its sources, then the library.
    order = [visited.index(w) for w in (view.send_button, window.sources.view,
                                        window.library.table, window.chat_list.view)]
    assert order == sorted(order), order


@pytest.fixture
def app_look(qapp):  # type: ignore[no-untyped-def]
    """The look the app starts with (Fusion, its palette and style sheet), undone after."""
    from app.ui.app import apply_look

    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    apply_look(qapp, "light")
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)


def tab_cycle(window, start, limit: int = 80) -> list[tuple[object, object]]:  # type: ignore[no-untyped-def]
    """Tab from `start` until the focus is back on it: each widget reached, with how it looked
    focused and how it looks once Tab moved on (the same image: focus moved unseen)."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    seen: list[tuple[object, object]] = []
    before = None
    for _ in range(limit):
        key(window, Qt.Key.Key_Tab)
        w = focused()
        if before is not None and before[0] is not w:
            seen.append((before[0], before[1] != before[0].grab().toImage()))
        before = (w, w.grab().toImage())
        if w is start:
            return seen
    raise AssertionError(f"Tab never came back to {start.accessibleName()}: "
                         f"{[type(w).__name__ for w, _ in seen]}")


def test_focus_is_visible_wherever_tab_goes(qtbot, app_look, ui_settings, qsettings, tmp_path):
    """Each control Tab reaches, in the chat and in the viewer, looks different while it has
    the focus (a frame or the focused item); Tab comes back round in both (no trap)."""
    window, core = keyboard_window(qtbot, ui_settings, qsettings, tmp_path)
    ask_by_keyboard(qtbot, window, "What is the answer?")
    chat = tab_cycle(window, window.chat_view.input)
    assert len(chat) >= 12
    unseen = [w.accessibleName() or type(w).__name__ for w, visible in chat if not visible]
    assert unseen == []
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=20000):
        key(window, Qt.Key.Key_2, CTRL)
    viewer = tab_cycle(window, window.viewer.source_list)
    reached = {w for w, _ in viewer}
    assert window.viewer.page_field in reached and window.viewer.pdf_pane.view in reached
    unseen = [w.accessibleName() or type(w).__name__ for w, visible in viewer if not visible]
    assert unseen == []


def test_no_keyboard_trap_in_the_dialogs(qtbot, app_look, ui_settings, qsettings, tmp_path):
    """Tab goes round each dialog and back, through multi-line boxes too, every stop seen."""
    from app.ui.chat_list import ScopeDialog
    from app.ui.first_run import FirstRunDialog
    from app.ui.keyboard import IN_PLACE, ShortcutsDialog
    from app.ui.settings_dialog import SettingsDialog

    window, core = keyboard_window(qtbot, ui_settings, qsettings, tmp_path)
    settings = SettingsDialog(ui_settings, lambda **changes: None, window)
    library = next(i for i in range(settings.tabs.count()) if settings.tabs.tabText(i) == "Library")
    settings.tabs.setCurrentIndex(library)  # the page with a multi-line box (ignore patterns)
    for dialog, start in ((settings, settings.tabs.tabBar()),
                          (FirstRunDialog(window.bridge, window), None),
                          (ScopeDialog(["/docs"], ["/docs/a.pdf"], (), (), window), None),
                          (ShortcutsDialog(list(IN_PLACE), window), None)):
        dialog.show()
        dialog.activateWindow()
        qtbot.waitUntil(lambda d=dialog: QApplication.activeWindow() is d, timeout=5000)
        start = start or dialog.focusWidget() or dialog.nextInFocusChain()
        stops = tab_cycle(dialog, start)
        assert stops, type(dialog).__name__  # Tab moved on, and came back
        unseen = [w.accessibleName() or type(w).__name__ for w, visible in stops if not visible]
        assert unseen == [], type(dialog).__name__
        dialog.close()
