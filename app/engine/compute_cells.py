"""The cell the question names: Docent's correction of the cell a plan copied.

In a table with several periods or variants the small model often copies the right row
from a column the question does not ask about (the nine months for "the three months
ended July 1, 2023"), a neighbouring row ("Products" for "total net sales"), or one cell
twice for a change between two columns the question names. The question's own words
say which cells it means:
- a column of the same row whose header shares more of them than the copied cell's
  column is the one asked for;
- a row that neither the model's description of the input nor the question names gives
  way, in the same column, to the row they name word for word (never a row another
  input holds);
- one cell named twice for two dated columns the question names: see `_spread`;
- a rise or change between two dated columns of one row is the later less the earlier:
  see `_later_first`.
Every moved input is still a cell of the source it cited, and its label says which.
Generic: headers and labels are compared as words, dates by year, month and day;
nothing here knows statements or periods of any one kind of document.
"""
from __future__ import annotations

import logging
import re
from typing import Mapping, Sequence

from app.engine.arith import names_in
from app.engine.compute_inputs import FoundInput, cell_figure, input_at
from app.engine.figures import parse_figures
from ingest.passage import Passage
from ingest.tables import TableCell, parse_cells

log = logging.getLogger(__name__)

_STOP = frozenset("the and for from with than was were what how did does its our their this that which "
                  "compared same period".split())
_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+|\d+", text.lower()) if (w.isdigit() or len(w) > 2) and w not in _STOP}


def named_columns(found: Sequence[FoundInput], visible: Mapping[int, Passage], question: str,
                  formula: str) -> tuple[FoundInput, ...]:
    """`found` with each table input in the column of its row that the question names."""
    asked = _words(question)
    moved = [_to_named(i, visible, asked) for i in found]
    moved = [_to_named_row(i, visible, asked, {(j.source, j.at) for j in moved if j is not i}) for i in moved]
    moved = _spread(moved, visible, asked, formula)
    return tuple(_later_first(moved, visible, question, formula))


def _score(column: str, asked: set[str]) -> int:
    return len(_words(column) & asked)


def _row(i: FoundInput, visible: Mapping[int, Passage]) -> list[TableCell]:
    """The other cells of the input's row, in its table."""
    assert i.cell is not None
    return [c for c in parse_cells(visible[i.source].text)
            if c.table == i.cell.table and c.row == i.cell.row and c.start != i.cell.start and c.column]


def _move(i: FoundInput, cell: TableCell, visible: Mapping[int, Passage]) -> FoundInput | None:
    text = visible[i.source].text
    figure = cell_figure(cell, text)
    if figure is None or figure.percent != i.quantity.percent:  # a "% change" column is another kind
        return None
    log.info("input %s moved to the cell the question names: %r -> %r", i.letter,
             (i.cell.row, i.cell.column) if i.cell else "", (cell.row, cell.column))
    return input_at(i.letter, i.meant, figure, cell, visible[i.source], i.source, i.cited)


def _to_named(i: FoundInput, visible: Mapping[int, Passage], asked: set[str]) -> FoundInput:
    if i.cell is None or not i.cell.column or i.source not in visible:
        return i
    here = _score(i.cell.column, asked)
    others = _row(i, visible)
    best = max((_score(c.column, asked) for c in others), default=0)
    if best <= here:
        return i
    top = [c for c in others if _score(c.column, asked) == best]
    # Among columns the question names equally (both periods of a change), the one nearest
    # the copied column: the nine months ended July 1, 2023 -> the three months ended July 1, 2023.
    near = max(len(_words(c.column) & _words(i.cell.column)) for c in top)
    top = [c for c in top if len(_words(c.column) & _words(i.cell.column)) == near]
    return (_move(i, top[0], visible) or i) if len(top) == 1 else i


def _singular(words: set[str]) -> set[str]:
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}


def _own_words(row: str) -> set[str]:
    """A row label's own words, without its section ("Operating expenses: Fulfillment"),
    singular ("expenses" is named by "expense")."""
    return _singular(_words(row.rpartition(": ")[2]))


def _to_named_row(i: FoundInput, visible: Mapping[int, Passage], asked: set[str],
                  taken: set[tuple[int, int]]) -> FoundInput:
    """The row the model said it meant, else the one the question names: a figure copied from
    a row its own description does not name ("data center revenue: 18,120", the total's
    figure) moves to the row, in the same column, that the description names; failing
    that, a row the question does not name moves to one it names word for word."""
    if i.cell is None or i.source not in visible:
        return i
    meant, named = _singular(_words(i.meant)), _singular(asked)
    here = _own_words(i.cell.row)
    if here <= meant or here <= named:
        return i  # the model's description or the question names this row
    text = visible[i.source].text
    held = parse_figures(text)
    same_column = [c for c in parse_cells(text)
                   if c.table == i.cell.table and c.col == i.cell.col and c.row != i.cell.row and _own_words(c.row)
                   and (f := cell_figure(c, text, held)) is not None and (i.source, f.start) not in taken]
    for names in (meant & named, meant, named):  # rows both name, then the model's, then the question's
        full = [c for c in same_column if _own_words(c.row) <= names]
        most = max((len(_own_words(c.row)) for c in full), default=0)
        top = [c for c in full if len(_own_words(c.row)) == most]
        if len(top) == 1:
            return _move(i, top[0], visible) or i
        if len(top) > 1:
            return i  # named as much as another: not clear which
    return i


def _spread(found: list[FoundInput], visible: Mapping[int, Passage], asked: set[str],
            formula: str) -> list[FoundInput]:
    """Two letters copied from one cell, where the question names a second column of that
    row with a date of its own: the letter written first in the formula takes the later
    date ("(A - B) / B", "A - B": the later period first), the other keeps the earlier."""
    order = _formula_order(found, formula)
    for n, x in enumerate(order):
        for y in order[n + 1:]:
            if (x.source, x.at) != (y.source, y.at) or x.cell is None or x.source not in visible:
                continue
            here = _score(x.cell.column, asked)
            others = [c for c in _row(x, visible) if c.column != x.cell.column and _score(c.column, asked) >= here]
            best = max((_score(c.column, asked) for c in others), default=-1)
            top = [c for c in others if _score(c.column, asked) == best]
            if len(top) != 1 or here == 0:
                continue
            d_here, d_other = _date(x.cell.column), _date(top[0].column)
            if d_here is None or d_other is None or d_here == d_other:
                continue
            mover = x if d_other > d_here else y
            moved = _move(mover, top[0], visible)
            if moved is not None:
                found = [moved if i.letter == mover.letter else i for i in found]
            return found
    return found


_RISE = re.compile(r"\b(?:increase[sd]?|grow|grew|grown|growth|rise|rose|risen|change[sd]?|gain(?:ed)?)\b",
                   re.IGNORECASE)
_FALL = re.compile(r"\b(?:decrease[sd]?|decline[sd]?|fall|fell|drop(?:ped)?|less|lower|fewer|reduc\w*|shr[ai]nk)\b",
                   re.IGNORECASE)


def _later_first(found: list[FoundInput], visible: Mapping[int, Passage], question: str,
                 formula: str) -> list[FoundInput]:
    """For a rise or a change ("how much did it increase from 2022 to 2023", "the percent
    change"), two cells of one row under dated columns are taken later first: where the
    letter written first in a subtraction holds the earlier date (the 1.5B wrote "B − A"
    with B the later quarter's letter swapped), the two letters swap cells. A fall or a
    "how much less" is left as written: its sign is the question's to choose."""
    if not _RISE.search(question) or _FALL.search(question) or "-" not in formula:
        return found
    order = _formula_order(found, formula)
    for n, x in enumerate(order):
        for y in order[n + 1:]:
            if x.cell is None or y.cell is None or x.source != y.source or x.source not in visible or \
                    (x.cell.table, x.cell.row) != (y.cell.table, y.cell.row):
                continue
            dx, dy = _date(x.cell.column), _date(y.cell.column)
            if dx is None or dy is None or dx >= dy:
                continue
            nx, ny = _move(x, y.cell, visible), _move(y, x.cell, visible)
            if nx is not None and ny is not None:
                found = [nx if i.letter == x.letter else ny if i.letter == y.letter else i for i in found]
            return found
    return found


def _formula_order(found: list[FoundInput], formula: str) -> list[FoundInput]:
    """The inputs in the order the formula first uses them (compute() keeps only the letters
    the formula names, after reading it)."""
    first = names_in(formula)
    return sorted(found, key=lambda i: first.index(i.letter) if i.letter in first else len(first))


def _date(header: str) -> tuple[int, int, int] | None:
    """A header's date as (year, month, day), 0 for a part it does not write; None without a year."""
    years = re.findall(r"\b(?:19|20)\d\d\b", header)
    if not years:
        return None
    month = next((_MONTHS[w] for w in re.findall(r"[a-z]+", header.lower()) if w in _MONTHS), 0)
    day = re.search(r"\b([1-9]|[12]\d|3[01])\b(?=,?\s*(?:19|20)\d\d)", header)
    return int(years[-1]), month, int(day.group(1)) if day else 0
