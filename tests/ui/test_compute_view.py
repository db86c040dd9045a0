"""A computed answer in the window: marked computed, its working and inputs shown, each
input's marker opening its source, and read aloud as computed."""
from __future__ import annotations

import re

from PySide6.QtCore import QUrl

from app.engine.answer_marks import COMPUTED, answer_notes, shown_text
from app.engine.computation import compute
from app.engine.compute_plan import parse_plan
from app.engine.compute_request import compute_request
from app.engine.events import Answer
from app.engine.figures import FigureCheck, FigureStatus, key_figures
from app.engine.prompt import NumberedSource
from ingest.passage import Passage
from tests.app.test_compute import STATEMENT


def computed_answer() -> Answer:
    passage = Passage("c1", "/docs/2023 Q3 AAPL.pdf", 4, 4, STATEMENT, 0.9)
    request = compute_request("What percentage of total net sales came from Services?")
    assert request is not None
    c = compute(parse_plan("A = services: 21,213 [1]\nB = total net sales: 81,797 [1]\nRESULT = A / B * 100\n"),
                {1: passage}, request)
    a, b = c.result_span
    figures = [FigureCheck(f.text, f.start, f.end, FigureStatus.COMPUTED if a <= f.start < b else FigureStatus.VERIFIED,
                           (1,), (1,)) for f in key_figures(c.text)]
    return Answer("What percentage of total net sales came from Services?", c.text,
                  sources=[NumberedSource(1, passage)], figures=figures, computation=c)


def test_the_result_is_marked_computed_with_its_working_and_inputs(qtbot):
    from app.ui.chat_view import ChatView

    answer = computed_answer()
    shown, notes = shown_text(answer), answer_notes(answer)
    assert shown.startswith(f"{COMPUTED} 25.9%, computed by Docent as A ÷ B × 100 = 21,213 ÷ 81,797 × 100")
    assert "⚠" not in shown  # the result is not "unverified": Docent computed it from verified inputs
    assert notes == [f"{COMPUTED} Computed by Docent, not written by the model: A ÷ B × 100 = 21,213 ÷ 81,797 × 100, "
                     "from the figures in [1]."]
    view = ChatView()
    qtbot.addWidget(view)
    view.set_can_ask(True)
    view.begin_answer(answer.question)
    view.append_token(answer.text)
    view.finish_answer(shown, notes=tuple(notes))
    plain = view.transcript.toPlainText()
    assert "Net sales: Services, Three Months Ended July 1, 2023: $21,213 million" in plain
    assert "Total net sales, Three Months Ended July 1, 2023: $81,797 million" in plain
    assert 'href="cite:1"' in view.transcript.toHtml()
    with qtbot.waitSignal(view.citationClicked, timeout=2000) as sig:
        view.transcript.anchorClicked.emit(QUrl("cite:1"))
    assert sig.args == [1]


def test_a_screen_reader_hears_that_docent_computed_it():
    from app.ui.accessibility import answer_announcement

    answer = computed_answer()
    spoken = answer_announcement(shown_text(answer), [], answer_notes(answer))
    assert "(computed by Docent) 25.9%" in spoken and COMPUTED not in spoken


def test_an_inputs_marker_links_to_its_cell_and_other_markers_to_their_passage():
    from app.ui.markdown import CellTarget, cell_target, cite_target, link_markers

    text = ("∑ 25.9%, computed by Docent as A ÷ B × 100 = 21,213 ÷ 81,797 × 100:\n\n"
            "- A = Net sales: Services, Three Months Ended July 1, 2023: $21,213 million [1]\n"
            "- B = Total net sales, Three Months Ended July 1, 2023: $81,797 million [2]\n\nAs stated in [1].")
    md = link_markers(text)
    urls = [QUrl(u) for u in re.findall(r"\]\((cite:[^)]+)\)", md)]
    cells = [cell_target(u.scheme(), u.path(), u.fragment(QUrl.ComponentFormattingOption.FullyDecoded))
             for u in urls]
    assert cells == [CellTarget(1, "Net sales: Services, Three Months Ended July 1, 2023", "$21,213 million"),
                     CellTarget(2, "Total net sales, Three Months Ended July 1, 2023", "$81,797 million"), None]
    assert [cite_target(u.scheme(), u.path()) for u in urls] == [(1, False), (2, False), (1, False)]
    assert "\n\nAs stated in" in md  # the lines around are kept as they were
