"""Word alignment between the indexed passage (pypdf's text) and the viewer's page text (pdfium's)."""
from __future__ import annotations

from app.ui.viewer.align import align, tokens

PASSAGE = "Net sales increased 8% to $81.8 billion,\ndriven by higher iPhone and Services revenue."


def lit(pages, result):
    text = dict(pages)
    return [text[r.page_index][r.start:r.start + r.length] for r in result.ranges]


def test_spacing_line_breaks_and_case_differences_still_align():
    page = ("Results of Operations\r\nNet sales  increased 8 % to $ 81.8 billion , driven by\r\n"
            "higher iPhone and SERVICES revenue.\r\nOperating expenses were flat.")
    result = align(PASSAGE, [(4, page)])
    assert result.coverage == 1.0
    assert [r.page_index for r in result.ranges] == [4]
    (shown,) = lit([(4, page)], result)
    assert shown.startswith("Net sales") and shown.endswith("revenue")
    assert "Results" not in shown and "Operating" not in shown


def test_a_passage_over_a_page_break_gives_a_range_on_each_page():
    first = "Earlier text on the page. Net sales increased 8% to $81.8 billion,"
    second = "Apple Inc. | Q3 2023 Form 10-Q | 17\r\ndriven by higher iPhone and Services revenue. More."
    result = align(PASSAGE, [(16, first), (17, second)])
    assert [r.page_index for r in result.ranges] == [16, 17]
    a, b = lit([(16, first), (17, second)], result)
    assert a == "Net sales increased 8% to $81.8 billion"
    assert b == "driven by higher iPhone and Services revenue"


def test_a_stray_common_word_far_away_is_not_highlighted():
    page = ("Net sales increased 8% to $81.8 billion, driven by higher iPhone and Services revenue. "
            + "Unrelated filler words here. " * 40 + "billion")
    result = align(PASSAGE, [(0, page)])
    assert len(result.ranges) == 1
    assert result.ranges[0].start == 0 and result.ranges[0].length < 100


def test_nothing_in_common_finds_nothing():
    result = align(PASSAGE, [(0, "Completely different words about weather and tides.")])
    assert not result.found and result.coverage == 0.0
    assert not align("", [(0, "text")]).found
    assert not align(PASSAGE, []).found


def test_ligatures_and_accents_compare_equal():
    assert [t.norm for t in tokens("ﬁnancial Ofﬁce")] == ["financial", "office"]
    assert align("financial office", [(0, "the ﬁnancial ofﬁce")]).coverage == 1.0
