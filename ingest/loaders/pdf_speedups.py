"""The two pypdf drop-ins as one switch: install, probe, report, and step aside for a page.

Both are optional speed-ups over stock pypdf with identical output, installed
only on pypdf versions they were verified on. When one raises on a page, that
page is read again by stock pypdf (`stock()`), so a drop-in bug can cost time
but never text.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class FastPaths:
    pypdf: str  # the pypdf version in use
    tokenizer: bool  # pdf_fastparse: content-stream tokenizer
    text: bool  # pdf_fasttext: text-extraction state machine

    @property
    def all_active(self) -> bool:
        return self.tokenizer and self.text


def install() -> FastPaths:
    """Install both where verified (idempotent) and say which are active."""
    import pypdf

    from ingest.loaders import pdf_fastparse, pdf_fasttext

    return FastPaths(pypdf.__version__, pdf_fastparse.install(), pdf_fasttext.install())


def probe() -> FastPaths:
    """What install() would report here, found without installing anything: pypdf stays
    as it is. For a status read in a process that does not parse PDFs itself (its parser
    workers install() before their first page)."""
    import pypdf

    from ingest.loaders import pdf_fastparse, pdf_fasttext

    return FastPaths(pypdf.__version__, pdf_fastparse.available(), pdf_fasttext.available())


def active() -> FastPaths:
    import pypdf

    from ingest.loaders import pdf_fastparse, pdf_fasttext

    return FastPaths(pypdf.__version__, pdf_fastparse.active(), pdf_fasttext.active())


@contextmanager
def stock() -> Iterator[None]:
    """Stock pypdf inside the block; the drop-ins that were active come back after."""
    from ingest.loaders import pdf_fastparse, pdf_fasttext

    was = active()
    pdf_fastparse.uninstall()
    pdf_fasttext.uninstall()
    try:
        yield
    finally:
        if was.tokenizer:
            pdf_fastparse.install()
        if was.text:
            pdf_fasttext.install()
