"""HTML: the text a reader would see, split where the layout breaks lines.

Uses the stdlib parser, which tolerates broken markup. Invisible content
(scripts, styles, head metadata) is skipped because it would pollute
retrieval with code and boilerplate.
"""
from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence

from ingest.document import Block, Document
from ingest.loaders import LoadLimits, read_bytes
from ingest.loaders.text import MAX_BLOCK_CHARS, clean_text, decode_text
from ingest.tables import table_from_grid

# Never visible. (script/style bodies are raw text to HTMLParser, so tags in
# them cannot confuse the depth counting below.)
_SKIP = frozenset({"script", "style", "template", "noscript", "svg", "math", "iframe", "object"})
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
# Elements that start a new line in a browser; text on either side is split.
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
    "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "tfoot", "thead", "tr", "ul", "html",
}) | _HEADINGS.keys()
_CELLS = frozenset({"td", "th"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Browsers (WHATWG) read these labels as windows-1252, and so do we.
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii", "l1"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title: str | None = None
        self._buf: list[str] = []
        self._skip_depth = 0
        self._in_head = False
        self._in_title = False
        self._title_buf: list[str] = []
        self._pre_depth = 0
        self._heading = 0
        self._cells_in_row = 0
        self._table: _TableGrid | None = None  # the outermost <table> being read
        self._table_depth = 0

    # Start tags ----------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, self_closing=False, attrs=attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, self_closing=True, attrs=attrs)

    def _start(self, tag: str, self_closing: bool, attrs: Sequence[tuple[str, str | None]] = ()) -> None:
        if tag in _SKIP:
            if not self_closing:
                self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag == "table" and not self_closing:
            self._table_depth += 1
            if self._table_depth == 1:
                self._flush()
                self._table = _TableGrid()
                return
        if self._table is not None:
            if self._table_depth == 1:
                self._table.start(tag, dict(attrs))
            return
        if tag == "head":
            self._in_head = True
        elif tag == "title":
            self._in_title = not self_closing
        elif tag == "body" or tag in _BLOCK:
            self._in_head = False  # a missing </head> or </title> must not hide the page
            if self._in_title:
                self._end_title()
        if tag in _BLOCK:
            self._flush()
        if tag in _HEADINGS:
            self._heading = _HEADINGS[tag]
        elif tag == "pre" and not self_closing:
            self._pre_depth += 1
        elif tag == "tr":
            self._cells_in_row = 0
        elif tag in _CELLS:
            if self._cells_in_row:
                self._buf.append(" | ")
            self._cells_in_row += 1

    # End tags ------------------------------------------------------------
    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth:
            return
        if self._table is not None:
            if tag == "table":
                self._table_depth -= 1
            if self._table_depth == 0:
                self._end_table()
            elif self._table_depth == 1:
                self._table.end(tag)
            return
        if tag in _BLOCK:
            self._flush()  # first: the text inside still has this tag's pre/heading state
        if tag == "head":
            self._in_head = False
        elif tag == "title" and self._in_title:
            self._end_title()
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        if tag in _HEADINGS:
            self._heading = 0

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._table is not None:
            self._table.data(data)
            return
        if self._in_title:
            self._title_buf.append(data)
        elif not self._in_head:
            self._buf.append(data if self._pre_depth else re.sub(r"\s+", " ", data))

    def _end_title(self) -> None:
        self._in_title = False
        self.title = self.title or " ".join("".join(self._title_buf).split()) or None

    def _flush(self) -> None:
        raw = "".join(self._buf)
        self._buf.clear()
        if self._pre_depth:
            text = raw.strip("\n")
        else:
            text = " ".join(raw.split())
            text = text.strip(" |")  # a row of empty cells leaves only separators
        while text.strip():
            self.blocks.append(Block(text[:MAX_BLOCK_CHARS], heading_level=self._heading))
            text = text[MAX_BLOCK_CHARS:]

    def _end_table(self) -> None:
        grid, self._table, self._table_depth = self._table, None, 0
        if grid is None:
            return
        grid.end("tr")
        table = table_from_grid(grid.rows, caption=grid.caption, header_rows=grid.header_rows)
        if table is not None:
            self.blocks.append(Block(table.text, table=table))
            return
        for row in grid.rows:  # not a table to read as one: its rows as lines
            self._buf.append(" | ".join(c for c in row if c))
            self._flush()

    def close(self) -> None:
        super().close()
        if self._table is not None:
            self._end_table()  # an unclosed <table> runs to the end
        self._flush()


class _TableGrid:
    """The cells of one <table>, a spanning cell repeated over the columns it spans;
    `header_rows`: the leading rows of <th> cells (None: none were marked)."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.caption = ""
        self.header_rows: int | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._span = 1
        self._all_th = True
        self._in_caption = False
        self._th_rows = 0

    def start(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "tr":
            self.end("tr")
            self._row, self._all_th = [], True
        elif tag in _CELLS:
            self.end(tag)
            if self._row is None:
                self._row, self._all_th = [], True
            self._cell, self._all_th = [], self._all_th and tag == "th"
            try:
                self._span = max(1, min(int(attrs.get("colspan") or 1), 50))
            except ValueError:
                self._span = 1
        elif tag == "caption":
            self._in_caption = True
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def end(self, tag: str) -> None:
        if tag == "caption":
            self._in_caption = False
            return
        if self._cell is not None and self._row is not None:
            self._row.extend([" ".join("".join(self._cell).split())] * self._span)
            self._cell = None
        if tag in ("tr", "table", "tbody", "thead", "tfoot") and self._row is not None:
            if any(self._row):
                if self._all_th and len(self.rows) == self._th_rows:
                    self._th_rows += 1
                    self.header_rows = self._th_rows
                self.rows.append(self._row)
            self._row = None

    def data(self, data: str) -> None:
        if self._in_caption:
            self.caption = " ".join(f"{self.caption} {data}".split())
        elif self._cell is not None:
            self._cell.append(data)


def _declared_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    if not m:
        return None
    label = m.group(1).decode("ascii", "ignore").lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def html_to_document(path: Path, text: str) -> Document:
    parser = _TextExtractor()
    parser.feed(clean_text(text))
    parser.close()
    return Document(path=path, kind="html", blocks=parser.blocks, title=parser.title)


def load_html(path: Path, limits: LoadLimits) -> Document:
    data = read_bytes(path, limits)
    text, _ = decode_text(data, declared=_declared_charset(data))
    return html_to_document(path, text)
