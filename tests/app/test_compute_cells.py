"""Computed answers: the column the question names, and what the question's kind rules out."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.engine.computation import ComputeStatus, ResultUnit, compute
from app.engine.compute_plan import grammar, instruction, parse_plan
from app.engine.compute_request import Wanted, compute_request
from ingest.passage import Passage
from ingest.tables import parse_cells

# A lab's results over two periods, each as a quarter and as a year to date: the shape in
# which a small model copies the right row from the wrong column.
RESULTS = """QUARTERLY READINGS
(In thousands)
|  | Three Months Ended March 31, 2024 | Three Months Ended March 31, 2023 | Twelve Months Ended March 31, 2024 |
|---|---|---|---|
| Samples processed | 1,250 | 1,000 | 4,600 |
| Samples rejected | 50 | 40 | 230 |
| Change | 5% | 2% | 3% |"""


def visible() -> dict[int, Passage]:
    return {1: Passage("a", "/lab/report.pdf", 2, 2, RESULTS, 0.9)}


def test_cells_know_their_table_and_place() -> None:
    cells = list(parse_cells(RESULTS + "\n\nprose between\n| | x |\n|---|---|\n| Samples processed | 7 |"))
    assert all(RESULTS[c.start:c.start + len(c.value)] == c.value for c in cells if c.table == 0)
    assert {c.table for c in cells} == {0, 1}


def test_an_input_copied_from_a_column_the_question_does_not_name_moves_to_the_one_it_names() -> None:
    question = "What share of samples processed in the three months ended March 31, 2024 were rejected?"
    request = compute_request(question)
    assert request is not None
    plan = parse_plan("A = rejected: 230 [1]\nB = processed: 1,250 [1]\nRESULT = A / B * 100\n")
    c = compute(plan, visible(), request, question)
    assert c.status is ComputeStatus.COMPUTED and c.result == "4.0%"
    assert c.inputs[0].label == "Samples rejected, Three Months Ended March 31, 2024"
    assert c.inputs[0].source == 1 and c.inputs[0].cited == 1


def test_a_column_the_question_names_is_kept() -> None:
    question = "What share of samples processed in the twelve months ended March 31, 2024 were rejected?"
    plan = parse_plan("A = rejected: 230 [1]\nB = processed: 4,600 [1]\nRESULT = A / B * 100\n")
    c = compute(plan, visible(), compute_request(question), question)  # type: ignore[arg-type]
    assert c.result == "5.0%" and [i.text for i in c.inputs] == ["230", "4,600"]


def test_a_percent_column_is_not_taken_for_an_amount() -> None:
    question = "What was the change in samples processed between the three months ended March 31, 2023 and 2024?"
    plan = parse_plan("A = processed: 4,600 [1]\nB = processed: 1,000 [1]\nRESULT = A - B\n")
    c = compute(plan, visible(), compute_request(question), question)  # type: ignore[arg-type]
    assert all(not i.quantity.percent for i in c.inputs)


@pytest.mark.parametrize("formula, expected", [("(A - B) / B * 100", "25.0%"), ("(B - A) / A * 100", "25.0%")])
def test_one_cell_copied_twice_for_a_change_takes_the_two_named_periods(formula: str, expected: str) -> None:
    question = ("What was the percent change in samples processed for the three months ended March 31, 2024 "
                "compared with the three months ended March 31, 2023?")
    plan = parse_plan(f"A = processed: 1,000 [1]\nB = processed: 1,000 [1]\nRESULT = {formula}\n")
    c = compute(plan, visible(), compute_request(question), question)  # type: ignore[arg-type]
    assert c.status is ComputeStatus.COMPUTED and c.result == expected
    assert sorted(i.text for i in c.inputs) == ["1,000", "1,250"]


def test_one_cell_twice_without_a_second_named_column_is_still_refused() -> None:
    question = "What share of samples processed in the three months ended March 31, 2024 were rejected?"
    plan = parse_plan("A = processed: 1,250 [1]\nB = processed: 1,250 [1]\nRESULT = A / B * 100\n")
    c = compute(plan, visible(), compute_request(question), question)  # type: ignore[arg-type]
    assert c.status is ComputeStatus.FORMULA_FAILED and c.value is None


# --- what the question's kind rules out ----------------------------------------------------
def test_an_amount_is_never_a_quotient_nor_times_100() -> None:
    amount = grammar("By how much did samples processed change?", Wanted.AMOUNT)
    anything = grammar("What is the average of the readings?", Wanted.ANY)
    assert '"100"' not in amount and '"100"' in anything
    assert '"/" " "? number' in amount and '[*/] " "? (head | number)' in anything
    assert "does not divide" in instruction(Wanted.AMOUNT) and "does not divide" not in instruction(Wanted.ANY)


def test_a_ratio_is_not_a_percentage() -> None:
    question = ("Calculate the ratio of samples processed to samples rejected for the twelve months ended "
                "March 31, 2024.")
    request = compute_request(question)
    assert request is not None and request.wanted is Wanted.RATIO
    assert '"100"' not in grammar(question, request.wanted) and "100" in instruction(request.wanted)
    c = compute(parse_plan("A = processed: 4,600 [1]\nB = rejected: 230 [1]\nRESULT = A / B\n"), visible(), request,
                question)
    assert c.unit is ResultUnit.RATIO and c.value == Decimal("20.00")
    times_100 = compute(parse_plan("A = processed: 4,600 [1]\nB = rejected: 230 [1]\nRESULT = A / B * 100\n"),
                        visible(), request, question)
    assert times_100.status is ComputeStatus.FORMULA_FAILED and times_100.value is None


def test_the_kind_grammars_load_in_llama_cpp() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    for wanted in Wanted:
        llama_cpp.LlamaGrammar.from_string(grammar("What was the total of 12 invoices?", wanted), verbose=False)


def test_a_units_line_trimmed_from_the_prompt_is_read_from_the_passage_body() -> None:
    trimmed = "\n".join(line for line in RESULTS.splitlines() if "thousands" not in line)
    question = "What is the sum of samples processed and samples rejected in the twelve months ended March 31, 2024?"
    plan = parse_plan("A = processed: 4,600 [1]\nB = rejected: 230 [1]\nRESULT = A + B\n")
    whole = Passage("a", "/lab/report.pdf", 2, 2, trimmed, 0.9, body=RESULTS)
    c = compute(plan, {1: whole}, compute_request(question), question)  # type: ignore[arg-type]
    assert c.result == "4,830 thousand" and c.inputs[0].scale == 1000
    bare = compute(plan, {1: Passage("a", "/lab/report.pdf", 2, 2, trimmed, 0.9)}, compute_request(question),  # type: ignore[arg-type]
                   question)
    assert bare.result == "4,830" and bare.inputs[0].scale == 1


BUDGET = """TEAM BUDGET
(In dollars)
|  | 2024 | 2023 |
|---|---|---|
| Spending: Rent | 1,200 | 1,100 |
| Spending: Travel | 300 | 350 |
| Spending: Training | 150 | 100 |
| Total spending | 1,650 | 1,550 |"""


def budget() -> dict[int, Passage]:
    return {1: Passage("b", "/team/budget.docx", None, None, BUDGET, 0.9)}


def test_an_input_copied_from_a_row_its_description_does_not_name_moves_to_the_row_it_names() -> None:
    question = "What share of total spending went to travel in 2024?"
    plan = parse_plan("A = travel 2024: 1,200 [1]\nB = total spending 2024: 1,650 [1]\nRESULT = A / B * 100\n")
    c = compute(plan, budget(), compute_request(question), question)  # type: ignore[arg-type]
    assert c.status is ComputeStatus.COMPUTED and c.result == "18.2%"
    assert [i.label for i in c.inputs] == ["Spending: Travel, 2024", "Total spending, 2024"]


def test_rows_the_question_names_are_kept_and_an_unclear_row_is_left_as_copied() -> None:
    named = "What share of total spending went to travel in 2024?"
    plan = parse_plan("A = travel: 300 [1]\nB = total: 1,650 [1]\nRESULT = A / B * 100\n")
    assert compute(plan, budget(), compute_request(named), named).result == "18.2%"  # type: ignore[arg-type]
    two = "What share of total spending went to travel and training in 2024?"
    plan = parse_plan("A = travel: 1,200 [1]\nB = total: 1,650 [1]\nRESULT = A / B * 100\n")  # rent's figure
    assert compute(plan, budget(), compute_request(two), two).result == "18.2%"  # type: ignore[arg-type]
    plan = parse_plan("A = spending: 1,200 [1]\nB = total: 1,650 [1]\nRESULT = A / B * 100\n")
    assert compute(plan, budget(), compute_request(two), two).result == "72.7%"  # type: ignore[arg-type]
    plan = parse_plan("A = rent: 1,200 [1]\nB = total: 1,650 [1]\nRESULT = A / B * 100\n")  # meant, as copied
    assert compute(plan, budget(), compute_request(named), named).result == "72.7%"  # type: ignore[arg-type]


def test_a_row_is_corrected_in_a_change_between_columns() -> None:
    question = "What was the percent change in total spending from 2023 to 2024?"
    plan = parse_plan("A = total 2024: 1,650 [1]\nB = 2023: 1,100 [1]\nRESULT = (A - B) / B * 100\n")
    c = compute(plan, budget(), compute_request(question), question)  # type: ignore[arg-type]
    assert c.result == "6.5%" and c.inputs[1].label == "Total spending, 2023"


@pytest.mark.parametrize("question, expected", [
    ("How much did spending on travel increase from 2023 to 2024?", "-$50"),  # fell: 350 -> 300
    ("What was the change in travel spending between 2023 and 2024?", "-$50"),
    ("How much less was spent on travel in 2024 than in 2023?", "$50"),  # a fall: as written
])
def test_a_rise_or_change_is_the_later_less_the_earlier(question: str, expected: str) -> None:
    plan = parse_plan("A = travel 2023: 350 [1]\nB = travel 2024: 300 [1]\nRESULT = A - B\n")
    c = compute(plan, budget(), compute_request(question), question)  # type: ignore[arg-type]
    assert c.status is ComputeStatus.COMPUTED and c.result == expected


def test_an_input_opens_at_its_cell_or_sentence_and_an_unknown_one_at_its_passage() -> None:
    from app.engine.compute_inputs import input_focus

    p = budget()[1]
    assert input_focus(p, "Spending: Travel, 2023", "$350").body == "| Spending: Travel | 350 |"
    prose = Passage("c", "/notes.txt", None, None, "Travel cost $350 in 2023. Rent was $1,100.", 0.5)
    assert input_focus(prose, "Rent was", "$1,100").body == "Rent was $1,100."
    assert input_focus(p, "Spending: Travel, 2023", "$999") is p


def test_an_amount_of_unstated_scale_beside_one_in_billions_gives_no_number() -> None:
    question = "What share of total revenue came from the data business?"
    plan = parse_plan("A = data revenue: $3.8 billion [1]\nB = total revenue: $14,158 [2]\nRESULT = A / B * 100\n")
    sources = {1: Passage("p", "/r.pdf", 3, 3, "Data revenue was $3.8 billion in the quarter.", 0.9),
               2: Passage("q", "/r.pdf", 5, 5, "| Net revenue | $14,158 | $15,338 |", 0.8)}
    c = compute(plan, sources, compute_request(question), question)  # type: ignore[arg-type]
    assert c.status is ComputeStatus.FORMULA_FAILED and c.value is None
    assert "does not say whether it is in units, thousands or millions, while A is in billions" in c.text
    stated = {**sources, 2: Passage("q", "/r.pdf", 5, 5, "(In millions)\n| Net revenue | $14,158 | $15,338 |", 0.8)}
    assert compute(plan, stated, compute_request(question), question).result == "26.8%"  # type: ignore[arg-type]


def test_a_year_the_question_names_is_no_constant_of_the_formula() -> None:
    question = "By how much did paid memberships grow in the second quarter of 2023, to 2 decimal places?"
    assert '"2023"' not in grammar(question, Wanted.AMOUNT)
    c = compute(parse_plan("A = members 2023: 1,650 [1]\nB = members 2024: 1,550 [1]\nRESULT = (A - B) / 2023\n"),
                budget(), compute_request(question), question)  # type: ignore[arg-type]
    assert c.status is ComputeStatus.FORMULA_FAILED and c.value is None and "2023" in c.detail
    given = "What is the total of 2,500 litres and the North well's pumping?"
    assert '"2500"' in grammar(given)  # an amount the question writes is still offered
