"""Generate real documents of each supported format for tests."""
from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def make_docx(path: Path, heading: str, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(heading, level=1)
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def make_mixed_folder(folder: Path) -> dict[str, Path]:
    """One file of each format, each with a distinctive fact."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "txt": folder / "lighthouse.txt",
        "md": folder / "garden.md",
        "html": folder / "bakery.html",
        "docx": folder / "contract.docx",
        "pdf": folder / "manual.pdf",
    }
    files["txt"].write_text(
        "The Skerry lighthouse keeper logged 212 ships passing in October.\n\n"
        "Fog horns sounded on nine nights that month.\n", encoding="utf-8")
    files["md"].write_text(
        "# Garden plan\n\n## Tomatoes\n\nPlant the San Marzano tomatoes 60 cm apart in May.\n\n"
        "## Beans\n\nRunner beans climb the hazel poles on the east fence.\n", encoding="utf-8")
    files["html"].write_text(
        "<html><head><title>Bakery</title><script>var secret='SCRIPTJUNK';</script></head><body>"
        "<h1>Opening hours</h1><p>The Crumb bakery opens at 6:30 every weekday.</p></body></html>",
        encoding="utf-8")
    make_docx(files["docx"], "Lease terms",
              ["The tenant pays a deposit of 2,400 euros before moving in.",
               "The lease of the flat on Quay Street runs for 18 months."])
    filler = " ".join(f"Safety note {i}: keep the unit dry and unplugged." for i in range(12))
    make_pdf(files["pdf"], [
        "Chapter 1. Unpacking. Remove the Zephyr 9 pump from its box. " + filler,
        "Chapter 2. Maintenance. Replace the Zephyr filter cartridge every 90 days. " + filler,
    ])
    return files
