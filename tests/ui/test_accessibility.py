"""What a screen reader gets: a name for every control (walking Qt's accessibility tree, the
one the platform bridges read), table cells in words, and each answer announced once."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication

from app.core.events import FileEvent, FileState
from tests.docs_factory import make_pdf
from tests.ui.a11y import unnamed
from tests.ui.test_window_standin import make_window

PAGES = ["Cover page.", "Contents.", "Revenue grew to 42 million.", "Outlook."]


def window_with_an_answer(qtbot, settings, qsettings, tmp_path):  # type: ignore[no-untyped-def]
    window, core = make_window(qtbot, settings, qsettings)
    core.passage_path = str(make_pdf(tmp_path / "apple-10q.pdf", PAGES))
    model = window.library_model
    model.apply(FileEvent(core.passage_path, FileState.INDEXED, chunks=4, pages=4))
    model.apply(FileEvent(str(tmp_path / "locked.pdf"), FileState.ERROR, error_kind="encrypted",
                          message="encrypted"))
    model.apply(FileEvent(str(tmp_path / "new.txt"), FileState.QUEUED))
    model.flush()
    window.chat_view.input.setPlainText("What is the answer?")
    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        window.chat_view.submit()
    return window, core


def test_every_interactive_element_has_a_name(qtbot, ui_settings, qsettings, tmp_path):
    window, core = window_with_an_answer(qtbot, ui_settings, qsettings, tmp_path)
    assert unnamed(window) == []
    # The viewer with a PDF open at the cited page (its page controls shown).
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=20000):
        window.viewing.show_viewer()
    assert window.viewer.page_field.isVisible()
    assert unnamed(window) == []

    from app.ui.app import ExceptionDialog
    from app.ui.chat_list import ScopeDialog
    from app.ui.first_run import FirstRunDialog
    from app.ui.keyboard import ShortcutsDialog
    from app.ui.settings_dialog import SettingsDialog

    dialogs = [SettingsDialog(ui_settings, lambda **changes: None, window),
               FirstRunDialog(window.bridge, window),
               ScopeDialog(["/docs"], ["/docs/a.pdf", "/elsewhere/b.txt"], (), (), window),
               ShortcutsDialog([("Ctrl+N", "Chat › New chat")], window),
               ExceptionDialog("Traceback: nothing", window)]
    window.show_log()
    dialogs.append(window._log_window)
    for d in dialogs:
        d.show()
        assert unnamed(d) == [], type(d).__name__
        d.close()


def test_the_walk_finds_an_unnamed_control(qtbot):
    """The check above can fail: an icon-only button and a bare number cell are caught."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QTableView, QToolButton, QVBoxLayout, QWidget

    w = QWidget()
    qtbot.addWidget(w)
    button = QToolButton()
    button.setText("+")
    table = QTableView()
    table.setAccessibleName("Numbers")
    model = QStandardItemModel(1, 1)
    model.setItem(0, 0, QStandardItem("48"))
    table.setModel(model)
    layout = QVBoxLayout(w)
    layout.addWidget(button)
    layout.addWidget(table)
    w.show()
    found = unnamed(w)
    assert any("QToolButton '+'" in f for f in found), found
    assert any("Cell (item) '48'" in f for f in found), found


def test_library_cells_say_their_state_in_words(qtbot, ui_settings, qsettings, tmp_path):
    from app.ui.library_model import Column

    window, core = make_window(qtbot, ui_settings, qsettings)
    model = window.library_model
    model.apply(FileEvent("/d/report.pdf", FileState.INDEXED, chunks=120, pages=48))
    model.apply(FileEvent("/d/locked.pdf", FileState.ERROR, error_kind="encrypted",
                          message="encrypted"))
    model.flush()
    words = {model.index(r, Column.STATE).data(Qt.ItemDataRole.AccessibleTextRole)
             for r in range(model.rowCount())}
    assert words == {"Indexed, 48 pages", "Error: encrypted"}
    # What the table's accessibility interface hands the screen reader, cell by cell.
    table = QAccessible.queryAccessibleInterface(window.library.table)
    names = [table.child(i).text(QAccessible.Text.Name) for i in range(table.childCount())]
    assert "Indexed, 48 pages" in names and "Error: encrypted" in names and "48 pages" in names
    assert "State" in names  # the column headers


def spy_announcements(window):  # type: ignore[no-untyped-def]
    """What the window sends to the platform bridge, still sent on (a wrap of Qt's call)."""
    sent: list[tuple[str, object, object]] = []
    real = window.announcer.send

    def send(event):  # type: ignore[no-untyped-def]
        if event.type() == QAccessible.Event.Announcement:
            sent.append((event.message(), event.politeness(), event.object()))
        real(event)

    window.announcer.send = send
    return sent


def test_an_answer_is_announced_once_with_its_citations_in_words(qtbot, ui_settings, qsettings,
                                                                  tmp_path):
    window, core = make_window(qtbot, ui_settings, qsettings)
    core.passage_path = str(tmp_path / "apple-10q.pdf")
    sent = spy_announcements(window)
    tokens: list[str] = []
    window.flow.tokenShown.connect(tokens.append)
    window.chat_view.input.setPlainText("What is the answer?")
    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        window.chat_view.submit()
    qtbot.wait(100)
    assert len(tokens) == 6 and len(sent) == 1  # once, when done: not per token
    message, politeness, target = sent[0]
    assert message == ("Answer: The answer is 42 (source 1). "
                       "Cited: source 1, apple-10q.pdf, page 3.")
    assert politeness == QAccessible.AnnouncementPoliteness.Polite
    assert target is window.chat_view.transcript

    core.fail_with = "The model failed while answering: out of memory"
    window.chat_view.input.setPlainText("And the year before?")
    with qtbot.waitSignal(window.flow.finished, timeout=10000):
        window.chat_view.submit()
    qtbot.wait(100)
    assert len(sent) == 2
    assert sent[1][0] == "The answer failed: The model failed while answering: out of memory."
    assert sent[1][1] == QAccessible.AnnouncementPoliteness.Assertive


def test_opening_a_source_says_which_and_where(qtbot, ui_settings, qsettings, tmp_path):
    window, core = window_with_an_answer(qtbot, ui_settings, qsettings, tmp_path)
    sent = spy_announcements(window)
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=20000):
        window.viewing.show_viewer()
    assert sent == [("Opened source 1, apple-10q.pdf, page 3, passage highlighted.",
                     QAccessible.AnnouncementPoliteness.Polite, window.viewer)]
    page = QAccessible.queryAccessibleInterface(window.viewer.pdf_pane.view)
    assert page.text(QAccessible.Text.Description) == "Cited passage: Revenue grew to 42 million."


def test_errors_outside_an_answer_are_announced(qtbot, ui_settings, qsettings):
    from app.core.events import CoreErrorEvent

    window, core = make_window(qtbot, ui_settings, qsettings)
    sent = spy_announcements(window)
    window.bridge.errorEvent.emit(CoreErrorEvent("The index could not be written: disk full"))
    assert window.statusBar().currentMessage() == "The index could not be written: disk full"
    assert sent == [("The index could not be written: disk full",
                     QAccessible.AnnouncementPoliteness.Assertive, window.statusBar())]


def test_the_announcement_reads_markers_pages_and_notes_as_words():
    from app.engine.prompt import NumberedSource
    from app.errors import grounding_no_overlap_note
    from app.ui.accessibility import answer_announcement
    from ingest.passage import Passage

    cited = [NumberedSource(2, Passage("a", "/x/apple-10q.pdf", 4, 4, "", 0.5), True),
             NumberedSource(5, Passage("b", "/x/notes.md", None, None, "", 0.4), True),
             NumberedSource(6, Passage("c", "/x/apple-10q.pdf", 7, 8, "", 0.3), True)]
    note = grounding_no_overlap_note("apple-10q.pdf pages 4, 7-8")
    text = answer_announcement("Sales rose [2, 6]. Costs fell [~5]. Margin $3 ⚠.", cited, [note])
    assert text.startswith("Answer: Sales rose (source 2, source 6). Costs fell (source 5). "
                           "Margin $3 (unverified).")
    assert ("Cited: source 2, apple-10q.pdf, page 4; source 5, notes.md; "
            "source 6, apple-10q.pdf, pages 7 to 8.") in text
    assert text.endswith("the documents may not contain it.")
    assert "[" not in text
    assert answer_announcement("", [], stopped=True) == "Answer stopped."
    listed = answer_announcement("## Totals\n- **Sales**: $3 [2]\n1. Costs", [])
    assert listed == "Answer: Totals. Sales: $3 (source 2). Costs."


def test_shortcuts_dialog_lists_every_menu_shortcut(qtbot, ui_settings, qsettings):
    window, core = make_window(qtbot, ui_settings, qsettings)
    from PySide6.QtGui import QKeySequence

    keys = [k.toString(QKeySequence.SequenceFormat.NativeText)
            for top in window.menuBar().actions() if top.menu()
            for a in top.menu().actions() for k in a.shortcuts()]
    assert {"Ctrl+1", "Ctrl+2", "Esc", "Ctrl+O", "Ctrl+N", "F1"} <= set(keys)
    assert any(k in keys for k in ("Ctrl+,", "Ctrl+Shift+,"))  # settings, on every platform
    seen: list[str] = []

    def read_and_close() -> None:
        d = QApplication.activeModalWidget()
        seen.append(d.text() if d is not None and hasattr(d, "text") else "")
        if d is not None:
            d.reject()

    QTimer.singleShot(200, read_and_close)
    window.viewing.show_shortcuts()
    assert seen and all(k in seen[0] for k in keys), (keys, seen)
    assert "Ctrl+Enter" in seen[0] and "Alt+Left" in seen[0]
