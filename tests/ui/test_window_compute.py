"""A computed answer through the window and the real core (MiniLM, Chroma, the writer, the
Answerer), the model scripted: the plan is asked for under a grammar, Docent looks the inputs
up in the indexed file and computes, and the window marks the result computed, with its
working, its inputs' sources cited and the note under it. The same path with SmolLM2 through
llama.cpp's grammar: tests/app/test_compute_e2e.py (slow)."""
from __future__ import annotations

import re

from PySide6.QtCore import QUrl

from app.engine.answer_marks import COMPUTED
from app.ui.markdown import link_markers
from tests.ui.test_window_core import all_indexed, ask_and_record, drop
from tests.ui.test_window_scripted import LONG, window  # noqa: F401 - the fixture

BUDGET = ("Household budget 2023\n\nRent for 2023 came to $14,400. Food for 2023 came to $6,150.\n"
          "The total budget for 2023 was $48,000.\n")


def test_a_share_is_computed_by_docent_and_shown_as_computed(qtbot, window, tmp_path):  # noqa: F811
    docs = tmp_path / "money"
    docs.mkdir()
    budget = docs / "budget.txt"
    budget.write_text(BUDGET)
    drop(window, [docs])
    qtbot.waitUntil(lambda: all_indexed(window, [budget]), timeout=LONG)

    window.llms.enqueue("A = rent 2023: $14,400 [1]\nB = total budget 2023: $48,000 [1]\nRESULT = A / B * 100\n")
    ask_and_record(qtbot, window, "What share of the 2023 budget went to rent?")
    shown = window.chat_view.last_answer()
    assert shown.startswith(f"{COMPUTED} 30.0%, computed by Docent as A ÷ B × 100 = 14,400 ÷ 48,000 × 100:"), shown
    assert "Rent for 2023 came to: $14,400 [1]" in shown
    assert window.llms.made[-1].grammars[-1] is not None  # the plan was asked for under the grammar
    plain = window.chat_view.transcript.toPlainText()
    assert "Computed by Docent, not written by the model" in plain
    first = window.sources.items[0]
    assert first.passage.path == str(budget) and first.cited

    # An input's marker opens its source at that input: the viewer lights its sentence only.
    urls = re.findall(r"\]\((cite:1#[^)]+)\)", link_markers(shown))
    assert len(urls) == 2
    window.chat_view.transcript.anchorClicked.emit(QUrl(urls[1]))  # B, the total
    qtbot.waitUntil(lambda: window.viewer.last_shown is not None, timeout=LONG)
    opened = window.viewer.last_shown
    assert window.tabs.currentWidget() is window.viewer
    assert opened.source.path == str(budget) and opened.source.body == "The total budget for 2023 was $48,000."
    assert opened.selection is not None  # found and lit in the file's text, and only it
    a, b = opened.selection
    assert window.viewer.text_pane.toPlainText()[a:b] == "The total budget for 2023 was $48,000"  # its words
    window.tabs.setCurrentIndex(0)

    # An input the file does not hold: a sentence, no number, nothing marked computed.
    window.llms.enqueue("A = rent 2022: $13,900 [1]\nB = rent 2023: $14,400 [1]\nRESULT = B - A\n")
    ask_and_record(qtbot, window, "How much more was rent in 2023 than in 2022?")
    shown = window.chat_view.last_answer()
    assert shown.startswith("Docent could not compute this: the figure given for A"), shown
    assert COMPUTED not in shown and "13,900" not in shown
