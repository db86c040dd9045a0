"""Which documents a question names (app/engine/doc_rank.py), and retrieval that uses it."""
from __future__ import annotations

import pytest

from app.engine.doc_rank import DocProfile, FocusKind, Relative, focus_of, parse_question
from app.engine.selection import Budget, query_stems, select_passages, trim_passages, trim_text
from ingest.docmeta import DocMeta, Period, StoredMeta


@pytest.mark.parametrize("question, periods, relative, spans", [
    ("What was Amazon's gross margin in the most recent 10-Q filing?", (), Relative.LATEST, False),
    ("In Apple's Q2 2023 10-Q, what changed?", (Period(2023, 2),), Relative.NONE, False),
    ("In the second quarter of 2023, what drove net income?", (Period(2023, 2),), Relative.NONE, False),
    ("How has revenue changed over time?", (), Relative.NONE, True),
    ("Compare Q1 2023 and Q2 2023 margins", (Period(2023, 1), Period(2023, 2)), Relative.NONE, True),
    ("How did costs move in 2022?", (Period(2022),), Relative.NONE, False),
    ("What did the previous quarter report say?", (), Relative.PREVIOUS, False),
    ("Risk factors in each company's filing", (), Relative.NONE, True),
    ("Gross margin in the latest quarter compared to previous quarters?", (), Relative.LATEST, True),
])
def test_question_periods_relatives_and_spans(question, periods, relative, spans):
    q = parse_question(question)
    assert (q.periods, q.relative, q.spans) == (periods, relative, spans)


def test_question_terms_leave_out_asking_and_period_words():
    q = parse_question("What was Apple's revenue in the latest quarter ended April 1, 2023 (Q2)?")
    assert q.terms == ("apple", "revenue") and q.dates == ("2023-04-01",)
    assert Period(2023) not in q.periods  # a written date's year is not asked about as a period


def _doc(fid: str, path: str, names: list[str], end: str | None, periods=()) -> DocProfile:
    meta = DocMeta(names=tuple((n, 2) for n in names), period_end=end, periods=tuple(periods))
    return DocProfile.build(StoredMeta(fid, path, meta))


LIB = [
    _doc("a1", "/f/one.pdf", ["Quay Mills Ltd"], "2023-04-01"),
    _doc("a2", "/f/two.pdf", ["Quay Mills Ltd"], "2023-07-01"),
    _doc("a3", "/f/three.pdf", ["Quay Mills Ltd"], "2022-12-31"),
    _doc("b1", "/f/four.pdf", ["Orchard Foods Inc"], "2023-06-30"),
    _doc("b2", "/f/five.pdf", ["Orchard Foods Inc"], "2023-03-31"),
]


def test_latest_and_previous_resolve_against_the_documents_own_dates():
    assert focus_of(parse_question("Quay Mills margin in the latest report?"), LIB).file_ids == ("a2",)
    assert focus_of(parse_question("Quay Mills margin in the previous quarter?"), LIB).file_ids == ("a1",)
    # Two companies named: the newest of each.
    both = focus_of(parse_question("Latest revenue of Quay Mills and Orchard Foods?"), LIB)
    assert set(both.file_ids) == {"a2", "b1"}


def test_a_named_quarter_uses_labels_first_and_the_period_end_otherwise():
    # No labels: the calendar quarter of the period end (April 1 closes the first quarter).
    assert focus_of(parse_question("Quay Mills in Q1 2023"), LIB).file_ids == ("a1",)
    assert focus_of(parse_question("Quay Mills revenue in 2022"), LIB).file_ids == ("a3",)
    # A document's own label ("fiscal Q2 2023" on its cover or in its name) beats the calendar.
    labelled = [_doc("x", "/f/2023 Q2 QM.pdf", ["Quay Mills Ltd"], "2023-04-01"),
                _doc("y", "/f/2023 Q1 QM.pdf", ["Quay Mills Ltd"], "2022-12-31"),
                _doc("z", "/f/other.pdf", ["Orchard Foods Inc"], "2023-03-31")]
    assert focus_of(parse_question("Quay Mills in Q2 2023"), labelled).file_ids == ("x",)
    assert focus_of(parse_question("Quay Mills, quarter ended April 1, 2023"), LIB).file_ids == ("a1",)


def test_spanning_question_keeps_every_named_document_newest_first():
    f = focus_of(parse_question("How has Orchard Foods revenue changed over time?"), LIB)
    assert f.kind is FocusKind.SPAN and f.file_ids == ("b1", "b2")


def test_a_question_that_names_nothing_has_no_focus():
    assert focus_of(parse_question("What is the gross margin?"), LIB).kind is FocusKind.NONE
    assert focus_of(parse_question("Quay Mills revenue"), LIB[:1]).kind is FocusKind.NONE  # one doc


def test_trim_keeps_matching_sentences_and_whole_table_rows():
    prose = " ".join(f"Filler sentence number {i} about nothing in particular." for i in range(12))
    text = (f"{prose} Gross margin rose to 44.5% on services.\n"
            "Gross margin  $ 27,000  $ 25,000  44.5 %\nOther row  1  2")
    cut = trim_text(text, query_stems("What was the gross margin?"))
    assert "Gross margin rose to 44.5% on services." in cut
    assert "Gross margin  $ 27,000  $ 25,000  44.5 %" in cut  # the row whole
    assert "Filler sentence number 3" not in cut and len(cut) < len(text) / 2
    seen: set[str] = set()
    trim_text(text, query_stems("gross margin"), seen)
    again = trim_text(text, query_stems("gross margin"), seen)
    assert again == ""  # its matching units are in an earlier passage: nothing new to show
    short = "Gross margin was 44%."
    assert trim_text(short, query_stems("gross margin")) is short


def test_trim_keeps_the_sentence_stating_a_figure_when_only_one_fits():
    filler = " ".join(f"Unrelated remark {i} on the weather today." for i in range(10))
    vague = "Operating expenses grew as the company hired."
    stated = "Operating expenses were $2.66 billion in the quarter, up from $2.42 billion last year."
    cut = trim_text(f"{vague} {filler} {stated}", query_stems("What were operating expenses?"), max_words=16)
    assert stated in cut and vague not in cut


def test_prompt_headings_drop_the_file_name_and_show_the_title_and_sections_once_per_file():
    from ingest.passage import Passage

    def p(path: str, heading: str, body: str) -> Passage:
        return Passage(f"{path}:{body[:3]}", path, 3, 3, f"{heading}\n{body}", 1.0, heading, body=body)

    label = "2023 Q2 QM · Quarterly report of Quay Mills"
    out = trim_passages([p("/f/2023 Q2 QM.pdf", label, "Revenue was 12 in the quarter."),
                         p("/f/2023 Q2 QM.pdf", label + " > Liquidity > Cash Position", "Cash was 5 at the end."),
                         p("/f/2023 Q1 QM.pdf", "2023 Q1 QM", "Revenue was 11 in the quarter."),
                         p("/f/notes.md", "Ops notes > Risks", "Revenue may fall.")], "revenue cash")
    assert [o.text for o in out] == [
        "Quarterly report of Quay Mills\nRevenue was 12 in the quarter.",  # the title, once
        "Cash Position\nCash was 5 at the end.",  # same file: the section the question asks about
        "Revenue was 11 in the quarter.",  # the label was only the file name
        "Ops notes > Risks\nRevenue may fall."]  # not a label starting with the stem: whole
    assert out[1].page_text == "Cash was 5 at the end."  # what the viewer shows is untouched
    again = trim_passages([p("/f/a.pdf", "a > Cash Position", "Cash was 5 at the end."),
                           p("/f/a.pdf", "a > Cash Position", "Cash fell by 2 in the year."),
                           p("/f/b.pdf", "b > Cash Position", "Cash was 7 at the end.")], "cash")
    assert [o.text for o in again] == [  # a section once per file, as the title
        "Cash Position\nCash was 5 at the end.", "Cash fell by 2 in the year.",
        "Cash Position\nCash was 7 at the end."]


def test_selection_gives_each_near_top_document_a_passage_within_budget():
    from ingest.passage import Passage

    def p(path: str, score: float) -> Passage:
        return Passage(f"{path}{score}", path, None, None, "w " * 100, score)

    ps = [p("/a", 1.0), p("/a", 0.99), p("/a", 0.98), p("/b", 0.95), p("/c", 0.5)]
    count = lambda text: len(text.split())  # noqa: E731
    chosen = select_passages(ps, count, Budget(tokens=240, min_relative=0.1))
    assert [c.path for c in chosen] == ["/a", "/b"]  # /b before a second /a passage


REAL = ["2023 Q2 AAPL.pdf", "2023 Q3 AAPL.pdf", "2023 Q1 NVDA.pdf", "2023 Q2 NVDA.pdf"]


def test_boilerplate_shown_for_one_file_is_left_out_of_the_next_but_figures_stay():
    from ingest.passage import Passage

    filler = " ".join(f"Unrelated remark {i} on the weather." for i in range(8))
    boiler = "Net sales are historically higher in the first quarter due to seasonal demand."
    a = Passage("a:1", "/f/q1.pdf", 3, 3, f"{boiler} {filler} Net sales were $94,836 million.", 0.9)
    b = Passage("b:1", "/f/q2.pdf", 4, 4, f"{boiler} {filler} Net sales were $81,797 million.", 0.8)
    c = Passage("c:1", "/f/q3.pdf", 5, 5, f"{boiler} {filler}", 0.7)
    out = trim_passages([a, b, c], "How have net sales changed?")
    assert boiler in out[0].text
    assert boiler not in out[1].text and "$81,797" in out[1].text  # each filing's own figure
    assert [p.chunk_id for p in out] == ["a:1", "b:1"]  # c held nothing new: dropped


def test_a_dropped_source_gives_its_place_to_a_spare():
    from app.engine.hybrid import refill
    from ingest.passage import Passage

    def p(cid: str, path: str, score: float) -> Passage:
        return Passage(cid, path, 1, 1, cid, score)

    first = [p("a:1", "/a.pdf", 1.0), p("b:1", "/b.pdf", 1.0), p("a:2", "/a.pdf", 0.9)]
    spares = [p("a:7", "/a.pdf", 0.8), p("b:5", "/b.pdf", 0.7)]
    trimmed = [first[0], first[2], *spares]  # b:1 was all boilerplate
    spread = refill(trimmed, first)  # spanning: b keeps a source, in b's place
    assert [(x.chunk_id, x.score) for x in spread] == [("a:1", 1.0), ("b:5", 1.0), ("a:2", 0.9)]
    named = refill(trimmed[:2], first)  # not spanning (no spares): no spare jumps the queue
    assert [x.chunk_id for x in named] == ["a:1", "a:2"]
    assert refill(first, first) == first


@pytest.fixture(scope="module")
def real_library(tmp_path_factory, embedder, sec_docs):
    """Four real 10-Qs of two companies under neutral file names: the focus must come
    from what the documents say, not from their names."""
    from app.engine.library import Library
    from app.settings import Settings
    from tests.conftest import copy_sec

    root = tmp_path_factory.mktemp("docrank")
    folder = root / "filings"
    paths = copy_sec(sec_docs, REAL, folder)
    for i, p in enumerate(paths):
        p.rename(folder / f"report-{'abcd'[i]}.pdf")
    lib = Library(Settings.load(root / "home"), embedder=embedder)
    report = lib.indexer.index_paths([folder])
    assert report.indexed == 4, report.failures
    yield lib
    lib.close()


def _names(passages) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.name for p in passages]


@pytest.mark.slow  # indexes four real 10-Qs end to end: make test-fast's slowest (~2 min here)
def test_real_question_naming_company_and_quarter_gets_that_filing_first(real_library):
    r = real_library.retriever()
    # report-b is Apple's quarter ended July 1, 2023 (the newest Apple filing).
    assert _names(r.search("What was Apple's total net sales in the latest 10-Q?", 6))[0] == "report-b.pdf"
    # report-a: Apple, quarter ended April 1, 2023.
    hits = r.search("Apple's net sales for the quarter ended April 1, 2023", 6)
    assert set(_names(hits)) == {"report-a.pdf"}
    # Without the focus, the same question draws on other filings too (what the focus fixes).
    from dataclasses import replace

    r.config = replace(r.config, documents=False)
    assert set(_names(r.search("What was Apple's total net sales in the latest 10-Q?", 6))) != {"report-b.pdf"}


@pytest.mark.slow  # the same four real 10-Qs indexed end to end (real_library)
def test_inside_the_named_filing_the_keyword_index_matches_the_content_words_only(real_library):
    r = real_library.retriever()
    question = "What was Apple's gross margin in the most recent quarterly report?"
    focus = r.focus(question)
    assert focus.kind is FocusKind.NAMED and focus.keyword_query == "gross margin"
    asked: list[str] = []
    search = r.keyword.search
    r.keyword.search = lambda q, n, scope=None: asked.append(q) or search(q, n, scope)  # type: ignore[method-assign]
    try:
        hits = r.search(question, 6)
    finally:
        del r.keyword.search
    assert asked == ["gross margin"] and _names(hits)[0] == "report-b.pdf"
    assert any("gross margin" in p.text.lower() for p in hits)


def test_real_comparison_question_gets_both_filings_into_the_prompt(real_library):
    r = real_library.retriever()
    question = "How has NVIDIA's revenue changed over these quarters?"
    assert r.focus(question).kind is FocusKind.SPAN
    found = r.search(question, 6)
    chosen = select_passages(found, lambda t: len(t.split()) * 4 // 3, Budget(tokens=700))
    assert {"report-c.pdf", "report-d.pdf"} <= set(_names(chosen))
    assert "report-a.pdf" not in _names(found) and "report-b.pdf" not in _names(found)


def test_a_file_name_word_that_other_documents_discuss_names_no_document():
    docs = [_doc("g", "/f/gasket-note.txt", [], None), _doc("b", "/f/bin99.txt", ["Bin"], None)]
    docs += [_doc(c, f"/f/{c}.txt", [], None) for c in "cdef"]
    mentions = {"gasket": {"g": 1, "b": 1}, "quay": {"g": 9, "b": 1}}
    holders = lambda t: mentions.get(t, {})  # noqa: E731
    assert focus_of(parse_question("spare gasket"), docs, holders).kind is FocusKind.NONE
    # A word the named document holds most mentions of does name it, when the question
    # speaks of a document; a bare claim about it is about the topic (abstracts naming a gene).
    docs[0] = _doc("g", "/f/gasket-note.txt", ["Quay Ltd"], None)
    assert focus_of(parse_question("Quay revenue in its annual report"), docs, holders).file_ids == ("g",)
    assert focus_of(parse_question("Quay revenue grew"), docs, holders).kind is FocusKind.NONE


def test_a_span_question_gets_each_filings_own_passage_not_its_boilerplate_twice(real_library):
    """Both Apple 10-Qs open their sales discussion with the same paragraph on seasonality;
    shown once, the second filing's place goes to a passage with its own figures."""
    from app.engine.figures import key_figures

    r = real_library.retriever()
    question = "How have Apple's net sales changed over time?"
    assert r.focus(question).kind is FocusKind.SPAN
    found = r.search(question, 6)
    assert {"report-a.pdf", "report-b.pdf"} <= set(_names(found[:2]))
    named = "What was Apple's total net sales in the latest 10-Q?"  # only spanning has spares
    focus = r.focus(named)
    assert focus.kind is FocusKind.NAMED
    assert r._passages(named, 6, {"file_id": {"$in": list(focus.file_ids)}}, focus)[1] == []
    span = r.focus(question)
    assert r._passages(question, 6, {"file_id": {"$in": list(span.file_ids)}}, span)[1]
    boiler = "historically experienced higher net sales in its first quarter"
    assert sum(boiler in " ".join(p.text.split()) for p in found) <= 1
    assert all(key_figures(p.text) for p in found[:2] if boiler not in " ".join(p.text.split()))
