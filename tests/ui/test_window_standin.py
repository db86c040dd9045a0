"""The window's wiring against a stand-in core (logic only; the real core: test_window_core.py)."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.core.events import FileState
from tests.ui.standin import StandInCore


def make_window(qtbot, settings, qsettings):  # type: ignore[no-untyped-def]
    from app.ui.bridge import CoreBridge
    from app.ui.main_window import MainWindow

    core = StandInCore(settings)
    bridge = CoreBridge(core)
    window = MainWindow(bridge, qsettings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(bridge.coreState, timeout=10000):
        bridge.start()
    return window, core


def drop(window, paths):  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    ev = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                    Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(ev)


def test_drop_ask_stop_regenerate(qtbot, ui_settings, qsettings, tmp_path, monkeypatch):
    window, core = make_window(qtbot, ui_settings, qsettings)
    a = tmp_path / "a.txt"
    a.write_text("hello")
    bad = tmp_path / "b.exe"
    bad.write_bytes(b"MZ")
    drop(window, [a, bad])
    qtbot.waitUntil(lambda: window.library_model.info(str(a)) is not None
                    and window.library_model.info(str(a)).state is FileState.INDEXED, timeout=5000)
    assert ("add_paths", (str(a),)) in core.calls
    assert "b.exe" in window.statusBar().currentMessage()
    assert "not supported" in window.library_actions.refused_box.text()

    window.chat_view.input.setPlainText("What is the answer?")
    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        window.chat_view.submit()
    assert window.chat_view.last_answer() == "The answer is 42 [1]."
    assert window.sources.items[0].passage.path == "/docs/report.pdf" and window.sources.items[0].cited
    chat_id = window.flow.chat_id
    assert core.chats.get(chat_id).turns[0].answer == "The answer is 42 [1]."

    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        window.flow.regenerate()
    turns = core.chats.get(chat_id).turns
    assert len(turns) == 1 and len(window.chat_view.turns) == 1

    # A failed answer keeps its question and says why, in place (not wiped by a list refresh).
    core.fail_with = "The model failed while answering: out of memory"
    window.chat_view.input.setPlainText("And the year before?")
    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        window.chat_view.submit()
    qtbot.wait(50)
    assert window.chat_view.turns[-1].question == "And the year before?"
    assert "out of memory" in window.chat_view.transcript.toPlainText()


def test_geometry_and_chat_survive_reopen(qtbot, ui_settings, qsettings):
    window, core = make_window(qtbot, ui_settings, qsettings)
    window.chats.new_chat()
    chat_id = window.flow.chat_id
    core.chats.rename(chat_id, "Quarterly numbers")
    window.resize(760, 600)  # within the offscreen screen, so the geometry is restored as is
    window.splitter.setSizes([150, 400, 200])
    qtbot.wait(50)
    sizes = window.splitter.sizes()
    window.close()
    window2, core2 = make_window(qtbot, ui_settings, qsettings)
    assert window2.flow.chat_id == chat_id
    assert window2.chat_model.chat(0).title == "Quarterly numbers"
    qtbot.wait(50)
    assert window2.size() == window.size()
    assert window2.splitter.sizes() == sizes
