"""A scan's lines and boxes kept in the manifest at indexing (ingest/scan_lines.py): stored
per page with the bytes they were read from, read back by path, replaced on re-index."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from ingest import scan_lines
from ingest.document import Block, Document, page_texts
from ingest.manifest import FileRecord, FileStatus, Manifest


def _doc(path: Path) -> Document:
    return Document(path, "pdf", page_count=3, blocks=[
        Block("Typed heading", page=1, heading_level=1),  # a born-digital page: not a scan
        Block("Monthly rent is 48,215.70 euros", page=2, box=(0.1, 0.2, 0.8, 0.23)),
        Block("   ", page=2, box=(0.1, 0.3, 0.2, 0.31)),  # blank: not in the page text either
        Block("payable on the first working day.", page=2, box=(0.1, 0.25, 0.7, 0.28)),
        Block("Invoice QX-7731-B", page=3, box=(0.05, 0.1, 0.5, 0.12)),
    ])


def test_lines_are_stored_per_scanned_page_and_read_back_by_path_and_bytes(tmp_path):
    m = Manifest(tmp_path / "manifest.sqlite3")
    path = str(tmp_path / "scan.pdf")
    m.put(FileRecord("f1", path, 10, 1, "sha-a", FileStatus.INDEXED))
    doc = _doc(Path(path))
    assert scan_lines.record(m.db, "f1", "sha-a", doc) == 2
    pages = scan_lines.load(m.db, path, "sha-a")
    assert set(pages) == {2, 3}
    # The stored text is the text the chunker measures spans in, line by line.
    assert pages[2].text() == page_texts(doc.blocks)[2]
    (a, b, first), (c, d, second) = pages[2].line_ranges()
    assert pages[2].text()[a:b] == first.text and pages[2].text()[c:d] == second.text
    assert second.box == (0.1, 0.25, 0.7, 0.28)
    assert set(scan_lines.load(m.db, path, "sha-a", [3, 9])) == {3}
    assert scan_lines.load(m.db, path, "sha-b") == {}  # other bytes: nothing
    assert scan_lines.load(m.db, str(tmp_path / "other.pdf"), "") == {}
    # Re-indexed without scans (OCR turned off): the old lines go.
    assert scan_lines.record(m.db, "f1", "sha-b", Document(Path(path), "pdf", [Block("x", page=1)])) == 0
    assert scan_lines.load(m.db, path, "") == {}
    m.close()


def test_a_page_that_mixes_read_lines_with_other_text_is_not_stored():
    blocks = [Block("read", page=1, box=(0, 0, 1, 0.1)), Block("typed", page=1),
              Block("read", page=2, box=(0, 0, 1, 1))]
    assert [p.page for p in scan_lines.pages_of(blocks)] == [2]


def test_a_manifest_without_the_table_reads_as_no_lines(tmp_path):
    db = sqlite3.connect(tmp_path / "old.sqlite3")
    db.execute("CREATE TABLE files (file_id TEXT, path TEXT)")
    assert scan_lines.load(db, "/x.pdf", "sha") == {}
