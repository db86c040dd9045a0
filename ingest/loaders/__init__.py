"""Turn one file into a Document, or raise LoadError saying why not.

`load_document` is the only entry point: it does the cheap checks every format
shares (exists, regular file, size), dispatches by suffix, and converts every
failure into a LoadError so callers handle exactly one exception type.
Parsers are imported lazily so a text-only run never pays for pypdf or docx.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.document import Document
from ingest.errors import FileErrorKind, LoadError

# suffix -> Document.kind. Plain-text formats we do not parse specially are
# still worth indexing as paragraphs.
_KIND_BY_SUFFIX: dict[str, str] = {
    ".pdf": "pdf",
    ".txt": "text", ".text": "text", ".rst": "text", ".csv": "text",
    ".tsv": "text", ".log": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".htm": "html", ".html": "html", ".xhtml": "html",
    ".docx": "docx",
    # Read by OCR (ingest/loaders/ocr.py).
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image", ".tiff": "image",
    ".webp": "image",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_KIND_BY_SUFFIX)


@dataclass(frozen=True)
class LoadLimits:
    """Caps applied before and during parsing. Frozen so it pickles to workers safely."""

    max_bytes: int = 200 * 1024 * 1024
    max_pages: int = 10_000
    # pypdf's default element-count limits (100k) reject some real filings;
    # a file that hits them is retried once with the limits multiplied by this.
    pdf_limit_factor: int = 100
    # OCR of image files and of PDF pages without a usable text layer (Settings: ocr,
    # ocr_languages). A scan's pages beyond ocr_max_pages are left unread, with a warning.
    ocr: bool = True
    ocr_languages: str = "latin"
    ocr_max_pages: int = 2000
    # Each page OCR'd adds this to the parse's time limit (ingest.isolation): reading a
    # page is seconds on a laptop CPU, so a 100-page scan is not stopped as "stuck".
    ocr_page_timeout_s: float = 60.0
    max_image_pixels: int = 150_000_000


def kind_for(path: Path) -> str | None:
    """The Document.kind a path would load as, or None if unsupported."""
    return _KIND_BY_SUFFIX.get(path.suffix.lower())


def load_document(path: Path | str, limits: LoadLimits = LoadLimits()) -> Document:
    """Parse `path`. Raises only LoadError."""
    path = Path(path)
    try:
        doc = _load(path, limits)
    except LoadError:
        raise
    except FileNotFoundError as exc:
        raise LoadError(FileErrorKind.VANISHED, _short(exc)) from exc
    except NotADirectoryError as exc:  # a parent folder was replaced by a file
        raise LoadError(FileErrorKind.VANISHED, _short(exc)) from exc
    except PermissionError as exc:
        raise LoadError(FileErrorKind.UNREADABLE, _short(exc)) from exc
    except MemoryError as exc:
        raise LoadError(FileErrorKind.OUT_OF_MEMORY) from exc
    except RecursionError as exc:  # deeply nested hostile structures
        raise LoadError(FileErrorKind.CORRUPT, "structure nested too deeply") from exc
    except OSError as exc:
        raise LoadError(FileErrorKind.UNREADABLE, _short(exc)) from exc
    except Exception as exc:  # parser libraries raise anything on bad input
        raise LoadError(FileErrorKind.CORRUPT, _short(exc)) from exc

    # Whitespace-only blocks are noise for the chunker; drop them here once.
    doc.blocks = [b for b in doc.blocks if b.text.strip()]
    if not doc.blocks:
        kind = FileErrorKind.NO_TEXT if doc.kind in ("pdf", "image") else FileErrorKind.EMPTY
        raise LoadError(kind, "; ".join(doc.warnings[:3]))
    return doc


def _load(path: Path, limits: LoadLimits) -> Document:
    # os.stat follows symlinks, so a dangling link reports VANISHED.
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise LoadError(FileErrorKind.UNSUPPORTED, "not a regular file")
    kind = kind_for(path)
    if kind is None:
        raise LoadError(FileErrorKind.UNSUPPORTED, f"'{path.suffix or path.name}' files")
    if st.st_size == 0:
        raise LoadError(FileErrorKind.EMPTY)
    if st.st_size > limits.max_bytes:
        raise LoadError(
            FileErrorKind.TOO_LARGE,
            f"{st.st_size / 2**20:.0f} MiB > {limits.max_bytes / 2**20:.0f} MiB",
        )
    return _parser(kind)(path, limits)


def _parser(kind: str) -> Callable[[Path, LoadLimits], Document]:
    if kind == "pdf":
        from ingest.loaders.pdf_scan import load_pdf_with_ocr
        return load_pdf_with_ocr
    if kind == "image":
        from ingest.loaders.ocr import load_image
        return load_image
    if kind == "docx":
        from ingest.loaders.docx import load_docx
        return load_docx
    if kind == "html":
        from ingest.loaders.html import load_html
        return load_html
    from ingest.loaders.text import load_markdown, load_text
    return load_markdown if kind == "markdown" else load_text


def read_bytes(path: Path, limits: LoadLimits) -> bytes:
    """Read a whole file, re-checking size: it may have grown since the stat."""
    with open(path, "rb") as fh:
        data = fh.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise LoadError(FileErrorKind.TOO_LARGE, "file grew while being read")
    if not data:
        raise LoadError(FileErrorKind.EMPTY)
    return data


def _short(exc: BaseException, limit: int = 200) -> str:
    """`Type: message`, bounded: details end up in logs and the UI."""
    if isinstance(exc, OSError) and exc.strerror:  # the UI already shows the path
        return exc.strerror
    text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    return text if len(text) <= limit else text[: limit - 1] + "…"
