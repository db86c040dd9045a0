"""Each input the model named, looked up in the passage it cites: the source's figure
(not the model's copy), its scale, and, in a table, the row and column it stands in.

A figure is found when the cited passage holds the same quantity (app.engine.figures:
"$81.8 billion" is the table's 81,797 under "in millions"). One copied with the wrong
marker but present in other given sources is taken from the first of them (the best
ranked), and the working cites it there; one found nowhere stops the computation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Mapping, Sequence

from app.engine.arith import Quantity
from app.engine.compute_plan import PlannedInput
from app.engine.figures import Figure, parse_figures, same_figure
from ingest.passage import Passage
from ingest.tables import TableCell, parse_cells

_SCALE_LINE = re.compile(r"\b(?:in|amounts in|dollars in|\$ in|expressed in)\s+(thousands|millions|billions)\b",
                         re.IGNORECASE)
_SCALE_WORDS = {"thousands": Decimal(10) ** 3, "millions": Decimal(10) ** 6, "billions": Decimal(10) ** 9}
_MONEY_LINE = re.compile(r"\$|\bdollars?\b|\bUSD\b|€|£|\bEUR\b|\bGBP\b", re.IGNORECASE)


@dataclass(frozen=True)
class FoundInput:
    letter: str
    label: str  # what it is: the table's row and column where it stands in one, else the model's words
    text: str  # the figure as the source writes it
    source: int  # the source that holds it
    quantity: Quantity  # its value at full scale (81,797 in millions -> 81,797,000,000)
    scale: Decimal  # the scale it is written at (10**6 for "81,797" under "in millions")
    currency: bool
    cited: int  # the source the model cited (== source unless re-attributed)
    cell: TableCell | None = None
    at: int = 0  # where the figure starts in its source's text (one figure named twice is one place)
    meant: str = ""  # the model's own description of it (which row it meant: app.engine.compute_cells)
    scale_stated: bool = True  # its scale word or its source's units line says its scale

    @property
    def written(self) -> str:
        """Its digits as the source groups them, without sign or currency: "(1,234)" -> "1,234"."""
        return re.sub(r"[^\d.,]", "", self.text).strip(",.")


@dataclass(frozen=True)
class MissingInput:
    letter: str
    label: str
    figure: str
    cited: int


def passage_scale(text: str) -> Decimal | None:
    m = _SCALE_LINE.search(text)
    return _SCALE_WORDS[m.group(1).lower()] if m else None


def find_input(planned: PlannedInput, visible: Mapping[int, Passage]) -> FoundInput | MissingInput:
    wanted = parse_figures(planned.figure)
    if not wanted:
        return MissingInput(planned.letter, described(planned.label), planned.figure, planned.source)
    fig = wanted[0]
    cited = visible.get(planned.source)
    hit = _lookup(fig, planned, cited) if cited is not None else None
    source = planned.source
    if hit is None:  # a wrong marker: the first (best-ranked) other source holding the figure
        source, hit = next(((n, h) for n, p in visible.items() if n != planned.source
                            for h in [_lookup(fig, planned, p)] if h is not None), (source, None))
        if hit is None:
            return MissingInput(planned.letter, described(planned.label), planned.figure, planned.source)
    figure, cell, _ = hit
    return input_at(planned.letter, planned.label, figure, cell, visible[source], source, planned.source)


def input_at(letter: str, described_as: str, figure: Figure, cell: TableCell | None, passage: Passage,
             source: int, cited: int) -> FoundInput:
    """The input as its source states it: the source's sign, scale and currency, and, in a
    table, the cell's row and column as its label (the model's words only where there is none).
    The scale is the figure's own word, else the units line of the text the model read, else
    that of the passage's whole body (trimming for the prompt may have cut the units line)."""
    text = passage.text
    stated = figure.scale or passage_scale(text) or passage_scale(passage.body)
    scale = stated or Decimal(1)
    currency = figure.currency or bool(_MONEY_LINE.search(_head(text)))  # the source's, not the model's
    sign = -1 if _negative(figure) else 1
    quantity = Quantity(sign * figure.value, 0, True) if figure.percent else Quantity(sign * figure.value * scale, 1)
    label = cell_label(cell) if cell is not None else _context(text, figure) or described(described_as)
    return FoundInput(letter, label, figure.text, source, quantity, scale, currency, cited, cell, figure.start,
                      described_as, stated is not None or figure.percent)


def cell_label(cell: TableCell) -> str:
    """What a cell is, as an input line names it: "Total net sales, Nine Months Ended July 1, 2023"."""
    return f"{cell.row}, {cell.column}" if cell.column else cell.row


def cell_figure(cell: TableCell, text: str, figures: Sequence[Figure] | None = None) -> Figure | None:
    """The figure standing in `cell` of `text` (`figures`: parse_figures(text), when the
    caller looks at many cells of one text)."""
    held = parse_figures(text) if figures is None else figures
    return next((g for g in held if g.start < cell.start + len(cell.value) and g.end > cell.start), None)


def _context(text: str, figure: Figure) -> str:
    """What the source says the figure is: the words before it in its sentence ("Invoice 1042
    from Bright Lamp Supply was for"), not the model's description, which may be anything."""
    before = re.split(r"(?<=[.;!?])\s+|\n", text[:figure.start])[-1]
    words = before.split()[-10:]
    return " ".join(words).strip(" ,:;($")


def described(label: str) -> str:
    """The model's description without its numbers (a figure there would be read as a claim)."""
    return " ".join(w for w in label.split() if not re.search(r"\d", w) or re.fullmatch(r"(?:19|20)\d\d", w)) \
        or "a figure"


def _head(text: str) -> str:
    return "\n".join(text.splitlines()[:6])


def _negative(source_fig: Figure) -> bool:
    """Parentheses or a minus in the source (a loss, an outflow). The model's sign is not
    trusted: a formula that needs a negation writes it."""
    return source_fig.text.startswith(("(", "-", "−", "–"))


def _lookup(fig: Figure, planned: PlannedInput, passage: Passage) -> tuple[Figure, TableCell | None, str] | None:
    text = passage.text
    # The digits as written; or, for a figure the model rounded to a scale word ("$81.8 billion"),
    # the same quantity. A bare "0" or "12" matches only itself: at an implicit scale it would
    # match almost anything.
    held = parse_figures(text)
    exact = [g for g in held if digits(g.text) == digits(fig.text)]
    rounded = [g for g in held if fig.scale is not None and fig.value != 0 and same_figure(fig, g)]
    figures = exact or rounded
    if not figures:
        return None
    figure = figures[0]
    cells = [c for c in parse_cells(text) if digits(c.value) == digits(figure.text)]
    cell = max(cells, key=lambda c: _overlap(planned.label, f"{c.row} {c.column}")) if cells else None
    if cell is not None:
        figure = cell_figure(cell, text) or figure
    elif len(figures) > 1:  # one amount in several sentences: the one the model's words describe
        figure = max(figures, key=lambda g: _overlap(planned.label, _context(text, g)))
    return figure, cell, text


def digits(text: str) -> str:
    """A figure's digits and decimal point, nothing else: "$(1,234.5)" -> "1234.5"."""
    return re.sub(r"[^\d.]", "", text).rstrip(".")


def _overlap(a: str, b: str) -> int:
    words = {w for w in re.findall(r"[a-z0-9]+", a.lower()) if len(w) > 2 or w.isdigit()}
    return len(words & set(re.findall(r"[a-z0-9]+", b.lower())))


def input_focus(passage: Passage, label: str, figure: str) -> Passage:
    """`passage` narrowed to one input, for the viewer to open at its cell: the row label and
    the cell (a gap between them is skipped when lit), or in prose the sentence holding the
    figure. `label` and `figure` are as the computed answer lists the input ("Total net
    sales, Nine Months Ended July 1, 2023", "$293,787 million"). Unchanged when not found."""
    want = digits(figure.split()[0]) if figure.split() else ""
    if not want:
        return passage
    cell = next((c for c in parse_cells(passage.text) if digits(c.value) == want
                 and label in (cell_label(c), c.row)), None)
    if cell is not None:
        return replace(passage, body=f"| {cell.row} | {cell.value} |")
    body = passage.page_text
    for sentence in re.split(r"(?<=[.;!?])\s+|\n", body):
        if any(digits(f.text) == want for f in parse_figures(sentence)):
            return replace(passage, body=sentence.strip())
    return passage
