"""Answer text -> the Markdown the chat view renders, with [n] markers as links."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from app.engine.answer_marks import INFERRED_MARKER
from app.engine.citations import MARKER
from app.engine.computation import INPUT_LINE

CITE_SCHEME = "cite"
MATCHED = "~"  # a link's path "~2": Docent matched the sentence to source 2, the model did not cite it
_ESCAPED_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")  # "[2]" as escape() writes it
_CELL_SEP = "\n"  # between an input's label and figure in its link's fragment


@dataclass(frozen=True)
class CellTarget:
    """A computed input's marker: open source `number` at the cell holding `figure`."""

    number: int
    label: str
    figure: str


def link_markers(text: str) -> str:
    """`[1, 3]` -> `[[1]](cite:1), [[3]](cite:3)`: each number its own clickable link;
    Docent's own `[~2]` (answer_marks: a sentence it matched) links as `[~2]` (cite:~2)."""
    def fix(m: re.Match[str], tilde: str = "") -> str:
        return ", ".join(_cite_link(tilde + n.strip()) for n in m.group(1).split(","))

    def input_line(m: re.Match[str]) -> str:  # its marker opens the input's cell, not only its passage
        fragment = quote(m.group("label") + _CELL_SEP + m.group("figure"), safe="")
        n = m.group("n")
        return f"{m.group(1)} [\\[{n}\\]]({CITE_SCHEME}:{n}#{fragment})"

    text = INPUT_LINE.sub(input_line, text)
    text = MARKER.sub(fix, text)
    return INFERRED_MARKER.sub(lambda m: fix(m, MATCHED), text)


def _cite_link(target: str) -> str:
    """A marker's target ("2", "~2") -> its Markdown link, `[[2]](cite:2)`: the text as written."""
    return f"[\\[{target}\\]]({CITE_SCHEME}:{target})"


def cite_target(scheme: str, path: str) -> tuple[int, bool] | None:
    """A clicked or hovered link -> (source number, matched by Docent), None if not a citation."""
    matched = path.startswith(MATCHED)
    number = path[len(MATCHED):] if matched else path
    if scheme != CITE_SCHEME or not number.isdigit():
        return None
    return int(number), matched


def cell_target(scheme: str, path: str, fragment: str) -> CellTarget | None:
    """A clicked computed input's marker (`fragment` decoded) -> where its figure stands."""
    label, sep, figure = unquote(fragment).partition(_CELL_SEP)
    if scheme != CITE_SCHEME or not path.isdigit() or not sep:
        return None
    return CellTarget(int(path), label, figure)


def cell_tooltip(cell: CellTarget) -> str:
    return f"Source {cell.number}: where Docent read {cell.figure} ({cell.label}). Click to open it there."


def cite_tooltip(number: int, matched: bool) -> str:
    if matched:
        return (f"Source {number}, matched by Docent: the model did not cite this sentence, "
                "Docent found its words in this passage. Click to open it.")
    return f"Source {number}, cited by the model. Click to open the passage."


def escape(text: str) -> str:
    """Plain text (a question, a note naming files) safe inside Markdown."""
    return re.sub(r"([\\`*_{}\[\]<>#+!|])", r"\\\1", text)


def notes_markdown(notes: list[str] | tuple[str, ...]) -> str:
    """The answer checks' notes, under the answer: small print, one paragraph each."""
    def one(note: str) -> str:  # the "[2]" a note names opens that source, as in the answer
        return _ESCAPED_MARKER.sub(lambda m: _cite_link(m.group(1)), escape(note))

    return "\n\n".join(f"*{one(n.strip())}*" for n in notes if n.strip())


def quote_question(text: str) -> str:
    """The user's question as a Markdown block quote (their text is not Markdown)."""
    escaped = escape(text.strip())
    lines = escaped.splitlines() or [""]
    lines[0] = "**You:** " + lines[0]
    return "\n".join("> " + line if line else ">" for line in lines)


def highlight_terms(question: str) -> list[str]:
    """Words of the question worth highlighting in passages (no stop words, >= 3 letters)."""
    words = re.findall(r"[\w$%.-]+", question.lower())
    out: list[str] = []
    for w in words:
        w = w.strip(".-")
        if len(w) >= 3 and w not in _STOP and w not in out:
            out.append(w)
    return out


_STOP = frozenset("""the and for are was were what when where which who whom why how does did
do has have had this that these those with from into about than then them they their there
our your you its can could would should will shall may might not any all per over under
between during since until also just only very much many more most some such each other
tell show give list""".split())
