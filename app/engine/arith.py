"""A safe evaluator for the formulas of computed answers: no `eval`, quantities with units.

A formula is Python expression syntax read by `ast` and walked here: numbers, the
input letters (A, B, ...), + - * / and parentheses, and four functions: avg(...),
sum(...), pct_change(old, new) and abs(x). Every value is a Quantity that knows
whether it is an amount (money or any counted unit: its power, so amount/amount is a
pure ratio), a percentage, or a pure number; adding an amount to a percentage is an
error the user reads, not a number. Decimal arithmetic throughout: "81,797 - 82,959"
is exactly -1,162.
"""
from __future__ import annotations

import ast
import enum
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext
from typing import Callable, Mapping, Sequence

FUNCTIONS = ("avg", "sum", "pct_change", "abs")
_MAX_NODES = 200  # a formula is a line: a huge one is not a formula


class FormulaErrorKind(enum.Enum):
    SYNTAX = "syntax"  # not a formula Docent reads
    UNKNOWN_NAME = "unknown_name"  # a letter with no input, or a function not offered
    DIVISION_BY_ZERO = "division_by_zero"
    UNIT_MISMATCH = "unit_mismatch"  # an amount added to a percentage, a percent change of percentages' units


class FormulaError(Exception):
    def __init__(self, kind: FormulaErrorKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    amount_power: int = 0  # 1: an amount; 0: a pure number; 2: amount × amount
    percent: bool = False  # a percentage (value 12.5 is 12.5 %)

    @property
    def dimension(self) -> tuple[int, bool]:
        return self.amount_power, self.percent

    def as_fraction(self) -> Decimal:
        return self.value / 100 if self.percent else self.value


def _same(a: Quantity, b: Quantity, op: str) -> None:
    if a.dimension != b.dimension and not _is_plain(a) and not _is_plain(b):
        raise FormulaError(FormulaErrorKind.UNIT_MISMATCH, f"{op} of figures in different units")
    if (a.percent != b.percent) and (a.amount_power or b.amount_power):
        raise FormulaError(FormulaErrorKind.UNIT_MISMATCH, f"{op} of a percentage and an amount")


def _is_plain(q: Quantity) -> bool:
    return q.amount_power == 0 and not q.percent


def _add(a: Quantity, b: Quantity, sign: int) -> Quantity:
    _same(a, b, "a sum" if sign > 0 else "a difference")
    shape = a if not _is_plain(a) else b
    return Quantity(a.value + sign * b.value, shape.amount_power, shape.percent)


def _mul(a: Quantity, b: Quantity) -> Quantity:
    if a.percent and b.percent:
        return Quantity(a.as_fraction() * b.as_fraction(), a.amount_power + b.amount_power)
    if a.percent or b.percent:  # 12 % of an amount is an amount
        p, other = (a, b) if a.percent else (b, a)
        if other.amount_power:
            return Quantity(p.as_fraction() * other.value, other.amount_power)
        return Quantity(p.value * other.value, 0, True)
    return Quantity(a.value * b.value, a.amount_power + b.amount_power)


def _div(a: Quantity, b: Quantity) -> Quantity:
    if b.value == 0:
        raise FormulaError(FormulaErrorKind.DIVISION_BY_ZERO, "a division by zero")
    if a.percent and b.percent:
        return Quantity(a.value / b.value)
    if a.percent and _is_plain(b):
        return Quantity(a.value / b.value, 0, True)
    return Quantity(a.as_fraction() / b.as_fraction(), a.amount_power - b.amount_power)


def _avg(args: Sequence[Quantity]) -> Quantity:
    total = _sum(args)
    return Quantity(total.value / len(args), total.amount_power, total.percent)


def _sum(args: Sequence[Quantity]) -> Quantity:
    if not args:
        raise FormulaError(FormulaErrorKind.SYNTAX, "sum() or avg() of nothing")
    out = args[0]
    for q in args[1:]:
        out = _add(out, q, 1)
    return out


def _pct_change(args: Sequence[Quantity]) -> Quantity:
    if len(args) != 2:
        raise FormulaError(FormulaErrorKind.SYNTAX, "pct_change() takes the old and the new figure")
    old, new = args
    _same(old, new, "a percent change")
    if old.value == 0:
        raise FormulaError(FormulaErrorKind.DIVISION_BY_ZERO, "a percent change from zero")
    return Quantity((new.value - old.value) / abs(old.value) * 100, 0, True)


def _abs(args: Sequence[Quantity]) -> Quantity:
    if len(args) != 1:
        raise FormulaError(FormulaErrorKind.SYNTAX, "abs() takes one figure")
    q = args[0]
    return Quantity(abs(q.value), q.amount_power, q.percent)


_CALLS: Mapping[str, Callable[[Sequence[Quantity]], Quantity]] = {
    "avg": _avg, "sum": _sum, "pct_change": _pct_change, "abs": _abs}


def names_in(formula: str) -> list[str]:
    """The input letters a formula uses, in first-use order (for checking before evaluating)."""
    tree = parse(formula)
    found = sorted((n.col_offset, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _CALLS)
    return list(dict.fromkeys(name for _, name in found))


def parse(formula: str) -> ast.Expression:
    text = formula.replace("×", "*").replace("÷", "/").replace("−", "-").replace("^", "**")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as e:
        raise FormulaError(FormulaErrorKind.SYNTAX, f"the formula {formula!r} cannot be read") from e
    if sum(1 for _ in ast.walk(tree)) > _MAX_NODES:
        raise FormulaError(FormulaErrorKind.SYNTAX, "the formula is too long")
    return tree


def evaluate(formula: str, inputs: Mapping[str, Quantity]) -> Quantity:
    """The formula's value; raises FormulaError (never another exception) when it has none."""
    tree = parse(formula)
    with localcontext() as ctx:
        ctx.prec = 28
        try:
            return _eval(tree.body, inputs)
        except (DivisionByZero, InvalidOperation, ZeroDivisionError) as e:
            raise FormulaError(FormulaErrorKind.DIVISION_BY_ZERO, "a division by zero") from e
        except RecursionError as e:
            raise FormulaError(FormulaErrorKind.SYNTAX, "the formula is too deeply nested") from e


def _eval(node: ast.expr, inputs: Mapping[str, Quantity]) -> Quantity:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return Quantity(Decimal(str(node.value)))
    if isinstance(node, ast.Name):
        if node.id not in inputs:
            raise FormulaError(FormulaErrorKind.UNKNOWN_NAME, f"the formula uses {node.id}, which is no input")
        return inputs[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        q = _eval(node.operand, inputs)
        return Quantity(-q.value if isinstance(node.op, ast.USub) else q.value, q.amount_power, q.percent)
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, inputs), _eval(node.right, inputs)
        if isinstance(node.op, ast.Add):
            return _add(a, b, 1)
        if isinstance(node.op, ast.Sub):
            return _add(a, b, -1)
        if isinstance(node.op, ast.Mult):
            return _mul(a, b)
        if isinstance(node.op, ast.Div):
            return _div(a, b)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fn = _CALLS.get(node.func.id)
        if fn is None:
            raise FormulaError(FormulaErrorKind.UNKNOWN_NAME, f"{node.func.id}() is not a function Docent offers")
        return fn([_eval(a, inputs) for a in node.args])
    raise FormulaError(FormulaErrorKind.SYNTAX, f"{ast.unparse(node)!r} is not part of a formula Docent reads")


def symbols(formula: str) -> str:
    """The formula as a reader writes it: A × B ÷ C − D."""
    return (formula.replace("*", " × ").replace("/", " ÷ ").replace(" - ", " − ")
            .replace("  ", " ").strip())
