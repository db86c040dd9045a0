"""OCR of scans: image files and image-only PDF pages, made here from real text with no
text layer left, read back by the real engine (PP-OCRv5 on onnxruntime), in process and
in the parser worker, and found by `docent search`."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from ingest.errors import FileErrorKind, LoadError
from ingest.loaders import LoadLimits, load_document
from ingest.loaders.pdf_scan import usable_text
from tests.scans import image_pdf, render_pages, text_pdf

LEASE = ["Quillfeather Storage Lease Agreement",
         "The warehouse lease at 19 Harrow Quay ends on 14 March 2031.",
         "Monthly rent is 48,215.70 euros, payable on the first working day."]
INVOICE = ["Invoice QX-7731-B from Marlowe Glassworks",
           "Forty tempered panels delivered to the Tidewater site.",
           "Amount due: 12,904.55 by 30 June 2030."]


def _words(lines: list[str]) -> set[str]:
    return {w.strip(".,:").lower() for line in lines for w in line.split()}


def read_share(expected: list[str], got: set[str]) -> float:
    """Share of the distinct words of `expected` that OCR read exactly (the benchmark's
    target is 0.95 of all words: a test page is too short to ask for every one)."""
    want = _words(expected)
    return len(want & got) / len(want)


def words(doc) -> set[str]:  # type: ignore[no-untyped-def]
    return {w.strip(".,:").lower() for b in doc.blocks for w in b.text.split()}


def page_words(doc, page: int) -> set[str]:  # type: ignore[no-untyped-def]
    return {w.strip(".,:").lower() for b in doc.blocks if b.page == page for w in b.text.split()}


@pytest.fixture(scope="module")
def scans(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Two generated pages, rendered at 200 dpi: the lease and the invoice."""
    folder = tmp_path_factory.mktemp("scans")
    return render_pages(text_pdf(folder / "typed.pdf", [LEASE, INVOICE]), [1, 2])


def test_a_png_scan_is_a_document_of_its_lines(tmp_path, scans):
    scans[0].save(tmp_path / "lease.png")
    doc = load_document(tmp_path / "lease.png")
    assert doc.kind == "image" and doc.page_count == 1 and {b.page for b in doc.blocks} == {1}
    assert read_share(LEASE, words(doc)) >= 0.9 and {"2031", "48,215.70"} <= words(doc)
    # Each line is a block, the words of a line kept apart by spaces.
    assert any(b.text.startswith("The warehouse lease at 19 Harrow Quay") for b in doc.blocks)


def test_an_image_only_pdf_is_read_page_by_page(tmp_path, scans):
    doc = load_document(image_pdf(tmp_path / "scan.pdf", scans))
    assert doc.kind == "pdf" and doc.page_count == 2
    assert read_share(LEASE, page_words(doc, 1)) >= 0.9 and "48,215.70" in page_words(doc, 1)
    assert read_share(INVOICE, page_words(doc, 2)) >= 0.9 and {"qx-7731-b", "12,904.55"} <= page_words(doc, 2)
    assert "marlowe" not in page_words(doc, 1) and "warehouse" not in page_words(doc, 2)
    assert "2 scanned page(s) read by OCR" in doc.warnings


def test_only_the_scanned_page_of_a_mixed_pdf_is_read(tmp_path, scans, monkeypatch):
    from pypdf import PdfReader, PdfWriter

    from ingest.loaders import ocr, pdf_scan
    from ingest.loaders.pdf import load_pdf

    typed = text_pdf(tmp_path / "typed.pdf", [LEASE])
    writer = PdfWriter()
    writer.add_page(PdfReader(typed).pages[0])
    writer.add_page(PdfReader(image_pdf(tmp_path / "one.pdf", scans[1:])).pages[0])
    mixed = tmp_path / "mixed.pdf"
    writer.write(mixed)
    read: list[int] = []
    real = pdf_scan.read_pages

    def spy(pages, total, languages):  # type: ignore[no-untyped-def]
        def tap():  # type: ignore[no-untyped-def]
            for page_no, image in pages:
                read.append(page_no)
                yield page_no, image
        return real(tap(), total, languages)

    monkeypatch.setattr(pdf_scan, "read_pages", spy)
    doc = load_document(mixed)
    assert read == [2]  # the born-digital page was never rendered
    assert [b for b in doc.blocks if b.page == 1] == load_pdf(typed, LoadLimits()).blocks
    assert {"qx-7731-b", "12,904.55"} <= page_words(doc, 2)
    assert "1 scanned page(s) read by OCR" in doc.warnings

    def never(*_args):  # type: ignore[no-untyped-def]
        raise AssertionError("a born-digital PDF was sent to OCR")

    monkeypatch.setattr(pdf_scan, "read_pages", never)
    monkeypatch.setattr(ocr, "read_pages", never)
    assert load_document(typed).blocks == load_pdf(typed, LoadLimits()).blocks


def test_a_garbage_text_layer_is_replaced_by_what_ocr_reads(tmp_path, scans):
    from fpdf import FPDF

    scans[0].save(tmp_path / "page.png")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(tmp_path / "page.png"), x=0, y=0, w=210)
    pdf.set_font("Helvetica", size=10)
    pdf.text_mode = 3  # invisible, as a scanner's broken OCR layer is
    for row in range(30):
        pdf.text(10, 10 + row * 8, "Qxvbz Grrtk Pfnmw Zxcvb Lkjhg Trwqp Mnbvc Sdfgh")
    pdf.output(str(tmp_path / "broken-layer.pdf"))
    doc = load_document(tmp_path / "broken-layer.pdf")
    assert read_share(LEASE, page_words(doc, 1)) >= 0.9 and "48,215.70" in page_words(doc, 1)
    assert "qxvbz" not in words(doc)


def test_usable_text_tells_a_text_layer_from_a_stamp_or_garbage():
    prose = "The warehouse lease ends on 14 March 2031 and the rent is payable monthly in advance. " * 3
    assert usable_text(prose)
    assert not usable_text("") and not usable_text("Page 3 of 40")
    assert not usable_text("Qxvbz Grrtk Pfnmw Zxcvb Lkjhg Trwqp Mnbvc Sdfgh " * 5)
    assert not usable_text("\ufffd\ufffd \ue001\ue002\ue003 " * 20)
    assert usable_text("营业收入同比增长百分之十二，净利润为四十五亿元人民币，现金流稳定。" * 2)
    assert usable_text("Revenue 81,797 82,959 293,787 304,182 Cost 45,384 47,074 165,066 171,495")


def test_run_together_capitals_get_their_spaces_back_and_real_words_stay_whole():
    from ingest.loaders.ocr_words import Splitter

    split = Splitter.shared().fix
    assert split("CONDENSEDCONSOLIDATEDSTATEMENTSOFOPERATIONS") == "CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS"
    assert split("PART I. FINANCIALINFORMATION") == "PART I. FINANCIAL INFORMATION"
    assert split("STATEMENTS OFINCOME (Unaudited)") == "STATEMENTS OF INCOME (Unaudited)"
    for word in ("STOCKHOLDERS", "INTANGIBLE", "NONMARKETABLE", "UNAUDITED", "NVIDIA", "INFORMATION"):
        assert split(f"{word} EQUITY") == f"{word} EQUITY"
    assert split("ITEM1. Balance at October31, 2022 in Q3") == "ITEM 1. Balance at October 31, 2022 in Q3"
    assert Splitter({}).fix("FINANCIALINFORMATION ITEM2") == "FINANCIALINFORMATION ITEM 2"  # no dictionary


def test_languages_limit_what_the_recogniser_may_write(scans):
    from ingest.loaders.ocr_engine import OcrEngine

    latin = OcrEngine.shared("latin").read(scans[0]).text
    assert "Harrow Quay" in latin and all(ord(ch) < 0x2300 for ch in latin)
    with pytest.raises(ValueError, match="klingon"):
        OcrEngine("klingon")


# --- bad input -------------------------------------------------------------------------
def _png_header(width: int, height: int) -> bytes:
    """A small PNG that says it is width x height: Pillow reads the size before any pixel."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b""))


def _error(path: Path, limits: LoadLimits = LoadLimits()) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_document(path, limits)
    return info.value


def test_bad_images_fail_alone_with_their_reason(tmp_path, scans):
    (tmp_path / "huge.png").write_bytes(_png_header(20_000, 20_000))
    err = _error(tmp_path / "huge.png")
    assert err.kind == FileErrorKind.TOO_LARGE and "400 megapixels > 150 megapixels" in err.message
    (tmp_path / "big.png").write_bytes(_png_header(12_000, 12_000))  # under Pillow's own cap
    message = _error(tmp_path / "big.png", LoadLimits(max_image_pixels=10**8)).message
    assert "12,000 × 12,000 pixels (144 megapixels) > 100 megapixels" in message
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not a jpeg" * 50)
    assert _error(tmp_path / "junk.jpg").kind == FileErrorKind.CORRUPT
    (tmp_path / "no-frames.tif").write_bytes(b"II*\x00" + struct.pack("<I", 0) + bytes(32))
    assert _error(tmp_path / "no-frames.tif").kind == FileErrorKind.CORRUPT
    scans[0].save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    cut = _error(tmp_path / "cut.png")
    assert cut.kind == FileErrorKind.CORRUPT and "truncated" in cut.message
    from PIL import Image

    Image.new("L", (600, 400), 255).save(tmp_path / "blank.png")
    blank = _error(tmp_path / "blank.png")
    assert blank.kind == FileErrorKind.NO_TEXT and "no text was found in the image" in blank.message


def test_with_ocr_off_scans_say_so(tmp_path, scans):
    off = LoadLimits(ocr=False)
    scans[0].save(tmp_path / "lease.png")
    err = _error(tmp_path / "lease.png", off)
    assert err.kind == FileErrorKind.NO_TEXT and "OCR is turned off" in err.message
    err = _error(image_pdf(tmp_path / "scan.pdf", scans[:1]), off)
    assert err.kind == FileErrorKind.NO_TEXT


# --- in the parser worker, and through search ----------------------------------------
def test_the_worker_gives_a_scan_more_time_per_page_and_reports_it(tmp_path):
    from ingest.isolation import ParserPool
    from tests.ingest.slow_loader import hostile_load

    (tmp_path / "scan.png").write_bytes(b"x")
    seen = []
    # 3 pages of 1.5 s: beyond the file's 1 s, within 1 s + 3 x 20 s.
    with ParserPool(workers=1, timeout_s=1.0, limits=LoadLimits(ocr_page_timeout_s=20.0),
                    load_fn=hostile_load,
                    on_progress=lambda path, page: seen.append((path.name, page.done, page.total))) as pool:
        result = pool.load(tmp_path / "scan.png")
    assert result.ok and [d for _, d, _ in seen] == [0, 1, 2, 3] and {t for _, _, t in seen} == {3}
    with ParserPool(workers=1, timeout_s=1.0, limits=LoadLimits(ocr_page_timeout_s=0.0),
                    load_fn=hostile_load) as pool:
        result = pool.load(tmp_path / "scan.png")
    assert result.error_kind == FileErrorKind.TIMEOUT


@pytest.mark.parametrize("scan_lanes", [1, 0])
def test_files_behind_a_scan_are_parsed_while_it_is_read(tmp_path, scan_lanes):
    """The scan is held at its first page until the file behind it is parsed: with a scan
    lane that file is parsed meanwhile; without one (scan_lanes=0) it waits behind the scan."""
    import concurrent.futures as cf
    import threading

    from ingest.isolation import ParserPool
    from tests.ingest.slow_loader import hostile_load

    (tmp_path / "scan.png").write_text("x")
    (tmp_path / "note.txt").write_text("Kiln firing schedule for the pottery.\n")
    held = threading.Event()
    released: list[bool] = []

    def heard(path, page):  # type: ignore[no-untyped-def]
        if page.done == 0:
            released.append(held.wait(timeout=300))

    with ParserPool(workers=1, timeout_s=120, limits=LoadLimits(ocr_page_timeout_s=20.0),
                    load_fn=hostile_load, on_progress=heard, scan_lanes=scan_lanes) as pool:
        scan, note = pool.submit(tmp_path / "scan.png"), pool.submit(tmp_path / "note.txt")
        if scan_lanes:
            assert note.result(timeout=300).ok and not scan.done()
        else:  # it cannot be parsed while the scan's worker is busy: never done, however long
            with pytest.raises(cf.TimeoutError):
                note.result(timeout=5)
        held.set()
        assert scan.result(timeout=300).ok and note.result(timeout=300).ok
    assert released == [True]


@pytest.mark.slow
def test_indexing_a_scan_reports_its_pages_as_they_are_read(library, tmp_path, scans):
    image_pdf(tmp_path / "scan.pdf", scans)
    heard = []
    report = library.indexer.index_paths([tmp_path / "scan.pdf"], progress=heard.append)
    assert report.indexed == 1 and not report.failures
    pages = [(p.done, p.total) for p in heard if p.phase == "pages"]
    assert pages == [(0, 2), (1, 2), (2, 2)] and {p.path for p in heard if p.phase == "pages"} == {
        str(tmp_path / "scan.pdf")}
    assert library.indexer.pool.set_progress(None) is None  # the run's listener is gone with the run


@pytest.mark.slow
def test_image_formats_and_tiff_pages_in_the_parser_worker(tmp_path, scans):
    from ingest.isolation import ParserPool

    scans[0].convert("RGB").save(tmp_path / "lease.jpg", quality=85)
    scans[0].save(tmp_path / "lease.webp")
    first, second = scans[0].copy(), scans[1].copy()
    first.save(tmp_path / "both.tiff", save_all=True, append_images=[second])
    with ParserPool(workers=1, timeout_s=120) as pool:
        results = {p.name: pool.load(p) for p in (tmp_path / "lease.jpg", tmp_path / "lease.webp",
                                                  tmp_path / "both.tiff")}
    for name in ("lease.jpg", "lease.webp"):
        assert results[name].ok and read_share(LEASE, words(results[name].document)) >= 0.9, name
        assert "48,215.70" in words(results[name].document), name
    tiff = results["both.tiff"].document
    assert tiff.page_count == 2 and read_share(LEASE, page_words(tiff, 1)) >= 0.9
    assert read_share(INVOICE, page_words(tiff, 2)) >= 0.9 and "qx-7731-b" in page_words(tiff, 2)


@pytest.mark.slow
def test_a_scanned_10q_page_is_found_by_docent_search(home, tmp_path, sec_docs, capsys):
    from app.cli import main

    docs = tmp_path / "docs"
    docs.mkdir()
    # Apple's statement of operations (page 4 of the Q3 2023 10-Q), as a scan.
    image_pdf(docs / "apple-scan.pdf", render_pages(sec_docs / "2023 Q3 AAPL.pdf", [4]))
    render_pages(sec_docs / "2023 Q1 MSFT.pdf", [20])[0].save(docs / "msft-debt.png")
    assert main(["index", str(docs), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["search", "Research and development 7,442", "--json", "--k", "3", "--mode", "keyword"]) == 0
    top = json.loads(capsys.readouterr().out)["results"][0]
    assert top["name"] == "apple-scan.pdf" and top["page_start"] == 1 and "7,442" in top["snippet"]
    assert main(["search", "long-term debt maturities", "--json", "--k", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["name"] == "msft-debt.png"


@pytest.mark.slow
def test_a_text_file_behind_a_long_scan_is_searchable_before_the_scan_is_done(library, tmp_path):
    """The scan is held at its first page until the text file queued behind it has been
    indexed and found by search: with one parser lane for everything this never happens."""
    import threading

    docs = tmp_path / "docs"
    docs.mkdir()
    typed = text_pdf(tmp_path / "typed.pdf", [LEASE, INVOICE, LEASE])
    scan = image_pdf(docs / "a-scan.pdf", render_pages(typed, [1, 2, 3], dpi=150))
    note = docs / "b-note.txt"
    note.write_text("The kiln at Saltmarsh Pottery is fired every second Thursday.\n", encoding="utf-8")
    found_first = threading.Event()
    order: list[str] = []
    seen: list[tuple[str, int, int]] = []
    held: list[bool] = []

    def heard(p):  # type: ignore[no-untyped-def]
        if p.phase == "pages":
            seen.append((p.path, p.done, p.total))
            if not held:  # the scan's first page: wait here, so its result cannot arrive yet
                held.append(found_first.wait(timeout=600))
        elif p.phase == "file_done":
            order.append(p.path)
            if p.path == str(note):
                hits = library.retriever().search("when is the kiln at Saltmarsh Pottery fired", k=3)
                if hits and hits[0].path == str(note):
                    found_first.set()

    report = library.indexer.index_paths([docs], progress=heard)
    assert held == [True], "the text file was not indexed while the scan was being read"
    assert order == [str(note), str(scan)] and report.indexed == 2 and not report.failures
    assert [d for path, d, t in seen if path == str(scan)] == [0, 1, 2, 3] and {t for _, _, t in seen} == {3}
    hits = library.retriever().search("Marlowe Glassworks invoice amount due", k=3)
    assert hits[0].path == str(scan) and 2 in {s.page for s in hits[0].spans}
