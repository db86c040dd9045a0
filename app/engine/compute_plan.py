"""What the model writes for a computed answer: its inputs and a formula, never a result.

The form is a few lines, constrained by a llama.cpp GBNF grammar so that even a 135M
model cannot break it:

    A = operating income, fiscal 2022: 800 [2]
    B = operating income, fiscal 2023: 900 [2]
    RESULT = pct_change(A, B)

or, when the sources lack a figure, one line: `MISSING = what is missing`. Letters
come in order (A, then B, ...), up to eight inputs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.engine.compute_request import Wanted
from app.engine.figures import parse_figures

MAX_INPUTS = 8
_YEAR = re.compile(r"(?:19|20)\d\d")
LETTERS = "ABCDEFGH"

# Shown after the question; the system prompt stays the one every answer shares (its KV cache).
INSTRUCTION = (
    "Do not calculate. List each figure the calculation needs, one per line: a letter, what the figure "
    "is, a colon, the figure copied exactly from the source, the source number. Then write `RESULT = ` "
    "and the formula over the letters, using + - * / ( ), avg(A, B) and sum(A, B) (a percent change "
    "is (new - old) / old * 100). "
    "If the question gives a formula, follow it. If a needed figure is not in the sources, write only "
    "`MISSING = ` and what is missing. For example, asked what share of a budget went to rent:\n"
    "A = rent, 2023: 1,200 [3]\nB = total budget, 2023: 4,800 [3]\nRESULT = A / B * 100")
# What the question's kind rules out, said as the grammar enforces it (the 1.5B wrote percent
# changes for "by how much did it change" and multiplied a current ratio by 100).
_KIND_NOTE = {
    Wanted.AMOUNT: " The question asks for an amount: the formula adds or subtracts figures (or averages "
                   "them); it does not divide one figure by another.",
    Wanted.RATIO: " The question asks for a ratio, not a percentage: do not multiply by 100.",
}


def instruction(wanted: Wanted = Wanted.ANY) -> str:
    return INSTRUCTION + _KIND_NOTE.get(wanted, "")


# The one worked example is a share: the 1.5B copied an invoice total's figures and formula,
# and without an example wrote numbers into its labels (measured on tests/bench's questions).


def _input_rule(i: int) -> str:
    return f'in{i} ::= "{LETTERS[i]} = " label ": " figure " [" src "]\\n"'


# Numbers a formula may hold besides its inputs: conversions (percent, days, months, weeks,
# quarters, thousands) and small counts (halves, thirds), and those the question writes. Any
# other number in a formula is a figure the model did not name as an input: Docent could not
# check it, so the grammar does not offer it (and app.engine.computation refuses it).
CONSTANTS = frozenset(Decimal(n) for n in (1, 2, 3, 4, 5, 6, 7, 10, 12, 52, 100, 360, 365, 366, 1000))


def constants(question: str = "", wanted: Wanted = Wanted.ANY) -> list[Decimal]:
    """An amount or a ratio is never times 100, unless the question itself writes 100. A year
    the question names ("the second quarter of 2023") is a date, not a number to compute with:
    the 1.5B divided by it."""
    usual = CONSTANTS - {Decimal(100)} if wanted in (Wanted.AMOUNT, Wanted.RATIO) else CONSTANTS
    asked = {f.value for f in parse_figures(question) if not _YEAR.fullmatch(f.text)}
    return sorted(usual | asked, key=lambda d: (len(str(d)), d), reverse=True)


def grammar(question: str = "", wanted: Wanted = Wanted.ANY) -> str:
    """The GBNF grammar of the form above; the formula's numbers are constants() only, and
    for an amount a figure is never divided by another (only by a count, as in an average)."""
    numbers = " | ".join(f'"{_plain(d)}"' for d in constants(question, wanted))
    term = ('term ::= head (" "? ("*" " "? (head | number) | "/" " "? number))*' if wanted is Wanted.AMOUNT
            else 'term ::= head (" "? [*/] " "? (head | number))*')
    nested = "".join(f" (in{i}" for i in range(1, MAX_INPUTS)) + ")?" * (MAX_INPUTS - 1)
    rules = [
        f"root ::= in0{nested} result | missing",
        *(_input_rule(i) for i in range(MAX_INPUTS)),
        "label ::= [A-Za-z0-9] [A-Za-z0-9 ,.'()&%/$-]{0,59}",
        'figure ::= "-"? "("? "$"? [0-9] [0-9,]{0,15} ("." [0-9]{1,6})? ")"? ("%" | " million" | " billion" '
        '| " thousand")?',
        'src ::= [1-9] [0-9]?',
        'result ::= "RESULT = " expr "\\n"',
        'expr ::= term (" "? [-+] " "? term)*',
        # A term starts with a letter, a bracket or a function: a constant only multiplies or
        # divides ("A / B * 100"), so every formula is over its inputs (the 1.5B, offered
        # numbers anywhere, wrote "(2 * 2) / 100 * 100" for a share).
        term,
        'head ::= [A-H] | "(" expr ")" | "-" head | fn "(" expr (", " expr)* ")"',
        'fn ::= "avg" | "sum" | "abs"',  # pct_change is read, not offered: the 1.5B used it for shares
        f"number ::= {numbers}",
        'missing ::= "MISSING = " [^\\n] [^\\n]{0,119} "\\n"',
    ]
    return "\n".join(rules) + "\n"


def _plain(d: Decimal) -> str:
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class PlannedInput:
    letter: str
    label: str  # what the model says the figure is
    figure: str  # as the model copied it
    source: int  # the [n] it cites


@dataclass(frozen=True)
class Plan:
    inputs: tuple[PlannedInput, ...]
    formula: str  # "" when missing (or nothing readable was written)
    missing: str = ""  # what the model says the sources lack


_INPUT = re.compile(r"^\s*([A-H])\s*=\s*(.+?):\s*(\S.*?)\s*\[(\d{1,3})\]\s*$")
_RESULT = re.compile(r"^\s*RESULT\s*=\s*(.+?)\s*$")
_MISSING = re.compile(r"^\s*MISSING\s*=\s*(.*?)\s*$")


def parse_plan(text: str) -> Plan:
    """Reads the form leniently (a backend without grammars may add spaces or prose)."""
    inputs: list[PlannedInput] = []
    formula, missing = "", ""
    for line in text.splitlines():
        if (m := _INPUT.match(line)) is not None and len(inputs) < MAX_INPUTS:
            if all(i.letter != m.group(1) for i in inputs):
                inputs.append(PlannedInput(m.group(1), m.group(2).strip(), m.group(3), int(m.group(4))))
        elif (m := _RESULT.match(line)) is not None and not formula:
            formula = m.group(1)
        elif (m := _MISSING.match(line)) is not None:
            missing = m.group(1) or "a figure the calculation needs"
    return Plan(tuple(inputs), formula, missing)
