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

MAX_INPUTS = 8
LETTERS = "ABCDEFGH"

# Shown after the question; the system prompt stays the one every answer shares (its KV cache).
INSTRUCTION = (
    "Do not calculate. List each figure the calculation needs, one per line: a letter, what the figure "
    "is, a colon, the figure copied exactly from the source, the source number. Then write `RESULT = ` "
    "and the formula over the letters, using + - * / ( ), avg(A, B), sum(A, B), pct_change(old, new). "
    "If the question gives a formula, follow it. If a needed figure is not in the sources, write only "
    "`MISSING = ` and what is missing. For example, asked what share of a budget went to rent:\n"
    "A = rent, 2023: 1,200 [3]\nB = total budget, 2023: 4,800 [3]\nRESULT = A / B * 100")


def _input_rule(i: int) -> str:
    return f'in{i} ::= "{LETTERS[i]} = " label ": " figure " [" src "]\\n"'


def grammar() -> str:
    """The GBNF grammar of the form above."""
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
        'term ::= factor (" "? [*/] " "? factor)*',
        'factor ::= [A-H] | [1-9] [0-9]{0,3} | "(" expr ")" | "-" factor '
        '| fn "(" expr (", " expr)* ")"',
        'fn ::= "avg" | "sum" | "pct_change" | "abs"',
        'missing ::= "MISSING = " [^\\n] [^\\n]{0,119} "\\n"',
    ]
    return "\n".join(rules) + "\n"


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
