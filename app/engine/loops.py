"""Stop an answer that has started repeating itself.

Small models fall into loops (the same sentence again and again) and would run to
the token limit; the user waits for nothing. The detector sees each streamed piece
once: words are counted as n-grams as they complete, so a token costs a dict lookup.
A loop is an n-gram of `n` words seen `repeats` times: a sentence of p words
repeated is caught after about n + (repeats - 1) * p words, while a list whose items
share a short template ("for the three months ended ...") never repeats 12 words
exactly. A second, character-level check catches runs with no words ("| | | |").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Loop:
    start: int  # offset in the streamed text where the repetition begins (its 2nd copy)
    unit: str  # the segment that repeats, as first written


class LoopDetector:
    def __init__(self, n: int = 12, repeats: int = 3, char_window: int = 160,
                 max_char_period: int = 16) -> None:
        self.n = n
        self.repeats = repeats
        self.char_window = char_window
        self.max_char_period = max_char_period
        self.text = ""
        self._scanned = 0  # text[:_scanned] has been split into complete words
        self._words: list[str] = []
        self._starts: list[int] = []  # character offset of each word
        self._seen: dict[tuple[str, ...], list[int]] = {}  # n-gram -> word indices where it began
        self._since_char_check = 0
        self.loop: Loop | None = None

    def feed(self, piece: str) -> bool:
        """Add streamed text; True once a loop is found (and from then on)."""
        if self.loop is not None:
            return True
        self.text += piece
        # A word is complete once something other than a word character follows it.
        for m in _WORD.finditer(self.text, self._scanned):
            if m.end() == len(self.text):
                break
            self._scanned = m.end()
            if self._add_word(m.group().lower(), m.start()):
                return True
        self._since_char_check += len(piece)
        if self._since_char_check >= 32:
            self._since_char_check = 0
            return self._char_loop()
        return False

    def _add_word(self, word: str, start: int) -> bool:
        self._words.append(word)
        self._starts.append(start)
        if len(self._words) < self.n:
            return False
        i = len(self._words) - self.n
        seen = self._seen.setdefault(tuple(self._words[i:]), [])
        seen.append(i)
        if len(seen) < self.repeats:
            return False
        first, second = seen[0], seen[1]
        unit = self.text[self._starts[first]:self._starts[second]]
        self.loop = Loop(self._starts[second], unit)
        return True

    def _char_loop(self) -> bool:
        tail = self.text[-self.char_window:]
        if len(tail) < self.char_window or not tail.strip():
            return False  # whitespace alone ends with the stop token or the limit; not a loop
        for p in range(1, self.max_char_period + 1):
            if tail[p:] == tail[:-p]:
                start = len(self.text) - self.char_window + p
                self.loop = Loop(start, tail[:p])
                return True
        return False

    def kept_text(self) -> str:
        """The text up to the first repetition: what is worth keeping of a looped answer."""
        return self.text if self.loop is None else self.text[:self.loop.start].rstrip()
