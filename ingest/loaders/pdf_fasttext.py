"""Faster drop-in for pypdf's text-extraction state machine (``TextExtraction``).

With the tokenizer replaced (pdf_fastparse), most of ``extract_text()`` is
pypdf's per-operator bookkeeping: every Tj/Td/Tm/T* multiplies two matrices
twice, builds ``output + text`` to read one character, and re-measures each
glyph's width through three function calls. This subclass computes the same
values with the same float expressions in the same order, so the text is
identical, but:

- the previous position's matrix product (and its scales) is remembered
  instead of being recomputed from the copies it was made from;
- the last character is read from ``text`` or ``output`` without joining them;
- glyph widths and the ToUnicode mapping are looked up in per-font tables,
  summed left to right as pypdf does (``functools.reduce``, not ``sum``, whose
  float algorithm changed in Python 3.12).

Anything off the common path (right-to-left text, custom RTL ranges, a font
whose tables are not plain) goes to pypdf's own functions. Installed only for
``VERIFIED_VERSIONS``; pypdf stays the PDF library.
"""
from __future__ import annotations

import logging
from typing import Any

import pypdf

# Checked against stock pypdf on these versions (tests/ingest/test_pdf_fasttext.py):
# 7.1.1 changed nothing in text extraction.
VERIFIED_VERSIONS = ("7.1.0", "7.1.1")
_log = logging.getLogger(__name__)
_stock: Any = None  # pypdf's own TextExtraction, once install() has looked


def extraction_class() -> type:
    """FastTextExtraction (imports pypdf's private modules: call after the version check)."""
    from ingest.loaders.pdf_fasttext_impl import FastTextExtraction

    return FastTextExtraction


def install() -> bool:
    """Use FastTextExtraction in pypdf's extract_text if this pypdf was verified; idempotent.

    False (stock pypdf stays) on any other version, or when a private name it
    mirrors cannot be imported."""
    global _stock  # noqa: PLW0603
    if pypdf.__version__ not in VERIFIED_VERSIONS:
        return False
    try:
        import pypdf._page as page

        fast = extraction_class()
        if _stock is None:
            from pypdf._text_extraction._text_extractor import TextExtraction

            _stock = TextExtraction
    except Exception as exc:  # noqa: BLE001 - any failure means: keep stock pypdf
        _log.warning("pypdf %s: fast text extraction off (%s)", pypdf.__version__, exc)
        return False
    page.TextExtraction = fast  # type: ignore[misc, assignment]  # the patch: pypdf 7.1.x has no hook for it
    return True


def available() -> bool:
    """What install() would return, found without patching pypdf (a status read)."""
    if pypdf.__version__ not in VERIFIED_VERSIONS:
        return False
    try:
        import pypdf._page as _page  # noqa: F401 - the module install() patches
        from pypdf._text_extraction._text_extractor import TextExtraction  # noqa: F401

        extraction_class()
    except Exception:  # noqa: BLE001 - any failure means: install() would keep stock pypdf
        return False
    return True


def active() -> bool:
    import pypdf._page as page

    return _stock is not None and page.TextExtraction is not _stock


def uninstall() -> None:
    """Restore pypdf's own TextExtraction."""
    if _stock is not None:
        import pypdf._page as page

        page.TextExtraction = _stock  # type: ignore[misc]  # restores the stock class (see install)
