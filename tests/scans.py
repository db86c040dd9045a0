"""Scans made from real pages: PDF pages rendered to grey images (no text layer), saved as
image files or wrapped as image-only PDFs. Used by tests/ingest/test_ocr.py and the OCR
benchmark. Rendering is QtPdf's, without a QGuiApplication, as a scanner would give."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def render_pages(pdf: Path, pages: list[int], dpi: int = 200) -> list[Any]:
    """1-based `pages` of `pdf` as grey PIL images on white."""
    import numpy as np
    from PIL import Image
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QImage
    from PySide6.QtPdf import QPdfDocument

    doc = QPdfDocument()
    assert doc.load(str(pdf)) == QPdfDocument.Error.None_, pdf
    out = []
    for page in pages:
        size = doc.pagePointSize(page - 1)
        w, h = int(size.width() * dpi / 72), int(size.height() * dpi / 72)
        image = doc.render(page - 1, QSize(w, h)).convertToFormat(QImage.Format.Format_RGBA8888)
        rgba = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(h, -1)[:, : w * 4]
        on_white = Image.alpha_composite(Image.new("RGBA", (w, h), "white"),
                                         Image.fromarray(rgba.reshape(h, w, 4).copy(), "RGBA"))
        out.append(on_white.convert("L"))
    doc.close()
    return out


def image_pdf(dest: Path, images: list[Any], dpi: int = 200) -> Path:
    """An image-only PDF: one page per image, no text layer (what a scanner writes)."""
    first, *rest = [im.copy() for im in images]
    first.save(dest, save_all=True, append_images=rest, resolution=dpi)
    return dest


def text_pdf(dest: Path, pages: list[list[str]]) -> Path:
    """A born-digital PDF of `pages` (lines each), large enough type to read at 150 dpi."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=13)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 8, line)
            pdf.ln(2)
    pdf.output(str(dest))
    return dest
