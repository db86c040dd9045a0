"""Tables in a PDF page, recovered from where its text is drawn.

pypdf's plain text flattens a table: stacked column headers become a run of
dates, each row a run of numbers. Its `visitor_text` hook gives each piece of
text with its position, and the pieces concatenate to exactly the plain text,
so each piece also has its place in that text. From the positions (the
"stream" idea of Camelot and pdfplumber's text strategy, written small):

1. pieces on one baseline form a line, pieces far apart on it cells (pdf_lines);
2. a run of lines with values in columns, beside a label on the left, is a table;
   the columns are where the values of its rows line up;
3. short lines just above its first row whose pieces sit over the columns are
   its stacked headers, each piece heading the columns it spans; short lines
   above those are its units ("In millions") and caption;
4. a label-only row ending in ":" heads the indented rows below it.

A page whose pieces are rotated, or a table wider than MAX_COLUMNS, stays plain
text. The plain text of everything that is not a table is kept as it was.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ingest.loaders.pdf_lines import CHAR_EM, CURRENCY, Cell, Line, Piece, page_lines
from ingest.tables import MAX_COLUMNS, MAX_HEADER_WORDS, Row, Table

_UNITS = re.compile(r"\b(?:in (?:millions|thousands|billions|units|percent)|except\b|\$ in |amounts? in |"
                    r"in [A-Z]{3}\b|expressed in)", re.I)
_PAREN = re.compile(r"\(\s*([^()]*?)\s*\)")
_TOTAL_WORD = re.compile(r"^\s*total\b", re.I)
_SPAN_WIDTH = 0.3  # a header spanning columns is at least this share of their spread wide
_ZONE_SLACK_EM = 0.8  # values of two columns may seem to overlap by this much (estimated widths)
_MAX_ROW_GAP = 3.2  # a table's lines are at most this many line heights apart
_MAX_HEAD_LINES = 5
_MIN_ROWS = 2
_LABEL_WORDS = 16  # a label-only line longer than this is prose, and ends the table


@dataclass(frozen=True)
class FoundTable:
    """A table and the range of the page's plain text it replaces (whole lines)."""

    start: int
    end: int
    table: Table


def find_tables(pieces: list[Piece], text: str) -> list[FoundTable]:
    """The tables among a page's pieces, each with the span of `text` its lines cover."""
    lines = page_lines(pieces)
    found: list[FoundTable] = []
    i = 0
    while i < len(lines):
        got = _table_at(lines, i, text)
        if got is None:
            i += 1
            continue
        table, first, last = got
        found.append(table)
        i = last + 1
    return _disjoint(found)


_YEAR = re.compile(r"^(?:19|20)\d\d$")


def _is_row(line: Line) -> bool:
    """Values in at least one column to the right of something, or in two columns. A
    line of years alone ("2023  2022") heads the columns below it."""
    cells = line.cells
    values = [c for c in cells if c.is_value]
    if values and all(_YEAR.match(c.text) for c in values) and all(
            len(c.text.split()) <= 3 for c in cells if not c.is_value):
        return False  # "2023  2022  Change": years head the columns below
    values = [c for c in cells[1:] if c.is_value]
    if len(values) >= 2:
        return True
    return len(values) == 1 and len(cells) >= 2 and values[0].x0 - cells[0].x1 > 2 * line.size


def _label_only(line: Line, value_left: float, below: Line | None = None) -> bool:
    """One cell left of the values: a section label, or a label wrapped onto the row below
    (that row's label then goes on in lower case)."""
    if len(line.cells) != 1 or line.cells[0].x0 >= value_left:
        return False
    if len(line.text.split()) <= _LABEL_WORDS:
        return True
    nxt = below.cells[0].text if below is not None and _is_row(below) else ""
    return nxt[:1].islower()


def _table_at(lines: list[Line], i: int, text: str) -> tuple[FoundTable, int, int] | None:
    if not _is_row(lines[i]):
        return None
    # 1. the body: rows, and label-only lines between them (sections, wrapped labels)
    body = [i]
    j = i + 1
    value_left = min(c.x0 for c in lines[i].cells[1:])
    while j < len(lines):
        gap = (lines[j - 1].y - lines[j].y) / max(lines[j].size, 1.0)
        if gap > _MAX_ROW_GAP:
            break
        if _is_row(lines[j]):
            body.append(j)
            value_left = min(value_left, min(c.x0 for c in lines[j].cells[1:]))
        elif j + 1 < len(lines) and _label_only(lines[j], value_left, lines[j + 1]) and (
                _is_row(lines[j + 1]) or _label_only(lines[j + 1], value_left)):
            body.append(j)
        else:
            break
        j += 1
    while body and not _is_row(lines[body[-1]]):
        body.pop()
    rows_n = sum(_is_row(lines[k]) for k in body)
    if rows_n < _MIN_ROWS:
        return None
    # 2. columns: where the row values line up
    row_lines = [lines[k] for k in body if _is_row(lines[k])]
    zones = _zones([c for ln in row_lines for c in _row_values(ln)])
    # a column holds values in several rows: a lone dash set off-centre is in its neighbour
    # (each cell's column found once: a 300-column page took minutes when found per column)
    row_zones = [{_zone_of(c, zones) for c in _row_values(ln)} for ln in row_lines]
    support = [sum(n in found for found in row_zones) for n in range(len(zones))]
    zones = [z for z, n in zip(zones, support, strict=True) if n >= max(2, 0.2 * len(row_lines))] or zones
    if not zones or len(zones) > MAX_COLUMNS or (len(zones) == 1 and rows_n < 3):
        return None
    left = zones[0][0] - lines[i].size
    head_left = _head_left(zones, left, lines[i].size)
    # section labels just above the first row belong to the body
    k = i - 1
    while (k >= 0 and _label_only(lines[k], value_left, lines[k + 1]) and lines[k].text.endswith(":")
           and (lines[k].y - lines[k + 1].y) / max(lines[k].size, 1.0) <= _MAX_ROW_GAP):
        body.insert(0, k)
        k -= 1
    first_body = k + 1
    # 3. headers above the body
    head: list[int] = []
    below_head: list[str] = []  # a units line set between the headers and the rows
    while k >= 0 and len(head) < _MAX_HEAD_LINES:
        gap = (lines[k].y - lines[k + 1].y) / max(lines[k].size, 1.0)
        if gap > _MAX_ROW_GAP or _is_row(lines[k]):
            break
        if not _header_like(lines[k], left):
            if head or below_head or len(lines[k].cells) != 1 or not _UNITS.search(lines[k].text) or \
                    k == 0 or not _header_like(lines[k - 1], left):
                break
            below_head.append(lines[k].text)  # "(In millions)" at the left, under the headers
        else:
            head.insert(0, k)
        k -= 1
    if below_head and not head:  # no headers above it: a units line as usual, read below
        below_head, k = [], k + 1
    columns, stub = _headers([lines[h] for h in head], zones, left, head_left)
    # 4. units ("In millions") and caption: short lines just above; one title line, and
    # asides in brackets ("(Unaudited)") with it
    units_lines: list[str] = list(below_head)
    caption_lines: list[str] = []
    k = (head[0] if head else first_body) - 1
    taken: list[int] = []
    while k >= 0 and len(taken) < 4:
        line = lines[k]
        gap = (line.y - lines[k + 1].y) / max(line.size, 1.0)
        words = line.text.split()
        if gap > _MAX_ROW_GAP or len(words) > 2 * MAX_HEADER_WORDS or _is_row(line) or line.text.endswith("."):
            break
        aside = line.text.startswith("(") and line.text.rstrip(":").endswith(")")
        if _UNITS.search(line.text) and len(units_lines) < 2:
            units_lines.insert(0, line.text)
        elif aside or not any(not c.startswith("(") for c in caption_lines):
            caption_lines.insert(0, line.text)
        else:
            break
        taken.append(k)
        k -= 1
    units, caption = " ".join(units_lines), " ".join(caption_lines)
    first_line = min([*taken, *head, first_body])
    rows = _rows([lines[b] for b in body], zones, left)
    table = Table(tuple(columns), tuple(rows), caption=caption, units=units, stub=stub)
    covered = [lines[n] for n in range(first_line, body[-1] + 1)]
    start = min(c.start for ln in covered for c in ln.cells)
    end = max(c.end for ln in covered for c in ln.cells)
    start = text.rfind("\n", 0, start) + 1
    nl = text.find("\n", end)
    end = len(text) if nl < 0 else nl
    # The lines must be a contiguous stretch of the plain text: no other text inside.
    inside = sum(len(re.sub(r"\s", "", text[c.start:c.end])) for ln in covered for c in ln.cells)
    if len(re.sub(r"\s", "", text[start:end])) != inside:
        return None
    return FoundTable(start, end, table), first_line, body[-1]


def _row_values(line: Line) -> list[Cell]:
    cells = line.cells[1:] if not line.cells[0].is_value else line.cells
    return [c for c in cells if c.text not in CURRENCY]


def _zones(cells: list[Cell]) -> list[tuple[float, float]]:
    """Column extents: the union of overlapping value extents, left to right."""
    zones: list[list[float]] = []
    for c in sorted(cells, key=lambda c: c.x0):
        # x1 is estimated from the glyph count: a touch of overlap is not a shared column
        if zones and c.x0 <= zones[-1][1] - _ZONE_SLACK_EM * (c.x1 - c.x0) / max(len(c.text), 1) / CHAR_EM:
            zones[-1][1] = max(zones[-1][1], c.x1)
        else:
            zones.append([c.x0, c.x1])
    return [(a, b) for a, b in zones]


def _zone_of(cell: Cell, zones: list[tuple[float, float]]) -> int:
    best, best_overlap = 0, -math.inf
    for n, (a, b) in enumerate(zones):
        overlap = min(b, cell.x1) - max(a, cell.x0)
        if overlap > best_overlap:
            best, best_overlap = n, overlap
    return best


def _head_left(zones: list[tuple[float, float]], left: float, size: float) -> float:
    """Where the headers over the values begin. A header is centred over its column, and
    where the column's currency signs stand flush left ("$" ... "3,788") it is centred over
    more than the figures: a stacked "2023" under "July 1," may end left of the figures, yet
    it is nearer the first column than half a column's pitch, so it heads it, not the labels."""
    centres = [(a + b) / 2 for a, b in zones]
    pitch = min((y - x for x, y in zip(centres, centres[1:], strict=False)), default=6 * size)
    return min(left, centres[0] - pitch / 2)


def _header_like(line: Line, left: float) -> bool:
    words = line.text.split()
    if len(words) > 2 * MAX_HEADER_WORDS or line.text.endswith((".", ":")) or (
            len(line.cells) == 1 and _UNITS.search(line.text)):
        return False
    over = [c for c in line.cells if c.x1 > left]
    if any(c.x0 < left - line.size and c.x1 > left + 4 * line.size for c in over):
        return False  # straddles the label column and the values: a caption or units line
    return bool(over) and all(len(c.text.split()) <= MAX_HEADER_WORDS for c in over)


def _headers(head: list[Line], zones: list[tuple[float, float]], left: float,
             head_left: float) -> tuple[list[str], str]:
    """Each column's header lines, top-down. The lowest header piece over a column is its
    anchor; a piece on a line above heads the columns whose anchors are nearest to it, so
    a spanning header ("Three Months Ended", centred over two columns) heads both, and one
    over the right-hand columns only heads those. A piece reaching right of `left`, or
    standing wholly right of `head_left`, is over the values; the others head the labels."""

    def over_values(line: Line) -> list[Cell]:
        return [c for c in line.cells if c.x1 > left or c.x0 >= head_left]

    parts: list[list[str]] = [[] for _ in zones]
    stub: list[str] = []
    anchors = [(a + b) / 2 for a, b in zones]
    pitch = min((y - x for x, y in zip(anchors, anchors[1:], strict=False)),
                default=6 * (head[0].size if head else 8.0))
    fixed = [False] * len(zones)
    for line in reversed(head):  # bottom-up: the lowest line sets the anchors
        for n, centre in enumerate(anchors):
            over = over_values(line)
            if not over or fixed[n]:
                continue
            near = min(over, key=lambda c: _dist(c, centre))
            if _dist(near, centre) <= pitch / 2:
                anchors[n], fixed[n] = (near.x0 + near.x1) / 2, True
    for line in head:
        over = over_values(line)
        stub.extend(c.text for c in line.cells if c not in over)
        claimed: dict[int, tuple[float, str]] = {}
        nearest = [min(over, key=lambda c: _dist(c, a)) if over else None for a in anchors]
        for c in over:
            run, miss = _spanned(c, anchors, pitch, [n for n, p in enumerate(nearest) if p is c])
            for n in run:
                if n not in claimed or miss < claimed[n][0]:
                    claimed[n] = (miss, c.text)
        for n in sorted(claimed):
            parts[n].append(claimed[n][1])
    return [" ".join(p) for p in parts], " ".join(stub)


def _spanned(cell: Cell, anchors: list[float], pitch: float, near: list[int]) -> tuple[range, float]:
    """The run of columns a header piece heads, and by how far it misses their centre: of
    the consecutive columns nearer to it than to any other piece of its line (`near`),
    the widest run centred on it (a header is centred over the columns it spans)."""
    centre = (cell.x0 + cell.x1) / 2
    runs = []
    for i, a in enumerate(near):
        for b in near[i:]:
            if b - a != near.index(b) - i:  # not consecutive
                break
            if b > a and cell.x1 - cell.x0 < _SPAN_WIDTH * (anchors[b] - anchors[a]):
                continue  # too narrow to head so many columns
            runs.append((abs(sum(anchors[a:b + 1]) / (b - a + 1) - centre), range(a, b + 1)))
    if not runs:
        return range(0), math.inf
    centred = [r for r in runs if r[0] <= pitch / 3]
    if centred:  # the widest run centred on it: a header over three columns heads all three
        miss, run = max(centred, key=lambda r: (len(r[1]), -r[0]))
        return run, miss
    return min(runs, key=lambda r: r[0])[::-1]


def _dist(cell: Cell, x: float) -> float:
    return max(cell.x0 - x, x - cell.x1, 0.0)


def _rows(lines: list[Line], zones: list[tuple[float, float]], left: float) -> list[Row]:
    margin = min(c.x0 for ln in lines for c in ln.cells)
    rows: list[Row] = []
    section, section_indent = "", -1
    pending = ""  # a wrapped label's first line
    for line in lines:
        label_cells = [c for c in line.cells if c.x1 <= left and not c.is_value and c.text not in CURRENCY]
        label = " ".join(c.text for c in label_cells)
        indent = round((label_cells[0].x0 - margin) / line.size) if label_cells else 0
        if not _is_row(line):
            if label.endswith(":"):
                section, section_indent, pending = label, indent, ""
            else:
                pending = f"{pending} {label}".strip()
            continue
        if pending:
            label, pending = f"{pending} {label}".strip(), ""
        cells = [""] * len(zones)
        boxes: list[Box | None] = [None] * (len(zones) + 1)  # the label's, then each cell's
        if label_cells:
            boxes[0] = _box(label_cells[0], label_cells[-1], line)
        currency = ""
        for c in line.cells:
            if c in label_cells:
                continue
            if c.text in CURRENCY:
                currency = c.text
                continue
            n = _zone_of(c, zones)
            value = f"{currency}{c.text}" if currency else c.text
            currency = ""
            value = _PAREN.sub(r"(\1)", value)
            cells[n] = f"{cells[n]} {value}".strip()
            boxes[n + 1] = _box(c, c, line)
        under = bool(section) and indent > section_indent and not _TOTAL_WORD.match(label)
        row = Row(label, tuple(cells), indent, section if under else "", tuple(boxes))
        if row.is_total or (section and indent <= section_indent):
            section, section_indent = "", -1
        rows.append(row)
    return rows


Box = tuple[float, float, float, float]


def _box(first: Cell, last: Cell, line: Line) -> Box:
    """(x0, y0, x1, y1) in PDF points, y up; x1 estimated from the glyph count."""
    return (round(first.x0, 1), round(line.y - 0.25 * line.size, 1), round(last.x1, 1),
            round(line.y + 0.8 * line.size, 1))


def _disjoint(found: list[FoundTable]) -> list[FoundTable]:
    out: list[FoundTable] = []
    for t in sorted(found, key=lambda t: t.start):
        if out and t.start < out[-1].end:
            continue
        out.append(t)
    return out
