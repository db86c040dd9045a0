"""A computed answer: the model's plan checked against the sources, evaluated, and written.

The text Docent writes carries every input with its source marker, so the usual checks
(attribution, figure check, citations the viewer opens) see a computed answer as any
other; only the result line's figures are marked computed instead of quoted.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.engine.arith import FormulaError, Quantity, evaluate, names_in, symbols
from app.engine.compute_cells import named_columns
from app.engine.compute_inputs import FoundInput, MissingInput, described, find_input
from app.engine.compute_plan import Plan, constants
from app.engine.compute_request import ComputeRequest, Wanted
from app.errors import (
    compute_formula_failed,
    compute_found_inputs,
    compute_missing_input,
    compute_no_inputs,
    compute_not_in_sources,
    compute_same_figure,
    compute_stray_number,
    compute_unclear_scale,
    compute_wrong_kind,
    computed_heading,
    quoted_heading,
)
from ingest.passage import Passage

_SCALE_NAMES = {Decimal(10) ** 3: " thousand", Decimal(10) ** 6: " million", Decimal(10) ** 9: " billion"}
_TIMES_100 = re.compile(r"\*\s*100(?:\.0*)?\b|\b100(?:\.0*)?\s*\*")


class ComputeStatus(enum.Enum):
    COMPUTED = "computed"  # every input found in its source, the formula evaluated
    QUOTED = "quoted"  # the formula is one input: the figure is stated, nothing to compute
    MISSING_INPUT = "missing_input"  # an input is in none of the sources: no number
    NOT_IN_SOURCES = "not_in_sources"  # the model says the sources lack a figure
    NO_INPUTS = "no_inputs"  # the model wrote no figures (or no formula)
    FORMULA_FAILED = "formula_failed"  # division by zero, units that do not mix, unreadable


class ResultUnit(enum.Enum):
    AMOUNT = "amount"
    PERCENT = "percent"
    RATIO = "ratio"
    DAYS = "days"
    NUMBER = "number"


@dataclass(frozen=True)
class Computation:
    status: ComputeStatus
    formula: str  # as the model wrote it, over the letters
    inputs: tuple[FoundInput, ...] = ()
    missing: tuple[MissingInput, ...] = ()
    value: Decimal | None = None  # the result, rounded as shown (in `unit`, at `scale`)
    unit: ResultUnit = ResultUnit.NUMBER
    result: str = ""  # the result as written: "12.5%", "$1,162 million"
    working: str = ""  # the formula with the figures: "(900 − 800) ÷ 800 × 100"
    detail: str = ""  # why there is no number
    text: str = ""  # the answer Docent writes
    result_span: tuple[int, int] = (0, 0)  # offsets of the heading line in `text`

    @property
    def has_result(self) -> bool:
        return self.status in (ComputeStatus.COMPUTED, ComputeStatus.QUOTED)


def compute(plan: Plan, visible: dict[int, Passage], request: ComputeRequest, question: str = "") -> Computation:
    if plan.missing and not plan.formula:
        text = compute_not_in_sources(described(plan.missing))
        return Computation(ComputeStatus.NOT_IN_SOURCES, "", detail=plan.missing, text=text)
    if not plan.inputs or not plan.formula:
        return Computation(ComputeStatus.NO_INPUTS, plan.formula, text=compute_no_inputs())
    try:
        used = names_in(plan.formula)
    except FormulaError as e:
        return _failed(plan.formula, (), e.detail)
    stray = _stray_constant(plan.formula, question, request.wanted)
    if stray:
        return _failed(plan.formula, (), compute_stray_number(stray))
    planned = [i for i in plan.inputs if i.letter in used]
    resolved = [find_input(i, visible) for i in planned]
    found = tuple(r for r in resolved if isinstance(r, FoundInput))
    missing = tuple(r for r in resolved if isinstance(r, MissingInput))
    if missing:
        m = missing[0]
        text = compute_missing_input(m.letter, m.label, m.cited) + _inputs_block(found, lead=True)
        return Computation(ComputeStatus.MISSING_INPUT, plan.formula, found, missing, text=text,
                           detail=f"{m.letter} not found")
    found = named_columns(found, visible, question, plan.formula)
    twice = _same_cell(found)
    if twice:
        return _failed(plan.formula, found, compute_same_figure(*twice))
    unclear = _unclear_scale(found)
    if unclear:
        return _failed(plan.formula, found, unclear)
    try:
        q = evaluate(plan.formula, {i.letter: i.quantity for i in found})
    except FormulaError as e:
        return _failed(plan.formula, found, e.detail)
    if len(found) == 1 and plan.formula.strip() == found[0].letter:
        return _quoted(plan.formula, found[0])
    mismatch = _asked_otherwise(q, request)
    if mismatch:
        return _failed(plan.formula, found, mismatch)
    unit, value, scale = _shape(q, plan.formula, request, found)
    result = _written(value, unit, scale, request, found)
    working = _working(plan.formula, found)
    heading = computed_heading(result, symbols(plan.formula) + (f" = {working}" if working else ""))
    text = heading + _inputs_block(found)
    return Computation(ComputeStatus.COMPUTED, plan.formula, found, (), _rounded(value, unit, request, found),
                       unit, result, working, text=text, result_span=(0, len(heading)))


def _same_cell(found: tuple[FoundInput, ...]) -> tuple[str, str] | None:
    """Two letters for one figure: one table cell, or one place in a passage (the 1.5B listed
    total net sales twice and divided; two invoices of equal amounts are two places)."""
    seen: dict[tuple[int, int, str], str] = {}
    for i in found:
        # (the place, not the cell's labels: two columns may carry one header, "Three Months
        # Ended March 31," over 2022 and 2023 where the years stand in a row of their own)
        key = (i.source, i.at, i.text)
        if key in seen:
            return seen[key], i.letter
        seen[key] = i.letter
    return None


def _unclear_scale(found: tuple[FoundInput, ...]) -> str:
    """An amount whose source states no scale, beside one stated in thousands or more: "$14,158"
    from a passage without its units line and "$3.8 billion" would give 26 million percent."""
    amounts = [i for i in found if not i.quantity.percent]
    scaled = next((i for i in amounts if i.scale_stated and i.scale > 1), None)
    bare = next((i for i in amounts if not i.scale_stated), None)
    if scaled is None or bare is None:
        return ""
    return compute_unclear_scale(bare.letter, _input_figure(bare), scaled.letter,
                                 _SCALE_NAMES.get(scaled.scale, "a larger unit").strip() + "s")


def _stray_constant(formula: str, question: str, wanted: Wanted) -> str:
    """A number in the formula that is neither a usual constant nor written in the question."""
    allowed = set(constants(question, wanted))
    for m in re.finditer(r"(?<![A-Za-z_])\d+(?:\.\d+)?", formula):
        if Decimal(m.group()) not in allowed:
            return m.group()
    return ""


def _failed(formula: str, found: tuple[FoundInput, ...], detail: str) -> Computation:
    text = compute_formula_failed(detail) + _inputs_block(found, lead=True)
    return Computation(ComputeStatus.FORMULA_FAILED, formula, found, detail=detail, text=text)


def _quoted(formula: str, only: FoundInput) -> Computation:
    shown = _input_figure(only)
    heading = quoted_heading(shown)
    text = heading + _inputs_block((only,))
    return Computation(ComputeStatus.QUOTED, formula, (only,), result=shown, text=text,
                       result_span=(0, 0))  # a quoted figure is checked like any other


def _asked_otherwise(q: Quantity, request: ComputeRequest) -> str:
    """The formula's result is not the kind of figure the question asks for (the 1.5B wrote a
    percent change for "how much more did we spend"): no number rather than the wrong kind."""
    if request.wanted is Wanted.AMOUNT and q.amount_power != 1:
        return compute_wrong_kind("a ratio or percentage", "an amount")
    if request.wanted in (Wanted.PERCENT, Wanted.DAYS, Wanted.RATIO) and q.amount_power == 1:
        kind = {Wanted.PERCENT: "a percentage", Wanted.DAYS: "days", Wanted.RATIO: "a ratio"}[request.wanted]
        return compute_wrong_kind("an amount", kind)
    return ""


def _shape(q: Quantity, formula: str, request: ComputeRequest,
           found: tuple[FoundInput, ...]) -> tuple[ResultUnit, Decimal, Decimal]:
    """What the result is (percent, amount, ratio, days) and its value in that unit."""
    if q.percent:
        return ResultUnit.PERCENT, q.value, Decimal(1)
    if q.amount_power == 1:
        scale = max((i.scale for i in found if i.quantity.amount_power == 1), default=Decimal(1))
        return ResultUnit.AMOUNT, q.value / scale, scale
    if q.amount_power == 0:
        if request.wanted is Wanted.DAYS:
            return ResultUnit.DAYS, q.value, Decimal(1)
        already = _TIMES_100.search(formula) is not None  # a ratio times 100 is a percentage
        if request.wanted is Wanted.PERCENT or already:
            return ResultUnit.PERCENT, q.value if already else q.value * 100, Decimal(1)
        return ResultUnit.RATIO, q.value, Decimal(1)
    return ResultUnit.NUMBER, q.value, Decimal(1)


def _decimals(unit: ResultUnit, request: ComputeRequest, found: tuple[FoundInput, ...]) -> int:
    if request.decimals is not None:
        return request.decimals
    if unit is ResultUnit.AMOUNT:
        return max((len(i.written.split(".")[1]) if "." in i.written else 0 for i in found), default=0)
    return 2 if unit is ResultUnit.RATIO else 1


def _rounded(value: Decimal, unit: ResultUnit, request: ComputeRequest, found: tuple[FoundInput, ...]) -> Decimal:
    d = _decimals(unit, request, found)
    return value.quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)


def _written(value: Decimal, unit: ResultUnit, scale: Decimal, request: ComputeRequest,
             found: tuple[FoundInput, ...]) -> str:
    v = _rounded(value, unit, request, found)
    exponent = v.as_tuple().exponent
    d = max(0, -exponent) if isinstance(exponent, int) else 0
    number = f"{abs(v):,.{d}f}"
    sign = "-" if v < 0 else ""
    if unit is ResultUnit.PERCENT:
        return f"{sign}{number}%"
    if unit is ResultUnit.DAYS:
        return f"{sign}{number} days"
    if unit is ResultUnit.AMOUNT:
        money = "$" if any(i.currency for i in found) else ""
        return f"{sign}{money}{number}{_SCALE_NAMES.get(scale, '')}"
    return f"{sign}{number}"


def _input_figure(i: FoundInput) -> str:
    """The input as the reader sees it: its source's digits, with the sign, currency and scale it stands at."""
    sign = "-" if i.quantity.value < 0 else ""
    if i.quantity.percent:
        return f"{sign}{i.written}%"
    return f"{sign}{'$' if i.currency else ''}{i.written}{_SCALE_NAMES.get(i.scale, '')}"


def _working(formula: str, found: tuple[FoundInput, ...]) -> str:
    """The formula with each letter replaced by its figure, when that stays short."""
    if len(found) > 4:
        return ""
    figures = {i.letter: f"(-{i.written})" if i.quantity.value < 0 else i.written for i in found}
    out = re.sub(r"\b([A-H])\b", lambda m: figures.get(m.group(1), m.group(1)), formula)
    return symbols(out)


# One input line of the answer, as _inputs_block writes it (the window links its marker to the cell)
INPUT_LINE = re.compile(r"^(- [A-H] = (?P<label>.+): (?P<figure>[^\[\]\n]+?)) \[(?P<n>\d{1,3})\][ \t]*$",
                        re.MULTILINE)


def _inputs_block(found: tuple[FoundInput, ...], lead: bool = False) -> str:
    if not found:
        return ""
    lines = [f"- {i.letter} = {i.label}: {_input_figure(i)} [{i.source}]" for i in found]
    return ("\n\n" + compute_found_inputs() if lead else "") + "\n\n" + "\n".join(lines)
