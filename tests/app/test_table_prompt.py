"""A table in the prompt: cut to the rows the question matches, never without its header."""
from __future__ import annotations

from app.engine.selection import query_stems, trim_text
from ingest.tables import Row, Table, parse_cells


def _table() -> Table:
    rows = [Row(f"Reagent {i}", (f"{i},0{i}0", f"{i},1{i}0")) for i in range(1, 13)]
    rows.insert(6, Row("Glassware", ("310", "295")))
    rows.append(Row("Total supplies", ("41,514", "41,825")))
    return Table(("Year Ended March 31, 2024", "Year Ended March 31, 2023"), tuple(rows),
                 caption="STATEMENT OF LABORATORY COSTS", units="(In thousands of euros)")


def test_a_trimmed_table_keeps_caption_units_header_and_the_matching_rows() -> None:
    text = "Costs are shown below.\n" + _table().text
    cut = trim_text(text, query_stems("What did the laboratory spend on glassware and total supplies?"))
    lines = cut.splitlines()
    assert "STATEMENT OF LABORATORY COSTS (In thousands of euros)" in cut
    assert "| | Year Ended March 31, 2024 | Year Ended March 31, 2023 |" in cut.replace("|  |", "| |")
    assert "|---|---|---|" in lines
    assert "| Glassware | 310 | 295 |" in lines and "| Total supplies | 41,514 | 41,825 |" in lines
    assert not any(line.startswith("| Reagent") for line in lines)  # rows the question does not match
    table_part = lines[lines.index("|---|---|---|") - 1:]
    assert "…" not in table_part  # no gap mark inside a Markdown table: it would break it
    cells = {(c.row, c.column): c.value for c in parse_cells(cut)}  # read back from the prompt
    assert cells[("Glassware", "Year Ended March 31, 2023")] == "295"


def test_a_short_table_goes_in_whole() -> None:
    t = Table(("Price (EUR)",), (Row("Widget", ("4.50",)), Row("Gadget", ("12.00",))), stub="Item")
    assert trim_text(t.text, query_stems("price of a widget")) == t.text


def test_a_caption_does_not_take_its_rows_place() -> None:
    """A caption sharing the question's words comes with its rows; it must not fill the
    passage's word budget in their stead (the rows hold the figures)."""
    caption = ("Provision for income taxes, effective tax rate and statutory federal income tax rate for the "
               "three- and nine-month periods ended July 1, 2023 and June 25, 2022 were as follows:")
    t = Table(("Three Months Ended July 1, 2023", "Three Months Ended June 25, 2022",
               "Nine Months Ended July 1, 2023", "Nine Months Ended June 25, 2022"),
              (Row("Provision for income taxes", ("$2,852", "$3,624", "$12,699", "$15,364")),
               Row("Effective tax rate", ("12.5 %", "15.7 %", "14.6 %", "16.3 %")),
               Row("Statutory federal income tax rate", ("21 %", "21 %", "21 %", "21 %"))), caption=caption)
    prose = ("The Company's effective tax rate for the third quarter and first nine months of 2023 was lower "
             "than the statutory federal income tax rate due primarily to a lower effective tax rate on foreign "
             "earnings, including the favorable impact of changes in unrecognized tax benefits.")
    cut = trim_text(t.text + "\n" + prose, query_stems(
        "What effective tax rate did the company report, and how does it compare to the statutory tax rate?"))
    assert "| Effective tax rate | 12.5 % | 15.7 % | 14.6 % | 16.3 % |" in cut.splitlines()
    assert caption in cut  # with its rows
