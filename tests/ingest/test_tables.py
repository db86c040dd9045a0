"""Tables read as tables: the recovered grid of a known table per format, chunks that
never separate a row from its headers, and bad input that falls back to text."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import Block, page_texts
from ingest.loaders import load_document
from ingest.tables import Row, Table, parse_cells, table_from_grid


def grid(table: Table) -> list[list[str]]:
    """Header row then body rows, label first: what a reader sees."""
    return [[table.stub, *table.columns]] + [[r.full_label, *r.cells] for r in table.rows]


def tables(path: Path) -> list[Table]:
    return [b.table for b in load_document(path).blocks if b.table is not None]


# --- the model ------------------------------------------------------------------
def test_table_text_reads_back_cell_by_cell_with_its_headers() -> None:
    t = Table(("2023", "2022"), (Row("Rent", ("900", "850")), Row("Heating", ("120", ""), section="Utilities:")),
              caption="Household budget", units="(in euros)", stub="Item")
    assert t.text.splitlines() == [
        "Household budget", "(in euros)", "| Item | 2023 | 2022 |", "|---|---|---|",
        "| Rent | 900 | 850 |", "| Utilities: Heating | 120 |  |",
    ]
    assert [(c.row, c.column, c.value) for c in parse_cells(t.text)] == [
        ("Rent", "2023", "900"), ("Rent", "2022", "850"), ("Utilities: Heating", "2023", "120")]
    assert Row("Total costs", ("1", "2")).is_total and not Row("Totally", ("1",)).is_total


def test_grid_headers_are_the_leading_rows_without_figures() -> None:
    t = table_from_grid([["", "Q1", "Q2"], ["", "2023", "2023"], ["Sales", "10", "12"], ["Costs", "7", "(3)"]])
    assert t is not None and t.columns == ("Q1 2023", "Q2 2023") and [r.label for r in t.rows] == ["Sales", "Costs"]
    assert table_from_grid([["only one column"], ["x"]]) is None
    assert table_from_grid([["a"] + [str(i) for i in range(40)], ["b"] + ["1"] * 40]) is None  # too wide


# --- per format -------------------------------------------------------------------
def test_docx_lab_report_table(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("Blood panel for sample 7.")
    rows = [["Test", "Result", "Unit", "Reference range"], ["Glucose", "5.4", "mmol/L", "3.9-5.5"],
            ["Hemoglobin", "13.1", "g/dL", "12.0-15.5"], ["Ferritin", "8", "ug/L", "15-150"]]
    table = d.add_table(rows=4, cols=4)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("Ferritin is below the reference range.")
    p = tmp_path / "lab.docx"
    d.save(str(p))
    (t,) = tables(p)
    assert grid(t) == rows
    texts = [b.text for b in load_document(p).blocks if b.table is None]
    assert texts == ["Blood panel for sample 7.", "Ferritin is below the reference range."]  # prose stays prose


def test_html_budget_with_a_spanning_header_and_caption(tmp_path: Path) -> None:
    p = tmp_path / "budget.html"
    p.write_text(
        "<html><body><p>The board approved this budget.</p><table><caption>Budget 2024</caption>"
        "<thead><tr><th>Line</th><th colspan=2>Planned</th><th>Actual</th></tr>"
        "<tr><th></th><th>H1</th><th>H2</th><th>H1</th></tr></thead>"
        "<tbody><tr><td>Salaries</td><td>40,000</td><td>42,000</td><td>39,500</td></tr>"
        "<tr><td>Travel</td><td>3,000</td><td>2,000</td><td>4,100</td></tr>"
        "<tr><td>Total</td><td>43,000</td><td>44,000</td><td>43,600</td></tr></tbody></table>"
        "<p>Travel ran over.</p></body></html>", encoding="utf-8")
    (t,) = tables(p)
    assert t.caption == "Budget 2024"
    assert grid(t) == [["Line", "Planned H1", "Planned H2", "Actual H1"], ["Salaries", "40,000", "42,000", "39,500"],
                       ["Travel", "3,000", "2,000", "4,100"], ["Total", "43,000", "44,000", "43,600"]]
    assert t.rows[-1].is_total


def test_markdown_price_list(tmp_path: Path) -> None:
    p = tmp_path / "prices.md"
    p.write_text("# Prices\n\nOur prices:\n| Item | Price (EUR) |\n|---|--:|\n| Widget | 4.50 |\n"
                 "| Gadget | 12.00 |\nShipping is free.\n", encoding="utf-8")
    (t,) = tables(p)
    assert grid(t) == [["Item", "Price (EUR)"], ["Widget", "4.50"], ["Gadget", "12.00"]]
    other = [b.text for b in load_document(p).blocks if b.table is None]
    assert other == ["Prices", "Our prices:", "Shipping is free."]


def _statement_pdf(path: Path, extra_rows: int = 0) -> Path:
    """A generated PDF: a caption, units, stacked column headers over two periods, a
    section of indented rows and a total; prose above and below."""
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(20, 15)
    pdf.multi_cell(170, 5, "The laboratory spent less on supplies this year than last year, "
                   "as the table below shows in detail.")
    pdf.set_xy(60, 35)
    pdf.cell(90, 5, "STATEMENT OF LABORATORY COSTS", align="C")
    pdf.set_xy(60, 40)
    pdf.cell(90, 5, "(In thousands of euros)", align="C")
    pdf.set_xy(140, 48)  # centred over the two columns' figures, as statements set it
    pdf.cell(50, 5, "Year Ended", align="C")
    for x, (top, bottom) in zip((120, 155), (("March 31,", "2024"), ("March 31,", "2023")), strict=True):
        pdf.set_xy(x, 53)
        pdf.cell(35, 5, top, align="R")
        pdf.set_xy(x, 58)
        pdf.cell(35, 5, bottom, align="R")
    rows = [("Supplies:", None, None, 0), ("Reagents", "1,204", "1,530", 6), ("Glassware", "310", "295", 6),
            *[(f"Item {i}", f"{i},000", f"{i},100", 6) for i in range(extra_rows)],
            ("Total supplies", "1,514", "1,825", 3), ("Staff", "4,980", "4,610", 0)]
    y = 66.0
    for label, a, b, indent in rows:
        pdf.set_xy(20 + indent, y)
        pdf.cell(90, 5, label)
        for x, v in ((120, a), (155, b)):
            if v is not None:
                pdf.set_xy(x, y)
                pdf.cell(35, 5, v, align="R")
        y += 5.5
        if y > 260:
            pdf.add_page()
            y = 20.0
    pdf.set_xy(20, y + 8)
    pdf.multi_cell(170, 5, "Staff costs rose with two new technicians hired in the autumn.")
    pdf.output(str(path))
    return path


def test_pdf_statement_grid_from_text_positions(tmp_path: Path) -> None:
    p = _statement_pdf(tmp_path / "costs.pdf")
    (t,) = tables(p)
    assert (t.caption, t.units) == ("STATEMENT OF LABORATORY COSTS", "(In thousands of euros)")
    assert grid(t) == [
        ["", "Year Ended March 31, 2024", "Year Ended March 31, 2023"],
        ["Supplies: Reagents", "1,204", "1,530"], ["Supplies: Glassware", "310", "295"],
        ["Total supplies", "1,514", "1,825"], ["Staff", "4,980", "4,610"],
    ]
    prose = " ".join(b.text for b in load_document(p).blocks if b.table is None)
    assert "spent less on supplies" in prose and "two new technicians" in prose and "4,980" not in prose


def test_a_stacked_year_centred_over_flush_left_currency_heads_its_column(tmp_path: Path) -> None:
    """Statements set "$" flush left in a column and centre its header over the sign and the
    figure, so the header's lower line ("2023") ends left of the figures: it still heads
    the column, not the labels."""
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for x, (top, bottom) in zip((100, 150), (("July 1,", "2023"), ("September 24,", "2022")), strict=True):
        for y, text in ((40, top), (45, bottom)):
            pdf.set_xy(x, y)
            pdf.cell(40, 5, text, align="C")  # centred over "$" at x and the figure ending at x + 40
    for n, (label, a, b) in enumerate((("Components", "3,788", "1,637"), ("Finished goods", "3,563", "3,309"),
                                       ("Total inventories", "7,351", "4,946"))):
        y = 53 + 5.5 * n
        pdf.set_xy(20, y)
        pdf.cell(60, 5, label)
        for x, v in ((100, a), (150, b)):
            if n != 1:
                pdf.set_xy(x, y)
                pdf.cell(5, 5, "$")
            pdf.set_xy(x, y)
            pdf.cell(40, 5, v, align="R")
    p = tmp_path / "inventories.pdf"
    pdf.output(str(p))
    (t,) = tables(p)
    assert t.columns == ("July 1, 2023", "September 24, 2022") and t.stub == ""
    assert grid(t)[-1] == ["Total inventories", "$7,351", "$4,946"]


def test_a_units_line_between_the_headers_and_the_rows_keeps_both(tmp_path: Path) -> None:
    """"(In millions)" set under the column headers, just above the first row: the headers
    still head the columns, the line is the table's units, and the first row is a row."""
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(20, 30)
    pdf.cell(100, 5, "Pump test results")
    for x, head in ((110, "Spring 2024"), (150, "Autumn 2023")):
        pdf.set_xy(x, 40)
        pdf.cell(35, 5, head, align="R")
    pdf.set_xy(110, 46)
    pdf.cell(75, 5, "(In thousands of litres)", align="C")
    for n, (label, a, b) in enumerate((("North well", "1,250", "1,100"), ("South well", "980", "1,020"),
                                       ("Total pumped", "2,230", "2,120"))):
        pdf.set_xy(20, 53 + 5.5 * n)
        pdf.cell(60, 5, label)
        for x, v in ((110, a), (150, b)):
            pdf.set_xy(x, 53 + 5.5 * n)
            pdf.cell(35, 5, v, align="R")
    p = tmp_path / "pumps.pdf"
    pdf.output(str(p))
    (t,) = tables(p)
    assert t.columns == ("Spring 2024", "Autumn 2023") and t.units == "(In thousands of litres)"
    assert t.caption == "Pump test results"
    assert grid(t)[1:] == [["North well", "1,250", "1,100"], ["South well", "980", "1,020"],
                           ["Total pumped", "2,230", "2,120"]]


def test_real_balance_sheet_note_keeps_each_columns_year(sec_docs: Path) -> None:
    doc = load_document(sec_docs / "2023 Q3 AAPL.pdf")
    found = [b.table for b in doc.blocks if b.table is not None and b.page == 13]
    inventories = next(t for t in found if any(r.label == "Total inventories" for r in t.rows))
    assert inventories.columns == ("July 1, 2023", "September 24, 2022") and inventories.stub == ""
    other = next(t for t in found if any(r.label == "Interest expense" for r in t.rows))
    assert other.columns[0] == "Three Months Ended July 1, 2023"


def test_real_statement_of_operations(sec_docs: Path) -> None:
    doc = load_document(sec_docs / "2023 Q3 AAPL.pdf")
    (t,) = [b.table for b in doc.blocks if b.table is not None and b.page == 4][:1]
    assert t.caption == "CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (Unaudited)"
    assert t.units.startswith("(In millions, except")
    assert t.columns == ("Three Months Ended July 1, 2023", "Three Months Ended June 25, 2022",
                         "Nine Months Ended July 1, 2023", "Nine Months Ended June 25, 2022")
    rows = {r.full_label: r.cells for r in t.rows}
    assert rows["Total net sales"] == ("81,797", "82,959", "293,787", "304,182")
    assert rows["Net sales: Products"] == ("$60,584", "$63,355", "$230,901", "$245,241")
    assert rows["Operating expenses: Research and development"] == ("7,442", "6,797", "22,608", "19,490")
    assert rows["Other income/(expense), net"] == ("(265)", "(10)", "(594)", "(97)")
    # every cell keeps where it is on the page: (x0, y0, x1, y1) in points, left to right
    total = next(r for r in t.rows if r.label == "Total net sales")
    assert len(total.boxes) == 5 and all(b is not None for b in total.boxes)
    xs = [b[0] for b in total.boxes if b is not None]
    assert xs == sorted(xs) and all(0 < x < 612 for x in xs)
    cells = {(c.row, c.column): c.value for c in parse_cells(t.text)}
    assert cells[("Total net sales", "Nine Months Ended July 1, 2023")] == "293,787"


# --- chunks ------------------------------------------------------------------------
def test_a_long_table_splits_between_rows_and_every_part_repeats_its_head(tmp_path: Path, embedder) -> None:
    from ingest.chunker import Chunker

    p = _statement_pdf(tmp_path / "long.pdf", extra_rows=60)
    doc = load_document(p)
    chunks = Chunker(embedder.tokenizer, chunk_tokens=200).chunk(doc)
    parts = [c for c in chunks if "| Year Ended March 31, 2024 |" in c.text]
    assert len(parts) >= 3
    texts = page_texts(doc.blocks)
    for c in parts:
        assert "STATEMENT OF LABORATORY COSTS" in c.text and "(In thousands of euros)" in c.text
        assert c.token_count <= 254
        rows = [line for line in c.body.splitlines()]
        assert rows and all(line.startswith("| ") and line.endswith(" |") for line in rows)  # whole rows
        # the spans cover exactly the rows: the viewer highlights these and no header
        assert "\n".join(texts[s.page][s.start:s.end] for s in c.spans) == c.body
    # the table runs onto page 2, where it has no header of its own: it continues under page 1's
    continued = [c for c in parts if c.page_start == 2]
    assert continued and all("STATEMENT OF LABORATORY COSTS (continued)" in c.text for c in continued)
    bodies = [line for c in parts for line in c.body.splitlines()]
    assert len(bodies) == len(set(bodies))  # no row twice, none lost
    assert any("Item 59" in line for line in bodies) and any("Total supplies" in line for line in bodies)


# --- bad input ---------------------------------------------------------------------
def _grid_pdf(path: Path, cols: int, rows: int, rotate: bool = False) -> Path:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", format=(1200, 2400) if cols > 50 else "letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=6)
    with pdf.rotation(90, 100, 100) if rotate else _nullcontext():
        for r in range(rows):
            for c in range(cols):
                pdf.set_xy(10 + c * 8 * (1 if cols > 50 else 3), 10 + r * 4)
                pdf.cell(7, 3, str(r * cols + c))
    pdf.output(str(path))
    return path


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize("cols,rows,rotate", [(300, 12, False), (8, 30, False), (8, 30, True)])
def test_spreadsheet_pages_of_numbers_and_rotated_pages_still_index(tmp_path: Path, cols: int, rows: int,
                                                                       rotate: bool) -> None:
    p = _grid_pdf(tmp_path / f"grid{cols}{rotate}.pdf", cols, rows, rotate)
    doc = load_document(p)
    words = " ".join(b.text for b in doc.blocks).replace("|", " ").split()
    assert str(rows * cols - 1) in words  # every number is still indexed
    if cols > 16:
        assert not any(b.table for b in doc.blocks)  # too wide to read as a table: plain text


def test_a_table_block_text_is_its_table(tmp_path: Path) -> None:
    p = _statement_pdf(tmp_path / "costs.pdf")
    for b in load_document(p).blocks:
        assert b.table is None or b.text == b.table.text
    assert Block("x").table is None


def test_real_units_line_under_the_headers(sec_docs: Path) -> None:
    """NVIDIA sets "(In millions)" between its column headers and the first row: the
    revenue-by-market table keeps its four periods and its Data Center row under them."""
    doc = load_document(sec_docs / "2023 Q3 NVDA.pdf")
    t = next(b.table for b in doc.blocks if b.table is not None and b.page == 24
             and any(r.label == "Data Center" for r in b.table.rows))
    assert t.columns == ("Three Months Ended October 29, 2023", "Three Months Ended October 30, 2022",
                         "Nine Months Ended October 29, 2023", "Nine Months Ended October 30, 2022")
    assert t.units == "(In millions)"
    cells = {(c.row, c.column): c.value for c in parse_cells(t.text)}
    assert cells[("Revenue: Data Center", "Three Months Ended October 29, 2023")] == "$14,514"
