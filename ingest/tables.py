"""A table as data: caption, units, column headers, rows with their labels.

Loaders recover tables (PDF from text positions, DOCX and HTML from their table
objects, Markdown from pipe rows) into `Table`; the chunker keeps every row with
its headers; the prompt and the index read the table as one compact Markdown
form, written here once (`Table.text`) and read back here once (`parse_cells`),
so a figure keeps its row and column headers from the page to the answer.
Format-independent: nothing here knows statements, filings or any one kind of
document.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# A column header is at most this many words: a stacked header ("Three Months Ended" /
# "July 1, 2023") fits; a paragraph above the table is not a header.
MAX_HEADER_WORDS = 14
# Wider tables than this are not read as tables (a spreadsheet printed to PDF): the
# header alone would not fit a chunk, and every row would be cut anyway.
MAX_COLUMNS = 16
SEPARATOR_CELL = "---"
_TOTAL = re.compile(r"^\s*(?:total|subtotal|net total|grand total)\b", re.I)
_PIPE = re.compile(r"\s*\|\s*")


def _cell_text(text: str) -> str:
    """One line, no pipe: what a Markdown cell can hold."""
    return " ".join(text.replace("|", "/").split())


@dataclass(frozen=True)
class Row:
    """One row: its label (left column) and one value per column ('' where empty).

    `indent` is the label's indentation level on the page (0 = flush left); `section`
    is the label of the row group it sits under ("Operating expenses:"), so "Products"
    under "Cost of sales:" reads "Cost of sales: Products". `boxes` are page positions
    (x0, y0, x1, y1 in points) of the label and each cell, where the format has them."""

    label: str
    cells: tuple[str, ...]
    indent: int = 0
    section: str = ""
    boxes: tuple[tuple[float, float, float, float] | None, ...] = ()

    @property
    def is_total(self) -> bool:
        return bool(_TOTAL.match(self.label))

    @property
    def full_label(self) -> str:
        if not self.section:
            return self.label
        section = self.section.rstrip(": ")
        return f"{section}: {self.label}" if self.label else section

    def line(self) -> str:
        return "| " + " | ".join(_cell_text(x) for x in (self.full_label, *self.cells)) + " |"


@dataclass(frozen=True)
class Table:
    """A recovered table. `columns` holds one header per value column, stacked header
    lines joined top-down ("Three Months Ended July 1, 2023"); `stub` heads the label
    column. A table continued from the previous page repeats its headers."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    caption: str = ""
    units: str = ""
    stub: str = ""
    continued: bool = False

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def has_header(self) -> bool:
        return any(c.strip() for c in self.columns) or bool(self.stub.strip())

    def head_lines(self) -> list[str]:
        """Caption, units and the header row (with Markdown's separator): what every
        chunk of this table repeats."""
        lines = []
        caption = self.caption + (" (continued)" if self.continued and self.caption else "")
        if caption:
            lines.append(_cell_text(caption))
        if self.units:
            lines.append(_cell_text(self.units))
        if self.has_header:
            lines.append("| " + " | ".join(_cell_text(x) for x in (self.stub, *self.columns)) + " |")
            lines.append("|" + "|".join([SEPARATOR_CELL] * (self.width + 1)) + "|")
        return lines

    def row_lines(self) -> list[str]:
        return [r.line() for r in self.rows]

    @property
    def text(self) -> str:
        return "\n".join(self.head_lines() + self.row_lines())

    def with_header_of(self, other: "Table") -> "Table":
        """This table (a page's continuation with no header of its own) under `other`'s."""
        return Table(other.columns, self.rows, other.caption, other.units, other.stub, continued=True)


def table_from_grid(grid: Sequence[Sequence[str]], caption: str = "", units: str = "",
                    header_rows: int | None = None) -> Table | None:
    """A Table from a grid of cell texts (DOCX, HTML, Markdown): the first column holds
    the labels, the top `header_rows` rows the column headers (by default: the leading
    rows that state no figure). None when the grid is not a table (fewer than two
    columns or rows, or wider than MAX_COLUMNS)."""
    rows = [[_cell_text(c) for c in r] for r in grid if any(str(c).strip() for c in r)]
    if not rows:
        return None
    width = max(len(r) for r in rows)
    if width < 2 or width - 1 > MAX_COLUMNS or len(rows) < 2:
        return None
    rows = [r + [""] * (width - len(r)) for r in rows]
    if header_rows is None:
        header_rows = 0
        while header_rows < min(len(rows) - 1, 3) and not any(
                _is_figure(c) and not _YEAR.match(c) for c in rows[header_rows][1:]):
            header_rows += 1
    head = rows[:header_rows]
    columns = tuple(" ".join(_dedup([h[j] for h in head])) for j in range(1, width))
    stub = " ".join(_dedup([h[0] for h in head]))
    body = tuple(Row(r[0], tuple(r[1:])) for r in rows[header_rows:])
    return Table(columns, body, caption=caption, units=units, stub=stub)


def _dedup(parts: list[str]) -> list[str]:
    """Stacked header pieces, a merged cell's repeats (a spanning header) said once."""
    out: list[str] = []
    for p in parts:
        if p and (not out or out[-1] != p):
            out.append(p)
    return out


_YEAR = re.compile(r"^(?:19|20)\d\d$")
_FIGURE = re.compile(r"^[(\-−–—]?\s*[$€£¥]?\s*\(?\d[\d,.]*\)?\s*%?\)?$")


def _is_figure(text: str) -> bool:
    return bool(_FIGURE.match(text.strip()))


# --- reading a table back from passage text ------------------------------------------
@dataclass(frozen=True)
class TableCell:
    """One value with what it is: its row's label and its column's header."""

    row: str
    column: str
    value: str
    table: int = 0  # which table of the text (the n-th run of table lines)
    start: int = -1  # where the value starts in the text
    col: int = 0  # its column, 1 for the first after the labels (headers may repeat or be missing)


def is_separator(line: str) -> bool:
    cells = _split_row(line)
    return bool(cells) and all(set(c) <= set("-: ") and c for c in cells)


def is_table_line(line: str) -> bool:
    s = line.strip()
    return len(s) > 1 and s.startswith("|") and s.endswith("|")


def _split_row(line: str) -> list[str]:
    s = line.strip()
    if not (s.startswith("|") and s.endswith("|")):
        return []
    return [c.strip() for c in _PIPE.split(s[1:-1])]


def parse_cells(text: str) -> Iterator[TableCell]:
    """Every non-empty value of the Markdown tables in `text` (Table.text's form, or a
    trimmed passage keeping its header row), with its row label and column header."""
    header: list[str] = []
    lines = text.splitlines(keepends=True)
    table, offset, inside = 0, 0, False
    for i, line in enumerate(lines):
        at, offset = offset, offset + len(line)
        if not is_table_line(line):
            header, table, inside = [], table + inside, False
            continue
        inside = True
        if is_separator(line):
            continue
        cells = _split_row(line)
        if i + 1 < len(lines) and is_separator(lines[i + 1]):
            header = cells
            continue
        pos = at + line.index("|") + 1
        for j, value in enumerate(cells):
            pos = text.find(value, pos) if value else pos
            if j and value:
                column = header[j] if j < len(header) else ""
                yield TableCell(cells[0], column, value, table, pos, j)
            pos += len(value)
