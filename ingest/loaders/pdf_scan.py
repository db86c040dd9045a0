"""Scanned pages of a PDF: which pages need OCR, and their images.

A page is read by OCR when it carries a page-sized image and its text layer is missing,
nearly empty (a scanner's page stamp) or garbage (a broken invisible layer). Born-digital
pages are never rendered: the check reads only the text pypdf already extracted, and
opens the file again only when some page came out (nearly) empty.

Pages are rendered by QtPdf (pdfium, in the PySide6-Pdf wheel Docent ships) to a grey
image at 200 dpi. QtPdf renders without a QGuiApplication, so this works in the
headless parser worker; no Qt widget is involved. Where PySide6 is not installed, the
page's largest embedded image is used instead (a scan is one image per page).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.document import Document
from ingest.errors import FileErrorKind, LoadError
from ingest.loaders.ocr import PageImage, read_pages

_DPI = 200
_MAX_RENDER_SIDE = 4000  # px: a poster-sized page is rendered smaller than 200 dpi
_MIN_TEXT_CHARS = 30  # letters and digits: fewer is a stamp or a page number, not a text layer
_MIN_IMAGE_PIXELS = 300 * 300  # smaller images are logos and signatures, not scans
_WORD = re.compile(r"[A-Za-z]+")
_VOWELS = frozenset("aeiouyAEIOUY")
_NO_LAYER_WARNING = re.compile(r"^none of the \d+ pages has a text layer$")


def load_pdf_with_ocr(path: Path, limits: Any) -> Document:
    """pypdf's text, then OCR of the pages that have none worth keeping."""
    from ingest.loaders.pdf import load_pdf

    doc = load_pdf(path, limits)
    if not limits.ocr or not doc.page_count:
        return doc
    texts = doc.page_texts()
    suspects = [p for p in range(1, doc.page_count + 1) if not usable_text(texts.get(p, ""))]
    if not suspects:
        return doc
    scans = scanned_pages(path, suspects)
    if not scans:
        return doc
    if len(scans) > limits.ocr_max_pages:
        doc.warnings.append(f"only the first {limits.ocr_max_pages} of {len(scans)} scanned pages were read "
                            "by OCR (ocr_max_pages)")
        scans = scans[: limits.ocr_max_pages]
    outcome = read_pages(_page_images(path, scans), len(scans), limits.ocr_languages)
    replaced = set(scans)
    kept = [b for b in doc.blocks if b.page not in replaced]
    doc.blocks = sorted(kept + outcome.blocks, key=lambda b: b.page or 0)  # stable: each page's order kept
    doc.warnings = [w for w in doc.warnings if not _NO_LAYER_WARNING.match(w)] + outcome.warnings
    doc.warnings.append(f"{outcome.pages_read} scanned page(s) read by OCR")
    return doc


def usable_text(text: str) -> bool:
    """Whether a page's extracted text is worth indexing as it is."""
    alnum = sum(ch.isalnum() for ch in text)
    if alnum < _MIN_TEXT_CHARS:
        return False
    bad = sum(ch == "\ufffd" or unicodedata.category(ch) in ("Co", "Cn", "Cc") for ch in text if ch not in "\n\t")
    if bad > 0.2 * len(text):
        return False
    words = _WORD.findall(text)
    if len(words) >= 20 and sum(len(text) for text in words) > 0.5 * alnum:
        # Mostly Latin letters: most words of a real text layer have a vowel and are not
        # absurdly long; a layer decoded with the wrong font map is consonant soup.
        plausible = sum(1 for w in words if len(w) <= 20 and (_VOWELS & set(w) or len(w) <= 3))
        if plausible < 0.6 * len(words):
            return False
    return True


def scanned_pages(path: Path, pages: list[int]) -> list[int]:
    """Those of `pages` (1-based) that draw a large image: candidates for OCR."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")
    found = []
    for page_no in pages:
        try:
            if _largest_image(reader.pages[page_no - 1].get("/Resources"), depth=0) >= _MIN_IMAGE_PIXELS:
                found.append(page_no)
        except Exception:  # a damaged resource dictionary: not a page we can say is a scan
            continue
    return found


def _largest_image(resources: Any, depth: int) -> int:
    """Pixels of the largest image XObject in `resources`, through nested forms."""
    if resources is None or depth > 4:
        return 0
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return 0
    best = 0
    for ref in xobjects.get_object().values():
        obj = ref.get_object()
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            best = max(best, int(obj.get("/Width", 0)) * int(obj.get("/Height", 0)))
        elif subtype == "/Form":
            best = max(best, _largest_image(obj.get("/Resources"), depth + 1))
    return best


def _page_images(path: Path, pages: list[int]) -> Iterator[tuple[int, PageImage]]:
    try:
        from PySide6.QtPdf import QPdfDocument  # noqa: F401 (only whether QtPdf is here)
    except ImportError:
        yield from _embedded_images(path, pages)
        return
    document = _open_qtpdf(path)
    try:
        for page_no in pages:
            yield page_no, (lambda n=page_no: _render(document, n - 1))
    finally:
        document.close()


def _open_qtpdf(path: Path) -> Any:
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument()
    error = document.load(str(path))
    if error != QPdfDocument.Error.None_:
        name = getattr(error, "name", str(error))
        if name == "IncorrectPassword":
            raise LoadError(FileErrorKind.ENCRYPTED)
        raise LoadError(FileErrorKind.CORRUPT, f"the page renderer could not open it ({name})")
    return document


def _render(document: Any, index: int) -> Any:
    """Page `index` as a grey PIL image on white, at _DPI."""
    import numpy as np
    from PIL import Image
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QImage

    size = document.pagePointSize(index)
    scale = min(_DPI / 72, _MAX_RENDER_SIDE / max(size.width(), size.height(), 1))
    width, height = max(1, int(size.width() * scale)), max(1, int(size.height() * scale))
    image = document.render(index, QSize(width, height))
    if image.isNull():
        raise RuntimeError("the page could not be rendered")
    image = image.convertToFormat(QImage.Format.Format_ARGB32)  # BGRA in memory, not premultiplied
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(height, -1)
    bgra = rows[:, : width * 4].reshape(height, width, 4).astype(np.float32)
    grey = bgra[..., 2] * 0.299 + bgra[..., 1] * 0.587 + bgra[..., 0] * 0.114
    alpha = bgra[..., 3] / 255.0
    return Image.fromarray(np.clip(grey * alpha + 255.0 * (1.0 - alpha), 0, 255).astype(np.uint8))


def _embedded_images(path: Path, pages: list[int]) -> Iterator[tuple[int, PageImage]]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")

    def largest(index: int) -> Any:
        images = list(reader.pages[index].images)
        if not images:
            raise RuntimeError("the page's image could not be decoded")
        return max((img.image for img in images), key=lambda im: im.size[0] * im.size[1])

    for page_no in pages:
        yield page_no, (lambda n=page_no: largest(n - 1))
