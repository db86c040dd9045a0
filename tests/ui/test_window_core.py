"""The window on the real core: real MiniLM, Chroma, SmolLM2, real 10-Q PDFs, offscreen Qt."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.core.events import CoreState, FileState, ModelState
from app.ui.drop import DropChoice

pytestmark = pytest.mark.slow

LONG = 600_000  # ms: indexing real PDFs and answering on a shared 2-core machine


def open_window(qtbot, settings, qsettings, embedder):  # type: ignore[no-untyped-def]
    from app.ui.app import build_window

    window = build_window(settings, qsettings, embedder=embedder)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.bridge.coreState, timeout=120_000,
                          check_params_cb=lambda ev: ev.state in (CoreState.READY, CoreState.FAILED)):
        window.bridge.start()
    assert window.bridge.state is CoreState.READY
    return window


@pytest.fixture
def window_factory(qtbot, ui_settings, qsettings, embedder, smollm_path):  # type: ignore[no-untyped-def]
    opened = []

    def make(model: bool = True):  # type: ignore[no-untyped-def]
        from app.settings import Settings

        settings = Settings.load(ui_settings.home)
        if model:  # short answers: the tests check the flow, not the prose
            settings.update(model_path=str(smollm_path), max_answer_tokens=40)
        w = open_window(qtbot, settings, qsettings, embedder)
        opened.append(w)
        return w

    yield make
    for w in opened:
        if w.core.state is not CoreState.CLOSED:
            w.close()


def drop(window, paths, choice=DropChoice.INDEX_ONCE, monkeypatch=None):  # type: ignore[no-untyped-def]
    asked = []
    window.library_actions.ask_watch_or_once = lambda folder: asked.append(folder) or choice
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    window.dropEvent(QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    return asked


def states_of(window):  # type: ignore[no-untyped-def]
    seen: dict[str, list[FileState]] = {}
    window.bridge.fileEvent.connect(lambda ev: seen.setdefault(ev.path, []).append(ev.state))
    return seen


def all_indexed(window, paths) -> bool:  # type: ignore[no-untyped-def]
    infos = [window.library_model.info(str(p)) for p in paths]
    return all(i is not None and i.state is FileState.INDEXED for i in infos)


def ask_and_record(qtbot, window, question):  # type: ignore[no-untyped-def]
    order: list[str] = []
    window.flow.sourcesShown.connect(lambda n: order.append("sources"))
    window.flow.tokenShown.connect(lambda t: order.append("token"))
    window.chat_view.input.setPlainText(question)
    with qtbot.waitSignal(window.flow.finished, timeout=LONG):
        window.chat_view.submit()
    return order


@pytest.mark.timeout(3000)  # several real answers; the machine may be busy
def test_drop_folder_index_ask_stop_regenerate(qtbot, window_factory, sec_docs, tmp_path):
    docs = tmp_path / "filings"
    docs.mkdir()
    pdfs = [docs / n for n in ("2022 Q3 AAPL.pdf", "2022 Q3 NVDA.pdf")]
    for p in pdfs:
        shutil.copy2(sec_docs / p.name, p)
    note = docs / "notes.txt"
    note.write_text("Meeting notes: the Falcon project budget is 2.5 million euros.\n")
    window = window_factory()
    seen = states_of(window)
    asked = drop(window, [docs])
    qtbot.waitUntil(lambda: asked == [docs], timeout=10_000)
    files = [*pdfs, note]
    qtbot.waitUntil(lambda: all(FileState.QUEUED in seen.get(str(p), []) for p in files),
                    timeout=60_000)
    qtbot.waitUntil(lambda: all_indexed(window, files), timeout=LONG)
    row = window.library_model.info(str(pdfs[0]))
    assert row.chunks > 10

    order = ask_and_record(qtbot, window, "What were Apple's total net sales for iPhone?")
    assert order and order[0] == "sources" and order.count("token") > 1
    paths = [i.passage.path for i in window.sources.items]
    assert str(pdfs[0]) in paths, paths
    apple = next(i for i in window.sources.items if i.passage.path == str(pdfs[0]))
    assert apple.passage.page_start is not None and apple.passage.page_start >= 1
    assert all(i.cited is not None for i in window.sources.items)  # marked after the answer
    html = window.chat_view.transcript.toHtml()  # each cited source opens from the text itself
    cited = [i.number for i in window.sources.items if i.cited]
    assert all(f'href="cite:{n}"' in html or f'href="cite:~{n}"' in html for n in cited), (cited, html)
    notes = window.chat_view.turns[-1].notes  # uncited: the window says why, under the answer
    assert cited or notes and notes[-1] in window.chat_view.transcript.toPlainText(), html
    stored = window.core.chats.get(window.flow.chat_id).turns[-1]
    assert stored.notes == list(window.chat_view.turns[-1].notes)
    assert stored.answer == window.chat_view.last_answer()
    first = window.chat_view.last_answer()
    assert first and first in window.chat_view.transcript.toPlainText().replace("\u2029", "\n") \
        or first.split()[0] in window.chat_view.transcript.toPlainText()

    # Stop on the first token: the answer ends, marked stopped, and the next question works.
    window.flow.tokenShown.connect(lambda t: window.flow.stop())
    window.chat_view.input.setPlainText("Summarise NVIDIA's revenue by segment in detail.")
    with qtbot.waitSignal(window.flow.finished, timeout=LONG):
        window.chat_view.submit()
    assert window.chat_view.turns[-1].stopped
    window.flow.tokenShown.disconnect()
    order = ask_and_record(qtbot, window, "What is the Falcon project budget?")
    assert order.count("token") > 1 and not window.chat_view.turns[-1].stopped
    assert any(i.passage.path == str(note) for i in window.sources.items)

    chat_id = window.flow.chat_id
    before = window.core.chats.get(chat_id).turns
    tokens: list[str] = []
    window.flow.tokenShown.connect(tokens.append)
    with qtbot.waitSignal(window.flow.finished, timeout=LONG):
        window.flow.regenerate()
    after = window.core.chats.get(chat_id).turns
    assert len(after) == len(before) == 3
    assert after[-1].question == "What is the Falcon project budget?" and tokens
    assert len(window.chat_view.turns) == 3
    assert window.chat_view.last_answer() == after[-1].answer


def test_corrupt_pdf_shows_its_error_and_the_rest_index(qtbot, window_factory, tmp_path):
    from ingest.errors import MESSAGES, FileErrorKind

    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf at all\n" * 20)
    good = tmp_path / "fine.txt"
    good.write_text("A perfectly ordinary text file about tidal energy.\n")
    window = window_factory(model=False)
    drop(window, [bad, good])
    qtbot.waitUntil(lambda: all_indexed(window, [good]), timeout=LONG)
    qtbot.waitUntil(lambda: (window.library_model.info(str(bad)) or good).state is FileState.ERROR,
                    timeout=LONG)
    info = window.library_model.info(str(bad))
    assert info.error_kind == FileErrorKind.CORRUPT.value
    assert MESSAGES[FileErrorKind.CORRUPT] in info.message
    window.library.errors_only.setChecked(True)
    proxy = window.library.proxy
    assert proxy.rowCount() == 1
    from app.ui.library_model import Column

    assert MESSAGES[FileErrorKind.CORRUPT] in proxy.index(0, Column.MESSAGE).data()
    window.sources.render()
    assert "broken.pdf" in window.sources.view.toPlainText()  # said where answers are shown


def test_first_run_choosing_a_local_gguf_makes_the_app_ready(qtbot, window_factory, smollm_path):
    window = window_factory(model=False)
    assert window.core.model_state is ModelState.NONE
    qtbot.waitUntil(lambda: window.first_run is not None and window.first_run.isVisible(),
                    timeout=10_000)
    assert not window.chat_view.send_button.isEnabled()
    window.chat_view.input.setPlainText("anything")
    with qtbot.waitSignal(window.bridge.modelEvent, timeout=LONG,
                          check_params_cb=lambda ev: ev.state is ModelState.READY):
        window.first_run.use_local(str(smollm_path))
    qtbot.waitUntil(lambda: not window.first_run.isVisible(), timeout=10_000)
    assert window.chat_view.send_button.isEnabled()
    assert window.core.settings.model_path == str(smollm_path)


def test_chats_and_scope_survive_reopening(qtbot, window_factory, tmp_path, monkeypatch):
    from app.ui.chat_list import ScopeDialog

    doc = tmp_path / "scope-doc.txt"
    doc.write_text("Only this file may be used.\n")
    window = window_factory(model=False)
    drop(window, [doc])
    qtbot.waitUntil(lambda: all_indexed(window, [doc]), timeout=LONG)
    window.chats.new_chat()
    chat_id = window.flow.chat_id
    window.chat_model.setData(window.chat_model.index(window.chat_model.row_of(chat_id)),
                              "Tidal research")

    def choose(dialog):  # type: ignore[no-untyped-def]
        dialog._file_items[str(doc)].setCheckState(0, Qt.CheckState.Checked)
        return True

    monkeypatch.setattr(ScopeDialog, "exec", choose)
    window.chats.pick_scope()
    assert "scope-doc.txt" in window.scope_button.text()
    window.close()

    again = window_factory(model=False)
    assert again.flow.chat_id == chat_id
    assert again.chat_model.chat(again.chat_model.row_of(chat_id)).title == "Tidal research"
    assert "scope-doc.txt" in again.scope_button.text()
    assert again.core.chats.get(chat_id).scope.files == (str(doc),)
