"""Sentence attribution and the grounding check on hand-made passages (pure logic)."""
from __future__ import annotations

from app.engine.attribution import PassageIndex, attribute, split_sentences, supporting_sources
from app.engine.grounding import Grounding, check_grounding, is_refusal, named_terms
from app.engine.prompt import NumberedSource
from ingest.passage import Passage

TEXTS = {
    1: "2023 Q3 AAPL.pdf\nTotal net sales for the three months ended July 1, 2023 were $ 81,797 million, "
       "compared with $ 82,959 million a year earlier, driven by lower iPhone and Mac sales.",
    2: "2023 Q1 NVDA.pdf\nData Center revenue was $4.28 billion for the first quarter of fiscal 2024, "
       "up 14% sequentially, led by hyperscale customers.",
    3: "2023 Q3 AAPL.pdf\nThe Company's effective tax rate was 12.5% during the third quarter of 2023. "
       "Apple Inc. | Q3 2023 Form 10-Q | 21",
}


def sources() -> list[NumberedSource]:
    name = {1: "2023 Q3 AAPL.pdf", 2: "2023 Q1 NVDA.pdf", 3: "2023 Q3 AAPL.pdf"}
    return [NumberedSource(n, Passage(f"c{n}", f"/docs/{name[n]}", 3 * n, 3 * n, t, 0.5))
            for n, t in TEXTS.items()]


def test_sentences_keep_their_markers_and_decimals():
    text = "Sales were $81.8 billion. [1] The U.S. dollar rose.\n- Data Center grew 14% [2]\nDone!"
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == ["Sales were $81.8 billion. [1]", "The U.S. dollar rose.", "- Data Center grew 14% [2]",
                   "Done!"]


def test_unmarked_sentences_are_inferred_and_marked_ones_kept():
    text = ("Apple's total net sales were $81.8 billion, down from $83.0 billion. "
            "Data Center revenue reached $4.3 billion [3]. I hope this helps.")
    atts = attribute(text, PassageIndex(TEXTS), TEXTS)
    assert [(a.sources, a.inferred) for a in atts] == [((1,), True), ((3,), False), ((), True)]
    assert atts[0].cover > 0.5 and atts[1].cover < 0.3  # the model's [3] is not where the figure is
    assert supporting_sources(atts) == [(1, True), (3, False)]
    assert text[atts[1].start:atts[1].end] == atts[1].sentence


def test_inference_picks_only_the_candidates_given():
    text = "The effective tax rate was 12.5% in the third quarter."
    assert attribute(text, PassageIndex(TEXTS), TEXTS)[0].sources == (3,)
    assert attribute(text, PassageIndex(TEXTS), TEXTS, candidates=[1, 2])[0].sources == ()


def test_refusals_are_recognised_and_plain_negatives_are_not():
    for said in ("The documents do not contain information about Tesla.",
                 "I couldn't find that in the sources.",
                 "The provided sources do not mention Tesla's revenue.",
                 "This is not mentioned in the documents."):
        assert is_refusal(said), said
    for said in ("There has been no significant change in operating expenses in the reports.",
                 "Apple does not disclose unit sales by product.",
                 "Net sales were not affected by the change."):
        assert not is_refusal(said), said


def test_a_question_about_a_company_no_passage_mentions_is_unsupported():
    q = "What was Tesla's total revenue in the third quarter of 2023?"
    text = "Total net sales were $81,797 million."
    atts = attribute(text, PassageIndex(TEXTS), TEXTS)
    check = check_grounding(q, text, sources(), atts)
    assert check.status is Grounding.UNSUPPORTED and check.missing == ("Tesla",)
    assert "Tesla" in check.note and "2023 Q3 AAPL.pdf (pp. 3, 9)" in check.note and "2023 Q1 NVDA.pdf" in check.note
    assert "2019" in named_terms("Apple's sales in fiscal 2019 Q2?")


def test_a_refusal_names_what_docent_looked_at_and_a_grounded_answer_has_no_note():
    refused = check_grounding("What was Tesla's revenue?", "The documents do not contain Tesla's revenue.",
                              sources(), [])
    assert refused.status is Grounding.REFUSED and "2023 Q1 NVDA.pdf (p. 6)" in refused.note
    q = "What were Apple's total net sales in the quarter ended July 1, 2023?"
    text = "Apple's total net sales were $81,797 million."
    ok = check_grounding(q, text, sources(), attribute(text, PassageIndex(TEXTS), TEXTS))
    assert ok.status is Grounding.GROUNDED and ok.note == ""
    atts = attribute(text, PassageIndex(TEXTS), TEXTS)
    assert check_grounding("What were Tesla's sales?", text, sources(), atts).status is Grounding.UNSUPPORTED
    # Retrieved text the prompt left out counts: the name is in the documents looked at.
    assert check_grounding("What were Tesla's sales?", text, sources(), atts,
                           also=["Tesla, Inc. sales were"]).status is Grounding.GROUNDED
    unrelated = "Bananas are yellow and grow in warm climates."
    off = check_grounding(q, unrelated, sources(), attribute(unrelated, PassageIndex(TEXTS), TEXTS))
    assert off.status is Grounding.UNSUPPORTED and off.missing == ()


def test_an_answer_that_only_lists_its_sources_says_no_answer_was_produced():
    from app.engine.answer_marks import answer_notes
    from app.engine.events import Answer
    from app.engine.grounding import is_content_free

    q = "What were Apple's total net sales in the quarter ended July 1, 2023?"
    labels = "[1] 2023 Q3 AAPL.pdf, p. 3 [2] 2023 Q1 NVDA.pdf, p. 6\n[1] 2023 Q3 AAPL, pp. 3-9"
    check = check_grounding(q, labels, sources(), [])
    assert check.status is Grounding.NO_ANSWER and "no answer" in check.note
    assert "2023 Q3 AAPL.pdf (pp. 3, 9)" in check.note
    assert check.note in answer_notes(Answer(q, labels, grounding=check))
    for real in ("Total net sales were $81,797 million [1].", "It rose [2].", ""):
        assert not is_content_free(real, sources()), real
