"""Section headings found in a PDF's extracted text (ingest/loaders/pdf_headings.py), letter-spaced runs joined."""
from __future__ import annotations

from pathlib import Path

from ingest.loaders.pdf_headings import page_headings, running_lines

PROSE = "Inventories consist of raw materials, work in process and finished goods held for sale."


def _levels(lines: list[str], running: frozenset[str] = frozenset()) -> dict[str, int]:
    return {ln: lvl for ln, lvl in zip(lines, page_headings(lines, running), strict=True) if ln.strip()}


def test_titles_over_text_are_headings_and_sentences_rows_and_forms_are_not():
    lines = ["CONDENSED CONSOLIDATED BALANCE SHEETS (Unaudited)", "(In millions)",
             "Total assets $ 352,583 $ 346,747", "", "Note 4 – Inventories", PROSE,
             "The Company repurchased shares.", "Signature 47", "Yes  ☒     No  ☐",
             "Share Repurchase Program", "Operating Lease", PROSE]
    assert _levels(lines) == {
        "CONDENSED CONSOLIDATED BALANCE SHEETS (Unaudited)": 1,  # ALL CAPS: no text needed under it
        "(In millions)": 0, "Total assets $ 352,583 $ 346,747": 0,
        "Note 4 – Inventories": 2, PROSE: 0,
        "The Company repurchased shares.": 0,  # a sentence
        "Signature 47": 0,  # a contents entry
        "Yes  ☒     No  ☐": 0,  # a form's check boxes
        "Share Repurchase Program": 2, "Operating Lease": 2}  # a heading over a heading over text


def test_stacked_column_headers_are_not_headings():
    header = ["Amortized", "Cost", "Unrealized", "Gain", "Estimated Fair", "Value",
              "Cash $ 1,200 $ 1,300 $ 4 $ 1,196"]
    assert set(_levels(header).values()) == {0}
    three = ["Common Stock Outstanding", "Additional Paid-in Capital", "Retained Earnings", PROSE]
    assert set(_levels(three).values()) == {0}  # three Title Case lines in a row: a column header
    over_dates = ["Three Months Ended Nine Months Ended", "July 1, 2023 June 25, 2022 July 1, 2023"]
    assert set(_levels(over_dates).values()) == {0}


def test_one_word_is_a_heading_only_over_text():
    assert _levels(["Americas", "Americas net sales decreased during the third quarter."])["Americas"] == 2
    assert _levels(["Americas", "$ 35,383 $ 37,472 (6)%"])["Americas"] == 0


def test_running_headers_are_not_headings():
    pages = [f"Table of Contents\nPage {n} text of the report goes here and on." for n in range(1, 6)]
    running = running_lines(pages)
    assert "table of contents" in running and "page # text of the report goes here and on." in running
    assert _levels(["Table of Contents", PROSE], running)["Table of Contents"] == 0
    assert running_lines(pages[:2]) == frozenset()  # too few pages to tell


def test_a_generated_pdf_gets_its_headings_and_its_chunks_carry_them(tmp_path: Path, embedder):
    from ingest.chunker import Chunker
    from ingest.loaders import load_document
    from tests.ingest.test_loaders import make_pdf

    body = " ".join(f"The board approved buyback tranche {i} of the plan in the quarter." for i in range(8))
    path = make_pdf(tmp_path / "report.pdf", [["Share Repurchase Program", body],
                                               ["Litigation", "A supplier sued the company over late payments."]])
    doc = load_document(path)
    assert [(b.text, b.page, b.heading_level) for b in doc.blocks if b.heading_level] == [
        ("Share Repurchase Program", 1, 2), ("Litigation", 2, 2)]
    assert "Share Repurchase Program" in doc.page_texts()[1]  # the viewer's page text keeps it
    chunks = Chunker(embedder.tokenizer, chunk_tokens=64, overlap=16).chunk(doc)
    first = [c for c in chunks if c.page_start == 1]
    assert first and all(c.heading.endswith("Share Repurchase Program") for c in first)
    assert any(c.heading.endswith("Litigation") and c.page_start == 2 for c in chunks)
    pages = doc.page_texts()
    for c in chunks:  # every span still points at the chunk's own text on its page
        for s in c.spans:
            assert " ".join(pages[s.page][s.start:s.end].split()) in " ".join(c.body.split())


def test_a_real_10q_gets_its_notes_and_sections(sec_docs: Path):
    from ingest.loaders import load_document

    doc = load_document(sec_docs / "2023 Q3 AAPL.pdf")
    headings = {(b.text, b.page) for b in doc.blocks if b.heading_level}
    assert {("Share Repurchase Program", 14), ("Note 6 – Debt", 14), ("Gross Margin", 20)} <= headings
    assert ("CONDENSED CONSOLIDATED BALANCE SHEETS (Unaudited)", 6) in headings
    noise = ("Yes", "Table of Contents", "2022", "Three Months", "July")
    assert not [text for text, _ in headings if text.startswith(noise)]



def test_letter_spaced_text_is_read_as_words():
    from ingest.loaders.pdf import unspaced

    spaced = "▪ D C A I  l a u n c h e d  t h e  4 t h \u2006 G e n  X e o n  p r o c e s s o r s"
    assert unspaced(spaced) == "▪ DCAI launched the 4th Gen Xeon processors"
    table = "Total  1,200  1,300\nA B C  and so on"
    assert unspaced(table) == table  # column gaps and a few letters are left as they are


def test_a_real_10q_page_set_letter_spaced_is_searchable(sec_docs: Path):
    from ingest.loaders import load_document

    page = load_document(sec_docs / "2023 Q1 INTC.pdf").page_texts()[5]
    assert "DCAI launched the 4th Gen Intel" in page and "l a u n c h e d" not in page
