"""A checked answer as the reader sees it: the model's words, plus what Docent found.

The checks (attribution, figures, grounding) live in the Answer's data; the window
and a stored chat show them in the text itself, so that a reader can open the source
of every sentence and sees which figures could not be found:
- a sentence the model left uncited but Docent matched to passages ends in "[~n]" (a run
  of such sentences in one paragraph, from the same passages, ends in one);
- a figure found in none of its sentence's sources is followed by UNVERIFIED;
- a result Docent computed (app.engine.computation) starts with COMPUTED, and a note
  under the answer gives its formula and the sources of its inputs;
- notes under the answer say what was flagged and why (their wording: app.errors).
"""
from __future__ import annotations

import re

from app.engine.arith import symbols
from app.engine.citations import MARKER
from app.engine.computation import ComputeStatus
from app.engine.events import Answer
from app.errors import computed_note, repetition_note, unverified_figure_note

UNVERIFIED = "⚠"
COMPUTED = "∑"
INFERRED_MARKER = re.compile(r"\[~(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_END_PUNCT = re.compile(r"[.!?:;]+$")


def inferred_marker(numbers: tuple[int, ...]) -> str:
    return "[~" + ", ".join(map(str, numbers)) + "]"


def shown_text(answer: Answer) -> str:
    """answer.text with Docent's markers for uncited sentences and its unverified flags."""
    inserts: list[tuple[int, int, str]] = []  # (offset, order at one offset, text)
    atts = answer.attributions
    heading_end = answer.computation.result_span[1] if answer.computation is not None else 0
    for i, a in enumerate(atts):
        if not a.inferred or not a.sources or a.start < heading_end:
            continue  # (a computed result's line: Docent's own words; its inputs below cite)
        after = atts[i + 1] if i + 1 < len(atts) else None
        if after is not None and after.inferred and after.sources == a.sources \
                and "\n" not in answer.text[a.end:after.start]:
            continue  # one marker closes a run of sentences from the same passages
        sentence = answer.text[a.start:a.end].rstrip()
        end = a.start + len(sentence)
        punct = _END_PUNCT.search(sentence)
        at = end - len(punct.group()) if punct and not sentence.endswith("...") else end
        inserts.append((at, 1, " " + inferred_marker(a.sources)))  # "... 42 million [~2]."
    for f in answer.unverified_figures:
        inserts.append((f.end, 0, UNVERIFIED))  # at one offset: "42 million⚠ [~2]"
    if answer.computation is not None and answer.computation.status is ComputeStatus.COMPUTED:
        inserts.append((0, -1, COMPUTED + " "))
    text = answer.text
    for at, _, piece in sorted(inserts, reverse=True):
        text = text[:at] + piece + text[at:]
    return text


def answer_notes(answer: Answer) -> list[str]:
    """What the reader must know about the answer, one line each, most serious last:
    a loop cut short, each unverified figure, and whether the documents support it."""
    notes = []
    if answer.finish_reason == "repetition":
        notes.append(repetition_note())
    notes += [f"{UNVERIFIED} {unverified_figure_note(f.text, f.found_in)}" for f in answer.unverified_figures]
    c = answer.computation
    if c is not None and c.status is ComputeStatus.COMPUTED:
        sources = ", ".join(f"[{n}]" for n in dict.fromkeys(i.source for i in c.inputs))
        formula = symbols(c.formula) + (f" = {c.working}" if c.working else "")
        notes.append(f"{COMPUTED} {computed_note(formula, sources)}")
    if answer.grounding.note:
        notes.append(answer.grounding.note)
    return notes


def matched_only(shown: str) -> set[int]:
    """Sources a shown answer names only through Docent's [~n], never the model's [n]."""
    def numbers(pattern: re.Pattern[str]) -> set[int]:
        return {int(n) for m in pattern.finditer(shown) for n in m.group(1).split(",")}

    return numbers(INFERRED_MARKER) - numbers(MARKER)
