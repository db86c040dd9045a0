"""Computed answers, the logic: the evaluator, the request, the plan, the lookup, the text."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.engine.arith import FormulaError, FormulaErrorKind, Quantity, evaluate, names_in
from app.engine.computation import ComputeStatus, ResultUnit, compute
from app.engine.compute_plan import LETTERS, grammar, parse_plan
from app.engine.compute_request import Wanted, compute_request
from app.engine.figures import key_figures, same_figure
from ingest.passage import Passage

STATEMENT = """CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (Unaudited)
(In millions, except number of shares)
|  | Three Months Ended July 1, 2023 | Three Months Ended June 25, 2022 |
|---|---|---|
| Net sales: Products | $60,584 | $63,355 |
| Net sales: Services | 21,213 | 19,604 |
| Total net sales | 81,797 | 82,959 |
| Other income/(expense), net | (265) | (10) |
| Net income | $19,881 | $19,442 |"""
PROSE = "Invoice 1041 was for $1,200. Invoice 1042 was for $950.50 and invoice 1043 for $2,310.25."


def amount(v: str) -> Quantity:
    return Quantity(Decimal(v), 1)


def visible() -> dict[int, Passage]:
    return {1: Passage("a", "/docs/10q.pdf", 4, 4, STATEMENT, 0.9),
            2: Passage("b", "/docs/invoices.txt", None, None, PROSE, 0.5)}


# --- the evaluator --------------------------------------------------------------
@pytest.mark.parametrize("formula, expected", [
    ("A + B", Decimal("3")), ("(A - B) / B * 100", Decimal("-50")), ("avg(A, B, 3)", Decimal("2")),
    ("sum(A, B)", Decimal("3")), ("pct_change(B, A)", Decimal("-50")), ("-A + abs(-B)", Decimal("1")),
    ("A × B ÷ B − A", Decimal("0")),
])
def test_evaluates_with_decimal_arithmetic(formula: str, expected: Decimal) -> None:
    q = evaluate(formula, {"A": Quantity(Decimal(1)), "B": Quantity(Decimal(2))})
    assert q.value == expected


def test_units_flow_through_a_formula() -> None:
    money = {"A": amount("800"), "B": amount("900")}
    assert evaluate("B - A", money).amount_power == 1
    assert evaluate("A / B", money).amount_power == 0  # amount / amount: a ratio
    change = evaluate("pct_change(A, B)", money)
    assert change.percent and change.value == Decimal("12.5")
    assert evaluate("A * 10%" if False else "A * B / B", money).amount_power == 1


@pytest.mark.parametrize("formula, kind", [
    ("A / (B - B)", FormulaErrorKind.DIVISION_BY_ZERO), ("pct_change(C, A)", FormulaErrorKind.UNKNOWN_NAME),
    ("__import__('os')", FormulaErrorKind.UNKNOWN_NAME), ("A.__class__", FormulaErrorKind.SYNTAX),
    ("A +", FormulaErrorKind.SYNTAX), ("A + P", FormulaErrorKind.UNIT_MISMATCH),
    ("open(A)", FormulaErrorKind.UNKNOWN_NAME),
    ("A ** 2", FormulaErrorKind.SYNTAX), ("[A, B]", FormulaErrorKind.SYNTAX), ("'1' + A", FormulaErrorKind.SYNTAX),
])
def test_formulas_docent_does_not_evaluate_fail_with_a_kind(formula: str, kind: FormulaErrorKind) -> None:
    inputs = {"A": amount("5"), "B": amount("5"), "P": Quantity(Decimal(12), 0, True)}
    with pytest.raises(FormulaError) as e:
        evaluate(formula, inputs)
    assert e.value.kind is kind


def test_a_huge_formula_is_refused_not_evaluated() -> None:
    with pytest.raises(FormulaError):
        evaluate(" + ".join(["A"] * 500), {"A": amount("1")})
    assert names_in("pct_change(B, A) + C") == ["B", "A", "C"]


# --- which questions compute ------------------------------------------------------
@pytest.mark.parametrize("question, wanted", [
    ("What was the percent change in operating income from 2022 to 2023?", Wanted.PERCENT),
    ("What is the total of the three invoices?", Wanted.AMOUNT),
    ("What was the average of the monthly readings?", Wanted.ANY),
    ("How much more did we spend on travel than on training?", Wanted.AMOUNT),
    ("What percentage of revenue came from services?", Wanted.PERCENT),
    ("What was the net profit margin in 2023?", Wanted.PERCENT),
    ("How many days payable outstanding, DPO defined as 365 * AP / COGS?", Wanted.DAYS),
    ("Calculate the ratio of current assets to current liabilities.", Wanted.RATIO),
    ("How many times larger were sales in 2023 than in 2020?", Wanted.RATIO),
    ("By how much did inventories change between March and June?", Wanted.AMOUNT),
])
def test_computation_requests_are_recognised(question: str, wanted: Wanted) -> None:
    request = compute_request(question)
    assert request is not None and request.wanted is wanted


@pytest.mark.parametrize("question", [
    "What was Apple's total net sales in the quarter?", "Summarise the termination clause.",
    "What are the major factors contributing to the change in gross margin?",
    "Why did operating expenses increase?", "Who signed the lease?",
])
def test_questions_answered_by_quoting_are_not(question: str) -> None:
    assert compute_request(question) is None


def test_precision_and_given_formulas_are_read() -> None:
    r = compute_request("What is the percent change, rounded to one decimal place?")
    assert r is not None and r.decimals == 1
    r = compute_request("Calculate DPO, defined as 365 × average payables / cost of sales, to the nearest whole number")
    assert r is not None and r.decimals == 0 and r.formula_given


# --- the plan's form ------------------------------------------------------------------
def test_the_grammar_offers_each_letter_in_order() -> None:
    g = grammar()
    assert g.startswith("root ::= in0") and all(f'"{c} = "' in g for c in LETTERS)
    assert "missing ::=" in g and 'fn ::= "avg" | "sum" | "abs"' in g


def test_plans_are_read_leniently() -> None:
    plan = parse_plan("Here you go:\nA = total net sales, Q3 2023: 81,797 [1]\n  B = services: $21,213 million [1]\n"
                      "A = again: 5 [1]\nRESULT = B / A * 100\ntrailing prose")
    assert [i.letter for i in plan.inputs] == ["A", "B"] and plan.formula == "B / A * 100"
    assert plan.inputs[1].figure == "$21,213 million" and plan.inputs[1].source == 1
    assert parse_plan("MISSING = Tesla's 2022 revenue\n").missing == "Tesla's 2022 revenue"
    assert parse_plan("I think it is 12%.") .inputs == ()


# --- inputs found in their sources, and the answer written ----------------------------------
def test_a_share_is_computed_from_table_cells_with_their_headers() -> None:
    request = compute_request("What percentage of total net sales came from Services in the quarter?")
    assert request is not None
    plan = parse_plan("A = services: 21,213 [1]\nB = total net sales: 81,797 [1]\nRESULT = A / B * 100\n")
    c = compute(plan, visible(), request)
    assert c.status is ComputeStatus.COMPUTED and c.unit is ResultUnit.PERCENT
    assert c.result == "25.9%" and c.value == Decimal("25.9")
    assert c.inputs[0].label == "Net sales: Services, Three Months Ended July 1, 2023"  # the cell's, not the model's
    assert c.inputs[0].quantity.value == Decimal("21213") * 10 ** 6  # "In millions"
    assert "[1]" in c.text and c.text.startswith("25.9%, computed by Docent as A ÷ B × 100 = 21,213 ÷ 81,797 × 100")
    assert c.text[c.result_span[0]:c.result_span[1]].startswith("25.9%")


def test_a_change_keeps_the_sources_scale_and_sign() -> None:
    request = compute_request("By how much did other income change from 2022 to 2023?")
    assert request is not None
    plan = parse_plan("A = other income 2022: (10) [1]\nB = other income 2023: (265) [1]\nRESULT = B - A\n")
    c = compute(plan, visible(), request)
    assert c.status is ComputeStatus.COMPUTED and c.unit is ResultUnit.AMOUNT
    assert c.result == "-$255 million" and c.working == "(-265) − (-10)"  # the statement is in dollars


def test_a_total_from_prose_keeps_cents_and_currency() -> None:
    request = compute_request("What is the total of the three invoices?")
    assert request is not None
    plan = parse_plan("A = invoice 1041: $1,200 [2]\nB = invoice 1042: $950.50 [2]\nC = invoice 1043: $2,310.25 [2]\n"
                      "RESULT = sum(A, B, C)\n")
    c = compute(plan, visible(), request)
    assert c.result == "$4,460.75" and c.status is ComputeStatus.COMPUTED


def test_a_rounded_or_misattributed_input_is_taken_from_where_it_stands() -> None:
    request = compute_request("What is the ratio of net income to total net sales?")
    assert request is not None
    # "$81.8 billion" is 81,797 rounded; 19,881 is cited as [2] but stands in [1] only
    plan = parse_plan("A = net income: 19,881 [2]\nB = total net sales: $81.8 billion [1]\nRESULT = A / B\n")
    c = compute(plan, visible(), request)
    assert c.status is ComputeStatus.COMPUTED and c.unit is ResultUnit.RATIO
    assert [i.source for i in c.inputs] == [1, 1] and c.inputs[0].cited == 2
    assert same_figure(key_figures(c.result)[0], key_figures("0.24")[0])


def test_an_input_in_no_source_stops_the_computation_without_a_number() -> None:
    request = compute_request("What is the average of the invoices?")
    assert request is not None
    plan = parse_plan("A = invoice 1041: $1,200 [2]\nB = invoice 1044: $777 [2]\nRESULT = avg(A, B)\n")
    c = compute(plan, visible(), request)
    assert c.status is ComputeStatus.MISSING_INPUT and c.value is None
    # the model's numbers are no claim Docent makes
    assert "B (invoice)" in c.text and "777" not in c.text and "1044" not in c.text
    assert c.missing[0].letter == "B" and not c.has_result


@pytest.mark.parametrize("form, status", [
    ("MISSING = the 2019 figures\n", ComputeStatus.NOT_IN_SOURCES),
    ("", ComputeStatus.NO_INPUTS),
    ("A = invoice 1041: $1,200 [2]\n", ComputeStatus.NO_INPUTS),
    ("A = invoice 1041: $1,200 [2]\nB = invoice 1041: 1,200 [2]\nRESULT = A / (A - B)\n", ComputeStatus.FORMULA_FAILED),
    ("A = invoice: $1,200 [2]\nRESULT = A + 1 +\n", ComputeStatus.FORMULA_FAILED),
])
def test_bad_plans_give_a_sentence_and_no_number(form: str, status: ComputeStatus) -> None:
    request = compute_request("What is the total of the invoices?")
    assert request is not None
    c = compute(parse_plan(form), visible(), request)
    assert c.status is status and c.value is None and c.text
    assert not [f for f in key_figures(c.text.split("\n")[0]) if f.value not in (Decimal(1041), Decimal(1200))]


def test_a_single_input_is_quoted_not_computed() -> None:
    request = compute_request("What was the net profit margin?")
    assert request is not None
    c = compute(parse_plan("A = net income: $19,881 [1]\nRESULT = A\n"), visible(), request)
    assert c.status is ComputeStatus.QUOTED and c.result == "$19,881 million" and c.result_span == (0, 0)


def test_a_computed_answer_crosses_the_wire_whole() -> None:
    """`docent serve`'s clients (the CLI beside a running window) get the inputs, cells and exact values."""
    from app.core import wire
    from app.engine.events import Answer

    request = compute_request("What percentage of total net sales came from Services?")
    assert request is not None
    c = compute(parse_plan("A = services: 21,213 [1]\nB = total net sales: 81,797 [1]\nRESULT = A / B * 100\n"),
                visible(), request)
    a = Answer("q", c.text, computation=c)
    back = wire.decode(wire.encode(wire.AnswerDone(a)))
    assert back == wire.AnswerDone(a)
    assert back.answer.computation.inputs[0].cell.column == "Three Months Ended July 1, 2023"
    assert back.answer.computation.value == Decimal("25.9")


def test_a_prose_input_is_labelled_by_its_source_not_by_the_model() -> None:
    request = compute_request("What is the total of the invoices?")
    assert request is not None
    plan = parse_plan("A = 1042.5, B 968.73: $1,200 [2]\nB = x: $950.50 [2]\nRESULT = A + B\n")
    c = compute(plan, visible(), request)
    assert [i.label for i in c.inputs] == ["Invoice 1041 was for", "Invoice 1042 was for"]
    assert "968" not in c.text


def test_a_number_the_model_puts_in_the_formula_is_not_computed_with() -> None:
    request = compute_request("What was the percent change in total net sales?")
    assert request is not None
    plan = parse_plan("A = total net sales 2022: 82,959 [1]\nRESULT = pct_change(70, 72) + A * 0\n")
    c = compute(plan, visible(), request, "What was the percent change in total net sales?")
    assert c.status is ComputeStatus.FORMULA_FAILED and c.value is None and "70" in c.detail
    given = "What is DPO, defined as 365 * payables / cost of sales? Use 0.5 as the weight."
    plan = parse_plan("A = net income: 19,881 [1]\nB = total net sales: 81,797 [1]\nRESULT = 365 * A / B * 0.5\n")
    assert compute(plan, visible(), compute_request(given), given).status is ComputeStatus.COMPUTED


def test_every_rule_the_grammar_names_is_defined() -> None:
    import re

    g = grammar("What is DPO, defined as 365 * payables / cost of sales, weighted by 0.5?")
    defined = {line.split(" ::= ")[0] for line in g.splitlines()}
    bodies = " ".join(line.split(" ::= ", 1)[1] for line in g.splitlines())
    named = set(re.findall(r"(?<![\w\"\[\\^-])([a-z][a-z0-9]*)(?![\w\"\]])",
                           re.sub(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]', " ", bodies)))
    assert named <= defined, named - defined
    assert '"0.5"' in g and '"365"' in g and '"2121"' not in g


@pytest.mark.parametrize("question, formula", [
    ("How much more were products' net sales than services' in the quarter?", "(A - B) / B"),
    ("What percentage of total net sales came from services?", "B - A"),
])
def test_a_result_of_another_kind_than_asked_is_not_shown(question: str, formula: str) -> None:
    request = compute_request(question)
    assert request is not None
    plan = parse_plan(f"A = services: 21,213 [1]\nB = products: $60,584 [1]\nRESULT = {formula}\n")
    c = compute(plan, visible(), request, question)
    assert c.status is ComputeStatus.FORMULA_FAILED and c.value is None and "but the question asks for" in c.text


def test_a_ratio_times_100_reads_as_a_percentage_whatever_the_question_says() -> None:
    question = "What was the tax rate, defined as net income divided by total net sales?"
    plan = parse_plan("A = net income: $19,881 [1]\nB = total net sales: 81,797 [1]\nRESULT = A / B * 100\n")
    c = compute(plan, visible(), compute_request(question), question)
    assert c.result == "24.3%" and c.unit is ResultUnit.PERCENT


def test_one_cell_named_twice_is_not_computed_with() -> None:
    question = "What percentage of total net sales came from services?"
    plan = parse_plan("A = services: 81,797 [1]\nB = total net sales: 81,797 [1]\nRESULT = A / B * 100\n")
    c = compute(plan, visible(), compute_request(question), question)
    assert c.status is ComputeStatus.FORMULA_FAILED and "A and B are one and the same figure" in c.text


def test_the_benchmarks_computation_questions_are_whole() -> None:
    """tests/bench/data/compute_questions.csv: 15 written questions with their inputs' pages and
    answers, the sec-10-q ones quoted word for word, out-of-library ones with no answer."""
    import csv

    from tests.bench.bench_compute import load
    from tests.bench.common import SHARED_EVAL

    questions = load()
    written = [q for q in questions if q.kind == "written"]
    assert len(written) == 15 and all(q.answer and q.glob for q in written)
    assert all(compute_request(q.text) is not None for q in written)
    assert all(not q.answer for q in questions if q.kind == "out_of_library")
    qna = SHARED_EVAL / "sec-10-q" / "qna_data.csv"
    if qna.is_file():
        with qna.open(encoding="utf-8-sig") as f:
            asked = {r["Question"] for r in csv.DictReader(f)}
        assert all(q.text in asked for q in questions if q.kind == "sec")


def test_one_place_in_prose_named_twice_is_refused_two_equal_figures_are_not() -> None:
    question = "What is the difference between the two invoices?"
    twice = parse_plan("A = invoice: $1,200 [2]\nB = invoice: $1,200 [2]\nRESULT = A - B\n")
    c = compute(twice, visible(), compute_request(question), question)
    assert c.status is ComputeStatus.FORMULA_FAILED and "one and the same figure" in c.text
    equal = {2: Passage("b", "/docs/i.txt", None, None, "Invoice 7 was $500. Invoice 8 was $500.", 0.5)}
    c = compute(parse_plan("A = invoice 7: $500 [2]\nB = invoice 8: $500 [2]\nRESULT = A - B\n"), equal,
                compute_request(question), question)
    assert c.status is ComputeStatus.COMPUTED and c.result == "$0"  # two places, told apart by the model's words


def test_two_columns_under_one_header_are_two_figures() -> None:
    table = ("(in millions)\n|  | Three Months Ended March 31, | Three Months Ended March 31, |\n|---|---|---|\n"
             "| Total net sales | 116,444 | 127,358 |")
    question = "What was the percent change in total net sales from 2022 to 2023?"
    plan = parse_plan("A = total net sales 2022: 116,444 [1]\nB = total net sales 2023: 127,358 [1]\n"
                      "RESULT = (B - A) / A * 100\n")
    c = compute(plan, {1: Passage("t", "/d/amzn.pdf", 4, 4, table, 0.9)}, compute_request(question), question)
    assert c.status is ComputeStatus.COMPUTED and c.result == "9.4%"
