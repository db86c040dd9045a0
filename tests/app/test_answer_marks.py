"""A checked answer as shown: Docent's [~n] on the sentences it matched, a flag on each
unverified figure, and notes that say why. The checks are the real ones."""
from __future__ import annotations

from app.engine.answer_marks import UNVERIFIED, answer_notes, matched_only, shown_text
from app.engine.attribution import PassageIndex, attribute
from app.engine.events import Answer
from app.engine.figures import PassageFigures, check_figures
from app.engine.grounding import check_grounding
from app.engine.prompt import NumberedSource
from app.errors import repetition_note
from ingest.passage import Passage

PASSAGES = {
    1: "Revenue grew to $42.1 million in the quarter, driven by services and licensing.",
    2: "Operating costs were 17 million, up from 15 million a year earlier.",
}


def checked(question: str, text: str, finish_reason: str = "stop") -> Answer:
    sources = [NumberedSource(n, Passage(f"c{n}", f"/docs/r{n}.txt", None, None, t, 0.5))
               for n, t in PASSAGES.items()]
    index = PassageIndex(PASSAGES)
    atts = attribute(text, index, PASSAGES, list(PASSAGES))
    figures = check_figures(text, [(a.start, a.end, a.sources) for a in atts],
                            PassageFigures(index.figures), question)
    grounding = check_grounding(question, text, sources, atts)
    return Answer(question, text, [], sources, finish_reason=finish_reason, attributions=atts,
                  figures=figures, grounding=grounding)


def test_matched_sentences_get_docent_markers_and_unknown_figures_a_flag():
    a = checked("How did revenue and costs move?",
                "Revenue grew to $42.1 million, driven by services. Costs rose to $19 million [2].")
    assert [t.inferred for t in a.attributions] == [True, False]
    assert shown_text(a) == ("Revenue grew to $42.1 million, driven by services [~1]. "
                             f"Costs rose to $19 million{UNVERIFIED} [2].")
    assert answer_notes(a) == [f"{UNVERIFIED} unverified figure $19 million: "
                               "in none of the sources Docent gave the model"]


def test_a_figure_in_another_source_than_cited_names_where_it_is():
    a = checked("What were operating costs?", "Operating costs were $17 million [1]")
    assert shown_text(a) == f"Operating costs were $17 million{UNVERIFIED} [1]"  # no end stop
    assert answer_notes(a) == [f"{UNVERIFIED} unverified figure $17 million: "
                               "not in the sources its sentence cites (it is in [2])"]


def test_an_answer_the_passages_support_is_shown_as_written():
    text = "Revenue grew to $42.1 million [1]. Costs were 17 million [2]."
    a = checked("How did revenue and costs move?", text)
    assert shown_text(a) == text and answer_notes(a) == []


def test_a_loop_and_an_unsupported_answer_are_noted_loop_first():
    a = checked("What was Tesla's revenue?", "Tesla's revenue was $42.1 million.", "repetition")
    notes = answer_notes(a)
    assert notes[0] == repetition_note()
    assert "'Tesla'" in notes[-1] and a.grounding.note == notes[-1]


def test_sources_named_only_by_docent_are_told_apart():
    a = checked("How did revenue and costs move?",
                "Revenue grew to $42.1 million, driven by services. Costs were 17 million [2].")
    assert matched_only(shown_text(a)) == {1}
    assert matched_only("A [~1, 2]. B [2].") == {1} and matched_only("No markers.") == set()


def test_a_run_of_sentences_from_one_passage_ends_in_one_marker_per_paragraph():
    text = ("Revenue grew to $42.1 million. It was driven by services and licensing.\n"
            "Revenue grew in the quarter, driven by services.")
    a = checked("What drove revenue?", text)
    assert [t.sources for t in a.attributions] == [(1,)] * 3
    assert shown_text(a) == ("Revenue grew to $42.1 million. It was driven by services and licensing [~1].\n"
                             "Revenue grew in the quarter, driven by services [~1].")
