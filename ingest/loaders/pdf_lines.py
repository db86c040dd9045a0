"""A PDF page's text as positioned lines and cells, from pypdf's `visitor_text` hook.

pypdf calls the visitor with each piece of text it draws and the matrices that place
it; the pieces concatenate to exactly the page's plain text, so each piece also has
its offsets there. Pieces on one baseline form a line; pieces far apart on a line are
separate cells. Widths are not given, so a piece's right edge is estimated from its
glyph count (digits are half an em in common fonts). What reads these lines as
tables is ingest.loaders.pdf_tables.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

VALUE = re.compile(r"^[(\-−–—]?\s*[$€£¥]?\s*\(?[-−]?\d[\d,.]*\)?\s*%?\)?\*?$|^[—–-]+$|^n/?a$|^nm$", re.I)
CURRENCY = frozenset("$€£¥")
CHAR_EM = 0.5  # mean glyph width in ems: digits are 0.5-0.56, text a little less
_CELL_GAP_EM = 1.2  # pieces further apart than this on one line are separate cells
_LINE_TOL = 0.45  # baselines within this share of the font size are one line


@dataclass
class Piece:
    """One visitor call: `start`/`end` are offsets in the page's plain text."""

    text: str
    x0: float
    x1: float
    y: float
    size: float
    start: int
    end: int


@dataclass
class Cell:
    text: str
    x0: float
    x1: float
    start: int
    end: int

    @property
    def is_value(self) -> bool:
        return bool(VALUE.match(self.text))


@dataclass
class Line:
    y: float
    size: float
    cells: list[Cell]

    @property
    def start(self) -> int:
        return min(c.start for c in self.cells)

    @property
    def end(self) -> int:
        return max(c.end for c in self.cells)

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.cells)

    def values(self, left: float) -> list[Cell]:
        return [c for c in self.cells if c.x0 >= left and (c.is_value or c.text in CURRENCY)]


class Collector:
    """visitor_text for pypdf's extract_text: the pieces with their positions."""

    def __init__(self, clean: Any = None) -> None:
        self.pieces: list[Piece] = []
        self._clean = clean or (lambda t: t)
        self.rotated = 0
        self._offset = 0

    def reset(self) -> None:
        self.pieces = []
        self.rotated = 0
        self._offset = 0

    def __call__(self, text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        start = self._offset
        self._offset += len(text)
        stripped = text.strip()
        if not stripped or "\n" in stripped:
            return
        try:
            a, b, c, d, e, f = (float(v) for v in tm)
            ca, cb, cc, cd, ce, cf = (float(v) for v in cm)
        except (TypeError, ValueError):
            return
        if abs(b) > 1e-6 or abs(cb) > 1e-6:
            self.rotated += 1
            return
        scale = math.hypot(a, b) * math.hypot(ca, cb)
        em = float(size or 0) * (scale or 1.0)
        if not em or em > 200:
            return
        x = e * ca + f * cc + ce
        y = e * cb + f * cd + cf
        lead = len(text) - len(text.lstrip())
        x0 = x + lead * 0.28 * em
        first = start + lead
        shown = " ".join(self._clean(stripped).split()) or stripped
        self.pieces.append(Piece(shown, x0, x0 + len(stripped) * CHAR_EM * em, y, em, first, first + len(stripped)))


def page_lines(pieces: list[Piece]) -> list[Line]:
    """The pieces as lines, top of the page first, each with its cells left to right."""
    lines: list[Line] = []
    for p in sorted(pieces, key=lambda p: (-p.y, p.x0)):
        line = lines[-1] if lines else None
        if line is not None and abs(line.y - p.y) <= _LINE_TOL * max(line.size, p.size):
            line.cells.append(Cell(p.text, p.x0, p.x1, p.start, p.end))
            continue
        lines.append(Line(p.y, p.size, [Cell(p.text, p.x0, p.x1, p.start, p.end)]))
    for line in lines:
        line.cells = _merge_cells(sorted(line.cells, key=lambda c: c.x0), line.size)
    return lines


def _merge_cells(cells: list[Cell], size: float) -> list[Cell]:
    """Pieces of one line closer than a cell gap are one cell ("Total", "net sales")."""
    out: list[Cell] = []
    for c in cells:
        if (out and c.x0 - out[-1].x1 < _CELL_GAP_EM * size and not (c.is_value and out[-1].is_value)
                and not (c.text in CURRENCY and out[-1].is_value)):
            last = out[-1]
            if not (last.text in CURRENCY and c.is_value) or c.x0 - last.x1 < 0.5 * size:
                out[-1] = Cell(f"{last.text} {c.text}", last.x0, max(last.x1, c.x1),
                                min(last.start, c.start), max(last.end, c.end))
                continue
        out.append(c)
    return out
