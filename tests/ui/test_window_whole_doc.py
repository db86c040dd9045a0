"""'Summarise this document' in a chat scoped to one file: progress shown, every part read, the
answer's sources are that file's pages (real core, MiniLM, Chroma, SmolLM2, offscreen Qt)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.docs_factory import make_pdf
from tests.ui.test_window_core import LONG, all_indexed, drop, window_factory  # noqa: F401

pytestmark = pytest.mark.slow

PAGES = [f"Section {i}. The orchard cooperative planted {i * 40} apple trees in field {i} and "
         f"pressed {i * 300} litres of cider from them. " * 10 for i in range(1, 15)]


@pytest.mark.timeout(1800)
def test_a_scoped_summary_shows_progress_and_cites_the_file(qtbot, window_factory, tmp_path,  # noqa: F811
                                                            monkeypatch):
    from app.ui.chat_list import ScopeDialog

    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = make_pdf(docs / "orchard report.pdf", PAGES)
    other = docs / "choir.txt"
    other.write_text("The choir rehearses on Tuesdays in the old hall.\n")
    window = window_factory()
    drop(window, [pdf, other])
    qtbot.waitUntil(lambda: all_indexed(window, [pdf, other]), timeout=LONG)
    window.chats.new_chat()

    def choose(dialog):  # type: ignore[no-untyped-def]
        dialog._file_items[str(pdf)].setCheckState(0, Qt.CheckState.Checked)
        return True

    monkeypatch.setattr(ScopeDialog, "exec", choose)
    window.chats.pick_scope()
    steps: list[tuple[int, int]] = []
    statuses: list[str] = []
    bar_shown: list[bool] = []

    def on_progress(done: int, total: int) -> None:
        steps.append((done, total))
        statuses.append(window.chat_view.status.text())
        bar_shown.append(window.chat_view.progress.isVisibleTo(window))

    window.flow.progressShown.connect(on_progress)
    window.chat_view.input.setPlainText("Summarise this document")
    with qtbot.waitSignal(window.flow.finished, timeout=LONG):
        window.chat_view.submit()
    assert len(steps) >= 2 and steps[-1][0] == steps[-1][1] - 1, steps  # parts, then the answer
    assert all("orchard report.pdf" in s or "Writing" in s for s in statuses), statuses
    assert statuses[0].startswith(f"1/{steps[0][1]} · Reading") and all(bar_shown)
    assert not window.chat_view.progress.isVisible()  # gone with the answer
    turn = window.chat_view.turns[-1]
    assert turn.answer and not turn.stopped and not turn.error
    items = window.sources.items
    assert items and all(i.passage.path == str(pdf) and i.passage.page_start for i in items)
    assert any(i.cited for i in items)
