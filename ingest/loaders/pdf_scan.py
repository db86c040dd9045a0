"""Scanned pages of a PDF: which pages need OCR, and their images.

A page is read by OCR when it carries a page-sized image and its text layer is missing,
nearly empty (a scanner's page stamp) or garbage (a broken invisible layer). Born-digital
pages are never rendered: the check reads only the text pypdf already extracted, and
opens the file again only when some page came out (nearly) empty.

A scanned page is one image; that image, decoded by pypdf and Pillow, is what OCR reads
(turned as the page's /Rotate turns it). Rendering the page instead (QtPdf's pdfium) is not
possible in the parser worker: pdfium reserves gigabytes of address space up front and
aborts (SIGTRAP) under the worker's memory cap. Limits: a page scanned as several strips
is read from its largest strip only; text drawn as vector art over the scan is not read.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.document import Document
from ingest.loaders.ocr import PageImage, read_pages

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
    outcome = read_pages(_page_images(path, scans, limits), len(scans), limits.ocr_languages)
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
    reader = _reader(path)
    found = []
    for page_no in pages:
        try:
            pixels, _ = _largest_image(reader.pages[page_no - 1], depth=0)
        except Exception:  # a damaged resource dictionary: not a page we can say is a scan
            continue
        if pixels >= _MIN_IMAGE_PIXELS:
            found.append(page_no)
    return found


def _reader(path: Path) -> Any:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")  # load_pdf has already refused files this does not open
    return reader


def _largest_image(holder: Any, depth: int) -> tuple[int, list[str]]:
    """(pixels, name path) of the largest image XObject drawn from `holder` (a page or a
    form), through nested forms; the path is what pypdf's `page.images[...]` takes."""
    resources = holder.get("/Resources")
    if resources is None or depth > 4:
        return 0, []
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return 0, []
    best: tuple[int, list[str]] = (0, [])
    for name, ref in xobjects.get_object().items():
        obj = ref.get_object()
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            found = (int(obj.get("/Width", 0)) * int(obj.get("/Height", 0)), [str(name)])
        elif subtype == "/Form":
            pixels, path = _largest_image(obj, depth + 1)
            found = (pixels, [str(name), *path])
        else:
            continue
        best = max(best, found, key=lambda f: f[0])
    return best


def _page_images(path: Path, pages: list[int], limits: Any) -> Iterator[tuple[int, PageImage]]:
    reader = _reader(path)
    for page_no in pages:
        def image(n: int = page_no) -> Any:  # read lazily, when OCR gets to the page
            return _page_image(reader.pages[n - 1], limits)

        yield page_no, image


def _page_image(page: Any, limits: Any) -> Any:
    """The page's scan, upright as the page is shown. Its size is checked before it is
    decoded: a 20,000 x 20,000 px image fails this page, not the worker's memory."""
    pixels, name = _largest_image(page, depth=0)
    if not name:
        raise RuntimeError("the page has no image")
    if pixels > limits.max_image_pixels:
        raise RuntimeError(f"its image has {pixels / 1e6:,.0f} megapixels > {limits.max_image_pixels / 1e6:.0f}")
    image = page.images[name if len(name) > 1 else name[0]].image
    rotation = int(page.get("/Rotate", 0) or 0) % 360
    if rotation:  # /Rotate turns the page clockwise for display; PIL's rotate is anticlockwise
        image = image.rotate(-rotation, expand=True)
    return image
