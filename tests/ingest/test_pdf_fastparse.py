"""The fast content-stream tokenizer against pypdf's own, on real PDFs and edge cases."""
from __future__ import annotations

import logging
from io import BytesIO
from pathlib import Path
from typing import Any

import pypdf
import pytest
from pypdf import PdfReader, apply_configuration, get_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ContentStream

from ingest.loaders import pdf_fastparse as fp
from tests.docs_factory import make_pdf

SEC_DOCS = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "sec-10-q" / "docs"
# One per producer: Chromium (needs raised limits), EDGRpdf, Workiva, Equisolve.
# The MSFT filing is the largest (stock pypdf reads it for ~30-45 s here): checked in
# `make test`, left out of `make test-fast`, which still checks the other three.
SEC_SAMPLE = (pytest.param("2023 Q1 MSFT.pdf", marks=pytest.mark.slow), "2022 Q3 AAPL.pdf", "2023 Q1 INTC.pdf",
              "2023 Q3 INTC.pdf")
# As ingest/loaders/pdf.py retries: some legitimate filings exceed pypdf's defaults.
COUNT_LIMITS = ("array_maximum_element_count", "dictionary_maximum_element_count",
                "stream_parsing_work_maximum_count", "xform_maximum_invocations_per_extraction")


# The equality tests run against the locked pypdf; on any other version the drop-in is
# not installed at all, so there is nothing to compare (tests/test_lock.py fails loudly
# when the locked version is not a verified one).
pytestmark = pytest.mark.skipif(
    pypdf.__version__ not in fp.VERIFIED_VERSIONS,
    reason=f"pypdf {pypdf.__version__} is not verified: the fast tokenizer is off (stock pypdf in use)")


@pytest.fixture(autouse=True)
def _stock_pypdf():
    assert fp.install()  # binds the private names the drop-in calls
    fp.uninstall()
    yield
    fp.uninstall()


def raised_limits() -> Any:
    current = get_configuration()
    return apply_configuration(**{name: getattr(current, name) * 10 for name in COUNT_LIMITS})


def norm(obj: Any) -> Any:
    """Type and value, recursively, with the attributes TextStringObject carries."""
    if isinstance(obj, dict):
        return type(obj).__name__, [(norm(k), norm(v)) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return type(obj).__name__, [norm(x) for x in obj]
    attrs = tuple(getattr(obj, a, None) for a in ("_original_bytes", "autodetect_pdfdocencoding",
                                                  "autodetect_utf16", "utf16_bom"))
    value = getattr(obj, "value", obj) if type(obj).__name__ != "NullObject" else None
    if isinstance(value, float):
        value = value.hex()  # exact, -0.0 included
    return type(obj).__name__, value, attrs


def parse(fn: Any, data: bytes, enc: Any, caplog: pytest.LogCaptureFixture | None = None) -> tuple[Any, ...]:
    """(operations, exception, pypdf warnings) of one tokenizer on one stream."""
    cs = ContentStream(None, None, forced_encoding=enc)
    if caplog is not None:
        caplog.clear()
    error = None
    try:
        fn(cs, BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - compared below
        error = (type(exc).__name__, str(exc))
    logs = [(r.name, r.getMessage()) for r in caplog.records] if caplog is not None else []
    return norm(cs._operations), error, logs


def assert_same(data: bytes, enc: Any = "bytes", caplog: pytest.LogCaptureFixture | None = None) -> Any:
    want = parse(fp.original_parse_content_stream, data, enc, caplog)
    got = parse(fp.fast_parse_content_stream, data, enc, caplog)
    assert got == want, data
    return want


SYNTHETIC = {
    "text": b"BT /F1 12 Tf 72 712 Td (Hello world) Tj 0 -14 TD <48656C6C6F> Tj ET",
    "graphics": b"q 1 0 0 1 72 700 cm 0.5 g 0 0 100 50 re f* Q 1 1 1 RG .9373 .9373 .9373 rg W* n",
    "tj_kerning": b"[(A)-250(B)120.5(C)-.5<0041>] TJ [] TJ [ ( x ) ]TJ",
    "nested_arrays": b"[1 [2 [3 4] 5] /N (s)] TJ [[]] x",
    "escapes": rb"(a\)b\\c\061) Tj (\101\1012\777\0\12z) Tj (\n\r\t\b\f\(\)\/\ \%\<\>\[\]\#\_\&\$) Tj",
    "unknown_escape": rb"(a\qb\8) Tj",
    "line_continuation": b"(ab\\\r\ncd\\\n\nef\\\rgh\\\n) Tj",
    "nested_parens": b"(a(b)c) Tj (a(b(c)d)e) Tj (()) Tj",
    "hex": b"<48 65\n6C6C\t6F> Tj <414> Tj <> Tj <FEFF0041> Tj <feff00e9> Tj <00410042> Tj",
    "names": b"/F#201 12 Tf /A/B/C BDC / x /Caf\xc3\xa9 gs /\xff\xfe gs /a#2 gs /x#zz gs",
    "dicts": b"/Span <</ActualText (x)>> BDC EMC /P <</MCID 3>>BDC /Span<</ActualText <FEFF00A0> >> BDC",
    "dict_duplicate_key": b"/P <</MCID 3 /MCID 4>> BDC",
    "dict_nested": b"/P <</A <</B 1>> /C [1 2] /D null /E true>> BDC",
    "dict_odd": b"/P <</A>> BDC /P <<1 2>> BDC /P <</A 1>x BDC",
    "dict_then_stream": b"/P <</A 1>> stream Tj",
    "inline_image": b"q BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q 1 0 0 1 0 0 cm",
    "inline_image_operands": b"1 BI /W 1 /H 1 ID x EI",
    "comments": b"q % comment\n1 0 0 1 0 0 cm %c2\rQ [1 %in array\n 2] TJ % at the end",
    "comment_unterminated_in_array": b"[1 % no newline",
    "quotes": b"(a) ' 1 2 (b) \" T* '(c)",
    "numbers": b"-1 +2 .5 -.5 5. 0.0 007 -0 +.0 1e5 Tc 12Tz 3-4 Tc",
    "bad_numbers": b"1.2.3 Tc 1,5 Tc -- Tc . Tc +- Tc 1.5,2 Tc",
    "long_numbers": b"12345678901234567890123 Tz 1234567890123456789 Tz 0.12345678901234567 Tz"
                    + b" 1" * 40 + b"1" * 70 + b" Tz",
    "indirect_like": b"1 0 R 2 0 RG",
    "indirect_like_op": b"5 0 0 1 0 R1 x",
    "nul_separators": b"1\x002 Td Tj\x00Q [1\x002] TJ (a)\x00Tj",
    "vertical_tab": b"[1\x0b2] TJ 1\x0b2 Td",
    "keywords": b"[null true false] TJ true false null Tx [nullnull falsetrue] TJ",
    "keywords_bad": b"[true false nul] TJ",
    "keywords_falsey": b"[falsey] TJ",
    "top_level_junk": b"{ } Tj ) Tj ] Tj",
    "long_operator": b"q " + b"A" * 110 + b" Q " + b"B" * 200 + b" Q",
    "long_name": b"/" + b"N" * 200 + b" gs /" + b"M" * 5000 + b" gs",
    "truncated_string": b"BT /F1 12 Tf (abc",
    "truncated_array": b"q [1 2 (a) <41>",
    "truncated_hex": b"q <48",
    "truncated_dict": b"/P <</A 1",
    "dangling_operands": b"q 1 2 3",
    "empty": b"",
    "whitespace": b" \n\r\t\x00\f ",
}


@pytest.mark.parametrize("enc", ["bytes", None, "latin-1"])
@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_streams_match_pypdf(name: str, enc: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert_same(SYNTHETIC[name], enc, caplog)


FAST_PATH = (  # common constructs the batch tier must build itself, without pypdf's loop
    b"BT /F1 12 Tf 72 712 Td (Hello world) Tj <414> Tj <48 65> Tj <4\x0042> Tj (a(b)c) Tj (x\\)y\\101\\777\\\n) Tj ET "
    b"q 1 0 0 1 -.5 +3. cm 0 g [(A)-250(B)12.5<41>/N] TJ /P <</MCID 3 /T (t) /A/B>> BDC EMC "
    b"(a) ' 1 2 (b) \" /GS0 gs /Span<</ActualText <FEFF00A0> >> BDC Q\x00q\tQ"
)


def test_fast_path_needs_no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = fp._pypdf_operation
    monkeypatch.setattr(fp, "_pypdf_operation", lambda *a: calls.append(1) or real(*a))
    assert len(assert_same(FAST_PATH)[0][1]) == 22
    assert len(assert_same(FAST_PATH, None)[0][1]) == 22
    assert calls == []
    assert_same(SYNTHETIC["inline_image"])
    assert calls == [1]


def test_synthetic_streams_exercise_both_paths() -> None:
    cs = ContentStream(None, None, forced_encoding="bytes")
    fp.fast_parse_content_stream(cs, BytesIO(SYNTHETIC["inline_image"]))
    assert [op for _, op in cs._operations] == [b"q", b"INLINE IMAGE", b"Q", b"cm"]
    # 7.1.0 read the 1-byte sample by its size; 7.1.1 scans this stream-less ContentStream
    # up to "EI" (its size check needs the stream's length): one trailing space more.
    want = {"7.1.0": b"\x00", "7.1.1": b"\x00 "}[pypdf.__version__]
    assert cs._operations[1][0]["data"] == want and cs._operations[1][0]["settings"]["/W"] == 1
    assert cs._operations[3][0] == [1, 0, 0, 1, 0, 0]
    # A failing construct must raise the same error, not be silently skipped.
    for name, kind in (("truncated_string", "PdfStreamError"), ("indirect_like", "AssertionError"),
                       ("long_operator", "LimitReachedError"), ("comment_unterminated_in_array", "PdfStreamError")):
        assert parse(fp.fast_parse_content_stream, SYNTHETIC[name], "bytes")[1][0] == kind, name


def test_token_budget_counted_exactly_like_pypdf() -> None:
    stream = (b"q 1 0 0 1 72 700 cm <0044> Tj (ab) Tj /F1 12 Tf [(A)-250(B)] TJ "
              b"/P <</MCID 3 /X <41>>> BDC EMC BI /W 1 /H 1 ID \x00 EI [1 [2]] TJ /x#20 gs Q")
    total = None
    for limit in range(0, 60):
        with apply_configuration(stream_parsing_work_maximum_count=limit):
            ops, error, _ = assert_same(stream)
        if error is None and total is None:
            total = limit
        assert (error is None) == (total is not None), limit
        if error:
            assert error[0] == "LimitReachedError"
    assert total is not None and total > 30


def test_many_tokens_raise_limit_reached() -> None:
    stream = b"0 0 m 10 10 l S\n" * 400
    with apply_configuration(stream_parsing_work_maximum_count=1000):
        ops, error, _ = assert_same(stream)
    assert error == ("LimitReachedError", "Reached maximum number of tokens per stream.")
    assert 0 < len(ops[1]) < 1200


@pytest.mark.parametrize("body", [b"1 2 3 4 5", b"(a)(b)(c)(d)(e)", b"1 [2] 3 <41> /N"])
def test_array_element_limit(body: bytes) -> None:
    with apply_configuration(array_maximum_element_count=5):
        assert assert_same(b"[" + body + b"] TJ")[1] is None
        _, error, _ = assert_same(b"q [" + body + b" 6] TJ")
    assert error == ("LimitReachedError", "Reached maximum array element count.")


def test_dictionary_entry_limit() -> None:
    with apply_configuration(dictionary_maximum_element_count=2):
        assert assert_same(b"/P <</A 1 /B 2>> BDC")[1] is None
        _, error, _ = assert_same(b"/P <</A 1 /B 2 /C 3>> BDC")
    assert error == ("LimitReachedError", "Reached maximum number of dictionary entries.")


def page_texts(path: Path) -> list[str]:
    try:
        reader = PdfReader(path)
        return [page.extract_text() for page in reader.pages]
    except LimitReachedError:
        with raised_limits():
            reader = PdfReader(path)
            return [page.extract_text() for page in reader.pages]


def page_streams(path: Path, count: int) -> list[bytes]:
    """Decoded content streams of ``count`` pages spread over the document."""
    with raised_limits():
        reader = PdfReader(path)
        n = len(reader.pages)
        return [reader.pages[i].get_contents().get_data() for i in sorted({i * n // count for i in range(count)})]


@pytest.mark.parametrize("name", SEC_SAMPLE)
def test_sec_filings_identical(name: str) -> None:
    path = SEC_DOCS / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    stock = page_texts(path)
    assert fp.install()
    assert page_texts(path) == stock
    assert sum(map(len, stock)) > 20_000
    fp.uninstall()
    errors = set()
    for data in page_streams(path, count=6):
        for enc in ("bytes", None):
            assert assert_same(data, enc)[1] is None
        # Tight limits: both must stop at the same token with the same error.
        with apply_configuration(stream_parsing_work_maximum_count=len(data) // 8,
                                 array_maximum_element_count=3, dictionary_maximum_element_count=1):
            errors.add(assert_same(data)[1])
    assert any(e and e[0] == "LimitReachedError" for e in errors)


def test_msft_still_needs_raised_limits() -> None:
    """Its object streams (not content streams) exceed the array limit: patched or not."""
    path = SEC_DOCS / "2023 Q1 MSFT.pdf"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    assert fp.install()
    with pytest.raises(LimitReachedError, match="array element count"):
        PdfReader(path).pages[0].extract_text()


def test_generated_pdfs_identical(tmp_path: Path) -> None:
    text = "Net (loss) income was $(1,234) \\ backslash, (nested (parens)) and caf\u00e9. " * 30
    path = make_pdf(tmp_path / "gen.pdf", [text, "Second page [with] <brackets> /slashes % percent"])
    stock = page_texts(path)
    assert "(nested (parens))" in stock[0]
    assert fp.install()
    assert page_texts(path) == stock
    for data in page_streams(path, count=2):
        assert_same(data)


def test_install_only_on_verified_pypdf(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pypdf.__version__ in fp.VERIFIED_VERSIONS
    assert fp.install() and fp.install()  # idempotent
    assert ContentStream._parse_content_stream is fp.fast_parse_content_stream
    fp.uninstall()
    assert ContentStream._parse_content_stream is fp.original_parse_content_stream
    monkeypatch.setattr(pypdf, "__version__", "99.0.0")
    assert fp.install() is False
    assert ContentStream._parse_content_stream is fp.original_parse_content_stream


def test_renamed_private_name_keeps_stock_pypdf(monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """A verified version string with a private name gone must fall back, not break PDFs."""
    import pypdf._utils

    monkeypatch.setattr(fp, "read_inline_image", None)  # not bound yet
    monkeypatch.delattr(pypdf._utils, "read_until_regex")
    assert fp.install() is False
    assert ContentStream._parse_content_stream is fp.original_parse_content_stream
    assert "fast tokenizer off" in caplog.text


def test_inline_image_read_by_this_versions_reader() -> None:
    """7.1.1 moved the inline-image reader out of ContentStream; both shapes are handled."""
    data = b"q BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q BT /F1 9 Tf (after) Tj ET"
    cs = ContentStream(None, None, forced_encoding="bytes")
    fp.fast_parse_content_stream(cs, BytesIO(data))
    assert [op for _, op in cs._operations] == [b"q", b"INLINE IMAGE", b"Q", b"BT", b"Tf", b"Tj", b"ET"]
    assert_same(data)


def test_gc_state_restored() -> None:
    import gc

    assert gc.isenabled()
    assert assert_same(b"(x Tj")[1] == ("PdfStreamError", "Stream has ended unexpectedly")
    assert gc.isenabled()  # paused while parsing, restored despite the error
    gc.disable()
    try:
        assert_same(b"(x Tj")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pypdf_without_the_private_tokenizer_reads_pdfs_stock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A pypdf that renamed ContentStream._parse_content_stream (its own caller too) must
    leave PDFs to pypdf's own parsing, with a log line: importing the drop-in must not fail."""
    import sys

    import ingest.loaders
    from ingest.loaders import LoadLimits, pdf_speedups
    from ingest.loaders.pdf import load_pdf

    stock = fp.original_parse_content_stream
    monkeypatch.delattr(ContentStream, "_parse_content_stream")
    monkeypatch.setattr(ContentStream, "_read_operations", stock, raising=False)

    def operations(self: ContentStream) -> Any:
        if not self._operations and self._data:
            self._read_operations(BytesIO(self._data))
            self._data = b""
        return self._operations

    monkeypatch.setattr(ContentStream, "operations", property(operations, ContentStream.operations.fset))
    monkeypatch.delitem(sys.modules, "ingest.loaders.pdf_fastparse")  # imported afresh, as at start-up
    monkeypatch.delattr(ingest.loaders, "pdf_fastparse")
    path = make_pdf(tmp_path / "plain.pdf", ["The Zephyr filter is replaced every 90 days."])
    with caplog.at_level(logging.INFO):
        doc = load_pdf(path, LoadLimits(ocr=False))
    assert "Zephyr filter is replaced every 90 days" in " ".join(doc.page_texts().values())
    assert pdf_speedups.active().tokenizer is False
    assert "_parse_content_stream" in caplog.text and "fast tokenizer off" in caplog.text
