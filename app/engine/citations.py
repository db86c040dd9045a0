"""[n] markers: map them to sources, and hide the ones that point nowhere."""
from __future__ import annotations

import re
from typing import Iterable

MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_MAX_MARKER = 16  # longest text a pending "[..." may grow to before we give up on it


def marker_numbers(text: str) -> list[int]:
    """Numbers cited in text, in first-cited order, without repeats."""
    seen: dict[int, None] = {}
    for m in MARKER.finditer(text):
        for n in m.group(1).split(","):
            seen.setdefault(int(n), None)
    return list(seen)


def clean_markers(text: str, valid: Iterable[int]) -> str:
    """Drop invalid numbers from markers; drop markers left empty."""
    ok = set(valid)

    def fix(m: re.Match[str]) -> str:
        nums = [n.strip() for n in m.group(1).split(",") if int(n) in ok]
        return f"[{', '.join(nums)}]" if nums else ""

    return MARKER.sub(fix, text)


class MarkerFilter:
    """Streaming version of clean_markers: holds back text only while a marker may be open."""

    def __init__(self, valid: Iterable[int]) -> None:
        self.valid = set(valid)
        self.pending = ""

    def feed(self, piece: str) -> str:
        out = []
        for ch in piece:
            if self.pending:
                self.pending += ch
                if ch == "]":
                    out.append(clean_markers(self.pending, self.valid))
                    self.pending = ""
                elif not (ch.isdigit() or ch in ", ") or len(self.pending) > _MAX_MARKER:
                    out.append(self.pending)
                    self.pending = ""
            elif ch == "[":
                self.pending = ch
            else:
                out.append(ch)
        return "".join(out)

    def flush(self) -> str:
        rest, self.pending = self.pending, ""
        return rest
