"""The drop-ins as one switch: a page they fail on is read again by stock pypdf, not lost."""
from __future__ import annotations

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
    import json

    from app.cli import main

    assert main(["status", "--json"]) == 0
    fast = json.loads(capsys.readouterr().out)["pdf_fast_paths"]
    assert fast == {"pypdf": pypdf.__version__, "tokenizer": True, "text": True}
    assert main(["status"]) == 0
    assert f"PDF parsing: fast paths on (pypdf {pypdf.__version__})" in capsys.readouterr().out
