"""The source viewer on Markdown, DOCX and HTML: the loader's text, scrolled to the passage, selected."""
from __future__ import annotations

import pytest

from app.ui.viewer.align import tokens
from app.ui.viewer.samples import default_chunker, file_sources
from app.ui.viewer.source import SourceState
from app.ui.viewer.viewer import SourceViewer
from tests.ui.viewer_readback import open_source

TOPICS = ["lease", "insurance", "maintenance", "termination", "deposit", "utilities", "parking", "pets"]


def paragraph(n: int) -> str:
    topic = TOPICS[n % len(TOPICS)]
    return (f"Clause {n} concerns the {topic} terms. The tenant shall observe the {topic} rules set out "
            f"in schedule {n}, and the landlord shall give notice of any change to them in writing at "
            f"least {n + 10} days in advance; reference QX-{n:04d}.")


@pytest.fixture(scope="module")
def chunker(embedder):
    return default_chunker(embedder.tokenizer)


@pytest.fixture
def viewer(qtbot):
    v = SourceViewer()
    qtbot.addWidget(v)
    v.resize(1000, 700)
    v.show()
    return v



def assert_selected_in_view(viewer, source):
    pane = viewer.text_pane
    assert viewer.stack.currentWidget() is pane
    selected = [t.norm for t in tokens(pane.selected_text())]
    passage = [t.norm for t in tokens(source.body)]
    assert selected == passage
    # Scrolled there: the passage's first line is on screen, and the file's first line is not.
    cursor = pane.textCursor()
    start = type(cursor)(cursor)
    start.setPosition(cursor.selectionStart())
    assert pane.viewport().rect().intersects(pane.cursorRect(start))
    assert pane.verticalScrollBar().value() > 0
    assert pane.extraSelections(), "the passage is not marked"


def markdown_file(tmp_path):
    lines = ["# Lease agreement", ""]
    for section in range(6):
        lines += [f"## Part {section + 1}", ""]
        for n in range(section * 8, section * 8 + 8):
            lines += [paragraph(n), ""]
    path = tmp_path / "lease.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_markdown_opens_at_the_passage_selected(qtbot, viewer, chunker, tmp_path):
    path = markdown_file(tmp_path)
    sources = file_sources(path, chunker)
    assert len(sources) > 4
    source = sources[len(sources) * 2 // 3]
    shown = open_source(qtbot, viewer, [source])
    assert shown.state == SourceState.CURRENT and shown.selection is not None
    assert_selected_in_view(viewer, source)
    assert "#" not in viewer.text_pane.selected_text().split("\n")[0], "the heading prefix is not the passage"


def test_docx_opens_at_the_passage_selected(qtbot, viewer, chunker, tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Service agreement", level=1)
    for n in range(60):
        if n % 10 == 0:
            document.add_heading(f"Section {n // 10 + 1}", level=2)
        document.add_paragraph(paragraph(n))
    path = tmp_path / "agreement.docx"
    document.save(str(path))
    sources = file_sources(path, chunker)
    source = sources[-2]
    shown = open_source(qtbot, viewer, [source])
    assert shown.state == SourceState.CURRENT
    assert_selected_in_view(viewer, source)
    viewer.copy_selection()
    from PySide6.QtWidgets import QApplication

    assert [t.norm for t in tokens(QApplication.clipboard().text())] == [t.norm for t in tokens(source.body)]


def test_html_opens_at_the_passage_selected(qtbot, viewer, chunker, tmp_path):
    body = "".join(f"<h2>Part {n}</h2><p>{paragraph(n)}</p>" if n % 7 == 0 else f"<p>{paragraph(n)}</p>"
                   for n in range(50))
    path = tmp_path / "terms.html"
    path.write_text(f"<html><head><title>Terms</title></head><body>{body}</body></html>", encoding="utf-8")
    sources = file_sources(path, chunker)
    source = sources[len(sources) // 2]
    open_source(qtbot, viewer, [source])
    assert_selected_in_view(viewer, source)


def test_an_edited_markdown_file_says_changed_since_indexed(qtbot, viewer, chunker, tmp_path):
    path = markdown_file(tmp_path)
    source = file_sources(path, chunker)[3]
    path.write_text(path.read_text(encoding="utf-8").replace("Clause 3 ", "Clause three "), encoding="utf-8")
    shown = open_source(qtbot, viewer, [source])
    assert shown.state == SourceState.CHANGED
    assert shown.selection is None
    assert viewer.text_pane.extraSelections() == []
    assert "changed since it was indexed" in viewer.banner.text() and viewer.reindex_button.isVisible()
    with qtbot.waitSignal(viewer.reindex_requested, timeout=5_000) as blocker:
        viewer.reindex_button.click()
    assert blocker.args == [str(path)]


def test_find_in_a_text_source_selects_the_match(qtbot, viewer, chunker, tmp_path):
    path = markdown_file(tmp_path)
    open_source(qtbot, viewer, [file_sources(path, chunker)[0]])
    assert viewer.find("QX-0042")
    assert viewer.text_pane.selected_text() == "QX-0042"
    assert not viewer.find("no such words anywhere")
    assert "Not found" in viewer.find_status.text()


def test_ctrl_f_opens_the_find_bar_and_enter_finds(qtbot, viewer, chunker, tmp_path):
    from PySide6.QtCore import Qt

    path = markdown_file(tmp_path)
    open_source(qtbot, viewer, [file_sources(path, chunker)[0]])
    viewer.activateWindow()
    viewer.text_pane.setFocus()
    qtbot.keyClick(viewer.text_pane, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(viewer.find_box.isVisible, timeout=5_000)
    qtbot.keyClicks(viewer.find_field, "QX-0017")
    qtbot.keyClick(viewer.find_field, Qt.Key.Key_Return)
    assert viewer.text_pane.selected_text() == "QX-0017"


def test_a_damaged_docx_says_it_cannot_be_opened(qtbot, viewer, tmp_path):
    from app.ui.viewer import messages
    from app.ui.viewer.source import ViewerSource
    from ingest.passage import Passage
    from ingest.pipeline import sha256_file

    path = tmp_path / "damaged.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip archive" * 20)
    source = ViewerSource(Passage("c", str(path), None, None, "Clause 3 concerns the deposit."),
                          sha256_file(path), "damaged")
    shown = open_source(qtbot, viewer, [source])
    assert shown.selection is None
    assert shown.note.startswith(messages.CANNOT_OPEN.split("{")[0])
    assert viewer.banner_box.isVisible() and viewer.banner.text() == shown.note
