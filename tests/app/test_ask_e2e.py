"""End to end through the real CLI: index real 10-Q PDFs + generated files, ask with SmolLM2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_sec
from tests.docs_factory import make_mixed_folder

pytestmark = pytest.mark.slow
PDFS = ["2023 Q3 AAPL.pdf", "2023 Q1 NVDA.pdf"]


def docent(env: dict[str, str], *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, sec_docs):
    root = tmp_path_factory.mktemp("e2e")
    docs = root / "docs"
    copy_sec(sec_docs, PDFS, docs / "filings")
    make_mixed_folder(docs / "notes")
    env = {**os.environ, "DOCENT_HOME": str(root / "home")}
    run = docent(env, "index", str(docs), "--quiet")
    assert run.returncode == 0, run.stdout + run.stderr
    return env, docs


def test_status_lists_every_file(indexed):
    env, _ = indexed
    run = docent(env, "status", "--json")
    data = json.loads(run.stdout)
    assert data["files"] == 7 and data["indexed"] == 7 and data["errors"] == 0
    pages = {Path(r["path"]).name: r["pages"] for r in data["records"]}
    assert pages["2023 Q3 AAPL.pdf"] > 20


def test_ask_streams_an_answer_with_sources(indexed, smollm_path):
    env, _ = indexed
    run = docent(env, "ask", "What does the Crumb bakery do at 6:30?", "--model", str(smollm_path))
    assert run.returncode == 0, run.stderr
    answer, _, sources = run.stdout.partition("\nSources:")
    assert answer.strip(), "empty answer"
    assert "bakery.html" in sources


def test_json_citations_point_at_real_files_and_pages(indexed, smollm_path):
    env, _ = indexed
    q = "What effective tax rate did Apple report for the third quarter of fiscal 2023?"
    run = docent(env, "ask", q, "--model", str(smollm_path), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["answer"].strip()
    assert data["prompt_tokens"] > 0 and data["completion_tokens"] > 0
    from pypdf import PdfReader

    for s in data["sources"] + data["citations"]:
        assert Path(s["path"]).is_file()
        if s["path"].endswith(".pdf"):
            n_pages = len(PdfReader(s["path"]).pages)
            assert 1 <= s["page_start"] <= s["page_end"] <= n_pages
    top = data["sources"][0]
    assert Path(top["path"]).name == "2023 Q3 AAPL.pdf"
    assert {s["found"] for s in data["sources"]} == {"hybrid"}  # ranked by the hybrid search
    # The rate is stated on page 21 ("Provision for Income Taxes") of that filing.
    assert any(Path(s["path"]).name == "2023 Q3 AAPL.pdf" and s["page_start"] <= 21 <= s["page_end"]
               for s in data["sources"][:3]), [(s["path"], s["page_start"]) for s in data["sources"]]


def test_ask_without_a_model_says_how_to_get_one(indexed):
    env, _ = indexed
    run = docent(env, "ask", "anything?")
    assert run.returncode == 1
    assert "docent model download" in run.stderr and "--model" in run.stderr


def test_broken_model_file_is_a_clear_error(indexed, tmp_path):
    env, _ = indexed
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"%PDF-1.7 not a model" * 100)
    run = docent(env, "ask", "anything?", "--model", str(fake))
    assert run.returncode == 1
    assert "not a GGUF model file" in run.stderr


def test_ask_summarise_one_file_reads_it_whole_with_progress(indexed, smollm_path):
    env, docs = indexed
    manual = docs / "notes" / "manual.pdf"
    run = docent(env, "ask", "Summarise this file", "--file", str(manual), "--model", str(smollm_path),
                 "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["answer"].strip()
    # Read as a whole file: its sources are that file's, with pages (no other file competes).
    assert data["sources"] and all(s["path"] == str(manual) and s["page_start"] for s in data["sources"])
    assert {s["found"] for s in data["sources"]} == {"whole_document"}
    run = docent(env, "ask", "Summarise this file", "--file", str(manual), "--model", str(smollm_path))
    assert run.returncode == 0, run.stderr
    assert "Reading p" in run.stderr and "manual.pdf" in run.stderr and "Writing the answer" in run.stderr
