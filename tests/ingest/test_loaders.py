"""load_document on real files of every format, good and bad."""
from __future__ import annotations

import codecs
import os
import zipfile
from pathlib import Path

import pytest

from ingest.document import Document
from ingest.errors import FileErrorKind, LoadError
from ingest.loaders import SUPPORTED_SUFFIXES, LoadLimits, load_document

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEC_DOCS = SHARED / "eval" / "sec-10-q" / "docs"


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    """One page per list item; each string is a paragraph, spaced apart."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for paragraphs in pages:
        pdf.add_page()
        for para in paragraphs:
            pdf.multi_cell(0, 8, para)
            pdf.ln(8)
    pdf.output(str(path))
    return path


def encrypt_pdf(src: Path, dest: Path, user: str, owner: str, algorithm: str) -> Path:
    from pypdf import PdfWriter

    w = PdfWriter(clone_from=str(src))
    w.encrypt(user_password=user, owner_password=owner, algorithm=algorithm)
    with open(dest, "wb") as fh:
        w.write(fh)
    return dest


def error_of(path: Path, limits: LoadLimits = LoadLimits()) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_document(path, limits)
    return info.value


def texts(doc: Document) -> list[str]:
    return [b.text for b in doc.blocks]


@pytest.fixture
def three_pages(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "manual.pdf", [
        ["Chapter one. Unpack the Zephyr pump."],
        ["Chapter two. Replace the filter every 90 days.", "Second paragraph about the gasket."],
        ["Chapter three. Dispose of the battery safely."],
    ])


# --- PDF --------------------------------------------------------------------
def test_pdf_text_lands_on_its_page(three_pages: Path) -> None:
    doc = load_document(three_pages)
    assert (doc.kind, doc.page_count, doc.warnings) == ("pdf", 3, [])
    pages = {b.text: b.page for b in doc.blocks}
    assert pages["Chapter one. Unpack the Zephyr pump."] == 1
    assert pages["Chapter two. Replace the filter every 90 days."] == 2
    assert pages["Second paragraph about the gasket."] == 2  # its own block
    assert pages["Chapter three. Dispose of the battery safely."] == 3


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_user_password_is_encrypted(three_pages: Path, tmp_path: Path, algorithm: str) -> None:
    locked = encrypt_pdf(three_pages, tmp_path / "locked.pdf", "hunter2", "owner", algorithm)
    err = error_of(locked)
    assert err.kind == FileErrorKind.ENCRYPTED
    assert "password" in err.message


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_owner_password_only_opens(three_pages: Path, tmp_path: Path, algorithm: str) -> None:
    restricted = encrypt_pdf(three_pages, tmp_path / "restricted.pdf", "", "owner-secret", algorithm)
    doc = load_document(restricted)
    assert doc.page_count == 3
    assert any("Zephyr" in t for t in texts(doc))


def test_truncated_pdf_is_corrupt(three_pages: Path, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.pdf"
    bad.write_bytes(three_pages.read_bytes()[:400])
    assert error_of(bad).kind == FileErrorKind.CORRUPT
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n" + os.urandom(5000))
    assert error_of(junk).kind == FileErrorKind.CORRUPT


def test_pdf_without_text_layer_is_no_text(tmp_path: Path) -> None:
    blank = make_pdf(tmp_path / "scan.pdf", [[], []])
    err = error_of(blank)
    assert err.kind == FileErrorKind.NO_TEXT
    assert "OCR" in err.message


def _pdf_with_big_array(base: Path, dest: Path, where: str) -> Path:
    """Exceed pypdf's 100k array-element limit on page 2, or in the catalog."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, NameObject, NumberObject, StreamObject

    w = PdfWriter(clone_from=str(base))
    if where == "page":
        page = w.pages[1]
        extra = b"BT /F1 12 Tf 72 600 Td [" + b" ".join([b"(x) 1"] * 60_000) + b"] TJ ET\n"
        stream = StreamObject()
        stream.set_data(page.get_contents().get_data() + extra)
        page[NameObject("/Contents")] = w._add_object(stream)
    else:
        w._root_object[NameObject("/Junk")] = ArrayObject([NumberObject(1)] * 150_000)
    w.write(str(dest))
    return dest


def test_pdf_limits_are_raised_for_a_page_and_a_bad_page_is_skipped(three_pages: Path, tmp_path: Path) -> None:
    pdf = _pdf_with_big_array(three_pages, tmp_path / "big-page.pdf", "page")
    doc = load_document(pdf)  # page 2 retried with raised limits
    assert {b.page for b in doc.blocks} == {1, 2, 3} and doc.warnings == []
    # With no headroom the page fails: skipped with a warning, the rest kept.
    doc = load_document(pdf, LoadLimits(pdf_limit_factor=1))
    assert {b.page for b in doc.blocks} == {1, 3}
    assert doc.page_count == 3
    assert "skipped 1 unreadable page(s): 2" in doc.warnings[0]


def test_pdf_limits_are_raised_for_the_whole_file(three_pages: Path, tmp_path: Path) -> None:
    pdf = _pdf_with_big_array(three_pages, tmp_path / "big-root.pdf", "root")
    doc = load_document(pdf)
    assert doc.page_count == 3 and "raised pypdf safety limits" in doc.warnings[0]
    assert error_of(pdf, LoadLimits(pdf_limit_factor=1)).kind == FileErrorKind.CORRUPT


@pytest.mark.slow  # ~10 s per file
@pytest.mark.skipif(not SEC_DOCS.is_dir(), reason="../shared/eval/sec-10-q is not present")
@pytest.mark.parametrize("name,pages", [("2023 Q1 MSFT.pdf", 72), ("2023 Q2 MSFT.pdf", 74)])
def test_real_msft_10q_needs_raised_limits_and_loads(name: str, pages: int) -> None:
    doc = load_document(SEC_DOCS / name)
    assert doc.page_count == pages
    assert doc.warnings == ["opened with raised pypdf safety limits"]
    seen = {b.page for b in doc.blocks}
    assert seen <= set(range(1, pages + 1)) and len(seen) > pages * 0.9
    assert "microsoft" in " ".join(t for t in texts(doc) if t).lower()
    assert doc.char_count > 150_000


# --- text and markdown -----------------------------------------------------
def test_plain_text_paragraphs_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_bytes(b"First line\r\nstill first.\r\n\r\n  \r\nSecond para.\r\n")
    doc = load_document(p)
    assert (doc.kind, texts(doc)) == ("text", ["First line\nstill first.", "Second para."])
    assert all(b.page is None and b.heading_level == 0 for b in doc.blocks)


def test_cp1252_text_is_decoded_not_mangled(tmp_path: Path) -> None:
    p = tmp_path / "café.txt"
    p.write_bytes("Le café coûte 2,50 € à Besançon, déjà réglé.\n".encode("cp1252"))
    assert texts(load_document(p)) == ["Le café coûte 2,50 € à Besançon, déjà réglé."]
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Grüße aus Köln, naïve Ähnlichkeit.".encode("latin-1"))
    assert texts(load_document(latin1)) == ["Grüße aus Köln, naïve Ähnlichkeit."]


def test_utf8_with_one_bad_byte_stays_utf8(tmp_path: Path) -> None:
    p = tmp_path / "damaged.txt"
    p.write_bytes("Ærøskøbing — naïve café, “quoted”.".encode() + b" \xff end")
    assert texts(load_document(p)) == ["Ærøskøbing — naïve café, “quoted”. \ufffd end"]


def test_non_western_legacy_encoding_goes_to_detection(tmp_path: Path) -> None:
    p = tmp_path / "ru.txt"
    text = "Привет, как дела? Это проверка кодировки windows-1251 для поиска."
    p.write_bytes(text.encode("cp1251"))
    assert texts(load_document(p)) == [text]


@pytest.mark.parametrize("encoding,bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                          ("utf-8", codecs.BOM_UTF8), ("utf-16-le", b"")])
def test_unicode_with_and_without_bom(tmp_path: Path, encoding: str, bom: bytes) -> None:
    p = tmp_path / "unicode.txt"
    p.write_bytes(bom + "Ærøskøbing harbour — 12 ferries.\n\nπ ≈ 3.14".encode(encoding))
    assert texts(load_document(p)) == ["Ærøskøbing harbour — 12 ferries.", "π ≈ 3.14"]


@pytest.mark.parametrize("data", [
    bytes(range(256)) * 64,  # NUL bytes
    bytes(range(1, 32)) * 300,  # control characters, no NUL
    b"\x89PNG\r\n\x1a\n" + bytes(4000),
])
def test_binary_named_txt(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "binary.txt"
    p.write_bytes(data)
    assert error_of(p).kind == FileErrorKind.BINARY


def test_markdown_headings_paragraphs_and_code(tmp_path: Path) -> None:
    p = tmp_path / "guide.md"
    p.write_text(
        "---\ntitle: Garden guide\ntags: [x]\n---\n"
        "# Garden plan #\n\nIntro line one\nline two.\n\n"
        "Tomatoes\n========\n\nPlant them in May.\n\n"
        "Beans and peas\n--------------\n"
        "### Watering\n#hashtag is not a heading\n\n"
        "```python\n# not a heading\n\nx = 1\n```\n\nAfter code.\n",
        encoding="utf-8")
    doc = load_document(p)
    assert doc.kind == "markdown" and doc.title == "Garden guide"
    assert [(b.text, b.heading_level) for b in doc.blocks] == [
        ("Garden plan", 1),
        ("Intro line one\nline two.", 0),
        ("Tomatoes", 1),
        ("Plant them in May.", 0),
        ("Beans and peas", 2),
        ("Watering", 3),
        ("#hashtag is not a heading", 0),
        ("```python\n# not a heading\n\nx = 1\n```", 0),
        ("After code.", 0),
    ]


def test_long_paragraph_is_cut_at_lines(tmp_path: Path) -> None:
    p = tmp_path / "data.csv"
    p.write_text("".join(f"row {i},value {i * 7}\n" for i in range(2000)), encoding="utf-8")
    doc = load_document(p)
    assert len(doc.blocks) > 5 and all(len(t) <= 4000 for t in texts(doc))
    assert "\n".join(texts(doc)).count("\n") == 1999  # no line lost or split


# --- HTML ----------------------------------------------------------------------
def test_html_visible_text_only(tmp_path: Path) -> None:
    p = tmp_path / "page.html"
    p.write_text(
        "<!DOCTYPE html><html><head><title> The  Crumb </title><meta name=description content=METAJUNK>"
        "<style>body{color:red} .STYLEJUNK{}</style><script>var s='<p>SCRIPTJUNK</p>';</script></head>"
        "<body><noscript>NOSCRIPTJUNK</noscript><template><p>TEMPLATEJUNK</p></template>"
        "<svg><title>SVGJUNK</title><text>SVGTEXT</text></svg>"
        "<h1>Opening hours</h1><p>We open at <b>6:30</b> &amp; close at 18:00.</p>"
        "<div>Line one<br>Line two</div><ul><li>Rye</li><li>Spelt</li></ul>"
        "<h3>Prices</h3><table><tr><th>Loaf</th><th>Price</th></tr><tr><td>Rye</td><td>4 €</td></tr></table>"
        "<pre>  keep\n    indent</pre></body></html>", encoding="utf-8")
    doc = load_document(p)
    assert doc.kind == "html" and doc.title == "The Crumb"
    assert [(b.text, b.heading_level) for b in doc.blocks] == [
        ("Opening hours", 1), ("We open at 6:30 & close at 18:00.", 0), ("Line one", 0), ("Line two", 0),
        ("Rye", 0), ("Spelt", 0), ("Prices", 3), ("| Loaf | Price |\n|---|---|\n| Rye | 4 € |", 0),
        ("  keep\n    indent", 0),
    ]
    assert "JUNK" not in " ".join(texts(doc)) and "SVGTEXT" not in " ".join(texts(doc))


def test_html_declared_charset_and_missing_head_close(tmp_path: Path) -> None:
    p = tmp_path / "legacy.htm"
    p.write_bytes(b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
                  b"<title>Caf\xe9</title><body><p>Prix: 5 \x80, caf\xe9 cr\xe8me.</p>")
    doc = load_document(p)
    assert doc.title == "Café"
    assert texts(doc) == ["Prix: 5 €, café crème."]  # iso-8859-1 read as windows-1252, like browsers
    unclosed = tmp_path / "unclosed.html"
    unclosed.write_text("<title>Notes<body><p>Body text survives.</p>", encoding="utf-8")
    doc = load_document(unclosed)
    assert (doc.title, texts(doc)) == ("Notes", ["Body text survives."])


# --- DOCX ----------------------------------------------------------------------
def test_docx_headings_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Lease agreement", level=0)  # the Title style
    d.add_heading("Parties", level=1)
    d.add_paragraph("The tenant pays a deposit of 2,400 euros.")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["Item", "Amount", "Due"], ["Rent", "900", "1st"], ["", "", ""]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = d.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Total"
    merged.cell(0, 2).text = "900"
    d.add_heading("Term", level=2)
    d.add_paragraph("The lease runs for 18 months.")
    d.add_paragraph("   ")
    p = tmp_path / "lease.docx"
    d.save(str(p))

    doc = load_document(p)
    assert doc.kind == "docx" and doc.title == "Lease agreement"
    assert [(b.text, b.heading_level) for b in doc.blocks] == [
        ("Lease agreement", 1), ("Parties", 1), ("The tenant pays a deposit of 2,400 euros.", 0),
        # a table as a table (ingest.tables); a one-row grid stays a line of text
        ("| Item | Amount | Due |\n|---|---|---|\n| Rent | 900 | 1st |", 0), ("Total | 900", 0),
        ("Term", 2), ("The lease runs for 18 months.", 0),
    ]


def test_broken_docx_files(tmp_path: Path) -> None:
    not_zip = tmp_path / "a.docx"
    not_zip.write_bytes(b"This is not a zip file at all." * 10)
    assert error_of(not_zip).kind == FileErrorKind.CORRUPT
    wrong_zip = tmp_path / "b.docx"
    with zipfile.ZipFile(wrong_zip, "w") as z:
        z.writestr("hello.txt", "not a word document")
    assert error_of(wrong_zip).kind == FileErrorKind.CORRUPT
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000)
    (tmp_path / "old.docx").write_bytes(ole)
    assert error_of(tmp_path / "old.docx").kind == FileErrorKind.UNSUPPORTED
    (tmp_path / "locked.docx").write_bytes(ole + "EncryptedPackage".encode("utf-16-le"))
    assert error_of(tmp_path / "locked.docx").kind == FileErrorKind.ENCRYPTED


# --- checks before parsing -------------------------------------------------------
@pytest.mark.parametrize("suffix", [".pdf", ".txt", ".md", ".html", ".docx"])
def test_zero_bytes_is_empty(tmp_path: Path, suffix: str) -> None:
    p = tmp_path / f"empty{suffix}"
    p.write_bytes(b"")
    assert error_of(p).kind == FileErrorKind.EMPTY


def test_whitespace_only_text_is_empty(tmp_path: Path) -> None:
    p = tmp_path / "blank.md"
    p.write_text("\n   \n\t\n", encoding="utf-8")
    assert error_of(p).kind == FileErrorKind.EMPTY


def test_vanished_and_dangling_paths(tmp_path: Path) -> None:
    assert error_of(tmp_path / "gone.pdf").kind == FileErrorKind.VANISHED
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "nowhere.txt")
    assert error_of(link).kind == FileErrorKind.VANISHED


def test_unsupported_suffix_and_directory(tmp_path: Path) -> None:
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(100))
    assert error_of(tmp_path / "song.mp3").kind == FileErrorKind.UNSUPPORTED
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))  # images are read by OCR now
    assert error_of(tmp_path / "photo.jpg").kind == FileErrorKind.CORRUPT
    (tmp_path / "folder.txt").mkdir()
    assert error_of(tmp_path / "folder.txt").kind == FileErrorKind.UNSUPPORTED
    assert {".pdf", ".txt", ".md", ".html", ".htm", ".docx", ".markdown", ".text",
            ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"} <= SUPPORTED_SUFFIXES


def test_too_large(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    p.write_text("word " * 1000, encoding="utf-8")
    err = error_of(p, LoadLimits(max_bytes=1000))
    assert err.kind == FileErrorKind.TOO_LARGE
    assert load_document(p, LoadLimits(max_bytes=5000)).char_count == len("word " * 1000) - 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    p = tmp_path / "private.txt"
    p.write_text("secret\n", encoding="utf-8")
    p.chmod(0)
    try:
        assert error_of(p).kind == FileErrorKind.UNREADABLE
    finally:
        p.chmod(0o600)


def test_long_and_odd_file_names(tmp_path: Path, three_pages: Path) -> None:
    long_name = tmp_path / ("n" * 236 + ".txt")  # 240 characters
    long_name.write_text("A long name still loads.", encoding="utf-8")
    assert texts(load_document(long_name)) == ["A long name still loads."]
    odd = tmp_path / "Überblick – notes (v2) 文件 .MD"  # spaces, unicode, upper-case suffix
    odd.write_text("# Résumé\n\nBody.", encoding="utf-8")
    assert load_document(odd).kind == "markdown"
    upper = tmp_path / "REPORT FINAL.PDF"
    upper.write_bytes(three_pages.read_bytes())
    assert load_document(str(upper)).page_count == 3  # str paths are accepted too


def test_only_load_error_escapes(tmp_path: Path) -> None:
    """Whatever the bytes, the caller sees LoadError, never a parser exception."""
    for suffix in (".pdf", ".docx", ".html", ".md", ".txt"):
        for i in range(5):
            p = tmp_path / f"fuzz{i}{suffix}"
            p.write_bytes(os.urandom(64 + 997 * i))
            try:
                load_document(p)
            except LoadError as err:
                assert err.kind in FileErrorKind


@pytest.mark.parametrize("exc", [PermissionError(13, "Permission denied"), OSError(5, "Input/output error")])
def test_read_failures_are_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: OSError) -> None:
    """Runs as root too, unlike the chmod test: the read itself fails."""
    p = tmp_path / "notes.txt"
    p.write_text("text", encoding="utf-8")

    def failing_open(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr("ingest.loaders.open", failing_open, raising=False)
    err = error_of(p)
    assert err.kind == FileErrorKind.UNREADABLE and err.detail == exc.strerror
