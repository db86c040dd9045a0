"""Word .docx: body paragraphs and tables in reading order.

The body XML is walked directly rather than through
`Document.iter_inner_content`, because that skips content controls
(`w:sdt`), which Word uses for tables of contents and templated sections.
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.document import Block, Document
from ingest.errors import FileErrorKind, LoadError
from ingest.loaders import LoadLimits
from ingest.loaders.text import MAX_BLOCK_CHARS, clean_text
from ingest.tables import table_from_grid

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_NAME = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)


def load_docx(path: Path, limits: LoadLimits) -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _reject_non_zip(path)
    try:
        word = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(FileErrorKind.CORRUPT, f"not a valid .docx ({type(exc).__name__})") from exc

    blocks: list[Block] = []
    warnings: list[str] = []
    title = (word.core_properties.title or "").strip() or None
    for kind, item in _body_items(word):
        if kind == "p":
            text = " ".join(clean_text(item.text).split())
            level = _heading_level(item)
            if text and level == 1 and title is None and _style_name(item) == "title":
                title = text
            blocks.extend(Block(t, heading_level=level) for t in _pieces(text))
        else:
            try:
                blocks.extend(_table_blocks(item))
            except Exception as exc:  # malformed grid: keep the rest of the file
                warnings.append(f"skipped a table: {type(exc).__name__}")
    return Document(path=path, kind="docx", blocks=blocks, title=title, warnings=warnings)


def _reject_non_zip(path: Path) -> None:
    """Give a precise reason for the two common non-zip .docx files."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == _OLE_MAGIC:
        # Office wraps password-protected .docx in an OLE container; an OLE
        # file without that stream is a legacy .doc renamed to .docx.
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise LoadError(FileErrorKind.ENCRYPTED)
        raise LoadError(FileErrorKind.UNSUPPORTED, "legacy Word .doc format; save it as .docx")
    if not head.startswith(b"PK"):
        raise LoadError(FileErrorKind.CORRUPT, "not a .docx (zip) file")


def _body_items(word: Any) -> Iterator[tuple[str, Any]]:
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = word.element.body
    p_tag, tbl_tag, sdt_tag, content_tag = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")

    def walk(parent_el: Any) -> Iterator[tuple[str, Any]]:
        for el in parent_el.iterchildren():
            if el.tag == p_tag:
                yield "p", Paragraph(el, word)
            elif el.tag == tbl_tag:
                yield "t", Table(el, word)
            elif el.tag == sdt_tag:
                for content in el.iterchildren(content_tag):
                    yield from walk(content)

    yield from walk(body)


def _style_name(paragraph: Any) -> str:
    style = paragraph.style
    return (style.name or "").strip().lower() if style is not None else ""


def _heading_level(paragraph: Any) -> int:
    """Heading N / Title by name; else an outline level (localised templates)."""
    name = _style_name(paragraph)
    if name == "title":
        return 1
    if m := _HEADING_NAME.match(name):
        return min(int(m.group(1)), 6)
    # direct formatting beats the style; python-docx 1.2.0 has no public access to the <w:p> element
    own = _outline_level(paragraph._p)  # noqa: SLF001
    if own is not None:
        return own
    style = paragraph.style
    for _ in range(10):  # base_style chains are short; bound against cycles
        if style is None:
            break
        lvl = _outline_level(style.element)
        if lvl is not None:
            return lvl
        style = style.base_style
    return 0


def _outline_level(element: Any) -> int | None:
    from docx.oxml.ns import qn

    ppr = element.find(qn("w:pPr"))
    node = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    if node is None:
        return None
    try:
        val = int(node.get(qn("w:val")))
    except (TypeError, ValueError):
        return None
    return min(val + 1, 6) if 0 <= val < 9 else 0  # 9 means body text


def _table_blocks(table: Any) -> Iterator[Block]:
    """One block holding the table (ingest.tables), or its rows as text when it is no
    table to read as one (a single column, a layout grid wider than MAX_COLUMNS)."""
    grid: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            tc = cell._tc  # noqa: SLF001 - python-docx exposes merged cells only so
            # A merged cell is repeated per grid column: said once, its other columns empty.
            cells.append("" if id(tc) in seen else " ".join(clean_text(cell.text).split()))
            seen.add(id(tc))
        grid.append(cells)
    recovered = table_from_grid(grid)
    if recovered is not None:
        yield Block(recovered.text, table=recovered)
        return
    for cells in grid:
        if any(cells):
            yield from (Block(t) for t in _pieces(" | ".join(c for c in cells if c)))


def _pieces(text: str) -> list[str]:
    return [text[i : i + MAX_BLOCK_CHARS] for i in range(0, len(text), MAX_BLOCK_CHARS)]
