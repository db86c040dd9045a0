"""Large text and high contrast: nothing said by colour alone, colours readable on every
theme, and nothing cut off with text twice the system size."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractButton, QLabel, QSizePolicy, QWidget

from tests.ui.test_accessibility import window_with_an_answer

THEMES = ("light", "dark", "high-contrast", "high-contrast-light")


@pytest.fixture
def app_look(qapp):  # type: ignore[no-untyped-def]
    style, palette, sheet, font = qapp.style().name(), qapp.palette(), qapp.styleSheet(), qapp.font()
    yield qapp
    qapp.setFont(font)
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)


def clipped(root: QWidget) -> list[str]:
    """Labels and buttons shown smaller than their text needs (wrapped labels: too short)."""
    out = []
    for w in root.findChildren(QWidget):
        if not isinstance(w, (QLabel, QAbstractButton)) or not w.isVisibleTo(root):
            continue
        if w.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored:
            continue  # the answer's status line: elided on purpose, whole in its tooltip
        if isinstance(w, QLabel) and w.wordWrap():
            short = w.height() < w.heightForWidth(w.width())
        else:
            need = w.minimumSizeHint()
            short = w.width() < need.width() or w.height() < need.height()
        if short:
            out.append(f"{type(w).__name__} {w.text()[:60]!r} {w.size().toTuple()}")
    return out


@pytest.mark.parametrize("theme", THEMES)
def test_text_colours_are_readable_on_every_theme(app_look, theme):
    from app.ui.app import apply_look
    from app.ui.look import contrast, text_colors

    apply_look(app_look, theme)
    p = app_look.palette()
    base = p.color(QPalette.ColorRole.Base)
    colors = text_colors(p)
    for name in ("muted", "good", "bad"):
        assert contrast(QPalette().color(QPalette.ColorRole.Text).fromString(getattr(colors, name)),
                        base) >= 4.5, (theme, name, getattr(colors, name))
    if theme.startswith("high-contrast"):
        assert contrast(p.color(QPalette.ColorRole.Text), base) >= 15
        assert contrast(p.color(QPalette.ColorRole.HighlightedText),
                        p.color(QPalette.ColorRole.Highlight)) >= 7


def test_states_are_said_in_words_not_by_colour_alone(qtbot, ui_settings):
    from app.engine.prompt import NumberedSource
    from app.ui.settings_dialog import SettingsDialog
    from app.ui.sources_pane import SourcesPane
    from ingest.passage import Passage

    pane = SourcesPane()
    qtbot.addWidget(pane)
    pane.show_sources("what grew", [NumberedSource(1, Passage("a", "/d/a.pdf", 2, 2, "Sales grew.", 0.8)),
                                    NumberedSource(2, Passage("b", "/d/b.pdf", 5, 5, "Costs fell.", 0.6))])
    pane.mark_cited({1})
    pane.set_unsearched([("/d/locked.pdf", "The PDF is encrypted.")])
    text = pane.view.toPlainText()
    assert "cited" in text and "not cited" in text  # green and grey, and the words
    assert "Not searched (could not be indexed)" in text and "encrypted" in text

    def refuse(**changes):  # type: ignore[no-untyped-def]
        raise ValueError("Threads must be 0 or more")

    dialog = SettingsDialog(ui_settings, refuse)
    qtbot.addWidget(dialog)
    dialog.editors["n_threads"].set(3)
    dialog.save()
    assert dialog.error.text() == "Not saved: Threads must be 0 or more"  # red, and in words


@pytest.mark.parametrize("scale", [1.5, 2.0])
def test_large_text_cuts_nothing_off(qtbot, app_look, ui_settings, qsettings, tmp_path, scale):
    from app.ui.app import apply_look, set_text_size
    from app.ui.first_run import FirstRunDialog
    from app.ui.settings_dialog import SettingsDialog

    apply_look(app_look, "light")
    window, core = window_with_an_answer(qtbot, ui_settings, qsettings, tmp_path)
    window.resize(1280, 800)
    question_box = window.chat_view.input.height()
    set_text_size(app_look, app_look.font().pointSizeF() * scale)
    qtbot.wait(100)
    assert window.library.table.font().pointSizeF() == app_look.font().pointSizeF()
    assert window.chat_view.input.height() > question_box  # still three lines of the bigger text
    assert clipped(window) == []
    header = window.library.table.horizontalHeader()
    fm = header.fontMetrics()
    model = window.library.table.model()
    for col in range(model.columnCount()):
        if not header.isSectionHidden(col):
            text = model.headerData(col, Qt.Orientation.Horizontal)
            assert header.sectionSize(col) >= fm.horizontalAdvance(text) + 8, text
    state = fm.horizontalAdvance("Indexed")
    assert header.sectionSize(1) >= state + 8  # the state column says "Indexed" whole
    for dialog in (SettingsDialog(ui_settings, lambda **changes: None, window),
                   FirstRunDialog(window.bridge, window)):
        dialog.show()
        qtbot.wait(50)
        assert clipped(dialog) == [], type(dialog).__name__
        dialog.close()
