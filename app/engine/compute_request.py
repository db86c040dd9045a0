"""Does a question ask for a figure that must be worked out, and to what precision?

Generic wording only: "percent change", "ratio", "average", "sum of", "difference
between", "how much more", "how many days", "what percentage of", "relative to",
"margin"... serve an invoice total and a lab's monthly average as they serve a 10-Q.
A question that asks why or how something changed ("the factors behind the change in
margin") is prose, not arithmetic.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_ASKS = re.compile(r"|".join((
    r"\b(?:calculate|compute|work out)\b", r"\b(?:defined|calculated|computed|measured) as\b",
    r"\bhow (?:much|many) (?:more|less|fewer|higher|lower|bigger|smaller|larger)\b",
    r"\bhow many (?:times|days|months|weeks|years)\b",
    r"\b(?:percent(?:age)?|%) (?:change|increase|decrease|growth|decline|drop|rise|difference)\b",
    r"\b(?:what|which) (?:percent(?:age)?|share|proportion|fraction|portion)\b",
    r"\b(?:percent(?:age)?|share|proportion|fraction|portion) of\b",
    r"\bas a (?:percent(?:age)?|share|proportion|fraction) of\b",
    r"\bratio\b", r"\baverage\b", r"\bmean\b", r"\bmedian\b",
    r"\b(?:sum|total) of\b", r"\bcombined\b", r"\badd(?:ed)? up\b", r"\bin total\b",
    r"\bdifference (?:between|in|of)\b",
    r"\b(?:change|growth|increase|decrease|decline) (?:in|of) .{1,80}?\b(?:from|between)\b",
    r"\bgrowth rate\b", r"\b(?:year|quarter|month)[- ]over[- ](?:year|quarter|month)\b",
    r"\b(?:grow|grew|rise|rose|fall|fell|increase|decrease|change)d? by how much\b",
    r"\bby how much\b", r"\bhow much (?:did|does|do|has|have|was|were) .{1,80}?\b(?:increase|decrease|grow|rise|"
    r"fall|decline|change|drop)", r"\brelative to\b", r"\bper (?:cent|unit|employee|share of|head|capita)\b",
    r"\b(?:margin|rate|yield|turnover)\b.{0,40}?\b(?:percent|percentage|%)",
    r"\b(?:net|profit|operating|gross) margin\b",
)), re.IGNORECASE)
# Questions about causes, narratives or comparisons in words are answered in prose.
_PROSE = re.compile(r"\b(?:why|factors?|drivers?|driven|reasons?|explain|describe|discuss|summari[sz]e|"
                    r"impact|affect(?:ed|s)?|influence[sd]?|implications?|strategy|risks?|trends?|patterns?)\b",
                    re.IGNORECASE)
_DECIMALS = re.compile(r"\b(?:to|with|at)?\s*(?P<n>one|two|three|four|zero|no|\d)\s+decimal(?:\s+places?|s)?\b"
                       r"|\bnearest (?P<unit>whole|integer|tenth|hundredth|percent|cent|dollar)\b",
                       re.IGNORECASE)
_WORDS = {"zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4}
_UNITS = {"whole": 0, "integer": 0, "percent": 0, "dollar": 0, "tenth": 1, "hundredth": 2, "cent": 2}
_GIVEN = re.compile(r"\b(?:is |are )?(?:defined as|calculated as|computed as|equals?|formula)\b|=", re.IGNORECASE)


class Wanted(enum.Enum):
    """What kind of figure the question asks for, where its words say so."""
    ANY = "any"
    AMOUNT = "amount"  # "how much more", "the total of", "the difference between"
    PERCENT = "percent"
    RATIO = "ratio"  # "the current ratio", "how many times": a quotient, not times 100
    DAYS = "days"


@dataclass(frozen=True)
class ComputeRequest:
    wanted: Wanted
    decimals: int | None  # None: the question names no precision
    formula_given: bool  # the question states its own formula ("defined as ...")


def compute_request(question: str) -> ComputeRequest | None:
    """The computation a question asks for, or None for a question answered by quoting."""
    if not _ASKS.search(question) or (_PROSE.search(question) and not _explicit(question)):
        return None
    wanted = Wanted.ANY
    if re.search(r"\bhow many days\b|\bdays\b.*\b(?:outstanding|on hand|payable|receivable)", question,
                 re.IGNORECASE):
        wanted = Wanted.DAYS
    elif re.search(r"percent|%|\bmargin\b|\bshare of\b|\bproportion\b|\bportion\b|\bgrowth rate\b", question,
                   re.IGNORECASE):
        wanted = Wanted.PERCENT
    elif re.search(r"\bratio\b|\bhow many times\b|\btimes (?:as|larger|bigger|more|higher|greater)\b", question,
                   re.IGNORECASE):
        wanted = Wanted.RATIO
    elif re.search(r"\bhow much (?:more|less)\b|\bdifference\b|\b(?:sum|total) of\b|\bcombined\b|\bby how much\b|"
                   r"\bhow much (?:did|does|has|have|was|were)\b", question, re.IGNORECASE) \
            and not re.search(r"\b(?:ratio|times|average|mean|per)\b", question, re.IGNORECASE):
        wanted = Wanted.AMOUNT
    return ComputeRequest(wanted, decimals(question), bool(_GIVEN.search(question)))


def _explicit(question: str) -> bool:
    return re.search(r"\b(?:calculate|compute|work out|by how much|how much (?:more|less))\b", question,
                     re.IGNORECASE) is not None


def decimals(question: str) -> int | None:
    m = _DECIMALS.search(question)
    if m is None:
        return None
    if m.group("unit"):
        return _UNITS[m.group("unit").lower()]
    n = m.group("n").lower()
    return _WORDS[n] if n in _WORDS else int(n)
