"""The figure normaliser and checker (pure logic; the real model path is in test_answer_checks_e2e)."""
from __future__ import annotations

import pytest

from app.engine.figures import FigureStatus, PassageFigures, check_figures, key_figures, parse_figures, same_figure


def one(text: str):  # type: ignore[no-untyped-def]
    [f] = key_figures(text)
    return f


# Pairs written as the sec-10-q reference answers and the filings' tables write them.
@pytest.mark.parametrize("a, b", [
    ("$82,959 million", "82,959"),  # a table cell under "(in millions)"
    ("$82,959 million", "$82.96 billion"),
    ("$81.8 billion", "$ 81,797"),  # rounded to the answer's precision
    ("$117,154 million", "$117.2 billion"),
    ("44.5%", "44.5 %"),
    ("44.5 percent", "44.5%"),
    ("$(1,234) million", "a decrease of $1,234 million"),  # negatives in parentheses
    ("(3,212)", "3,212"),
    ("$2.3 billion", "2,312"),
    ("$94,836 million", "94,836"),
])
def test_same_quantity_written_differently_matches(a, b):
    assert same_figure(one(a), one(b)) and same_figure(one(b), one(a))


@pytest.mark.parametrize("a, b", [
    ("$81.9 billion", "$ 81,797"),  # off by more than the stated precision
    ("44.5%", "$44.5 million"),  # a percentage is not an amount
    ("$82,959 million", "82,958"),
    ("12.5%", "13.5%"),
])
def test_different_quantities_do_not_match(a, b):
    assert not same_figure(one(a), one(b))


def test_dates_years_filing_names_and_markers_are_not_key_figures():
    text = ("For the quarter ended June 25, 2022 (SOURCE: 2022 Q3 AAPL.pdf, Form 10-Q) net sales "
            "were $82,959 million [2], item 1A, up 2.3%.")
    assert [f.text for f in key_figures(text)] == ["$82,959 million", "2.3%"]
    assert [f.text for f in parse_figures("see [1, 2] and [3]")] == []


def test_a_parenthesis_on_one_side_is_not_part_of_the_number():
    """A model's "(152)" cut at a line, or "(2023)": the 1.5B's answer with "152)" ended
    the whole answer with a ValueError inside the figure check (bench_answers, question 27)."""
    assert [f.text for f in key_figures("a loss of 152) in the quarter")] == ["152)"]
    assert key_figures("as reported (2023) and in 2022)") == []
    assert [f.value for f in key_figures("(1,234) and 1,234)")] == [1234, 1234]


def test_parsed_value_scale_and_precision():
    f = one("$81.8 billion")
    assert (str(f.value), f.scale, str(f.unit), f.currency, f.percent) == ("81.8", 10 ** 9, "0.1", True, False)
    g = one("(1,234)")
    assert str(g.value) == "1234" and g.scale is None


def test_check_marks_figures_by_where_they_are():
    passages = PassageFigures.of_texts({
        1: "Total net sales were $ 81,797 and $ 82,959 (in millions).",
        2: "The effective tax rate was 12.5%.",
    })
    text = "Net sales were $81.8 billion [2]. The tax rate was 12.5%. Margin was 44.5%. Up from 10%."
    sentences = [(0, 34, (2,)), (35, 58, ()), (59, 78, (1,)), (79, 90, ())]
    checks = {c.text: c for c in check_figures(text, sentences, passages, question="Was it above 10%?")}
    assert checks["$81.8 billion"].status is FigureStatus.OTHER_SOURCE  # cites [2], the figure is in [1]
    assert checks["$81.8 billion"].found_in == (1,) and checks["$81.8 billion"].unverified
    assert checks["12.5%"].status is FigureStatus.VERIFIED  # uncited: looked up in every passage
    assert checks["44.5%"].status is FigureStatus.UNVERIFIED and checks["44.5%"].found_in == ()
    assert checks["10%"].status is FigureStatus.FROM_QUESTION and not checks["10%"].unverified
