"""The fast text-extraction state machine against pypdf's own: same text, same visitor calls."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdf
import pytest
from pypdf import PdfReader, PdfWriter, apply_configuration, get_configuration
from pypdf._text_extraction import set_custom_rtl
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from ingest.loaders import pdf_fasttext as ft

SEC_DOCS = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "sec-10-q" / "docs"
# One per producer: Chromium, EDGRpdf, Workiva, Equisolve.
# The MSFT filing is the largest (stock pypdf reads it for ~30-45 s here): checked in
# `make test`, left out of `make test-fast`, which still checks the other three.
SEC_SAMPLE = (pytest.param("2023 Q1 MSFT.pdf", marks=pytest.mark.slow), "2022 Q3 AAPL.pdf", "2023 Q1 INTC.pdf",
              "2023 Q3 INTC.pdf")
COUNT_LIMITS = ("array_maximum_element_count", "dictionary_maximum_element_count",
                "stream_parsing_work_maximum_count", "xform_maximum_invocations_per_extraction")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# ToUnicode: A -> "fi" (a ligature, two characters), B/C -> Hebrew (right to left), D -> "x".
_CMAP_1BYTE = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T1 def
1 begincodespacerange <00> <FF> endcodespacerange
4 beginbfchar <41> <00660069> <42> <05D0> <43> <05D1> <44> <0078> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end"""
_CMAP_2BYTE = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T2 def
1 begincodespacerange <0000> <FFFF> endcodespacerange
3 beginbfchar <0001> <0048> <0002> <0069> <0003> <0021> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end"""

# Every text operator and positioning path of TextExtraction, one page each.
STREAMS = {
    "lines_td": b"BT /F1 12 Tf 72 700 Td (Hello world) Tj 0 -14 Td (second line) Tj 200 0 Td (same line) Tj ET",
    "tj_array_gaps": b"BT /F1 10 Tf 72 700 Td [(Wo) 120 (rd) -300 (gap) -40 (kern) -1200 (far)] TJ ET",
    "quote_ops": b"BT /F1 11 Tf 14 TL 72 700 Td (one) Tj (two) ' 2 0.5 (three) \" T* (four) Tj ET",
    "TD_and_leading": b"BT /F1 9 Tf 72 700 Td (a) Tj 0 -12 TD (b) Tj T* (c) Tj 5 Tc 110 Tz 3 Tw (spaced) Tj ET",
    "tm_and_cm": b"q 1 0 0 1 10 20 cm BT /F1 12 Tf 1 0 0 1 72 600 Tm (moved) Tj 2 0 0 2 72 560 Tm (scaled) Tj ET Q"
                 b" BT /F1 12 Tf 1 0 0 1 72 500 Tm (after Q) Tj ET",
    "rotated": b"BT /F1 12 Tf 0 1 -1 0 300 300 Tm (rotated 90) Tj -1 0 0 -1 300 200 Tm (upside) Tj"
               b" 0 -1 1 0 100 100 Tm (rotated 270) Tj 1 0 0 1 72 72 Tm (upright) Tj ET",
    "font_switch": b"BT /F1 12 Tf 72 700 Td (plain) Tj /F2 12 Tf (diff A) Tj /F1 8 Tf ( small) Tj ET",
    "tounicode": b"BT /F3 12 Tf 72 700 Td (ADA) Tj 0 -14 Td (DDD) Tj ET",
    "rtl": b"BT /F3 12 Tf 72 700 Td (BC) Tj (D) Tj (CB) Tj 0 -14 Td (DBD) Tj ET",
    "identity_h": b"BT /F4 12 Tf 72 700 Td <000100020003> Tj 0 -14 Td <0001000200> Tj ET",
    "missing_font": b"BT /F9 12 Tf 72 700 Td (no font) Tj /F1 12 Tf (back) Tj ET",
    "bad_operands": b"BT /F1 12 Tf 72 700 Td 1 2 Tj (x) Tj 1 0 0 Tm (y) Tj 1 2 3 4 5 6 7 cm (z) Tj /F1 Tf (w) Tj ET",
    "baseline_span": b"BT /F1 10 Tf 72 700 Td (row) Tj 100 4 Td (up) Tj 100 -8 Td (down) Tj 100 4 Td (mid) Tj ET",
    "form_xobject": b"BT /F1 12 Tf 72 700 Td (before) Tj ET /X1 Do BT /F1 12 Tf 72 650 Td (after) Tj ET",
    "huge_numbers": b"BT /F1 12 Tf 1e30 0 0 1e30 0 0 Tm (big) Tj 0 0 0 0 0 0 Tm (flat) Tj ET",
    # One glyph per Td/Tj pair, as EDGAR filings are drawn: every Tj lands where its Td put it.
    "glyph_run": b"BT /F1 10 Tf 72 700 Td (N) Tj 8.6 0 Td (V) Tj 8.1 0 Td (I) Tj 3.7 0 Td (D) Tj 30 0 Td (I) Tj"
                 b" 8 0 Td (A) Tj (A) Tj 0 -12 Td (x) Tj (y) Tj -0.0 0 Td (z) Tj 0 0.4 Td (w) Tj ET",
    "zero_and_negative_size": b"BT /F1 0 Tf 72 700 Td (zero) Tj (size) Tj /F1 -12 Tf 0 -14 Td (neg) Tj (ative) Tj"
                              b" /F1 12 Tf (back) Tj 0 0 Td (same) Tj ET"
                              b" BT /F1 0 Tf 72 700 Td (ab) Tj ET BT /F1 0 Tf 72 700 Td () Tj () Tj (c) Tj ET",
    "exponent_operands": b"BT /F1 12 Tf 1e400 0 0 1 0 0 Tm (inf) Tj (again) Tj 1 0 0 1e400 0 0 Tm (tall) Tj (x) Tj"
                       b" 1 0 0 1 1e400 5 Tm (far) Tj (y) Tj /F1 0 Tf 0 -3 Td (zero) Tj (size) Tj ET",
}


pytestmark = pytest.mark.skipif(
    pypdf.__version__ not in ft.VERIFIED_VERSIONS,
    reason=f"pypdf {pypdf.__version__} is not verified: fast text extraction is off (stock pypdf in use)")


@pytest.fixture(autouse=True)
def _stock_pypdf():
    ft.uninstall()
    yield
    ft.uninstall()


def _font_dicts(writer: PdfWriter) -> DictionaryObject:
    def stream(data: bytes) -> Any:
        s = DecodedStreamObject()
        s.set_data(data)
        return writer._add_object(s)

    def font(**entries: Any) -> DictionaryObject:
        d = DictionaryObject({NameObject("/Type"): NameObject("/Font")})
        d.update({NameObject("/" + k): v for k, v in entries.items()})
        return d

    helv = dict(Subtype=NameObject("/Type1"), BaseFont=NameObject("/Helvetica"))
    diff = DictionaryObject({NameObject("/BaseEncoding"): NameObject("/WinAnsiEncoding"),
                             NameObject("/Differences"): ArrayObject([NumberObject(65), NameObject("/eacute")])})
    cid = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                            NameObject("/Subtype"): NameObject("/CIDFontType2"),
                            NameObject("/BaseFont"): NameObject("/Dummy"),
                            NameObject("/W"): ArrayObject([NumberObject(1), ArrayObject([NumberObject(600)] * 3)])})
    return DictionaryObject({
        NameObject("/F1"): font(**helv, Encoding=NameObject("/WinAnsiEncoding")),
        NameObject("/F2"): font(**helv, Encoding=diff),
        NameObject("/F3"): font(**helv, ToUnicode=stream(_CMAP_1BYTE)),
        NameObject("/F4"): font(Subtype=NameObject("/Type0"), BaseFont=NameObject("/Dummy"),
                                Encoding=NameObject("/Identity-H"), DescendantFonts=ArrayObject([cid]),
                                ToUnicode=stream(_CMAP_2BYTE)),
    })


def synthetic_pdf(path: Path) -> Path:
    writer = PdfWriter()
    fonts = _font_dicts(writer)
    form = DecodedStreamObject()
    form.set_data(b"BT /F1 12 Tf 72 680 Td (inside the form) Tj ET")
    form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(612),
                                                   NumberObject(792)]),
                 NameObject("/Resources"): DictionaryObject({NameObject("/Font"): fonts})})
    form_ref = writer._add_object(form)
    for data in STREAMS.values():
        page = writer.add_blank_page(612, 792)
        content = DecodedStreamObject()
        content.set_data(data)
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): fonts, NameObject("/XObject"): DictionaryObject({NameObject("/X1"): form_ref})})
    with open(path, "wb") as f:
        writer.write(f)
    return path


def extract_all(path: Path, **kwargs: Any) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Per page: the text and every visitor_text call (text, matrices, font size)."""
    out = []
    current = get_configuration()
    with apply_configuration(**{name: getattr(current, name) * 100 for name in COUNT_LIMITS}):
        for page in PdfReader(path).pages:
            calls: list[tuple[Any, ...]] = []

            def visit(text: str, cm: Any, tm: Any, font: Any, size: Any, calls: list[tuple[Any, ...]] = calls) -> None:
                calls.append((text, list(cm), list(tm), size))

            plain = page.extract_text(**kwargs)
            page.extract_text(visitor_text=visit, **kwargs)
            out.append((plain, calls))
    return out


def both(path: Path, **kwargs: Any) -> tuple[Any, Any]:
    ft.uninstall()
    stock = extract_all(path, **kwargs)
    assert ft.install()
    return stock, extract_all(path, **kwargs)


@pytest.mark.parametrize("orientations", [(0, 90, 180, 270), (0,), (90, 270)])
def test_synthetic_operators_match_pypdf(tmp_path: Path, orientations: tuple[int, ...]) -> None:
    stock, fast = both(synthetic_pdf(tmp_path / "ops.pdf"), orientations=orientations)
    for name, s, f in zip(STREAMS, stock, fast, strict=True):
        assert f == s, name
    # The fixture is not vacuous: the pages hold text, including the fallback paths.
    texts = {name: s[0] for name, s in zip(STREAMS, stock, strict=True)}
    if orientations == (0, 90, 180, 270):
        assert "Hello world" in texts["lines_td"] and "inside the form" in texts["form_xobject"]
        assert "fi" in texts["tounicode"] and "\u05d0" in texts["rtl"] and "Hi!" in texts["identity_h"]


def test_custom_rtl_range_takes_pypdf_path(tmp_path: Path) -> None:
    path = synthetic_pdf(tmp_path / "ops.pdf")
    set_custom_rtl("x", "x", "")  # "x" (from D) now reads right to left
    try:
        stock, fast = both(path)
    finally:
        set_custom_rtl("", "", "")
    assert fast == stock


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu font not installed")
def test_embedded_truetype_text_matches_pypdf(tmp_path: Path) -> None:
    """fpdf2 with an embedded TTF: Identity-H, subset ToUnicode, kerning, rotation, RTL."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("dejavu", fname=str(DEJAVU))
    pdf.set_font("dejavu", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Revenue grew 12% to $4.1 billion; café, naïve, Œuvre.\n" * 5 + "שלום עולם and مرحبا")
    with pdf.rotation(30, x=100, y=150):
        pdf.text(100, 150, "rotated thirty degrees")
    pdf.set_char_spacing(2)
    pdf.text(20, 200, "spaced out letters")
    path = tmp_path / "ttf.pdf"
    pdf.output(str(path))
    stock, fast = both(path)
    assert fast == stock
    assert "Revenue grew" in stock[0][0]


@pytest.mark.parametrize("name", SEC_SAMPLE)
def test_real_filings_match_pypdf(name: str) -> None:
    path = SEC_DOCS / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    stock, fast = both(path)
    assert len(stock) > 10
    for page_no, (s, f) in enumerate(zip(stock, fast, strict=True), 1):
        assert f == s, f"{name} page {page_no}"


def test_install_refuses_unverified_pypdf(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdf._page as page_module

    monkeypatch.setattr(pypdf, "__version__", "0.0.1")
    assert ft.install() is False
    assert page_module.TextExtraction is not ft.extraction_class()
    monkeypatch.setattr(pypdf, "__version__", ft.VERIFIED_VERSIONS[0])
    assert ft.install() is True
    assert page_module.TextExtraction is ft.extraction_class()
    assert ft.active()


def test_missing_private_module_keeps_stock_pypdf(monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    import sys

    import pypdf._page as page_module

    stock = page_module.TextExtraction
    monkeypatch.setitem(sys.modules, "ingest.loaders.pdf_fasttext_impl", None)  # import fails
    assert ft.install() is False
    assert page_module.TextExtraction is stock
    assert "fast text extraction off" in caplog.text


def test_text_string_operands_keep_their_type() -> None:
    """Spaces that TJ offsets insert are str operands: they take the str path, unmapped."""
    extractor = ft.extraction_class()()
    extractor.initialize_extraction()
    extractor.process_operation(b"Tj", [TextStringObject("abc")])
    extractor.process_operation(b"Tj", [" "])
    assert extractor.text == "abc "
