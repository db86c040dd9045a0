"""Real SmolLM2 answers: every answer drawn from the passages cites, a looping answer is cut."""
from __future__ import annotations

import json
import re

import pytest

from app.engine.answer_marks import shown_text
from app.engine.events import DoneEvent, TokenEvent
from app.engine.grounding import Grounding
from ingest.passage import Passage
from tests.docs_factory import make_mixed_folder

pytestmark = pytest.mark.slow


def _answer(events):  # type: ignore[no-untyped-def]
    shown, done = [], None
    for e in events:
        if isinstance(e, TokenEvent):
            shown.append(e.text)
        elif isinstance(e, DoneEvent):
            done = e.answer
    assert done is not None
    return "".join(shown), done


def test_an_answer_from_indexed_files_has_citations_and_checks(library, smollm_path, tmp_path):
    from app.cli.output import answer_json

    make_mixed_folder(tmp_path / "docs")
    report = library.indexer.index_paths([tmp_path / "docs"])
    assert report.failures == [] and report.indexed == 5
    answerer = library.answerer(str(smollm_path))
    answerer.temperature = 0.0
    try:
        _, a = _answer(answerer.ask("How many ships did the Skerry lighthouse keeper log in October?"))
        _, other = _answer(answerer.ask("What does the Crumb bakery do at 6:30?"))
    finally:
        answerer.close()
    assert a.text.strip()
    given = {s.number: s.passage.path for s in a.sources}
    # Written by the model or inferred by Docent, the answer names the passages it draws on.
    assert a.citations, (a.text, a.attributions)
    assert all(c.number in given and c.passage.path == given[c.number] for c in a.citations)
    assert any(c.passage.path.endswith("lighthouse.txt") for c in a.citations), (a.text, a.citations)
    # Whatever a small model says: cited, or flagged as not found in the passages.
    assert other.citations or (other.grounding.status is Grounding.UNSUPPORTED and other.grounding.note)
    assert a.attributions and all(a.text[t.start:t.end] == t.sentence for t in a.attributions)
    assert a.grounding.status is not Grounding.UNCHECKED
    shown = shown_text(a)  # what the window shows: every citation is a marker one can open
    assert all(re.search(rf"\[~?(?:\d+,\s*)*{c.number}(?:,\s*\d+)*\]", shown) for c in a.citations), shown
    data = json.loads(json.dumps(answer_json(a)))  # spans and checks serialise
    assert data["citations"] and all("inferred" in c for c in data["citations"])
    assert data["grounding"]["status"] == a.grounding.status.value


class _OnePassage:
    def __init__(self, p: Passage) -> None:
        self.p = p

    def search(self, query, k, where=None):  # type: ignore[no-untyped-def]
        return [self.p]


def test_a_looping_answer_is_stopped_and_kept_to_one_copy(smollm_path):
    from app.engine.answer import Answerer
    from app.engine.llm import LocalLLM

    chant = Passage("c:1", "/docs/chant.txt", None, None, "chant\n" + "The bell rings at noon. " * 30, 0.9)
    # No repeat penalty: the model copies the repeated source and would run to the limit.
    a = Answerer(_OnePassage(chant), LocalLLM(smollm_path, n_ctx=2048, n_threads=2, repeat_penalty=1.0),
                 top_k=1, max_answer_tokens=300, temperature=0.0)
    a.load()
    try:
        shown, done = _answer(a.ask("Copy source [1] word for word."))
        assert done.finish_reason == "repetition", done.text
        assert done.completion_tokens < 300
        assert done.text.count("The bell rings at noon") == 1
        assert shown.count("The bell rings at noon") >= 2  # what streamed before the stop stays shown
        assert done.turn is not None and done.turn.answer.count("bell rings") == 1  # the history too
        again = _answer(a.ask("When does the bell ring?"))[1]  # the model still works after the stop
        assert again.finish_reason in ("stop", "length", "repetition")
    finally:
        a.close()


def test_a_name_only_the_cover_page_carries_counts_as_found(library, sec_docs, tmp_path):
    """A 10-Q's passages say "the Company"; its cover says Apple: the question is grounded."""
    from app.engine.grounding import check_grounding, document_descriptions
    from app.engine.prompt import NumberedSource
    from tests.conftest import copy_sec

    [pdf] = copy_sec(sec_docs, ["2023 Q3 AAPL.pdf"], tmp_path / "docs")
    assert library.indexer.index_paths([pdf]).indexed == 1
    about = document_descriptions(library.keyword.documents(), [str(pdf)])
    assert len(about) == 1 and "apple" in about[0].lower()
    p = Passage("c:1", str(pdf), 9, 9, "The Company's total net sales were $ 81,797 million.", 0.5)
    text = "Total net sales were $81,797 million."
    from app.engine.attribution import PassageIndex, attribute

    atts = attribute(text, PassageIndex({1: p.text}), [1])
    q = "What were Apple's total net sales in the quarter?"
    assert check_grounding(q, text, [NumberedSource(1, p)], atts).missing == ("Apple",)
    assert check_grounding(q, text, [NumberedSource(1, p)], atts, also=about).status is Grounding.GROUNDED
    assert check_grounding("What were Tesla's total net sales?", text, [NumberedSource(1, p)], atts,
                           also=about).missing == ("Tesla",)


def test_a_failing_check_still_delivers_the_answer(smollm_path, monkeypatch):
    """The checks run after the stream; one that raises (the figure parser did, on a
    model's "152)") leaves the answer unchecked, never lost."""
    import app.engine.answer as answer_mod
    from app.engine.answer import Answerer
    from app.engine.llm import LocalLLM

    def broken(*a, **kw):  # type: ignore[no-untyped-def]
        raise ValueError("invalid literal for int() with base 10: '152)'")

    monkeypatch.setattr(answer_mod, "attribute", broken)
    note = Passage("n:1", "/docs/note.txt", None, None, "note\nThe ferry leaves at 7:15 from pier 152.", 0.9)
    a = Answerer(_OnePassage(note), LocalLLM(smollm_path, n_ctx=2048, n_threads=2),
                 top_k=1, max_answer_tokens=30, temperature=0.0)
    a.load()
    try:
        shown, done = _answer(a.ask("When does the ferry leave?"))
    finally:
        a.close()
    assert done.text.strip() and shown.strip() and done.finish_reason in ("stop", "length")
    assert done.grounding.status is Grounding.UNCHECKED and done.attributions == [] and done.figures == []
