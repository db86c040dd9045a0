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
