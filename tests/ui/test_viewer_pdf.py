"""The source viewer on real 10-Q PDFs: the highlight holds the passage, on its pages."""
from __future__ import annotations

import random
import shutil
from collections import Counter
from dataclasses import replace

import pytest
from PySide6.QtCore import QPointF

from app.ui.viewer.align import tokens
from app.ui.viewer.samples import default_chunker, file_sources
from app.ui.viewer.source import SourceState
from app.ui.viewer.viewer import SourceViewer
from tests.ui.viewer_readback import open_source, read_back

SEED = 13
N_DOCS, PER_DOC = 5, 10
AAPL = "2023 Q3 AAPL.pdf"


@pytest.fixture(scope="module")
def chunker(embedder):
    return default_chunker(embedder.tokenizer)


@pytest.fixture(scope="module")
def aapl(sec_docs, chunker):
    """The chunks of one filing as sources (parsing a 10-Q takes seconds: once per module)."""
    return file_sources(sec_docs / AAPL, chunker)


@pytest.fixture
def viewer(qtbot):
    v = SourceViewer()
    qtbot.addWidget(v)
    v.resize(1100, 800)
    v.show()
    return v



def test_highlights_hold_the_passage_on_fifty_random_chunks(qtbot, viewer, sec_docs, chunker):
    rng = random.Random(SEED)
    docs = rng.sample(sorted(sec_docs.glob("*.pdf")), N_DOCS)
    inside = outside = passage_total = 0
    worst_cov, worst_out, rows = 1.0, 0.0, []
    for path in docs:
        sources = [s for s in file_sources(path, chunker) if tokens(s.body)]
        for source in rng.sample(sources, PER_DOC):
            shown = open_source(qtbot, viewer, [source])
            assert shown.state == SourceState.CURRENT
            allowed = {p - 1 for p in source.pages}
            assert shown.highlights, f"nothing highlighted: {path.name} p.{source.passage.page_start}"
            assert set(shown.highlights) <= allowed, "a highlight on a page the passage is not on"
            passage = Counter(t.norm for t in tokens(source.body))
            lit = Counter(read_back(viewer.pdf_pane.document, shown.highlights))
            common = sum((passage & lit).values())
            cov = common / sum(passage.values())
            out = (sum(lit.values()) - common) / max(1, sum(lit.values()))
            inside += common
            outside += sum(lit.values()) - common
            passage_total += sum(passage.values())
            worst_cov, worst_out = min(worst_cov, cov), max(worst_out, out)
            rows.append((path.name, source.passage.page_start, source.passage.page_end, round(cov, 3), round(out, 3)))
    coverage = inside / passage_total
    outside_share = outside / (inside + outside)
    print(f"\nviewer highlight accuracy over {len(rows)} chunks of {N_DOCS} 10-Qs (seed {SEED}): "
          f"passage words covered {coverage:.1%} (worst chunk {worst_cov:.1%}), "
          f"highlighted words outside the passage {outside_share:.1%} (worst chunk {worst_out:.1%})")
    for row in rows:
        print("  ", *row)
    assert len(rows) == N_DOCS * PER_DOC
    assert coverage >= 0.90
    assert outside_share <= 0.10
    assert worst_cov >= 0.5, "a passage was mostly missed"


def test_passage_over_a_page_break_is_highlighted_on_both_pages(qtbot, viewer, aapl):
    spanning = [s for s in aapl if len(s.pages) == 2]
    assert spanning, "no chunk of this filing runs over a page break"
    source = spanning[0]
    shown = open_source(qtbot, viewer, [source])
    first, second = source.pages[0] - 1, source.pages[1] - 1
    assert set(shown.highlights) == {first, second}
    assert shown.page == first
    # Scrolled to the passage's start: its first line is inside the viewport.
    view = viewer.pdf_pane.view
    top_line = view.map_to_viewport(first, shown.highlights[first][0])
    assert view.viewport().rect().intersects(top_line.toRect())


def test_opens_deep_in_the_file_scrolled_to_the_passage(qtbot, viewer, aapl):
    source = next(s for s in aapl if s.passage.page_start == 20 and len(s.pages) == 1 and len(s.body) > 300)
    shown = open_source(qtbot, viewer, [source])
    view = viewer.pdf_pane.view
    assert shown.page == 19
    assert viewer.page_field.value() == 20
    rects = [view.map_to_viewport(19, r) for r in shown.highlights[19]]
    assert any(view.viewport().rect().intersects(r.toRect()) for r in rects)
    # The mirrored page layout is QPdfView's own: it ends where the scroll range does.
    geoms = view.page_geometries()
    margins = view.documentMargins()
    content_height = geoms[-1].bottom() + 1 + view.pageSpacing() + margins.bottom()
    assert view.verticalScrollBar().maximum() == content_height - view.viewport().height()


def test_next_and_previous_passage_step_through_the_sources(qtbot, viewer, aapl):
    picked = [aapl[10], aapl[40], aapl[80]]
    open_source(qtbot, viewer, picked)
    assert not viewer.prev_button.isEnabled()
    with qtbot.waitSignal(viewer.passage_shown, timeout=30_000) as blocker:
        viewer.next_passage()
    assert blocker.args[0].source == picked[1]
    assert viewer.source_list.currentRow() == 1
    with qtbot.waitSignal(viewer.passage_shown, timeout=30_000) as blocker:
        viewer.next_passage()
    assert blocker.args[0].source == picked[2]
    assert not viewer.next_button.isEnabled()
    with qtbot.waitSignal(viewer.passage_shown, timeout=30_000) as blocker:
        viewer.previous_passage()
    assert blocker.args[0].source == picked[1]


def test_find_in_the_pdf_moves_to_a_match(qtbot, viewer, aapl):
    open_source(qtbot, viewer, [aapl[5]])
    viewer.find("Risk Factors")
    qtbot.waitUntil(lambda: viewer.pdf_pane.view.found() is not None, timeout=30_000)
    page, rects = viewer.pdf_pane.view.found()
    assert rects
    sel = viewer.pdf_pane.document.getSelection(page, rects[0].topLeft() + QPointF(0.5, rects[0].height() / 2),
                                                 rects[0].topRight() + QPointF(-0.5, rects[0].height() / 2))
    assert "risk" in sel.text().lower()


def test_an_edited_pdf_says_changed_and_offers_reindex(qtbot, viewer, sec_docs, aapl, tmp_path):
    path = tmp_path / "filing.pdf"
    shutil.copy2(sec_docs / AAPL, path)
    source = replace(aapl[30], passage=replace(aapl[30].passage, path=str(path)))
    with path.open("ab") as fh:  # an incremental-update-style append: still a valid PDF
        fh.write(b"\n% edited\n")
    shown = open_source(qtbot, viewer, [source])
    assert shown.state == SourceState.CHANGED
    assert shown.highlights == {}, "an edited file must not be highlighted at the old place"
    assert viewer.banner_box.isVisible() and "changed since it was indexed" in viewer.banner.text()
    assert viewer.reindex_button.isVisible()
    with qtbot.waitSignal(viewer.reindex_requested, timeout=5_000) as blocker:
        viewer.reindex_button.click()
    assert blocker.args == [str(path)]


def test_a_vanished_pdf_says_file_missing(qtbot, viewer, sec_docs, aapl, tmp_path):
    path = tmp_path / "gone.pdf"
    shutil.copy2(sec_docs / AAPL, path)
    source = replace(aapl[3], passage=replace(aapl[3].passage, path=str(path)))
    path.unlink()
    shown = open_source(qtbot, viewer, [source])
    assert shown.state == SourceState.MISSING
    assert "File missing" in viewer.banner.text()
    assert viewer.stack.currentWidget() is viewer.empty


def test_drag_selects_text_to_copy_and_zoom_keeps_the_page(qtbot, viewer, aapl):
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtPdfWidgets import QPdfView
    from PySide6.QtWidgets import QApplication

    source = next(s for s in aapl if s.passage.page_start == 17 and len(s.pages) == 1)
    shown = open_source(qtbot, viewer, [source])
    view = viewer.pdf_pane.view
    line = view.map_to_viewport(shown.page, shown.highlights[shown.page][1])
    start, end = QPointF(line.left() + 2, line.center().y()), QPointF(line.right() - 2, line.center().y())

    def send(kind, pos, buttons):
        event = QMouseEvent(kind, pos, view.viewport().mapToGlobal(pos), Qt.MouseButton.LeftButton,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), event)

    send(QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseMove, end, Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    selected = [t.norm for t in tokens(viewer.selected_text())]
    assert len(selected) >= 5 and set(selected) <= {t.norm for t in tokens(source.body)}
    viewer.copy_selection()
    assert QApplication.clipboard().text() == viewer.selected_text()

    viewer._current_pane_zoom(1)
    assert view.zoomMode() == QPdfView.ZoomMode.Custom
    assert viewer.page_field.value() == shown.page + 1
    viewer._current_pane_zoom(0)
    assert view.zoomMode() == QPdfView.ZoomMode.FitToWidth
    assert viewer.page_field.value() == shown.page + 1


def test_broken_or_textless_pdfs_say_why_nothing_is_highlighted(qtbot, viewer, tmp_path):
    from pypdf import PdfWriter

    from app.ui.viewer import messages
    from app.ui.viewer.source import ViewerSource
    from ingest.passage import Passage
    from ingest.pipeline import sha256_file

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n% damaged in transit\n" * 10)
    scan = tmp_path / "scan.pdf"
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    with scan.open("wb") as fh:
        writer.write(fh)

    def source(path, page):
        return ViewerSource(Passage("c", str(path), page, page, "Net sales increased in the quarter."),
                            sha256_file(path), path.stem)

    shown = open_source(qtbot, viewer, [source(broken, 1)])
    assert shown.note.startswith(messages.CANNOT_OPEN.split("{")[0]) and not shown.highlights
    assert viewer.banner_box.isVisible()
    shown = open_source(qtbot, viewer, [source(scan, 2)])
    assert shown.note == messages.NO_TEXT_LAYER and shown.page == 1
    shown = open_source(qtbot, viewer, [source(scan, 40)])  # a page the file does not have
    assert shown.page == 1 and not shown.highlights


def test_quickly_stepping_through_sources_ends_on_the_last_one(qtbot, viewer, aapl):
    sources = aapl[::25]
    open_source(qtbot, viewer, sources)
    for _ in range(len(sources) - 1):
        viewer.next_passage()
    qtbot.waitUntil(lambda: viewer.last_shown is not None and viewer.last_shown.source == sources[-1],
                    timeout=30_000)
    assert viewer.current_index() == len(sources) - 1
    assert set(viewer.last_shown.highlights) <= {p - 1 for p in sources[-1].pages}


def test_a_cited_table_chunk_highlights_its_rows_and_not_the_headers(qtbot, viewer, aapl):
    """Apple's statement of operations is read as a table: its chunk's body is its rows,
    and the viewer lights exactly those rows on page 4, not the caption or the dates."""
    (source,) = [s for s in aapl if s.pages == (4,) and "| Total net sales | 81,797 |" in s.body]
    shown = open_source(qtbot, viewer, [source])
    assert set(shown.highlights) == {3}
    lit = read_back(viewer.pdf_pane.document, shown.highlights)
    want = Counter(t.norm for t in tokens(source.body))
    got = Counter(lit)
    assert sum((want & got).values()) >= 0.95 * sum(want.values())  # every row lit
    assert sum((got - want).values()) <= 0.05 * sum(got.values())  # nothing else
    for header_word in ("condensed", "months", "ended", "july", "june"):
        assert header_word not in got
    # a bar per row, and one per section label the rows read under ("Net sales:")
    assert len(source.body.splitlines()) <= len(shown.highlights[3]) <= 2 * len(source.body.splitlines())


def test_a_computed_inputs_marker_lights_its_row_label_and_cell_only(qtbot, viewer, aapl):
    """A computed answer's input (app.engine.computation) opens at its cell: on Apple's
    statement of operations, "Total net sales" and the nine months' 293,787, not the row's
    other periods nor any other row."""
    from app.engine.compute_inputs import input_focus
    from app.ui.viewer.source import ViewerSource

    (source,) = [s for s in aapl if s.pages == (4,) and "| Total net sales | 81,797 |" in s.body]
    focused = input_focus(source.passage, "Total net sales, Nine Months Ended July 1, 2023", "$293,787 million")
    assert focused.body == "| Total net sales | 293,787 |"
    shown = open_source(qtbot, viewer, [ViewerSource(focused, source.indexed_sha256)])
    assert set(shown.highlights) == {3}
    lit = Counter(read_back(viewer.pdf_pane.document, shown.highlights))
    assert lit == Counter(["total", "net", "sales", "293", "787"]), lit
