"""The window opens an answer's sources in its viewer tab, at the passage; page counts in
the library. Real core: MiniLM, Chroma, SmolLM2, a real 10-Q, offscreen Qt."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QUrl

from app.ui.library_model import Column
from app.ui.markdown import CITE_SCHEME
from app.ui.viewer.pdf_pane import PdfShown
from app.ui.viewer.source import SourceState
from tests.ui.test_window_core import LONG, all_indexed, drop, window_factory  # noqa: F401

pytestmark = pytest.mark.slow

FILING = "2022 Q3 AAPL.pdf"


@pytest.mark.timeout(1800)
def test_sources_and_markers_open_in_the_viewer_at_the_passage(qtbot, window_factory,  # noqa: F811
                                                                 sec_docs, tmp_path):
    pdf = tmp_path / FILING
    shutil.copy2(sec_docs / FILING, pdf)
    window = window_factory()
    drop(window, [pdf])
    qtbot.waitUntil(lambda: all_indexed(window, [pdf]), timeout=LONG)

    # The page count comes with the indexed event (from the manifest) and the column shows it.
    row = window.library_model.info(str(pdf))
    assert row.pages is not None and row.pages > 10
    assert not window.library.table.isColumnHidden(Column.PAGES)
    assert window.core.file_record(str(pdf)).page_count == row.pages

    window.chats.new_chat()
    window.chat_view.input.setPlainText("What were Apple's total net sales?")
    with qtbot.waitSignal(window.flow.finished, timeout=LONG):
        window.chat_view.submit()
    items = window.sources.items
    assert items and all(i.passage.path == str(pdf) for i in items)
    assert all(i.passage.spans for i in items), "the sources lost their passage locations"

    # A click on the first source's title in the sources pane.
    first = items[0]
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=120_000) as blocker:
        window.sources.view.anchorClicked.emit(QUrl(f"src:{first.number}"))
    shown = blocker.args[0]
    assert isinstance(shown, PdfShown)
    assert shown.source.path == str(pdf)
    assert shown.state is SourceState.CURRENT  # the sha256 recorded at indexing matched
    assert shown.highlights, shown.note
    assert shown.page + 1 in first.passage.pages
    assert window.tabs.currentWidget() is window.viewer
    assert window.viewer.source_list.count() == len(items)  # the answer's other sources listed
    assert window.viewer.source_list.item(0).text().startswith(f"[{items[0].number}]")

    # An [n] marker clicked in the chat does the same, for that source.
    window.tabs.setCurrentWidget(window.splitter)
    last = items[-1]
    with qtbot.waitSignal(window.viewer.passage_shown, timeout=120_000) as blocker:
        window.chat_view.transcript.anchorClicked.emit(QUrl(f"{CITE_SCHEME}:{last.number}"))
    shown = blocker.args[0]
    assert shown.source.path == str(pdf) and shown.highlights
    assert shown.source.spans == last.passage.spans
    assert window.viewer.current_index() == len(items) - 1
    assert window.tabs.currentWidget() is window.viewer

    # "Re-index" in the viewer goes to the core's writer.
    jobs = []
    window.core.reindex = lambda path: jobs.append(path)  # type: ignore[method-assign]
    window.viewer.reindex_requested.emit(str(pdf))
    assert [str(p) for p in jobs] == [str(pdf)]
