"""PDF via pypdf: blocks per paragraph-ish run of text, with exact page numbers.

pypdf's plain extraction rarely emits blank lines, so paragraphs are also
split after a line that ends a sentence well short of the page's usual line
width (the last line of a paragraph). Tables stay one block per run.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from ingest.document import Block, Document
from ingest.errors import FileErrorKind, LoadError
from ingest.loaders import LoadLimits, pdf_headings
from ingest.loaders.text import clean_text, paragraph_blocks

_log = logging.getLogger(__name__)
_LIGATURES = str.maketrans({
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st",
})
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
# pyproject asks for pypdf[crypto]; without it AES files cannot be read at all.
_NO_AES = "reading AES-encrypted PDFs needs the 'cryptography' package"
# Count limits that legitimate large filings exceed (MSFT 10-Qs hit the array
# limit). Decompression limits are not raised: those guard against bombs.
_COUNT_LIMITS = (
    "array_maximum_element_count",
    "dictionary_maximum_element_count",
    "stream_parsing_work_maximum_count",
    "xform_maximum_invocations_per_extraction",
)


def load_pdf(path: Path, limits: LoadLimits) -> Document:
    from pypdf.errors import LimitReachedError

    from ingest.loaders import pdf_speedups

    # Most of pypdf's extraction time is its byte-at-a-time content-stream tokenizer and
    # its per-operator text bookkeeping; the drop-ins give identical operations and text
    # and are only installed on verified pypdf versions.
    pdf_speedups.install()
    try:
        return _load(path, limits, raised=False)
    except LimitReachedError:
        pass
    # Hit while opening the file (xref, page tree): retry it all, raised.
    try:
        with _raised_limits(limits):
            doc = _load(path, limits, raised=True)
    except LimitReachedError as exc:
        detail = f"beyond pypdf safety limits even raised x{limits.pdf_limit_factor}: {exc}"
        raise LoadError(FileErrorKind.CORRUPT, detail) from exc
    doc.warnings.insert(0, "opened with raised pypdf safety limits")
    return doc


def _raised_limits(limits: LoadLimits) -> Any:
    """Context manager: pypdf limits x factor, restored on exit (a ContextVar)."""
    from pypdf import apply_configuration, get_configuration

    current = get_configuration()
    return apply_configuration(**{name: getattr(current, name) * limits.pdf_limit_factor for name in _COUNT_LIMITS})


def _load(path: Path, limits: LoadLimits, raised: bool) -> Document:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, EmptyFileError, FileNotDecryptedError, LimitReachedError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            # An owner-password-only file opens with the empty user password.
            raise LoadError(FileErrorKind.ENCRYPTED)
        page_count = len(reader.pages)
    except DependencyError as exc:
        raise LoadError(FileErrorKind.INTERNAL, _NO_AES) from exc
    except EmptyFileError as exc:
        raise LoadError(FileErrorKind.EMPTY) from exc
    except FileNotDecryptedError as exc:
        raise LoadError(FileErrorKind.ENCRYPTED) from exc
    if page_count > limits.max_pages:
        raise LoadError(FileErrorKind.TOO_LARGE, f"{page_count} pages > {limits.max_pages}")

    texts: list[tuple[int, str]] = []
    found: dict[int, list[Any]] = {}  # page -> its tables (pdf_tables.FoundTable), in text order
    warnings: list[str] = []
    failed: list[int] = []
    first_error = ""
    for index in range(page_count):
        page_no = index + 1
        try:
            try:
                text, tables = _page_text(reader, index)
            except LimitReachedError:
                if raised:  # already raised for the whole file: do not compound
                    raise
                # Lazily parsed objects are not cached on failure, so the retry
                # re-parses this page under the raised limits.
                with _raised_limits(limits):
                    text, tables = _page_text(reader, index)
        except MemoryError:
            raise
        except FileNotDecryptedError as exc:
            raise LoadError(FileErrorKind.ENCRYPTED) from exc
        except DependencyError as exc:
            raise LoadError(FileErrorKind.INTERNAL, _NO_AES) from exc
        except Exception as exc:  # one bad page must not lose the document
            failed.append(page_no)
            first_error = first_error or f"{type(exc).__name__}: {exc}"[:200]
            continue
        texts.append((page_no, text or ""))
        found[page_no] = tables

    running = pdf_headings.running_lines([_clean(t) for _, t in texts])
    blocks: list[Block] = []
    previous, previous_page = None, 0  # the last table before: a headerless one may continue it
    for page_no, text in texts:
        pos = 0
        for t in found[page_no]:
            table = t.table
            # The text above a table reads on into it: its last line is a heading over it.
            blocks += _page_blocks(_clean(text[pos:t.start]), page_no, running, after=table.text.split("\n")[0])
            # A caption that reads as a section heading stays one for the text below the table.
            if table.caption and (level := pdf_headings.heading_level(table.caption, "", running)):
                blocks.append(Block(table.caption, page=page_no, heading_level=level))
            if _continues(table, previous, first=t is found[page_no][0] and previous_page == page_no - 1):
                assert previous is not None
                table = table.with_header_of(previous)
            blocks.append(Block(table.text, page=page_no, table=table))
            previous, previous_page, pos = table, page_no, t.end
        blocks += _page_blocks(_clean(text[pos:]), page_no, running)
    if failed and len(failed) == page_count:
        raise LoadError(FileErrorKind.CORRUPT, f"no page could be read ({first_error})")
    if failed:
        shown = ", ".join(map(str, failed[:20])) + (" …" if len(failed) > 20 else "")
        warnings.append(f"skipped {len(failed)} unreadable page(s): {shown} ({first_error})")
    if page_count and not blocks:
        warnings.append(f"none of the {page_count} pages has a text layer")
    return Document(path=path, kind="pdf", blocks=blocks, page_count=page_count, title=_title(reader),
                    warnings=warnings)


def _continues(table: Any, previous: Any, first: bool) -> bool:
    """A table runs on from the previous page: the first on its page (`first`: and that
    page's last was before it), as wide, with no caption, units or header of its own."""
    return (first and previous is not None and previous.width == table.width
            and not (table.has_header or table.caption or table.units))


def _clean(text: str) -> str:
    return unspaced(clean_text(text.translate(_LIGATURES)))


def _page_text(reader: Any, index: int) -> tuple[str, list[Any]]:
    """One page's plain text and the tables found in it (pdf_tables); a page the drop-ins
    fail on is read again by stock pypdf. A page whose tables cannot be recovered is
    plain text, and the log says which page."""
    from ingest.loaders.pdf_lines import Collector
    from ingest.loaders.pdf_tables import find_tables

    collector = Collector(lambda t: clean_text(t.translate(_LIGATURES)))
    text = _extract(reader, index, collector)
    if collector.rotated > len(collector.pieces):
        return text, []  # a rotated page: its "rows" run down the page
    try:
        return text, find_tables(collector.pieces, text)
    except Exception:  # noqa: BLE001 - a table that breaks recovery stays plain text
        _log.warning("page %d: table recovery failed; kept as plain text", index + 1, exc_info=True)
        return text, []


def _extract(reader: Any, index: int, visitor: Any) -> str:
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    from ingest.loaders import pdf_speedups

    try:
        text: str = reader.pages[index].extract_text(visitor_text=visitor)
        return text
    except (MemoryError, LimitReachedError, FileNotDecryptedError, DependencyError):
        raise  # not the drop-ins' doing: stock pypdf would fail the same way
    except Exception:
        fast = pdf_speedups.active()
        if not (fast.tokenizer or fast.text):
            raise
        _log.warning("page %d: pypdf drop-in failed; read again with stock pypdf", index + 1,
                     exc_info=True)
        visitor.reset()  # start again: the failed pass left pieces
        with pdf_speedups.stock():
            text = reader.pages[index].extract_text(visitor_text=visitor)
            return text


def _page_blocks(text: str, page_no: int, running: frozenset[str] = frozenset(), after: str = "") -> list[Block]:
    """`after`: the line that follows `text` on the page (a table's first line)."""
    lines = text.split("\n")
    lengths = sorted(len(line.strip()) for line in lines if line.strip())
    if not lengths:
        return []
    # A paragraph's last line is visibly shorter than the column; 90th
    # percentile approximates the column width without outliers.
    width = max(lengths[min(len(lengths) - 1, int(len(lengths) * 0.9))], 64)
    blocks: list[Block] = []
    split: list[str] = []
    # one level more than lines when `after` is given
    levels = pdf_headings.page_headings([*lines, after] if after else lines, running)
    for line, level in zip(lines, levels, strict=False):
        stripped = line.strip()
        if level:
            blocks += paragraph_blocks(split, page=page_no)
            split = []
            blocks.append(Block(stripped, page=page_no, heading_level=level))
            continue
        split.append(line)
        if stripped and _SENTENCE_END.search(stripped) and len(stripped) < 0.8 * width:
            split.append("")
    return blocks + paragraph_blocks(split, page=page_no)


_GAP = re.compile(r" {2,}| ?[\u2006\u2009\u200a] ?")  # between words: a wide gap or a thin space
_LETTER_GAP = re.compile(r"(?<=\w) (?=\w)")


def unspaced(text: str) -> str:
    """Letter-spaced runs joined: pypdf reads text set with wide character spacing as
    "l a u n c h e d  t h e", which no search matches. A line is letter-spaced when most
    of its tokens are one character and words are set apart by wider gaps."""
    if "  " not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        tokens = line.split()
        if len(tokens) >= 8 and "  " in line and sum(len(t) == 1 for t in tokens) >= 0.7 * len(tokens):
            lines[i] = " ".join(_LETTER_GAP.sub("", w) for w in _GAP.split(line.strip()))
    return "\n".join(lines)


def _title(reader: Any) -> str | None:
    try:
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except Exception:  # broken /Info must not fail an otherwise fine file
        return None
    title = " ".join(str(title).split()) if title else ""
    return title or None
