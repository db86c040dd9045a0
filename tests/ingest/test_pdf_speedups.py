"""The drop-ins as one switch: a page they fail on is read again by stock pypdf, not lost."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from ingest.loaders import LoadLimits, pdf_fasttext, pdf_speedups
from ingest.loaders.pdf import load_pdf
from tests.docs_factory import make_pdf

pytestmark = pytest.mark.skipif(
    pypdf.__version__ not in pdf_fasttext.VERIFIED_VERSIONS,
    reason=f"pypdf {pypdf.__version__} is not verified: the drop-ins are off (stock pypdf in use)")


def _texts(path: Path) -> list[str]:
    doc = load_pdf(path, LoadLimits())
    return [" ".join(b.text for b in doc.blocks if b.page == n) for n in (1, 2)]


def test_page_a_drop_in_fails_on_is_read_by_stock_pypdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    path = make_pdf(tmp_path / "two.pdf", ["Quarterly revenue rose to 41 million.", "Second page text here."])
    want = _texts(path)
    assert all(want)
    fast = pdf_fasttext.extraction_class()

    def broken(self: object, operator: bytes, operands: list[object]) -> None:
        raise RuntimeError("a drop-in bug")

    monkeypatch.setattr(fast, "process_operation", broken)
    doc = load_pdf(path, LoadLimits())
    assert [" ".join(b.text for b in doc.blocks if b.page == n) for n in (1, 2)] == want
    assert not any("skipped" in w for w in doc.warnings)
    assert "read again with stock pypdf" in caplog.text
    assert pdf_speedups.active().all_active  # back on for the next page and file


def test_status_reports_versions_and_both_paths() -> None:
    state = pdf_speedups.install()
    assert state.pypdf == pypdf.__version__
    assert state.tokenizer and state.text and state.all_active
    assert pdf_speedups.active() == state
    with pdf_speedups.stock():
        off = pdf_speedups.active()
        assert not off.tokenizer and not off.text
    assert pdf_speedups.active().all_active


def test_status_json_says_whether_the_fast_paths_run(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    with pdf_speedups.stock():  # stock pypdf here: the status read must leave it so
        assert main(["status", "--json"]) == 0
        after = pdf_speedups.active()
    assert not after.tokenizer and not after.text  # it probed, it did not install
    fast = json.loads(capsys.readouterr().out)["pdf_fast_paths"]
    assert fast == {"pypdf": pypdf.__version__, "tokenizer": True, "text": True}
    assert main(["status"]) == 0
    assert f"PDF parsing: fast paths on (pypdf {pypdf.__version__})" in capsys.readouterr().out


_PROBE_THEN_INSTALL = """
import json
from dataclasses import asdict

import pypdf._page
from pypdf.generic import ContentStream

from ingest.loaders import pdf_fastparse, pdf_speedups

tokenizer, extraction = ContentStream.__dict__["_parse_content_stream"], pypdf._page.TextExtraction
probed = pdf_speedups.probe()
untouched = (ContentStream.__dict__["_parse_content_stream"] is tokenizer
             and pypdf._page.TextExtraction is extraction and pdf_fastparse.read_inline_image is None)
active = pdf_speedups.active()
installed = pdf_speedups.install()
print(json.dumps({"probed": asdict(probed), "untouched": untouched, "active": asdict(active),
                  "installed": asdict(installed), "patched": asdict(pdf_speedups.active()),
                  "probed_after": asdict(pdf_speedups.probe())}))
"""


def test_probe_patches_nothing_and_answers_what_install_then_reports() -> None:
    """A fresh process: probe() leaves pypdf's tokenizer and text extraction as they were
    (nothing bound either), and says what install() then reports."""
    out = subprocess.run([sys.executable, "-c", _PROBE_THEN_INSTALL], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    got = json.loads(out)
    assert got["untouched"] is True
    assert got["active"] == {"pypdf": pypdf.__version__, "tokenizer": False, "text": False}
    assert got["probed"] == got["installed"] == got["patched"] == got["probed_after"]
    assert got["installed"] == {"pypdf": pypdf.__version__, "tokenizer": True, "text": True}


def test_probe_on_an_unverified_pypdf_says_none_run_as_install_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pypdf, "__version__", "0.0.0-unverified")
    with pdf_speedups.stock():
        assert pdf_speedups.probe() == pdf_speedups.install() == pdf_speedups.FastPaths(
            "0.0.0-unverified", False, False)
        assert not pdf_speedups.active().tokenizer and not pdf_speedups.active().text
