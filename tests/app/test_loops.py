"""Loop detection on streamed text (pure logic; a real looping SmolLM2 is in test_answer_checks_e2e)."""
from __future__ import annotations

from app.engine.loops import LoopDetector


def stream(text: str, size: int = 3):  # type: ignore[no-untyped-def]
    """Text cut into token-sized pieces, as a model streams it."""
    return [text[i:i + size] for i in range(0, len(text), size)]


def feed_all(d: LoopDetector, text: str) -> int | None:
    """Characters fed when the detector fired, or None."""
    fed = 0
    for piece in stream(text):
        fed += len(piece)
        if d.feed(piece):
            return fed
    return None


def test_a_repeated_sentence_is_caught_early_and_cut_to_one_copy():
    intro = "Apple's net sales were $81,797 million in the quarter. "
    unit = "The company sells iPhone, Mac and iPad products worldwide. "
    text = intro + unit * 18
    d = LoopDetector()
    fired = feed_all(d, text)
    assert fired is not None and fired < len(intro) + 4 * len(unit)  # not 18 copies
    assert d.loop is not None and d.loop.unit.strip() == unit.strip()
    assert d.kept_text() == (intro + unit).strip()


def test_a_list_whose_items_share_a_template_is_not_a_loop():
    items = "".join(f"- For the three months ended {m}, total net sales were ${v:,} million. [{i}]\n"
                    for i, (m, v) in enumerate([("June 25, 2022", 82959), ("December 31, 2022", 117154),
                                                ("April 1, 2023", 94836), ("July 1, 2023", 81797),
                                                ("September 30, 2023", 89498)], 1))
    table = "| Quarter | Sales |\n|---|---|\n" + "| --- | --- | --- | --- | --- |\n"
    d = LoopDetector()
    assert feed_all(d, items + table + "Sales rose, then fell in the two later quarters.") is None
    assert d.loop is None and d.kept_text().endswith("later quarters.")


def test_a_run_without_words_is_caught():
    d = LoopDetector()
    assert feed_all(d, "The answer is: " + "| " * 200) is not None
    assert d.kept_text() == "The answer is: |" or d.kept_text().startswith("The answer is:")


def test_a_word_split_across_pieces_counts_once():
    d = LoopDetector(n=3, repeats=2)
    for piece in ["ab", "c de", "f gh", "i. "]:
        assert not d.feed(piece)
    assert d._words == ["abc", "def", "ghi"]
    assert d.feed("abc def ghi ")  # the same three words again
