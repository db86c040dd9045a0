"""Regenerate the committed packaging assets: the self-test sample PDF and the app icon.

Run once by hand (`python packaging/make_assets.py`) when their content changes; the build
only reads the committed files, so it needs neither fpdf2 nor Qt.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PDF = REPO / "resources" / "samples" / "lighthouse-log.pdf"
ICON_SVG = REPO / "resources" / "icons" / "docent.svg"
ICON_PNG = REPO / "resources" / "icons" / "docent.png"

# A fact found only in this file, so the self-test can tell whether retrieval found it.
PAGES = [
    "Corran Point lighthouse: keeper's log\n\n"
    "The lighthouse on Corran Point was first lit on 9 October 1871. Its lamp stands "
    "24 metres above high water and is visible for 18 nautical miles in clear weather.\n\n"
    "The fog signal sounds two blasts every 30 seconds.",
    "Maintenance\n\nThe lens was cleaned every morning at seven. The keepers painted the "
    "tower white with a single red band in the summer of 1902.",
]


def make_pdf() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creator("Docent")
    pdf.set_producer("Docent")
    pdf.set_creation_date(__import__("datetime").datetime(2026, 1, 1))  # reproducible bytes
    pdf.set_font("Helvetica", size=12)
    for text in PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(SAMPLE_PDF))


SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <rect x="8" y="8" width="240" height="240" rx="48" fill="#1f4e79"/>
  <path d="M72 52h72l40 40v112H72z" fill="#ffffff"/>
  <path d="M144 52v40h40z" fill="#c9d8ea"/>
  <rect x="92" y="112" width="72" height="10" rx="5" fill="#1f4e79"/>
  <rect x="92" y="136" width="72" height="10" rx="5" fill="#1f4e79"/>
  <rect x="92" y="160" width="48" height="10" rx="5" fill="#1f4e79"/>
  <circle cx="176" cy="180" r="30" fill="none" stroke="#f2b134" stroke-width="12"/>
  <path d="M198 202l26 26" stroke="#f2b134" stroke-width="14" stroke-linecap="round"/>
</svg>
"""


def make_icon() -> None:
    ICON_SVG.write_text(SVG, encoding="utf-8")
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    image = QImage(256, 256, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(QByteArray(SVG.encode())).render(painter)
    painter.end()
    image.save(str(ICON_PNG), "PNG")
    del app


if __name__ == "__main__":
    make_pdf()
    make_icon()
    print(SAMPLE_PDF, SAMPLE_PDF.stat().st_size, ICON_PNG, ICON_PNG.stat().st_size)
